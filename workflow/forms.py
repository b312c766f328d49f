"""The content of forms 04 and 05 of Circular 01/2018/TT-VPCP for one dossier, in Vietnamese.

- Form 04, *Phiếu xin lỗi và hẹn lại ngày trả kết quả* (:func:`apology_form`): the agency
  holding a dossier that is late, or at risk of being late, apologises and gives a new return
  date.
- Form 05, *Phiếu kiểm soát quá trình giải quyết hồ sơ* (:func:`control_sheet_form`): one row
  per visit of the dossier to a step of its procedure: the agency that held it, when it
  received and handed it on, to whom, and its result against its share of the time (trước
  hạn / đúng hạn / quá hạn), read from the control sheet by :func:`workflow.sla.step_clocks`.

Content only, as frozen data: labels and agency names in Vietnamese, instants in the calendar's
zone (Asia/Ho_Chi_Minh), written out by :func:`vn_instant` and :func:`vn_day`. Layout (HTML, PDF)
is the adapters' business. The applicant appears by their reference only, never by their
identity number.

The new return date of form 04:

- once the return date was reset (:meth:`workflow.engine.Engine.apologise`, allowed once) the
  form is the record of that reset: its new date, its reason, the agency that held the dossier
  and the instant, and the appointment as it stood just before;
- before that, the form is a draft (``recorded`` is False) for a dossier that owes an apology
  (at risk or overdue, see :class:`workflow.sla.DossierClock`), with a *proposed* date: from the
  later of now and the current appointment, the working time allotted to the dossier's current
  step and every step after it (at least half a working day), then to the end of that working
  day. It is generous on purpose: the date may be reset only once. The reason is left blank
  for the officer to write.

A form 04 for a dossier that owes no apology and has had none is refused (:class:`ApologyNotOwed`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import ClassVar

from workflow.agencies import AgencyDirectory
from workflow.calendar import WorkingCalendar
from workflow.definition import NationalStatus, ProcedureDefinition
from workflow.dossier import ControlEvent, Dossier
from workflow.engine import APOLOGISE, TRANSFER
from workflow.errors import InvalidDossier, UnknownAgency
from workflow.sla import SlaPolicy, Standing, StepClock, Verdict, dossier_clock, due_at, step_clocks

NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
#: who receives the result at the end of the last row of form 05
APPLICANT = "Người nộp hồ sơ"
DEFAULT_POLICY = SlaPolicy()
VERDICT_VI = {Verdict.EARLY: "Trước hạn", Verdict.ON_TIME: "Đúng hạn", Verdict.LATE: "Quá hạn"}
STANDING_VI = {
    Standing.NOT_STARTED: "Chưa tính thời hạn (chưa tiếp nhận hồ sơ hợp lệ)",
    Standing.ON_TRACK: "Đang giải quyết",
    Standing.AT_RISK: "Đang giải quyết, sắp đến hạn",
    Standing.OVERDUE: "Đang giải quyết, đã quá hạn",
    Standing.PAUSED: "Tạm dừng (chờ bổ sung hồ sơ hoặc nộp phí)",
    Standing.DONE: "Đã giải quyết",
    Standing.CLOSED: "Đã kết thúc, không có kết quả",
}
#: control-sheet rows worth a note on form 05, even without a note of their own
TRIGGER_VI = {
    "request_supplement": "Yêu cầu bổ sung hồ sơ",
    "supply": "Đã bổ sung hồ sơ",
    "request_fee": "Yêu cầu thực hiện nghĩa vụ tài chính",
    "pay_fee": "Đã thực hiện nghĩa vụ tài chính",
    "refuse": "Từ chối tiếp nhận",
    "withdraw": "Rút hồ sơ",
    "stop": "Dừng giải quyết",
    APOLOGISE: "Xin lỗi và hẹn lại ngày trả kết quả",
    TRANSFER: "Chuyển giao do sắp xếp tổ chức bộ máy",
}


class ApologyNotOwed(InvalidDossier):
    """Form 04 was asked for a dossier that is neither late nor at risk and had no reset."""


def vn_instant(instant: dt.datetime) -> str:
    """``09 giờ 00 phút, ngày 02/03/2026``: the instant as written on the forms (in its own
    offset: pass it in the calendar's zone)."""
    return f"{instant:%H} giờ {instant:%M} phút, ngày {instant:%d/%m/%Y}"


def vn_day(instant: dt.datetime) -> str:
    """``ngày 02 tháng 03 năm 2026``: the date line of a form."""
    return f"ngày {instant:%d} tháng {instant:%m} năm {instant:%Y}"


def vn_hours(hours: float) -> str:
    """Working hours with a decimal comma: ``3``, ``2,5``."""
    return f"{round(hours, 2):g}".replace(".", ",")


@dataclass(frozen=True, slots=True)
class Letterhead:
    """The top left of a form: the agency issuing it, under its superior agency if it has one."""

    agency_code: str
    agency: str
    superior: str | None


@dataclass(frozen=True, slots=True)
class ApologyForm:
    """Form 04 of one dossier, issued by the agency that holds it (``letterhead``); the agency
    that received it is ``reception_agency``. Instants are in the calendar's zone;
    ``late_by_hours`` is the working time past the original appointment when the form was
    issued (0 if not yet due)."""

    TITLE: ClassVar[str] = "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ"
    NUMBER: ClassVar[str] = "04"

    letterhead: Letterhead
    dossier_code: str
    procedure_code: str
    procedure_name: str
    applicant_ref: str
    reception_agency: str
    received_at: dt.datetime
    original_due_at: dt.datetime
    new_due_at: dt.datetime
    reason: str | None
    late_by_hours: float
    issued_at: dt.datetime
    recorded: bool


@dataclass(frozen=True, slots=True)
class ControlRow:
    """One row of form 05: a visit of the dossier to one step. The agency received the dossier
    at ``received_at`` and handed it on at ``handed_at`` (``None`` while it still holds it) to
    ``next_agency`` at ``next_step`` (the applicant, once the result is returned)."""

    number: int
    step: str
    step_name: str
    agency_code: str
    agency: str
    received_at: dt.datetime
    handed_at: dt.datetime | None
    next_agency: str | None
    next_step: str | None
    due_at: dt.datetime
    allotted_hours: float
    used_hours: float
    verdict: Verdict | None
    result: str
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ControlSheetForm:
    """Form 05 of one dossier: its header and one :class:`ControlRow` per step visit. ``due_at``
    is the current appointment (``None`` before acceptance); ``reset_at`` when it was reset by
    an apology; ``result`` the dossier's verdict, or where it stands, in Vietnamese."""

    TITLE: ClassVar[str] = "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ"
    NUMBER: ClassVar[str] = "05"

    letterhead: Letterhead
    dossier_code: str
    procedure_code: str
    procedure_name: str
    applicant_ref: str
    reception_agency: str
    agencies: tuple[str, ...]
    received_at: dt.datetime
    due_at: dt.datetime | None
    reset_at: dt.datetime | None
    rows: tuple[ControlRow, ...]
    verdict: Verdict | None
    result: str
    printed_at: dt.datetime


def agency_name(directory: AgencyDirectory, code: str) -> str:
    """The agency's Vietnamese name; its code if the directory does not know it."""
    try:
        return directory.get(code).name.vi
    except UnknownAgency:
        return code


def letterhead(directory: AgencyDirectory, code: str) -> Letterhead:
    """The agency and its superior, as the top left of a form names them."""
    parent = directory.get(code).parent if code in directory else None
    superior = agency_name(directory, parent) if parent is not None else None
    return Letterhead(code, agency_name(directory, code), superior)


def apology_form(
    dossier: Dossier,
    definition: ProcedureDefinition,
    calendar: WorkingCalendar,
    directory: AgencyDirectory,
    at: dt.datetime,
    policy: SlaPolicy = DEFAULT_POLICY,
) -> ApologyForm:
    """Form 04 of ``dossier`` as of ``at``: the record of its reset, or a draft with a proposed
    date (see the module docstring). Raises :class:`ApologyNotOwed` when no apology is owed."""
    tz = calendar.tz
    apology = next((e for e in reversed(dossier.history) if e.trigger == APOLOGISE), None)
    recorded = apology is not None and dossier.reset_due_at is not None
    if apology is not None and dossier.reset_due_at is not None:
        before = _due_before_reset(dossier, definition, calendar, apology)
        agency, new_due, reason, issued = (
            apology.agency,
            dossier.reset_due_at,
            apology.note,
            dossier.reset_at or apology.at,
        )
    else:
        clock = dossier_clock(dossier, definition, calendar, at, policy)
        if not clock.owes_apology or clock.due_at is None:
            raise ApologyNotOwed(_not_owed(dossier, clock.standing, clock.due_at, tz))
        before, agency, reason, issued = clock.due_at, dossier.agency, None, at
        new_due = proposed_return_date(dossier, definition, calendar, at, clock.due_at)
    late = max(calendar.working_time(before, issued), dt.timedelta(0))
    return ApologyForm(
        letterhead=letterhead(directory, agency),
        dossier_code=dossier.code,
        procedure_code=definition.code,
        procedure_name=definition.name.vi,
        applicant_ref=dossier.applicant_ref,
        reception_agency=agency_name(directory, _reception(dossier)),
        received_at=dossier.received_at.astimezone(tz),
        original_due_at=before.astimezone(tz),
        new_due_at=new_due.astimezone(tz),
        reason=reason,
        late_by_hours=late / dt.timedelta(hours=1),
        issued_at=issued.astimezone(tz),
        recorded=recorded,
    )


def _not_owed(dossier: Dossier, standing: Standing, due: dt.datetime | None, tz: dt.tzinfo) -> str:
    where = f"dossier {dossier.code} owes no apology (form 04)"
    if due is None:
        return f"{where}: its clock has not started (state '{dossier.state}'); accept it first"
    if dossier.closed or standing is Standing.DONE:
        return f"{where}: it is finished or closed and its return date was never reset"
    return (
        f"{where}: it is {standing.value.replace('_', ' ')}, due {due.astimezone(tz).isoformat()};"
        " form 04 is issued when a dossier is at risk of being late or overdue. "
        "Print form 05 to follow its progress"
    )


def _due_before_reset(
    dossier: Dossier,
    definition: ProcedureDefinition,
    calendar: WorkingCalendar,
    apology: ControlEvent,
) -> dt.datetime:
    """The appointment as it stood when the apology reset it."""
    upto = [e for e in dossier.history if e.seq < apology.seq]
    unreset = dataclasses.replace(
        dossier, history=upto, due_resets=0, reset_at=None, reset_due_at=None
    )
    found = due_at(unreset, definition, calendar, apology.at)
    return found if found is not None else apology.at


def proposed_return_date(
    dossier: Dossier,
    definition: ProcedureDefinition,
    calendar: WorkingCalendar,
    at: dt.datetime,
    due: dt.datetime,
) -> dt.datetime:
    """A new return date to propose on a draft form 04: from the later of ``at`` and ``due``,
    the working time allotted to the dossier's current step and every later step (at least
    half a working day), then to the end of that working day."""
    ids = [step.id for step in definition.steps]
    first = ids.index(dossier.step) if dossier.step in ids else 0
    days = max(sum(step.share_days for step in definition.steps[first:]), 0.5)
    ahead = dt.timedelta(microseconds=round(days * calendar.day_length))
    return calendar.end_of_day(calendar.add(max(at, due), ahead))


def control_sheet_form(
    dossier: Dossier,
    definition: ProcedureDefinition,
    calendar: WorkingCalendar,
    directory: AgencyDirectory,
    at: dt.datetime,
    policy: SlaPolicy = DEFAULT_POLICY,
) -> ControlSheetForm:
    """Form 05 of ``dossier`` as of ``at``: one row per step visit, in order."""
    tz = calendar.tz
    clock = dossier_clock(dossier, definition, calendar, at, policy)
    visits = step_clocks(dossier, definition, calendar, at, policy)
    names = {step.id: step.name.vi for step in definition.steps}
    spans = _visit_spans(dossier.history)
    rows = []
    for index, visit in enumerate(visits):
        following = visits[index + 1] if index + 1 < len(visits) else None
        events = dossier.history[spans[index][0] : spans[index][1]] if index < len(spans) else []
        rows.append(_row(index + 1, visit, following, dossier, names, directory, events, tz))
    reception = _reception(dossier)
    handlers = dict.fromkeys(agency_name(directory, v.agency) for v in visits)
    verdict = clock.verdict
    return ControlSheetForm(
        letterhead=letterhead(directory, reception),
        dossier_code=dossier.code,
        procedure_code=definition.code,
        procedure_name=definition.name.vi,
        applicant_ref=dossier.applicant_ref,
        reception_agency=agency_name(directory, reception),
        agencies=tuple(handlers),
        received_at=dossier.received_at.astimezone(tz),
        due_at=clock.due_at.astimezone(tz) if clock.due_at is not None else None,
        reset_at=dossier.reset_at.astimezone(tz) if dossier.reset_at is not None else None,
        rows=tuple(rows),
        verdict=verdict,
        result=VERDICT_VI[verdict] if verdict is not None else STANDING_VI[clock.standing],
        printed_at=at.astimezone(tz),
    )


def _reception(dossier: Dossier) -> str:
    """The agency that received the dossier (where its first control-sheet row put it)."""
    return dossier.history[0].agency if dossier.history else dossier.agency


def _visit_spans(history: list[ControlEvent]) -> list[tuple[int, int]]:
    """Each step visit's control-sheet rows as [first, end) indices, split as
    :func:`workflow.sla.step_clocks` splits them; rows before the first visit join it."""
    starts: list[int] = []
    current: str | None = None
    for index, event in enumerate(history):
        if event.to_step is not None and (not starts or event.to_step != current):
            starts.append(index)
            current = event.to_step
    if starts:
        starts[0] = 0
    ends = [*starts[1:], len(history)]
    return list(zip(starts, ends, strict=True))


def _row(
    number: int,
    visit: StepClock,
    following: StepClock | None,
    dossier: Dossier,
    names: dict[str, str],
    directory: AgencyDirectory,
    events: list[ControlEvent],
    tz: dt.tzinfo,
) -> ControlRow:
    next_agency: str | None = None
    next_step: str | None = None
    if following is not None:
        next_agency = agency_name(directory, following.agency)
        next_step = names.get(following.step, following.step)
    elif dossier.status is NationalStatus.RESULT_RETURNED:
        next_agency = APPLICANT
    verdict = visit.verdict
    result = VERDICT_VI[verdict] if verdict is not None else STANDING_VI[visit.standing]
    notes = [_note(event, directory, tz) for event in events]
    if visit.paused_hours > 0:
        notes.append(f"Tạm dừng {vn_hours(visit.paused_hours)} giờ làm việc, không tính vào hạn")
    return ControlRow(
        number=number,
        step=visit.step,
        step_name=names.get(visit.step, visit.step),
        agency_code=visit.agency,
        agency=agency_name(directory, visit.agency),
        received_at=visit.started_at.astimezone(tz),
        handed_at=visit.ended_at.astimezone(tz) if visit.ended_at is not None else None,
        next_agency=next_agency,
        next_step=next_step,
        due_at=visit.due_at.astimezone(tz),
        allotted_hours=visit.allotted_hours,
        used_hours=visit.used_hours,
        verdict=visit.verdict,
        result=result,
        notes=tuple(note for note in notes if note),
    )


def _note(event: ControlEvent, directory: AgencyDirectory, tz: dt.tzinfo) -> str:
    """What a control-sheet row adds to the notes column ('' for nothing)."""
    label = TRIGGER_VI.get(event.trigger)
    if label is None and not event.note:
        return ""
    when = vn_instant(event.at.astimezone(tz))
    if event.trigger == TRANSFER:  # the engine's note is English: say it in Vietnamese
        moved = (
            f"{agency_name(directory, event.agency)} → {agency_name(directory, event.to_agency)}"
        )
        return f"{label} ({when}): {moved}"
    text = f"{label or 'Ghi chú'} ({when})"
    return f"{text}: {event.note}" if event.note else text
