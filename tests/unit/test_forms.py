"""Forms 04 and 05 of Circular 01/2018 from dossiers driven through the engine: the content
(rows, verdicts, dates, the apology's record and draft), the refusal of a form 04 no apology
calls for, and the HTML they print as."""

from __future__ import annotations

import datetime as dt
import sys

import pytest

from adapters.forms import PdfUnavailable, to_html, to_pdf
from procedures.calendar_file import load_calendar
from tests.conftest import VN, FixedClock
from workflow.agencies import AgencyDirectory
from workflow.calendar import WorkingCalendar
from workflow.catalogue import Catalogue
from workflow.definition import ProcedureDefinition
from workflow.dossier import Actor, Dossier
from workflow.engine import Engine
from workflow.errors import InvalidDossier
from workflow.forms import (
    ApologyNotOwed,
    apology_form,
    control_sheet_form,
    vn_day,
    vn_hours,
    vn_instant,
)
from workflow.sla import Verdict

LINKED = "2.000986"
PAPERS = ["birth_declaration", "birth_certificate", "residence_declaration"]
WARD, POLICE, INSURANCE = "000.00.71.H26", "000.09.71.H26", "000.08.71.H26"
OFFICER = Actor("officer-1", WARD)
CHIEF = Actor("chief", POLICE, role="supervisor")


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=VN)


@pytest.fixture
def calendar() -> WorkingCalendar:
    return load_calendar()


@pytest.fixture
def engine(catalogue: Catalogue, calendar: WorkingCalendar) -> Engine:
    return Engine(catalogue, FixedClock(at(2026, 3, 2, 8, 30)), calendar)


@pytest.fixture
def definition(catalogue: Catalogue) -> ProcedureDefinition:
    return catalogue.get(LINKED, version="2025")


def accepted(engine: Engine, note: str | None = None) -> Dossier:
    """A linked dossier received Mon 2 March 2026 08:30, accepted at 09:00: due Thu 09:00."""
    dossier = engine.open(
        code="000.00.71.H26-260302-0001",
        procedure=LINKED,
        channel="counter",
        applicant_ref="REF-7",
        actor=OFFICER,
        documents=PAPERS,
        received_at=at(2026, 3, 2, 8, 30),
    )
    engine.fire(dossier, "accept", actor=OFFICER, note=note, at=at(2026, 3, 2, 9))
    return dossier


def late_and_apologised(engine: Engine) -> Dossier:
    """Accepted Mon 09:00; a supplement at the police from Mon 14:00 to Tue 09:00 (4 working
    hours) moves the due to Thu 5 March 14:00; the police apologise on Fri 6 March 10:00 with a
    new date of Wed 11 March 17:00; the result is returned on Tue 10 March."""
    dossier = accepted(engine)
    fire = engine.fire
    fire(dossier, "hand_over", actor=OFFICER, at=at(2026, 3, 2, 9, 15))  # -> birth registration
    fire(dossier, "hand_over", actor=OFFICER, at=at(2026, 3, 2, 11))  # -> police
    fire(
        dossier, "request_supplement", actor=OFFICER, note="<thiếu> trang 2", at=at(2026, 3, 2, 14)
    )
    fire(dossier, "supply", actor=OFFICER, at=at(2026, 3, 3, 9))
    assert dossier.due_at == at(2026, 3, 5, 14)
    engine.apologise(
        dossier,
        new_due=at(2026, 3, 11, 17),
        actor=CHIEF,
        note="cần xác minh nơi cư trú",
        at=at(2026, 3, 6, 10),
    )
    fire(dossier, "hand_over", actor=OFFICER, at=at(2026, 3, 9, 10))  # -> social insurance
    fire(dossier, "finish", actor=OFFICER, payload={"result": "KQ"}, at=at(2026, 3, 10, 10))
    fire(dossier, "return_result", actor=OFFICER, at=at(2026, 3, 10, 11))
    return dossier


def test_dates_are_written_the_vietnamese_way() -> None:
    assert vn_instant(at(2026, 3, 2, 9)) == "09 giờ 00 phút, ngày 02/03/2026"
    assert vn_day(at(2026, 3, 6, 10)) == "ngày 06 tháng 03 năm 2026"
    assert (vn_hours(2.5), vn_hours(12.0)) == ("2,5", "12")


def test_form_04_records_the_apology_that_reset_the_return_date(
    engine: Engine,
    definition: ProcedureDefinition,
    calendar: WorkingCalendar,
    agencies: AgencyDirectory,
) -> None:
    dossier = late_and_apologised(engine)
    form = apology_form(dossier, definition, calendar, agencies, at(2026, 3, 20, 9))
    assert form.recorded
    assert form.letterhead.agency_code == POLICE  # the agency holding it when it apologised
    assert form.letterhead.agency == "Công an phường Tây Hồ"
    assert form.reception_agency == "Ủy ban nhân dân phường Tây Hồ"
    assert (form.dossier_code, form.applicant_ref) == ("000.00.71.H26-260302-0001", "REF-7")
    assert form.procedure_name.startswith("Liên thông đăng ký khai sinh")
    assert form.received_at == at(2026, 3, 2, 8, 30)
    assert form.original_due_at == at(2026, 3, 5, 14)  # as it stood before the reset
    assert form.new_due_at == at(2026, 3, 11, 17)
    assert form.reason == "cần xác minh nơi cư trú"
    assert form.issued_at == at(2026, 3, 6, 10)
    assert form.late_by_hours == 5  # Thu 14:00-17:00 and Fri 08:00-10:00
    assert str(form.new_due_at.tzinfo) == "Asia/Ho_Chi_Minh"


def test_form_05_has_a_row_per_step_with_times_verdicts_and_notes(
    engine: Engine,
    definition: ProcedureDefinition,
    calendar: WorkingCalendar,
    agencies: AgencyDirectory,
) -> None:
    dossier = late_and_apologised(engine)
    form = control_sheet_form(dossier, definition, calendar, agencies, at(2026, 3, 20, 9))
    assert form.letterhead.agency == "Ủy ban nhân dân phường Tây Hồ"
    assert form.letterhead.superior == "Ủy ban nhân dân Thành phố Hà Nội"
    assert form.received_at == at(2026, 3, 2, 8, 30)
    assert (form.due_at, form.reset_at) == (at(2026, 3, 11, 17), at(2026, 3, 6, 10))
    assert form.agencies == (
        "Ủy ban nhân dân phường Tây Hồ",
        "Công an phường Tây Hồ",
        "Bảo hiểm xã hội cơ sở Tây Hồ",
    )
    rows = form.rows
    assert [r.step for r in rows] == [
        "reception",
        "birth_registration",
        "residence_registration",
        "health_insurance",
        "return",
    ]
    assert [r.agency_code for r in rows] == [WARD, WARD, POLICE, INSURANCE, WARD]
    assert [r.result for r in rows] == ["Đúng hạn", "Đúng hạn", "Quá hạn", "Quá hạn", "Đúng hạn"]
    assert rows[2].verdict is Verdict.LATE
    police = rows[2]
    assert (police.received_at, police.handed_at) == (at(2026, 3, 2, 11), at(2026, 3, 9, 10))
    assert police.due_at == at(2026, 3, 4, 11)  # 12 h share + 4 h paused
    assert (police.next_agency, police.next_step) == (
        "Bảo hiểm xã hội cơ sở Tây Hồ",
        "Cấp thẻ bảo hiểm y tế",
    )
    assert police.notes == (
        "Yêu cầu bổ sung hồ sơ (14 giờ 00 phút, ngày 02/03/2026): <thiếu> trang 2",
        "Đã bổ sung hồ sơ (09 giờ 00 phút, ngày 03/03/2026)",
        "Xin lỗi và hẹn lại ngày trả kết quả (10 giờ 00 phút, ngày 06/03/2026): "
        "cần xác minh nơi cư trú",
        "Tạm dừng 4 giờ làm việc, không tính vào hạn",
    )
    assert rows[-1].next_agency == "Người nộp hồ sơ" and rows[-1].next_step is None
    assert (form.verdict, form.result) == (Verdict.EARLY, "Trước hạn")  # against the new date


def test_an_open_dossier_has_an_open_last_row(
    engine: Engine,
    definition: ProcedureDefinition,
    calendar: WorkingCalendar,
    agencies: AgencyDirectory,
) -> None:
    dossier = accepted(engine)
    engine.fire(dossier, "hand_over", actor=OFFICER, at=at(2026, 3, 2, 10))
    form = control_sheet_form(dossier, definition, calendar, agencies, at(2026, 3, 2, 15))
    last = form.rows[-1]
    assert last.step == "birth_registration" and last.handed_at is None
    assert last.next_agency is None and last.verdict is None
    assert last.result == "Đang giải quyết, đã quá hạn"  # 3 h share from 10:00: due 14:00
    assert form.result == "Đang giải quyết"


def test_a_draft_form_04_proposes_a_date_for_a_dossier_at_risk(
    engine: Engine,
    definition: ProcedureDefinition,
    calendar: WorkingCalendar,
    agencies: AgencyDirectory,
) -> None:
    dossier = accepted(engine)  # due Thu 5 March 09:00, still at reception
    form = apology_form(dossier, definition, calendar, agencies, at(2026, 3, 4, 13, 30))
    assert not form.recorded and form.reason is None
    assert form.letterhead.agency_code == WARD
    assert form.original_due_at == at(2026, 3, 5, 9)
    assert form.late_by_hours == 0  # at risk, not yet late
    # from the due, the 3 days every step still ahead is allotted, to the end of that day
    assert form.new_due_at == at(2026, 3, 10, 17)
    assert form.issued_at == at(2026, 3, 4, 13, 30)
    # the proposal is later than the due, as the engine requires, and can be recorded
    engine.apologise(
        dossier, new_due=form.new_due_at, actor=OFFICER, note="x", at=at(2026, 3, 4, 14)
    )


def test_a_draft_for_an_overdue_dossier_counts_from_now(
    engine: Engine,
    definition: ProcedureDefinition,
    calendar: WorkingCalendar,
    agencies: AgencyDirectory,
) -> None:
    dossier = accepted(engine)
    for hour in (10, 11):  # to birth registration, then to the police
        engine.fire(dossier, "hand_over", actor=OFFICER, at=at(2026, 3, 2, hour))
    form = apology_form(dossier, definition, calendar, agencies, at(2026, 3, 9, 10))
    assert form.letterhead.agency_code == POLICE
    assert form.late_by_hours == 17  # Thu 09:00 to Mon 10:00
    # police, insurance and return are allotted 2.5 days from now: Wed 11 March 15:00, to 17:00
    assert form.new_due_at == at(2026, 3, 11, 17)


def test_form_04_is_refused_when_no_apology_is_owed(
    engine: Engine,
    definition: ProcedureDefinition,
    calendar: WorkingCalendar,
    agencies: AgencyDirectory,
) -> None:
    dossier = accepted(engine)
    with pytest.raises(ApologyNotOwed, match=r"owes no apology .* on track") as refused:
        apology_form(dossier, definition, calendar, agencies, at(2026, 3, 3, 9))
    assert isinstance(refused.value, InvalidDossier)  # the API answers 422
    assert "Print form 05" in str(refused.value)
    fresh = engine.open(
        code="C",
        procedure=LINKED,
        channel="online",
        applicant_ref="R",
        actor=OFFICER,
        documents=PAPERS,
    )
    with pytest.raises(ApologyNotOwed, match=r"clock has not started .* accept it first"):
        apology_form(fresh, definition, calendar, agencies, at(2026, 3, 9, 9))
    for trigger in ("hand_over", "hand_over", "hand_over"):
        engine.fire(dossier, trigger, actor=OFFICER, at=at(2026, 3, 3, 10))
    engine.fire(dossier, "finish", actor=OFFICER, payload={"result": "K"}, at=at(2026, 3, 3, 11))
    with pytest.raises(ApologyNotOwed, match="finished or closed"):  # late or not, too late
        apology_form(dossier, definition, calendar, agencies, at(2026, 3, 9, 9))


def test_the_html_is_vietnamese_escaped_and_shows_the_real_data(
    engine: Engine,
    definition: ProcedureDefinition,
    calendar: WorkingCalendar,
    agencies: AgencyDirectory,
) -> None:
    dossier = late_and_apologised(engine)
    now = at(2026, 3, 20, 9)
    sheet = to_html(control_sheet_form(dossier, definition, calendar, agencies, now))
    assert sheet.startswith("<!DOCTYPE html>") and '<html lang="vi">' in sheet
    for text in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
        "Mã hồ sơ: 000.00.71.H26-260302-0001",
        "Trước hạn",
        "Đúng hạn",
        "Quá hạn",
        "08 giờ 30 phút, ngày 02/03/2026",
        "@page",
    ):
        assert text in sheet, text
    assert "&lt;thiếu&gt; trang 2" in sheet and "<thiếu>" not in sheet  # autoescaped
    letter = to_html(apology_form(dossier, definition, calendar, agencies, now))
    for text in (
        "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ",
        "REF-7",
        "14 giờ 00 phút, ngày 05/03/2026",
        "17 giờ 00 phút, ngày 11/03/2026",
        "cần xác minh nơi cư trú.",
        "Ngày 06 tháng 03 năm 2026",
    ):
        assert text in letter, text
    assert "Dự thảo" not in letter
    draft = to_html(apology_form(accepted(engine), definition, calendar, agencies, now))
    assert "Dự thảo" in draft and "……" in draft  # the reason is left for the officer


def test_without_weasyprint_a_pdf_is_refused_saying_what_to_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # the import then fails
    with pytest.raises(PdfUnavailable, match="PDF needs WeasyPrint and its system libraries"):
        to_pdf("<p>Phiếu</p>")
