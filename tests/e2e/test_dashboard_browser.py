"""The supervisors' dashboard (``/dashboard``) in a real headless Chromium, over a real
``lienthong serve`` with a seeded history, on SQLite and on PostgreSQL.

The browser is Debian's ``chromium`` at /usr/bin/chromium, driven by Playwright (never a
downloaded build: ``playwright install`` is not used). Without it the browser tests skip, saying
so, unless ``LIENTHONG_REQUIRE_BROWSER=1`` (set by ``.ci/run``): then they fail. Screenshots at
1366x768 go to ``tests/artifacts/``.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx
import pytest

from adapters.bootstrap import App
from tests.conftest import FixedClock
from tests.e2e.api_server import POLICE, WARD, Server, serving
from tests.histories import PAPERS, VN, make_history, plans
from workflow.dossier import Actor
from workflow.engine import Engine
from workflow.services import Act, Submit, act, submit

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
VIEWPORT = {"width": 1366, "height": 768}
KINDS = ("open", "on_track", "at_risk", "overdue", "paused", "not_started")
RESIDENCE = ("declaration", "lawful_residence")
#: dossiers left open, relative to now: (procedure, papers, reception, working days ago, acts)
OPEN = (
    ("2.000986", PAPERS, WARD, 15, ("accept", "hand_over")),  # overdue at the ward
    ("2.000815", ("original", "copy"), WARD, 10, ("accept",)),  # overdue: a same-day copy
    ("1.004222", RESIDENCE, POLICE, 20, ("accept",)),  # overdue at the police
    ("1.004222", RESIDENCE, POLICE, 6, ("accept",)),  # at risk: 1 of 7 days left
    ("1.004222", RESIDENCE, POLICE, 0, ("accept",)),  # on track
    ("2.000986", PAPERS, WARD, 0, ("accept",)),  # on track
    ("2.000986", PAPERS, WARD, 0, ()),  # received, not accepted: not started
)


def seed(app: App) -> None:
    """The history of the metrics tests (44 linked dossiers in March-April 2026, four left
    open at the police, long overdue), and a few dossiers received lately at the ward and the
    police: overdue, at risk, on track and not started at the time the test runs."""
    clock = FixedClock(dt.datetime(2026, 3, 2, 9, tzinfo=VN))
    engine = Engine(app.catalogue, clock, app.calendar)
    make_history(plans(44), app.store.unit_of_work, engine, clock)
    calendar, now = app.calendar, dt.datetime.now(VN)
    for n, (procedure, papers, agency, days, acts) in enumerate(OPEN):
        clock.set(calendar.from_work(calendar.to_work(now) - round(days * calendar.day_length)))
        who = "ward-officer" if agency == WARD else "police-officer"
        officer = Actor(principal=who, agency=agency, role="officer")
        command = Submit(procedure, "counter", f"OPEN-{n}", officer, documents=papers)
        code = submit(command, app.store.unit_of_work(), engine).code
        for trigger in acts:
            act(Act(code, trigger, officer), app.store.unit_of_work(), engine)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless; skipped (or failed in CI) when it is not there. Closed at
    the end of this module: Playwright's event loop must not outlive its tests."""
    required = os.environ.get("LIENTHONG_REQUIRE_BROWSER") == "1"
    missing = None
    if not CHROMIUM.exists():
        missing = (
            f"Chromium not found at {CHROMIUM}: install Debian's chromium package (.ci/run does)"
        )
    try:
        from playwright.sync_api import sync_playwright  # noqa: PLC0415
    except ImportError:
        missing = missing or "Playwright is not installed: pip install -e '.[dev]'"
    if missing is not None:
        if required:
            pytest.fail(f"{missing} (LIENTHONG_REQUIRE_BROWSER=1: the browser test must run)")
        pytest.skip(missing)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with serving(request, tmp_path_factory, "dashboard", seed) as found:
        yield found


@pytest.fixture
def page(browser: Browser, server: Server) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT, locale="vi-VN")
    opened = context.new_page()
    opened.set_default_timeout(20_000)
    yield opened
    context.close()


def backend(server: Server) -> str:
    return "postgres" if "LIENTHONG_DATABASE_URL" in server.env else "sqlite"


def board(server: Server, at: str, agency: str | None = None) -> dict[str, Any]:
    """The API's board at the instant the page shows (so the figures cannot drift)."""
    params = {"at": at, "limit": "100", **({"agency": agency} if agency else {})}
    answer = httpx.get(
        f"{server.url}/api/v1/sla", params=params, headers=server.headers("supervisor"), timeout=60
    )
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def shown(page: Page) -> dict[str, int]:
    return {
        kind: int(page.inner_text(f"[data-testid=count-{kind.replace('_', '-')}]"))
        for kind in KINDS
    }


def log_in(page: Page, server: Server, who: str = "supervisor", query: str = "") -> None:
    page.goto(f"{server.url}/dashboard{query}")
    page.fill("[data-testid=login-token]", server.tokens[who])
    page.click("[data-testid=login-submit]")


def updated(page: Page, **where: str) -> str:
    """Wait until the page shows a board with these data attributes; its instant."""
    match = "".join(f'[data-{name}="{value}"]' for name, value in where.items())
    page.wait_for_selector(f"[data-testid=last-updated][data-at][data-complete]{match}")
    at = page.get_attribute("[data-testid=last-updated]", "data-at")
    assert at
    return at


def percent(value: float) -> str:
    """A share as the page writes it in Vietnamese: one decimal at most, decimal comma."""
    return f"{value * 100:.1f}".removesuffix(".0").replace(".", ",") + "%"


def test_the_page_and_its_files_hold_no_data(server: Server) -> None:
    html = httpx.get(f"{server.url}/dashboard")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in html.headers["content-security-policy"]
    assert 'src="/dashboard/static/dashboard.js"' in html.text and "http" not in html.text
    for name, kind in (("dashboard.js", "text/javascript"), ("dashboard.css", "text/css")):
        asset = httpx.get(f"{server.url}/dashboard/static/{name}")
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(kind)
        assert "://" not in asset.text.replace("http://www.w3.org/2000/svg", "")
    assert httpx.get(f"{server.url}/dashboard/static/..%2Froutes.py").status_code == 404
    assert httpx.get(f"{server.url}/dashboard/names").status_code == 401
    names = httpx.get(f"{server.url}/dashboard/names", headers=server.headers("supervisor"))
    assert names.json()["agencies"][POLICE]["vi"].startswith("Công an")


def test_a_wrong_token_shows_why_and_the_form_again(page: Page, server: Server) -> None:
    page.goto(f"{server.url}/dashboard")
    page.fill("[data-testid=login-token]", "not-a-token")
    page.click("[data-testid=login-submit]")
    error = page.wait_for_selector("[data-testid=login-error]:visible")
    assert error is not None and "không đúng hoặc đã bị thu hồi" in error.inner_text()
    assert page.is_visible("[data-testid=login-token]")
    log_in(page, server, "ward")  # an officer reads its board, but not the metrics: 403
    page.wait_for_selector("[data-testid=login-error]:visible >> text=giám sát viên")
    assert page.is_hidden("[data-testid=count-overdue]")
    assert page.evaluate("sessionStorage.length") == 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"dashboard-{backend(server)}-login.png")


def test_the_dashboard_shows_the_apis_figures(page: Page, server: Server) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = f"dashboard-{backend(server)}"
    log_in(page, server)
    at = updated(page, agency="")
    api = board(server, at)
    assert shown(page) == {kind: api["dossiers"][kind] for kind in KINDS}
    assert api["dossiers"]["overdue"] >= 3 and api["dossiers"]["at_risk"] >= 1
    first = page.inner_text("[data-testid=overdue-row] >> nth=0 >> [data-testid=row-code]")
    assert first == api["overdue"][0]["code"]
    assert page.locator("[data-testid=overdue-row]").count() == len(api["overdue"])
    cells = page.locator("[data-testid=heatmap-cell]")
    assert cells.count() == len(api["cells"])
    for cell in api["cells"]:
        at_cell = f'[data-testid=heatmap-cell][data-agency="{cell["agency"]}"]'
        at_cell += f'[data-procedure="{cell["procedure"]}"]'
        counts = cell["dossiers"]
        rate = (counts["open"] - counts["overdue"]) / counts["open"]
        assert page.inner_text(at_cell).startswith(percent(rate))
    card = httpx.get(f"{server.url}/api/v1/scorecard", headers=server.headers("supervisor"))
    for indicator in card.json()["indicators"]:
        value = page.inner_text(f"[data-testid=scorecard-value-{indicator['key']}]")
        assert value == ("—" if indicator["value"] is None else percent(indicator["value"]))
    assert page.is_visible("text=Bảng theo dõi hạn xử lý")
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORT["width"]
    page.screenshot(path=ARTIFACTS / f"{name}.png")
    page.screenshot(path=ARTIFACTS / f"{name}-full.png", full_page=True)

    page.evaluate("window.notReloaded = true")
    page.select_option("[data-testid=filter-agency]", POLICE)
    at = updated(page, agency=POLICE)
    police = board(server, at, POLICE)
    assert shown(page) == {kind: police["dossiers"][kind] for kind in KINDS}
    assert shown(page) != {kind: api["dossiers"][kind] for kind in KINDS}
    assert {c.get_attribute("data-agency") for c in cells.all()} == {POLICE}
    assert page.evaluate("window.notReloaded") is True

    page.select_option("[data-testid=filter-procedure]", "1.004222")
    at = updated(page, agency=POLICE, procedure="1.004222")
    [group] = [g for g in board(server, at, POLICE)["by_procedure"] if g["key"] == "1.004222@2025"]
    assert shown(page) == {kind: group["dossiers"][kind] for kind in KINDS}
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORT["width"]

    assert page.inner_text("[data-testid=count-overdue] >> xpath=..").startswith("Quá hạn")
    page.click("[data-testid=lang-toggle]")
    page.wait_for_selector("html[lang=en]")
    assert page.inner_text("[data-testid=count-overdue] >> xpath=..").startswith("Overdue")
    assert page.is_visible("text=SLA board") and page.inner_text("[data-testid=lang-toggle]") == (
        "Tiếng Việt"
    )
    page.screenshot(path=ARTIFACTS / f"{name}-en.png")
    page.reload()  # the token stays for the session, the language is remembered
    updated(page)
    assert page.inner_text("[data-testid=lang-toggle]") == "Tiếng Việt"
    assert page.is_visible("text=SLA board")


def test_it_refreshes_itself_every_30_seconds(page: Page, server: Server) -> None:
    page.clock.install()
    log_in(page, server)
    first = updated(page)
    page.evaluate("window.notReloaded = true")
    page.clock.run_for(31_000)
    page.wait_for_selector(f'[data-testid=last-updated][data-at]:not([data-at="{first}"])')
    assert page.evaluate("window.notReloaded") is True


def test_the_board_as_of_an_instant_given_in_the_address(page: Page, server: Server) -> None:
    # in the seeded history: dossiers then open were overdue, on track or paused at that instant
    at = "2026-03-20T10:00:00+07:00"
    log_in(page, server, query="?" + urlencode({"at": at}))
    shown_at = updated(page, agency="")
    api = board(server, at)
    assert shown_at == api["at"]
    assert dt.datetime.fromisoformat(shown_at) == dt.datetime.fromisoformat(at)
    assert shown(page) == {kind: api["dossiers"][kind] for kind in KINDS}
    assert shown(page) != {kind: board(server, now_at())["dossiers"][kind] for kind in KINDS}
    assert page.inner_text("[data-testid=last-updated]") == "Tình hình lúc 10:00 20/03/2026"
    page.evaluate("window.notReloaded = true")
    page.select_option("[data-testid=filter-agency]", POLICE)  # the filters keep the instant
    assert updated(page, agency=POLICE) == api["at"]
    assert shown(page) == {kind: board(server, at, POLICE)["dossiers"][kind] for kind in KINDS}
    assert page.evaluate("window.notReloaded") is True

    # "+" typed into an address arrives as a space: read back as the offset's sign
    page.goto(f"{server.url}/dashboard?at=2026-03-20T10:00:00+07:00")
    assert updated(page) == api["at"]

    page.goto(f"{server.url}/dashboard?at=yesterday")  # the token stays for the session
    problem = page.wait_for_selector("[data-testid=problem]:visible")
    assert problem is not None
    text = problem.inner_text()
    assert "(?at=)" in text and "at:" in text and "2025-07-31T17:00:00%2B07:00" in text
    assert page.is_hidden("[data-testid=count-overdue]")

    page.goto(f"{server.url}/dashboard?at=2999-01-01T00:00:00%2B07:00")  # past the calendar
    page.wait_for_selector("[data-testid=problem]:visible >> text=calendar's last year")


def now_at() -> str:
    return dt.datetime.now(VN).isoformat()
