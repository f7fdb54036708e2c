"""Browser fixtures: a real uvicorn on loopback over seeded data, and headless Chromium.

Chromium is the Debian package (``/usr/bin/chromium``, installed by ``make test``);
Playwright drives it, and downloads no browser. Screenshots go to
``tests/dashboard/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from memosys import MemOS
from memosys.server.app import create_app
from memosys.server.background import BackgroundServer

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"


@dataclass
class Site:
    """The running server, its API keys and the ids of the seeded memories."""

    url: str
    keys: dict[str, str]
    data: Path
    ids: dict[str, str] = field(default_factory=dict)


def seed(mos: MemOS) -> dict[str, str]:
    """Ana: a conversation and two work facts; Bob: a private note. Returns the ids by name."""
    ana_messages = mos.add(
        [
            {"role": "user", "content": "I am moving to Lisbon in May", "name": "Ana"},
            {"role": "assistant", "content": "Exciting! Do you need help with the move?"},
        ],
        user_id="ana",
        session_id="trip-1",
        tags=["travel"],
    )
    tea, standup = mos.add_texts(
        ["Ana drinks green tea every morning", "The team standup is at 9 on weekdays"],
        user_id="ana",
        cube="work",
        kind="fact",
        tags=["work"],
        metadatas=[{"source": "crm", "confidence": 0.9}, {"source": "calendar"}],
    )
    (locker,) = mos.add_texts(["Bob's locker code is 4711"], user_id="bob", cube="private")
    return {"lisbon": ana_messages[0].id, "tea": tea.id, "standup": standup.id, "locker": locker.id}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Iterator[Site]:
    """uvicorn serving the API and the dashboard over a fresh data directory."""
    data = tmp_path_factory.mktemp("dashboard")
    mos = MemOS.open(data, embedder=embedder)
    keys = {user: mos.create_user(user).api_key for user in ("ana", "bob")}
    admin = mos.ensure_admin_key()
    assert admin is not None
    keys["admin"] = admin.api_key
    ids = seed(mos)
    server = BackgroundServer(create_app(mos)).start()
    try:
        yield Site(url=server.url + "/", keys=keys, data=data, ids=ids)
    finally:
        server.stop()
        mos.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium from the Debian package (per module: Playwright's sync API keeps
    an event loop running in this thread while it is open)."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is missing and could not be installed; run `make test` as root "
            "(it runs `apt-get install -y chromium chromium-driver`)"
        )
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=10_000)  # as the pages' own: searches embed on a busy 2-core CI
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="session", autouse=True)
def artifacts() -> Path:
    """An empty artifacts folder for this run's screenshots."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


class Tab:
    """One browser context (its own sessionStorage) with a page on the dashboard."""

    def __init__(self, browser: Any, site: Site, name: str, **options: Any) -> None:
        self.site = site
        self.name = name
        viewport = {"width": 1280, "height": 900}
        self.context = browser.new_context(**{"viewport": viewport, **options})
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def open(self, route: str = "") -> Any:
        self.page.goto(self.site.url + route)
        return self.page

    def sign_in(self, user: str) -> Any:
        """Sign in through the form with the user's key; returns the page."""
        page = self.open()
        page.get_by_label("API key").fill(self.site.keys[user])
        page.get_by_role("button", name="Sign in").click()
        page.get_by_test_id("signed-in-user").wait_for()
        return page

    def shot(self, step: str) -> Path:
        path = ARTIFACTS / f"{self.name}-{step}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def tab(browser: Any, site: Site, request: pytest.FixtureRequest) -> Iterator[Any]:
    """``tab("ana")`` opens a fresh browser context (``tab("ana", timezone_id=...)`` passes
    context options to Playwright); uncaught page errors fail the test."""
    opened: list[Tab] = []
    test = re.sub(r"\W+", "_", request.node.name.removeprefix("test_"))

    def open_tab(label: str = "main", **options: Any) -> Tab:
        opened.append(Tab(browser, site, f"{test}-{label}", **options))
        return opened[-1]

    yield open_tab
    for each in opened:
        each.context.close()
        assert each.errors == [], f"uncaught errors in the page: {each.errors}"
