"""Request and response bodies of the back-office API (``/api/v1``).

Requests are strict: unknown fields, wrong types and naive instants are refused with a 4xx that
names the field. Responses never carry a citizen's identity number.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from adapters.store.dossier_queries import DossierSummary
from workflow.definition import Channel, NationalStatus, ProcedureDefinition
from workflow.dossier import ControlEvent, Dossier

Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z.\-]+$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Applicant(Strict):
    """Who the dossier is for. ``ref`` is a reference the applicant can quote (receipt number,
    phone); ``id_number`` is the citizen identity number (CCCD, 12 digits, or CMND, 9), stored
    only encrypted and never returned."""

    ref: str = Field(min_length=1, max_length=64)
    id_number: str | None = Field(default=None, pattern=r"^(\d{9}|\d{12})$")


class SubmitRequest(Strict):
    """A new dossier. ``submitted_at`` is for imports of dossiers received earlier."""

    procedure: Code
    channel: Channel
    applicant: Applicant
    documents: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=100
    )
    submitted_at: AwareDatetime | None = None


class ActionRequest(Strict):
    """Fire ``trigger``; with ``expected_version``, only if nobody changed the dossier since."""

    trigger: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
    note: str | None = Field(default=None, max_length=2000)
    payload: dict[str, Any] = Field(default_factory=dict)
    expected_version: int | None = Field(default=None, ge=0)


class LookupRequest(Strict):
    """The public lookup (tra cứu hồ sơ): the dossier code and the applicant's reference."""

    code: Code
    applicant_ref: str = Field(min_length=1, max_length=64)


class Status(BaseModel):
    """A national status (TrangThaiHoSo): its code 1-10 and its name."""

    code: int
    name: str

    @classmethod
    def of(cls, status: NationalStatus) -> Status:
        return cls(code=int(status), name=status.name.lower())


class DossierOut(BaseModel):
    """A dossier as listed, submitted or acted on."""

    code: str
    procedure: str
    procedure_version: str
    channel: str
    state: str
    status: Status
    closed: bool
    agency: str
    step: str | None
    received_at: dt.datetime
    due_at: dt.datetime | None
    version: int


class Event(BaseModel):
    """One row of the control sheet (form 05)."""

    seq: int
    at: dt.datetime
    trigger: str
    from_state: str | None
    to_state: str
    status: Status
    actor: str
    actor_agency: str
    agency: str
    step: str | None
    to_agency: str
    to_step: str | None
    note: str | None

    @classmethod
    def of(cls, event: ControlEvent) -> Event:
        fields = event._asdict()
        fields["status"] = Status.of(event.status)
        return cls(**fields)


class DossierDetail(DossierOut):
    """A dossier with its control sheet and what may be done with it now."""

    documents: list[str]
    supplement_requests: int
    fee_due: int | None
    fee_paid: bool
    result_ref: str | None
    verdict: str | None
    allowed_triggers: list[str]
    history: list[Event]


def dossier_out(dossier: Dossier | DossierSummary) -> dict[str, Any]:
    """The fields of :class:`DossierOut` of a loaded dossier or of a line of a list."""
    return {
        "code": dossier.code,
        "procedure": dossier.procedure_code,
        "procedure_version": dossier.procedure_version,
        "channel": str(dossier.channel),
        "state": dossier.state,
        "status": Status.of(dossier.status),
        "closed": dossier.closed,
        "agency": dossier.agency,
        "step": dossier.step,
        "received_at": dossier.received_at,
        "due_at": dossier.due_at,
        "version": dossier.version,
    }


def dossier_detail(dossier: Dossier, allowed: tuple[str, ...]) -> DossierDetail:
    return DossierDetail(
        **dossier_out(dossier),
        documents=list(dossier.documents),
        supplement_requests=dossier.supplement_requests,
        fee_due=dossier.fee_due,
        fee_paid=dossier.fee_paid,
        result_ref=dossier.result_ref,
        verdict=dossier.verdict,
        allowed_triggers=list(allowed),
        history=[Event.of(event) for event in dossier.history],
    )


class Page(BaseModel):
    """One page of a list, and how many match in all."""

    items: list[DossierOut]
    page: int
    page_size: int
    total: int


class ProcedureOut(BaseModel):
    """A procedure version in force: what a back office needs to submit to it."""

    code: str
    version: str
    name_vi: str
    name_en: str
    effective_from: dt.date
    limit_days: float
    channels: list[str]
    documents: list[dict[str, Any]]
    reception_agency: str
    steps: list[dict[str, Any]]

    @classmethod
    def of(cls, definition: ProcedureDefinition) -> ProcedureOut:
        return cls(
            code=definition.code,
            version=definition.version,
            name_vi=definition.name.vi,
            name_en=definition.name.en,
            effective_from=definition.effective_from,
            limit_days=definition.limit_days,
            channels=[c.value for c in definition.channels],
            documents=[
                {"kind": d.kind, "name": d.name.vi, "required": d.required}
                for d in definition.documents
            ],
            reception_agency=definition.steps[0].agency,
            steps=[
                {"id": s.id, "agency": s.agency, "role": s.role, "share_days": s.share_days}
                for s in definition.steps
            ],
        )


class PublicStatusOut(BaseModel):
    """The public answer: status and due date only."""

    code: str
    procedure: str
    status: Status
    closed: bool
    due_at: dt.datetime | None


class Health(BaseModel):
    database: str
    broker: str


class Problem(BaseModel):
    """Every error answer: what was wrong, and, for bad input, which field and why."""

    detail: str
    errors: list[dict[str, str]] = Field(default_factory=list)
    allowed_triggers: list[str] | None = None
