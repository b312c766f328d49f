"""The printable forms of a dossier under ``/api/v1``: form 04 (apology and new return date) and
form 05 (process control sheet) of Circular 01/2018/TT-VPCP, as HTML in Vietnamese or as PDF.

Who may print a form is who may read the dossier (:func:`adapters.api.auth.may_read`). A form 04
for a dossier that owes no apology answers 422 (:class:`~workflow.forms.ApologyNotOwed`); a PDF
where WeasyPrint cannot be loaded, 503."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import Field

from adapters.api.auth import Caller, may_act, may_read
from adapters.api.schemas import DossierDetail, Strict, dossier_detail
from adapters.bootstrap import App
from adapters.forms import FormNumber, FormOutput, PdfUnavailable, printable
from adapters.store.principals import Principal
from workflow.dossier import Actor, Dossier
from workflow.services import apologise

router = APIRouter(prefix="/api/v1", tags=["forms"])
Format = Annotated[FormOutput, Query(alias="format", description="html (default) or pdf")]
_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the form, in Vietnamese",
        "content": {
            "text/html": {"schema": {"type": "string"}},
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


def _print(
    request: Request, caller: Principal, code: str, number: FormNumber, output: FormOutput
) -> Response:
    app: App = request.app.state.lienthong
    with app.store.reading() as uow:
        dossier = uow.dossiers.get(code)
    may_read(caller, dossier.agency, code)
    try:
        printed = printable(app, dossier, number, output, app.engine.clock.now())
    except PdfUnavailable as error:
        raise HTTPException(503, str(error)) from None
    disposition = f'inline; filename="{printed.filename}"'
    return Response(
        printed.content, media_type=printed.media_type, headers={"Content-Disposition": disposition}
    )


@router.get("/dossiers/{code}/forms/04", response_class=Response, responses=_CONTENT)
def apology_form(
    code: str, request: Request, caller: Caller, output: Format = FormOutput.HTML
) -> Response:
    """Form 04, the apology and new return date (phiếu xin lỗi và hẹn lại ngày trả kết quả):
    the record of the dossier's reset, or a draft with a proposed date while it is at risk or
    overdue. 422 when the dossier owes no apology."""
    return _print(request, caller, code, FormNumber.APOLOGY, output)


@router.get("/dossiers/{code}/forms/05", response_class=Response, responses=_CONTENT)
def control_sheet(
    code: str, request: Request, caller: Caller, output: Format = FormOutput.HTML
) -> Response:
    """Form 05, the process control sheet (phiếu kiểm soát quá trình giải quyết hồ sơ): one row
    per step the dossier visited, with the times it was received and handed on and the
    verdict against its share of the time."""
    return _print(request, caller, code, FormNumber.CONTROL_SHEET, output)


class ApologyRequest(Strict):
    """Reset the return date with an apology (form 04): the new date and the reason."""

    new_due: dt.datetime = Field(description="the new return date, with its UTC offset")
    reason: str = Field(min_length=1, max_length=2000)


@router.post("/dossiers/{code}/apology", response_model=DossierDetail)
def apologise_for(code: str, body: ApologyRequest, request: Request, caller: Caller) -> Response:
    """Issue the apology (form 04): the return date is reset to ``new_due``, once per dossier,
    by an officer of the agency holding the dossier (or an admin). 409 on a second reset; 422
    when the dossier has no running clock, the date is not later, or no reason is given. Form
    04 then prints the record of it."""
    app: App = request.app.state.lienthong
    if body.new_due.tzinfo is None:
        raise HTTPException(422, {"field": "new_due", "reason": "give it with its UTC offset"})

    def allowed(dossier: Dossier) -> None:
        may_act(caller, dossier.agency, code)

    actor = Actor(caller.id, caller.agency, caller.role.value)
    dossier = apologise(
        code, body.new_due, body.reason, actor, app.store.unit_of_work(), app.engine, check=allowed
    )
    detail = dossier_detail(dossier, app.engine.allowed_triggers(dossier))
    return Response(detail.model_dump_json(), media_type="application/json")
