"""Browser tests: headless Chromium (Playwright) against the real app on a loopback server.

Every test in this folder is marked `browser` (deselect with `-m "not browser"`).

Fixtures
--------
`chromium_executable` (session) -> str
    The Chromium binary: `$CHROMIUM_PATH`, else `/usr/bin/chromium` (Debian package
    `chromium`). Missing: the test is skipped, or fails when `$CI` is set (`.ci/run`
    exports CI=1, so CI never passes by skipping).
`browser` (session) -> playwright.sync_api.Browser
    One headless Chromium for the whole session.
`live_demo_records` -> list[dict]
    The demo clinics each live server loads: the first `LIVE_DEMO_COUNT` of the
    deterministic demo set (Alaska and Alabama). Override this fixture in a test
    module to load others.
`live_server` -> LiveServer
    A fresh app (own SQLite database made by the migrations, own Whoosh index, own
    mail outbox, all under tmp_path) served by werkzeug on 127.0.0.1:<free port> in a
    background thread, with the vocabularies and `live_demo_records` loaded and
    indexed. Plain http, so session cookies are not `Secure`; SITE_URL is the
    server's address, so the links in mails point at it. CSRF stays on.
    `.url` base URL without a trailing slash, `.app` the Flask app (read the database
    in `with live_server.app.app_context():`), `.outbox()` every mail sent so far,
    `.wait_for_mail(to)` the next mail to an address (mail is written after the
    response is sent, so poll), `mail_links(message)` the links in a mail body,
    `.cli(*args)` runs a `flask` command (e.g. `flask users create`) against it.
`browser_problems` -> BrowserProblems
    What the pages of this test did wrong: requests to any origin but the live
    server's (they are also blocked, so no test reaches the network), stylesheets,
    scripts, images… answered with 4xx/5xx, console errors (CSP violations
    included) and uncaught page exceptions. Checked when the test ends: any
    problem fails it (reported as an error in teardown). A page (document)
    answered with 4xx/5xx is not a problem by itself: the app does that on purpose
    (400 for a form with errors), so tests assert statuses themselves.
    `allow_console_error(regex)` accepts an expected console message;
    `assert_clean()` checks in the middle of a test, failing it there.
`new_context(viewport=(width, height), **options)` -> BrowserContext
    A new browser profile (own cookies) whose `base_url` is the live server, so
    `page.goto("/search")` works; guarded by `browser_problems`; actions time out
    after `ACTION_TIMEOUT_MS`. Closed at teardown. `context.request` makes API
    calls with the profile's cookies (not routed: pass it paths only).
`new_page(context=None, viewport=(width, height))` -> Page
    A page in `context`, or in a new context of its own with that viewport
    (default `DESKTOP`; `PHONE` is 360 x 740), guarded by `browser_problems`.
`page` -> Page
    Shorthand for `new_page()`.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from click.testing import Result
from flask import Flask
from flask_migrate import upgrade
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
    Response,
    Route,
    sync_playwright,
)
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from directory import create_app
from directory.extensions import db
from directory.listings.demo import load_demo
from directory.listings.vocabulary import load_vocabularies
from directory.mail import outbox_messages
from directory.search import sync
from tests import openapi_check

DEFAULT_CHROMIUM = "/usr/bin/chromium"
MISSING_CHROMIUM = (
    "Debian package chromium is not installed: apt-get install chromium, or run .ci/run"
)
LIVE_DEMO_COUNT = 12
DESKTOP = (1280, 900)
PHONE = (360, 740)
MAIL_TIMEOUT_SECONDS = 10.0
ACTION_TIMEOUT_MS = 10_000  # clicks, fills, navigations (the machine may be busy)
_URL = re.compile(r"https?://[^\s<>\"']+")
_STATUS_NOTE = re.compile(
    r"Failed to load resource: the server responded with a status of \d+ .*\(at (?P<url>\S+)\)$"
)

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test in this folder `browser` (the marker is declared in pyproject)."""
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


# -- Chromium --------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """Path of the Chromium to drive; skip (locally) or fail (CI) when it is missing."""
    path = os.environ.get("CHROMIUM_PATH") or DEFAULT_CHROMIUM
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        message = f"{MISSING_CHROMIUM} (looked for {path})"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set, so browser tests may not be skipped: {message}")
        pytest.skip(message)
    return path


@pytest.fixture
def axe_available() -> None:
    """Skip (locally) or fail (CI) a test that runs axe-core when our copy is missing."""
    from .axe import AXE

    if not AXE.exists():
        message = f"{AXE} is missing: run `make static/vendor/.stamp` (npm ci)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(autouse=True)
def _chromium_first(chromium_executable: str) -> None:
    """Skip (or fail in CI) before any live server is built when Chromium is missing."""


@pytest.fixture(scope="session")
def browser(chromium_executable: str) -> Iterator[Browser]:
    """One headless Chromium for the session (Playwright's sync API)."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_executable, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


# -- the live server -------------------------------------------------------------------------
@dataclass
class LiveServer:
    """The app served over real HTTP on loopback (see the module docstring)."""

    url: str
    app: Flask
    server: BaseWSGIServer
    thread: threading.Thread

    def outbox(self) -> list[EmailMessage]:
        """Every message the app has sent, oldest first."""
        return outbox_messages(self.app)

    def wait_for_mail(
        self, to: str, *, after: int = 0, timeout: float = MAIL_TIMEOUT_SECONDS
    ) -> EmailMessage:
        """The first message to `to` among those sent after the first `after` messages.

        Account mail is written once the response has been sent (`call_on_close`),
        so the page can be on screen a moment before the file exists.
        """
        deadline = time.monotonic() + timeout
        while True:
            for message in self.outbox()[after:]:
                if message["To"] == to:
                    return message
            if time.monotonic() > deadline:
                seen = [(m["To"], m["Subject"]) for m in self.outbox()]
                raise AssertionError(f"no mail to {to} within {timeout}s; outbox: {seen}")
            time.sleep(0.05)

    def cli(self, *args: str) -> Result:
        """Run `flask <args>` against this app (the real click commands); fail on error."""
        result = self.app.test_cli_runner().invoke(args=list(args))
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result


def mail_links(message: EmailMessage) -> list[str]:
    """The http(s) links in a plain-text mail, in order."""
    return _URL.findall(message.get_content())


def live_config(workdir: Path) -> dict[str, Any]:
    """Settings for a live test server: everything under `workdir`, nothing leaves it."""
    return {
        "TESTING": True,
        "SECRET_KEY": "browser-test-secret-key",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'live.sqlite'}",
        "SEARCH_BACKEND": "whoosh",
        "SEARCH_INDEX_DIR": str(workdir / "index"),
        "MAIL_OUTBOX_DIR": str(workdir / "outbox"),
        "MAIL_SMTP_HOST": "",  # never a real relay, whatever the environment says
        "DEMO_DATA": False,
        # Plain http on loopback: Secure cookies would never be sent back.
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_SECURE": False,
        # No SERVER_NAME: pages answer whatever host the browser asked for. Mailed
        # links start with SITE_URL, set to the server's address once it listens.
    }


class _LiveRequestHandler(WSGIRequestHandler):
    """One request per connection, threads tracked, only failed requests logged.

    HTTP/1.0 closes every connection after its response, so no handler thread is
    left waiting on an idle keep-alive socket when the server stops.
    """

    protocol_version = "HTTP/1.0"
    threads: set[threading.Thread] = set()

    def handle(self) -> None:
        current = threading.current_thread()
        self.threads.add(current)
        try:
            super().handle()
        finally:
            self.threads.discard(current)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if str(code).isdigit() and int(code) >= 400:
            super().log_request(code, size)


def _closing_responses(app: Any) -> Any:
    """The app, with each response closed as soon as its last chunk is sent.

    Werkzeug's server closes a response only after draining the request socket, and
    a connection the browser resets meanwhile (it drops an asset it no longer needs
    when it navigates on) raises there first: the static file stays open until the
    garbage collector finds it, which the suite's ResourceWarning check reports in
    whichever test is running then.
    """

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        response = app(environ, start_response)

        def chunks() -> Iterator[bytes]:
            try:
                yield from response
            finally:
                if hasattr(response, "close"):
                    response.close()

        return chunks()

    return wsgi


@pytest.fixture
def live_demo_records(demo_records: list[dict]) -> list[dict]:
    """The demo clinics a live server loads; override in a module for another slice."""
    return demo_records[:LIVE_DEMO_COUNT]


@pytest.fixture
def live_server(tmp_path: Path, live_demo_records: list[dict]) -> Iterator[LiveServer]:
    """A fresh app with vocabularies and demo clinics, served on 127.0.0.1:<free port>."""
    workdir = tmp_path / "live"
    workdir.mkdir()
    app = create_app(live_config(workdir), instance_path=workdir)
    openapi_check.install(app)  # every /api/v1 answer must validate against the document
    with app.app_context():
        upgrade()
        load_vocabularies()
        load_demo(live_demo_records)
        sync.rebuild()
        db.session.remove()
    handlers: set[threading.Thread] = set()

    class Handler(_LiveRequestHandler):
        threads = handlers

    server = make_server(
        "127.0.0.1", 0, _closing_responses(app), threaded=True, request_handler=Handler
    )
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["SITE_URL"] = url
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    live = LiveServer(url=url, app=app, server=server, thread=thread)
    try:
        yield live
    finally:
        server.shutdown()
        thread.join(timeout=10)
        # Let requests in flight finish (and mail sent on close be written), so
        # nothing of this server runs into the next test.
        for handler in list(handlers):
            handler.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


# -- guarded contexts and pages --------------------------------------------------------------
def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


@dataclass
class BrowserProblems:
    """Foreign requests, console errors and page exceptions seen by this test's pages."""

    origin: str
    foreign_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_resources: list[str] = field(default_factory=list)
    allowed_console: list[re.Pattern[str]] = field(default_factory=list)
    # Pages (documents) answered with an HTTP error on purpose, e.g. a form with errors.
    error_documents: set[str] = field(default_factory=set)

    def allow_console_error(self, pattern: str) -> None:
        """Accept console errors matching `pattern` (re.search), e.g. an expected 400."""
        self.allowed_console.append(re.compile(pattern))

    def guard_context(self, context: BrowserContext) -> None:
        """Block and record every request to another origin."""

        def route(route: Route, request: Request) -> None:
            if _origin(request.url) == self.origin:
                route.continue_()
            else:
                self.foreign_requests.append(f"{request.method} {request.url}")
                route.abort("blockedbyclient")

        context.route("**/*", route)
        context.on("page", self.watch_page)

    def watch_page(self, page: Page) -> None:
        """Record the page's console errors and uncaught exceptions."""

        def console(message: ConsoleMessage) -> None:
            if message.type == "error":
                location = message.location or {}
                self.console_errors.append(f"{message.text} (at {location.get('url', '?')})")

        def response(response: Response) -> None:
            if response.status < 400:
                return
            if response.request.resource_type == "document":
                self.error_documents.add(response.url)
            else:
                self.failed_resources.append(f"{response.status} {response.url}")

        page.on("console", console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("response", response)

    def _expected(self, console_error: str) -> bool:
        """Allowed by the test, or Chromium's note about a page answered with 4xx/5xx.

        Chromium logs "Failed to load resource: … status of 400" for every document
        with an error status. The app answers 400 for a form with errors and 404 for
        a missing page on purpose, and tests check those statuses themselves; a
        failing stylesheet, script or image is still a problem (`failed_resources`).
        """
        if any(p.search(console_error) for p in self.allowed_console):
            return True
        status_note = _STATUS_NOTE.match(console_error)
        return bool(status_note and status_note["url"] in self.error_documents)

    def problems(self) -> list[str]:
        return (
            [f"request to another origin: {r}" for r in self.foreign_requests]
            + [f"failed resource: {r}" for r in self.failed_resources]
            + [f"console error: {e}" for e in self.console_errors if not self._expected(e)]
            + [f"uncaught page error: {e}" for e in self.page_errors]
        )

    def assert_clean(self) -> None:
        problems = self.problems()
        assert not problems, "the browser saw problems:\n" + "\n".join(problems)


@pytest.fixture
def browser_problems(live_server: LiveServer) -> Iterator[BrowserProblems]:
    """Recorder shared by this test's contexts and pages; any problem fails the test."""
    problems = BrowserProblems(origin=_origin(live_server.url))
    yield problems
    found = problems.problems()
    if found:
        pytest.fail("the browser saw problems:\n" + "\n".join(found), pytrace=False)


@pytest.fixture
def new_context(
    browser: Browser, live_server: LiveServer, browser_problems: BrowserProblems
) -> Iterator[Callable[..., BrowserContext]]:
    """Factory: `new_context(viewport=(w, h), **playwright_options)` -> BrowserContext."""
    contexts: list[BrowserContext] = []

    def make(viewport: tuple[int, int] = DESKTOP, **options: Any) -> BrowserContext:
        width, height = viewport
        options.setdefault("base_url", live_server.url)
        options.setdefault("service_workers", "block")  # every request goes through route()
        context = browser.new_context(viewport={"width": width, "height": height}, **options)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        browser_problems.guard_context(context)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def new_page(new_context: Callable[..., BrowserContext]) -> Callable[..., Page]:
    """Factory: `new_page(context=None, viewport=(w, h))` -> Page, guarded."""

    def make(context: BrowserContext | None = None, viewport: tuple[int, int] = DESKTOP) -> Page:
        return (context or new_context(viewport=viewport)).new_page()

    return make


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    """One guarded page at desktop size, in its own context."""
    return new_page()
