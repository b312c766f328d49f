"""Forms 04 and 05 end to end: dossiers made through the engine (one late and apologised for,
one left overdue), printed over real HTTP (``/api/v1/dossiers/{code}/forms/04|05``, HTML and
PDF) and by ``lienthong form``, on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from adapters.bootstrap import App
from adapters.store import tables as t
from tests.conftest import FixedClock
from tests.e2e.api_server import POLICE, WARD, Server, serving
from tests.histories import OFFICER, PAPERS, VN
from workflow.dossier import Actor
from workflow.engine import Engine
from workflow.services import Act, Submit, act, submit

LINKED = "2.000986"
LATE, OVERDUE = "FORMS-LATE", "FORMS-OVERDUE"


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=VN)


def seed(app: App) -> None:
    """LATE: received Mon 2 March 2026, due Thu 5 March 09:00, apologised for on Fri 6 March
    with a new date of Wed 11 March 17:00, returned on Tue 10 March. OVERDUE: received the
    same day, left with the police ever since."""
    clock = FixedClock(at(2026, 3, 2, 9))
    engine = Engine(app.catalogue, clock, app.calendar)
    uow = app.store.unit_of_work

    def step(code: str, trigger: str, when: dt.datetime, **extra: object) -> None:
        clock.set(when)
        act(Act(code, trigger, OFFICER, **extra), uow(), engine)  # type: ignore[arg-type]

    codes = {}
    for ref in (LATE, OVERDUE):
        codes[ref] = submit(
            Submit(LINKED, "counter", ref, OFFICER, documents=PAPERS), uow(), engine
        )
        step(codes[ref].code, "accept", at(2026, 3, 2, 9))
        step(codes[ref].code, "hand_over", at(2026, 3, 2, 10))
        step(codes[ref].code, "hand_over", at(2026, 3, 2, 11))  # to the police
    late = codes[LATE].code
    with uow() as work:
        dossier = work.dossiers.get(late)
        engine.apologise(
            dossier,
            new_due=at(2026, 3, 11, 17),
            actor=Actor("chief", POLICE, "supervisor"),
            note="cần xác minh nơi cư trú <của trẻ>",
            at=at(2026, 3, 6, 10),
        )
        work.commit()
    step(late, "hand_over", at(2026, 3, 9, 10))
    step(late, "finish", at(2026, 3, 10, 10), payload={"result": "KQ-1"})
    step(late, "return_result", at(2026, 3, 10, 11))


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with serving(request, tmp_path_factory, "forms", seed) as found:
        yield found


def code_of(server: Server, ref: str) -> str:
    with server.store.engine.connect() as connection:
        found = connection.execute(
            select(t.dossiers.c.code).where(t.dossiers.c.applicant_ref == ref)
        ).scalar_one()
    return str(found)


def form(
    server: Server, code: str, number: str, who: str | None = "supervisor", **params: str
) -> httpx.Response:
    headers = server.headers(who) if who else {}
    return httpx.get(
        f"{server.url}/api/v1/dossiers/{code}/forms/{number}",
        params=params,
        headers=headers,
        timeout=60,
    )


def test_form_05_shows_the_real_dossier(server: Server) -> None:
    code = code_of(server, LATE)
    answer = form(server, code, "05", who="ward")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    page = answer.text
    for text in (
        "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
        f"Mã hồ sơ: {code}",
        "Liên thông đăng ký khai sinh, đăng ký thường trú, cấp thẻ bảo hiểm y tế",
        "Công an phường Tây Hồ",
        "Trước hạn",  # the dossier, against its new date
        "Đúng hạn",  # reception
        "Quá hạn",  # the police
        "17 giờ 00 phút, ngày 11/03/2026",
        "&lt;của trẻ&gt;",
    ):
        assert text in page, text
    assert "<của trẻ>" not in page


def test_form_04_records_the_apology_and_drafts_one_for_an_overdue_dossier(
    server: Server,
) -> None:
    recorded = form(server, code_of(server, LATE), "04")
    assert recorded.status_code == 200, recorded.text
    for text in (
        "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "09 giờ 00 phút, ngày 05/03/2026",  # the appointment it replaced
        "17 giờ 00 phút, ngày 11/03/2026",
        "cần xác minh nơi cư trú",
        LATE,
    ):
        assert text in recorded.text, text
    assert "Dự thảo" not in recorded.text
    draft = form(server, code_of(server, OVERDUE), "04")
    assert draft.status_code == 200, draft.text
    assert "Dự thảo" in draft.text and "09 giờ 00 phút, ngày 05/03/2026" in draft.text


def fresh(server: Server) -> str:
    """A dossier submitted now: its clock has not started, it owes no apology."""
    body = {
        "procedure": LINKED,
        "channel": "online",
        "applicant": {"ref": uuid.uuid4().hex[:12]},
        "documents": list(PAPERS),
    }
    made = httpx.post(f"{server.url}/api/v1/dossiers", json=body, headers=server.headers("ward"))
    assert made.status_code == 201, made.text
    return str(made.json()["code"])


def test_form_04_is_refused_for_a_dossier_that_owes_no_apology(server: Server) -> None:
    code = fresh(server)
    refused = form(server, code, "04", who="ward")
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/json"
    assert "owes no apology" in refused.json()["detail"]
    assert form(server, code, "05", who="ward").status_code == 200


def test_a_pdf_is_a_pdf(server: Server) -> None:
    for number in ("04", "05"):
        answer = form(server, code_of(server, LATE), number, format="pdf")
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/pdf"
        assert answer.content.startswith(b"%PDF")
        assert f'filename="mau-{number}-' in answer.headers["content-disposition"]


def test_forms_are_for_those_who_may_read_the_dossier(server: Server) -> None:
    code = code_of(server, LATE)  # returned at the ward
    assert form(server, code, "05", who=None).status_code == 401
    other = form(server, code, "05", who="police")
    assert other.status_code == 403
    assert other.json()["detail"] == f"dossier {code} is at agency {WARD}, not at {POLICE}"
    assert form(server, code, "04", who="police").status_code == 403
    assert form(server, code, "05", who="ward").status_code == 200
    missing = form(server, "000.00.71.H26-990101-9999", "05")
    assert missing.status_code == 404
    assert form(server, code, "05", format="docx").status_code == 422


def lienthong(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli", *args],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_cli_prints_the_forms(server: Server, tmp_path: Path) -> None:
    code = code_of(server, LATE)
    printed = lienthong(server, "form", "05", code)
    assert printed.returncode == 0, printed.stderr
    assert f"Mã hồ sơ: {code}" in printed.stdout and "Quá hạn" in printed.stdout
    pdf = tmp_path / "form-04.pdf"
    written = lienthong(server, "form", "04", code, "--format", "pdf", "--out", str(pdf))
    assert written.returncode == 0, written.stderr
    assert pdf.read_bytes().startswith(b"%PDF")
    html = tmp_path / "form-05.html"
    assert lienthong(server, "form", "05", code, "--out", str(html)).returncode == 0
    assert "PHIẾU KIỂM SOÁT" in html.read_text(encoding="utf-8")
    needs_file = lienthong(server, "form", "05", code, "--format", "pdf")
    assert needs_file.returncode == 2 and "--out FILE" in needs_file.stderr
    unknown = lienthong(server, "form", "05", "NOPE")
    assert unknown.returncode == 2 and "NOPE" in unknown.stderr
    new = lienthong(server, "form", "04", fresh(server))
    assert new.returncode == 2 and "owes no apology" in new.stderr
