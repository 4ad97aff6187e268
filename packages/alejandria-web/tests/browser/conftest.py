"""The real-browser harness: Debian's Chromium, driven by Playwright, against a live
``alejandria serve`` on the test database.

One server and one browser per session, started when a test first asks for them. The server
runs on a database of its own (a copy of the kit's migrated template) and a data dir of its
own; in this folder ``alejandria_database_url`` and ``alejandria_settings`` are that database
and data dir, so ``archive``, ``people``, ``catalogue`` and the CLI fixtures write where the
server reads. Instead of a new database per test, the database is put back before each test
(the tables the last test wrote truncated, identities restarted, the rows the migrations
seeded restored): a test sees only its own data, as with the kit's per-test databases. The
data dir is kept (media files are stored by their hash: a later test's copy is the same).
The server keeps the kit's default settings: ``alejandria_settings_overrides`` change only
the test's own archive.

Fixtures: ``live_server`` (its ``url``), ``browser``, ``page`` (1280x800), ``phone_page``
(390x844, touch), ``new_page(width, height, **context_options)``, ``page_errors`` (what went
wrong on ``page``: console errors, CSP refusals, uncaught exceptions, requests off-origin).
Helpers, imported with ``from .conftest import login, run_axe, screenshot``: ``login``,
``run_axe``/``axe_results``, ``screenshot``, ``errors_of``.

Chromium is ``/usr/bin/chromium`` (apt: chromium), or ``ALEJANDRIA_TEST_CHROMIUM``; without
it the tests are skipped, and fail under CI, where every test must run. Playwright's own
browser download (``playwright install``) is never used.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
import weakref
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from alejandria.testing import DEFAULT_SETTINGS, require

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Route
    from sqlalchemy.engine import Engine

    from alejandria.settings import Settings

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[3]
HOST = "127.0.0.1"

CHROMIUM_ENV = "ALEJANDRIA_TEST_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
ARTIFACTS_ENV = "ALEJANDRIA_TEST_ARTIFACTS"
AXE_JS = REPO / "packages" / "alejandria-web" / "frontend" / "node_modules" / "axe-core" \
    / "axe.min.js"

DESKTOP = (1280, 800)
PHONE = (390, 844)
#: Playwright's wait for a selector, a navigation or a request (its default is 30 s): a page
#: of this app answers in milliseconds, so a failing wait should not hold the run up.
TIMEOUT_MS = 10_000
SERVER_START_S = 30.0
SERVER_STOP_S = 10.0
#: The impacts ``run_axe`` reports by default.
SERIOUS = ("serious", "critical")


# -- markers -------------------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is marked ``browser`` (``-m "not browser"`` skips them), and
    they run last: Playwright's sync API keeps its event loop set on the main thread while
    the (session) browser is open, and a later test that runs an event loop of its own
    (``anyio.run``) would fail with "another loop is running"."""
    ours = []
    for item in items:
        if item.path.is_relative_to(HERE):
            if item.get_closest_marker("browser") is None:
                item.add_marker(pytest.mark.browser)
            ours.append(item)
    if ours:
        chosen = set(ours)
        items[:] = [item for item in items if item not in chosen] + ours


# -- the live server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@dataclass
class ServerProcess:
    """The session's ``alejandria serve``, its output in ``log``."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def output(self, since: int = 0) -> str:
        """What the server printed (from byte offset ``since``)."""
        with self.log.open("rb") as log:
            log.seek(since)
            return log.read().decode(errors="replace")

    def size(self) -> int:
        return self.log.stat().st_size

    def stop(self) -> None:
        """SIGTERM (a graceful stop), then SIGKILL when it does not end in time."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(SERVER_STOP_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class LiveServer:
    """The live server as one test sees it: ``url`` (no trailing slash), and ``output()``,
    what it printed during this test (also shown in the report when the test fails)."""

    server: ServerProcess
    since: int

    @property
    def url(self) -> str:
        return self.server.url

    def output(self) -> str:
        return self.server.output(self.since)


@dataclass
class BrowserDatabase:
    """The session's database: the server's and, in this folder, every test's."""

    url: str
    engine: Engine
    #: The rows the migrations seeded (table -> rows as JSON), put back by ``reset``.
    seeds: dict[str, list[str]] = field(default_factory=dict)

    def reset(self) -> None:
        """Back to the migrated template's state: the tables a test wrote to (or whose
        identity it advanced) truncated, identities restarted, the seeded rows put back.
        Only those: truncating all ~35 tables takes 0.4 s, checking them 15 ms."""
        from sqlalchemy import text

        with self.engine.begin() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '10s'"))
            dirty = self._written(conn)
            if not dirty:
                return
            conn.execute(text(f"TRUNCATE {', '.join(dirty)} RESTART IDENTITY CASCADE"))
            for table, rows in self.seeds.items():
                columns = ", ".join(_columns(conn, table))
                for row in rows:
                    conn.execute(text(
                        f"INSERT INTO {table} ({columns}) OVERRIDING SYSTEM VALUE "
                        f"SELECT {columns} FROM jsonb_populate_record(NULL::{table}, "
                        "CAST(:row AS jsonb))"), {"row": row})

    def _written(self, conn: Any) -> list[str]:
        """The tables not as the template left them: rows in an unseeded table, other rows
        in a seeded one, or a used sequence (rows added, then deleted)."""
        from sqlalchemy import text

        tables = _tables(conn)
        probes = " UNION ALL ".join(
            f"SELECT '{table}' WHERE EXISTS (SELECT 1 FROM {table})" for table in tables
            if table not in self.seeds)
        dirty = set(conn.execute(text(probes)).scalars()) if probes else set()
        for table, rows in self.seeds.items():
            now = conn.execute(text(f"SELECT CAST(to_jsonb(t) AS text) FROM {table} AS t"))
            if sorted(now.scalars()) != sorted(rows):
                dirty.add(table)
        dirty.update(conn.execute(text(
            "SELECT format('%I.%I', tn.nspname, t.relname) FROM pg_depend d "
            "JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' "
            "JOIN pg_namespace sn ON sn.oid = s.relnamespace "
            "JOIN pg_sequences q ON q.schemaname = sn.nspname AND q.sequencename = s.relname "
            "JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = "
            "t.relnamespace WHERE d.deptype IN ('a', 'i') AND q.last_value IS NOT NULL"))
            .scalars())
        # a seeded table truncated by CASCADE is restored too: restore all of them then
        if dirty:
            dirty.update(self.seeds)
        return sorted(dirty & set(tables))


def _tables(conn: Any) -> list[str]:
    """Every table of the database's own schemas (quoted), but the migration stamps."""
    from sqlalchemy import text

    return list(conn.execute(text(
        "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables "
        "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') "
        "AND tablename NOT LIKE 'alembic_version%' ORDER BY 1")).scalars())


def _columns(conn: Any, table: str) -> list[str]:
    """The columns of ``table`` an INSERT may name (not dropped, not generated), quoted."""
    from sqlalchemy import text

    return list(conn.execute(text(
        "SELECT quote_ident(attname) FROM pg_attribute WHERE attrelid = CAST(:t AS regclass) "
        "AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum"),
        {"t": table}).scalars())


def _autocommit(url: str, statement: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def browser_database(alejandria_server_url: str,
                     alejandria_template_url: str) -> Iterator[BrowserDatabase]:
    """A copy of the kit's migrated template for the whole session, dropped at its end."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    template = make_url(alejandria_template_url).database
    name = f"alejandria_browser_{uuid.uuid4().hex[:12]}"
    _autocommit(alejandria_server_url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    url = make_url(alejandria_server_url).set(database=name).render_as_string(
        hide_password=False)
    engine = create_engine(url, poolclass=NullPool)
    try:
        database = BrowserDatabase(url, engine)
        with engine.connect() as conn:
            for table in _tables(conn):
                rows = list(conn.execute(text(
                    f"SELECT CAST(to_jsonb(t) AS text) FROM {table} AS t")).scalars())
                if rows:
                    database.seeds[table] = rows
        yield database
    finally:
        engine.dispose()
        _autocommit(alejandria_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def browser_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's data dir (media, thumbnails): the server's and every test's here."""
    return tmp_path_factory.mktemp("browser") / "data"


@pytest.fixture
def alejandria_database_url(browser_database: BrowserDatabase) -> str:
    """The kit's per-test database, here the live server's, emptied for this test."""
    browser_database.reset()
    return browser_database.url


@pytest.fixture
def alejandria_settings(browser_data_dir: Path,
                        alejandria_settings_overrides: dict[str, Any]) -> Settings:
    """The kit's settings on the live server's data dir (the overrides apply to the test's
    own archive only: the server keeps the kit's defaults)."""
    from alejandria.settings import Settings

    return Settings(**{"data_dir": browser_data_dir, "database_url": None, **DEFAULT_SETTINGS,
                       **alejandria_settings_overrides})


def server_env(database_url: str, data_dir: Path) -> dict[str, str]:
    """This process's environment less any core or web setting a developer's shell holds,
    then the session's database and data dir and the kit's defaults (as
    ``alejandria_cli_env`` builds it for a test)."""
    from alejandria.settings import Settings

    core = {f"ALEJANDRIA_{name.upper()}" for name in Settings.model_fields}
    env = {name: value for name, value in os.environ.items()
           if name not in core and not name.startswith("ALEJANDRIA_WEB_")}
    values: dict[str, object] = {"database_url": database_url, "data_dir": data_dir,
                                 **DEFAULT_SETTINGS}
    for name, value in values.items():
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        env[f"ALEJANDRIA_{name.upper()}"] = text
    return env


@pytest.fixture(scope="session")
def alejandria_live_server(browser_database: BrowserDatabase, browser_data_dir: Path,
                           tmp_path_factory: pytest.TempPathFactory
                           ) -> Iterator[ServerProcess]:
    """``alejandria serve --no-create-admin`` for the session, on a free port; stopped at
    the end. Tests use ``live_server``."""
    log = tmp_path_factory.mktemp("live-server") / "serve.log"
    env = server_env(browser_database.url, browser_data_dir)
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "alejandria.cli.main", "serve", "--host", HOST, "--port",
             str(port), "--no-create-admin"], env=env, stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT)
    server = ServerProcess(process, port, log)
    try:
        _wait_for_health(server)
        yield server
    finally:
        server.stop()


def _wait_for_health(server: ServerProcess) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while True:
        if server.process.poll() is not None:
            pytest.fail(f"`alejandria serve` exited ({server.process.returncode}):\n"
                        f"{server.output()}")
        try:
            if httpx.get(f"{server.url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"/health did not answer 200 within {SERVER_START_S} s:\n"
                        f"{server.output()}")
        time.sleep(0.05)


@pytest.fixture
def live_server(alejandria_live_server: ServerProcess,
                alejandria_database_url: str) -> Iterator[LiveServer]:
    """The session's server over this test's (emptied) database: ``live_server.url``. What
    it printed during a failed test is added to the report."""
    server = alejandria_live_server
    if server.process.poll() is not None:
        pytest.fail(f"`alejandria serve` died ({server.process.returncode}):\n"
                    f"{server.output()}")
    yield LiveServer(server, server.size())
    if server.process.poll() is not None:
        pytest.fail(f"`alejandria serve` died during the test ({server.process.returncode})"
                    f":\n{server.output()}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    served = getattr(item, "funcargs", {}).get("live_server")
    if report.failed and isinstance(served, LiveServer):
        output = served.output().strip()
        report.sections.append(("live server output", output or "(nothing)"))
    return report


# -- the browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Chromium for the session (``/usr/bin/chromium`` or
    ``$ALEJANDRIA_TEST_CHROMIUM``); skipped when missing, failed under CI."""
    require(importlib.util.find_spec("playwright") is not None,
            "the browser tests need playwright (pip install -r requirements-dev.txt)")
    executable = Path(os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM)
    require(executable.is_file() and os.access(executable, os.X_OK),
            f"the browser tests need Chromium at {executable} (apt-get install chromium, or "
            f"{CHROMIUM_ENV}=/path/to/chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # --disable-dev-shm-usage: a container's small /dev/shm crashes big screenshots
        launched = playwright.chromium.launch(executable_path=executable, headless=True,
                                              args=["--disable-dev-shm-usage"])
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class PageErrors:
    """What went wrong on a page while a test drove it."""

    #: ``console.error`` messages: CSP refusals, failed loads (a 404), scripts' own errors
    console: list[str] = field(default_factory=list)
    #: exceptions no script caught
    uncaught: list[str] = field(default_factory=list)
    #: requests to another origin than the live server (aborted: tests are offline)
    off_origin: list[str] = field(default_factory=list)

    @property
    def csp(self) -> list[str]:
        """The Content-Security-Policy refusals among the console errors."""
        return [message for message in self.console if "Content Security Policy" in message]

    def all(self) -> list[str]:
        return ([f"console: {message}" for message in self.console]
                + [f"uncaught: {message}" for message in self.uncaught]
                + [f"off-origin request: {url}" for url in self.off_origin])

    def assert_none(self) -> None:
        problems = self.all()
        assert not problems, "the page reported:\n" + "\n".join(problems)


_ERRORS: weakref.WeakKeyDictionary[Page, PageErrors] = weakref.WeakKeyDictionary()


def errors_of(page: Page) -> PageErrors:
    """The errors a page of ``new_page`` (``page``, ``phone_page``) has reported so far."""
    return _ERRORS[page]


def _watch(page: Page, origin: str) -> PageErrors:
    errors = PageErrors()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url") or ""
            errors.console.append(f"{message.text} ({where})" if where else message.text)

    def off_origin(route: Route) -> None:
        errors.off_origin.append(route.request.url)
        route.abort("blockedbyclient")

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.uncaught.append(f"{error.name}: {error.message}"))
    page.route(re.compile(rf"^(?!{re.escape(origin)}/)(https?|wss?)://"), off_origin)
    _ERRORS[page] = errors
    return errors


@pytest.fixture
def new_page(live_server: LiveServer, browser: Browser) -> Iterator[Callable[..., Page]]:
    """``new_page(width=1280, height=800, **context_options)``: a page in a fresh browser
    context (its own cookies) whose ``base_url`` is the live server, so
    ``page.goto("/api/v1/docs")`` works; watched for errors (``errors_of``)."""
    contexts = []

    def make(width: int = DESKTOP[0], height: int = DESKTOP[1], **options: Any) -> Page:
        options = {"viewport": {"width": width, "height": height}, "base_url": live_server.url,
                   "locale": "en-US", "timezone_id": "UTC", "reduced_motion": "reduce",
                   **options}
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        _watch(page, live_server.url)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    """A desktop page (1280x800) on the live server."""
    return new_page()


@pytest.fixture
def phone_page(new_page: Callable[..., Page]) -> Page:
    """A phone page (390x844, touch, mobile viewport rules) on the live server."""
    return new_page(*PHONE, is_mobile=True, has_touch=True, device_scale_factor=1)


@pytest.fixture
def page_errors(page: Page) -> PageErrors:
    """What went wrong on ``page``: ``page_errors.assert_none()`` at the end of a test."""
    return errors_of(page)


# -- helpers -------------------------------------------------------------------------------------


def login(page: Page, base_url: str, username: str, password: str,
          totp: str | None = None) -> dict[str, Any]:
    """Sign in through the API (``POST /api/v1/auth/login``) from the page's own context:
    the session cookie lands in the browser, as after the sign-in form; the answer (with
    its ``csrf_token``) is returned. A shortcut for tests about other pages: the tests of
    the sign-in page use the form itself."""
    body: dict[str, Any] = {"username": username, "password": password}
    if totp is not None:
        body["totp"] = totp
    answer = page.request.post(f"{base_url}/api/v1/auth/login", data=body)
    assert answer.status == 200, f"login as {username!r}: {answer.status} {answer.text()}"
    found: dict[str, Any] = answer.json()
    return found


@functools.cache
def _axe_source() -> str:
    return AXE_JS.read_text(encoding="utf-8")


#: axe.run's options unless a caller gives others: every node of each violation, one node
#: per rule for the other result types (``passes`` still lists every rule that passed), so
#: the answer that crosses over from the browser stays small on a large page.
AXE_OPTIONS: dict[str, Any] = {"resultTypes": ["violations"]}


def axe_results(page: Page, options: dict[str, Any] | None = None,
                exclude: list[str] | None = None) -> dict[str, Any]:
    """axe-core's full result on the page as it is now (``violations``, ``passes``,
    ``incomplete``, ``inapplicable``, ``testEngine``); ``options`` go to ``axe.run`` over
    ``AXE_OPTIONS``. axe is injected through DevTools' evaluate, which the page's CSP does
    not govern (a ``<script>`` tag would be refused, and ``eval`` too), so the page is tested
    under its own policy, unchanged."""
    require(AXE_JS.is_file(), f"{AXE_JS} is missing: run 'npm ci' in {AXE_JS.parents[2]}")
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    result: dict[str, Any] = page.evaluate(
        "([options, exclude]) => window.axe.run(exclude ? {exclude: exclude} : document, "
        "options)", [{**AXE_OPTIONS, **(options or {})}, exclude])
    return result


def run_axe(page: Page, impacts: tuple[str, ...] = SERIOUS,
            options: dict[str, Any] | None = None,
            exclude: list[str] | None = None) -> list[dict[str, Any]]:
    """axe-core's violations of an impact in ``impacts`` (serious and critical), outside the
    CSS selectors in ``exclude``."""
    return [violation for violation in axe_results(page, options, exclude)["violations"]
            if violation.get("impact") in impacts]


def describe(violations: list[dict[str, Any]]) -> str:
    """Violations as lines to read in an assertion message."""
    return "\n".join(f"{v['id']} ({v['impact']}): {v['help']} — "
                     + "; ".join(json.dumps(node["target"]) for node in v["nodes"][:5])
                     for v in violations)


def artifacts_dir() -> Path:
    """``$ALEJANDRIA_TEST_ARTIFACTS`` when set, else ``<repo>/.artifacts``."""
    configured = os.environ.get(ARTIFACTS_ENV)
    return Path(configured) if configured else REPO / ".artifacts"


def screenshot(page: Page, name: str) -> Path:
    """A full-page PNG of ``page`` in ``<artifacts>/screenshots/<name>.png``; its path."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "page"
    path = artifacts_dir() / "screenshots" / f"{safe}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=path, full_page=True)
    return path


def settled(page: Page, selector: str) -> None:
    """Wait until htmx has finished with ``selector``: no request, swap or settle under way.

    htmx binds the ``hx-*`` attributes of swapped-in content in its settle step (20 ms after
    the swap), so a button that is already visible may not answer yet: a test that clicks or
    presses a key on new content waits for this first, as a person's hand always does.
    """
    from playwright.sync_api import expect

    busy = ", ".join(f"{selector}.{state}, {selector} .{state}"
                     for state in ("htmx-request", "htmx-swapping", "htmx-settling", "htmx-added"))
    expect(page.locator(busy)).to_have_count(0)
