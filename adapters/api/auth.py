"""Bearer-token authentication and the authorization rules of the API.

| role       | submit                    | read a dossier, list   | act on a dossier       |
|------------|---------------------------|------------------------|------------------------|
| officer    | at its agency's reception | at its own agency only | at its own agency only |
| supervisor | no                        | every dossier          | no                     |
| planner    | no                        | every dossier          | no                     |
| admin      | yes                       | every dossier          | yes                    |

No token (or an unknown or revoked one) answers 401; a principal outside these rules, 403.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from adapters.store.principals import Authenticator, Principal, Role

_bearer = HTTPBearer(auto_error=False, description="a token from `lienthong tokens create`")
READERS = frozenset({Role.SUPERVISOR, Role.PLANNER, Role.ADMIN})


async def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, or 401. A token seen lately is known without I/O; otherwise the store is
    asked from the thread pool."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            401,
            "no bearer token: send `Authorization: Bearer <token>` with a token from "
            "`lienthong tokens create`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    authenticate: Authenticator = request.app.state.authenticate
    token = credentials.credentials
    found = authenticate.cached(token) or await run_in_threadpool(authenticate, token)
    if found is None:
        raise HTTPException(
            401,
            "the bearer token is unknown or revoked; ask an administrator for a new one",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return found


Caller = Annotated[Principal, Depends(principal)]


def forbid(detail: str) -> HTTPException:
    return HTTPException(403, detail)


def may_submit(caller: Principal, reception: str, procedure: str) -> None:
    """Officers receive dossiers at their own agency; administrators anywhere."""
    if caller.role is Role.ADMIN:
        return
    if caller.role is not Role.OFFICER:
        raise forbid(f"a {caller.role.value} cannot submit dossiers; use an officer's token")
    if caller.agency != reception:
        raise forbid(
            f"procedure {procedure} is received by agency {reception}, not by {caller.agency}"
        )


def may_read(caller: Principal, agency: str, code: str) -> None:
    """Officers read only dossiers at their agency's step; the other roles read everything."""
    if caller.role is Role.OFFICER and caller.agency != agency:
        raise forbid(f"dossier {code} is at agency {agency}, not at {caller.agency}")


def may_act(caller: Principal, agency: str, code: str) -> None:
    """Officers act only at their own agency; administrators anywhere; others never."""
    if caller.role is Role.ADMIN:
        return
    if caller.role is not Role.OFFICER:
        raise forbid(f"a {caller.role.value} cannot act on dossiers; use an officer's token")
    may_read(caller, agency, code)


def listing_agency(caller: Principal, asked: str | None) -> str | None:
    """The agency a list is narrowed to: an officer's own, whatever it asked."""
    if caller.role is not Role.OFFICER:
        return asked
    if asked is not None and asked != caller.agency:
        raise forbid(f"an officer of {caller.agency} cannot list dossiers of agency {asked}")
    return caller.agency


def may_see_metrics(caller: Principal) -> None:
    """Metrics and the scorecard are for supervisors, planners and administrators."""
    if caller.role not in READERS:
        raise forbid(
            f"a {caller.role.value} cannot read metrics; use a supervisor's or planner's token"
        )
