"""The routes of the dashboard: the page, its two static files, and the names it labels things
with (agencies, procedures and their steps, in Vietnamese and English).

The page and its assets need no token: they hold no data. Everything they show comes from the
API with the token the user types in, kept in the browser's ``sessionStorage``. The page's
Content-Security-Policy allows scripts, styles and requests from this origin only.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel

from adapters.api.auth import Caller
from adapters.bootstrap import App

router = APIRouter(prefix="/dashboard", include_in_schema=False)

#: the static files by name, and their media types: nothing else is served
ASSETS = {
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
}
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",  # revalidate: a new release's script is taken at once
}


class Label(BaseModel):
    """A name in Vietnamese and in English."""

    vi: str
    en: str


class ProcedureLabel(BaseModel):
    """A procedure version's name and its steps' names, by step id."""

    code: str
    version: str
    name: Label
    steps: dict[str, Label]


class Names(BaseModel):
    """What the dashboard labels things with: every agency of the directory and every version
    of every procedure of the catalogue (open dossiers may be of a version no longer in force)."""

    agencies: dict[str, Label]
    procedures: list[ProcedureLabel]


@cache
def _read(folder: str, name: str) -> bytes:
    return files("adapters.dashboard").joinpath(folder, name).read_bytes()


@router.get("")
def page() -> Response:
    """The dashboard's page (Vietnamese by default; the script switches it to English)."""
    body = _read("templates", "dashboard.html")
    return Response(body, media_type="text/html; charset=utf-8", headers=_HEADERS)


@router.get("/static/{name}")
def asset(name: str) -> Response:
    """The dashboard's script or style sheet; any other name is 404."""
    media_type = ASSETS.get(name)
    if media_type is None:
        raise HTTPException(404, f"no dashboard file named {name!r}")
    return Response(_read("static", name), media_type=media_type, headers=_HEADERS)


@router.get("/names", response_model=Names)
def names(request: Request, caller: Caller) -> Names:  # any valid token
    """The names of the agencies, procedures and steps, for the dashboard's labels (any token:
    they are the public directory and catalogue)."""
    app: App = request.app.state.lienthong
    catalogue = app.catalogue
    return Names(
        agencies={
            a.code: Label(vi=a.name.vi, en=a.name.en)
            for a in sorted(catalogue.agencies, key=lambda a: a.code)
        },
        procedures=[
            ProcedureLabel(
                code=d.code,
                version=d.version,
                name=Label(vi=d.name.vi, en=d.name.en),
                steps={s.id: Label(vi=s.name.vi, en=s.name.en) for s in d.steps},
            )
            for code in catalogue.codes()
            for d in catalogue.versions(code)
        ],
    )
