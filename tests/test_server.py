"""`make run`'s server: gunicorn with gunicorn.conf.py, started for real.

The settings file is read as gunicorn reads it (environment in, settings out),
then a real gunicorn serves a small SQLite + Whoosh site: pages and concurrent
searches answer, the access log names neither the visitor nor what they searched
for, and SIGTERM lets a request in flight finish before the server exits cleanly.
"""

from __future__ import annotations

import re
import runpy
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import urlopen

import pytest

from directory.extensions import db
from directory.listings.demo import load_demo
from directory.search import sync

from .conftest import make_app
from .servers import GUNICORN_CONFIG as CONFIG
from .servers import free_port
from .servers import gunicorn as serve

SEARCH = "/search?where=Austin%2C+TX&q=PTSD"


def _settings(monkeypatch, **env: str) -> dict:
    for name in ("HOST", "PORT", "WEB_WORKERS", "WEB_THREADS", "ACCESS_LOG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONFIG))


def test_the_defaults_suit_a_two_core_machine(monkeypatch):
    conf = _settings(monkeypatch)
    assert conf["wsgi_app"] == "wsgi:app" and conf["bind"] == ["127.0.0.1:5000"]
    assert (conf["worker_class"], conf["workers"], conf["threads"]) == ("gthread", 2, 4)
    assert conf["timeout"] >= 30 and conf["graceful_timeout"] > 0
    assert conf["accesslog"] is None  # no access log unless asked for


def test_the_environment_sets_address_processes_threads_and_log(monkeypatch):
    conf = _settings(
        monkeypatch, HOST="0.0.0.0", PORT="8123", WEB_WORKERS="3", WEB_THREADS="6", ACCESS_LOG="-"
    )
    assert conf["bind"] == ["0.0.0.0:8123"]
    assert (conf["workers"], conf["threads"], conf["accesslog"]) == (3, 6, "-")


@pytest.mark.parametrize("name", ["WEB_WORKERS", "WEB_THREADS"])
def test_a_bad_count_stops_the_server_naming_the_variable(monkeypatch, name):
    with pytest.raises(ValueError, match=name):
        _settings(monkeypatch, **{name: "0"})


def test_the_access_log_format_names_no_visitor_and_no_search(monkeypatch):
    atoms = set(re.findall(r"%\((.*?)\)s", _settings(monkeypatch)["access_log_format"]))
    # h address, r request line (with query), q query, f referrer, a user agent, headers.
    assert not atoms & {"h", "r", "q", "f", "a", "u"}
    assert not any(atom.endswith(("}i", "}e")) for atom in atoms)


# -- a real gunicorn -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def site(tmp_path_factory, demo_records) -> Path:
    """A SQLite + Whoosh site with a few demo clinics, made as `flask setup` would."""
    workdir = tmp_path_factory.mktemp("gunicorn-site")
    with contextmanager(make_app)("sqlite", workdir) as app, app.app_context():
        load_demo(demo_records[:60])
        sync.rebuild()
        db.session.remove()
    return workdir


@contextmanager
def gunicorn(site: Path, **settings: str) -> Iterator[tuple[str, subprocess.Popen, Path]]:
    """`make run`'s command line on a free port: (base URL, process, its output file)."""
    env = {
        "WEB_WORKERS": "1",
        "WEB_THREADS": "4",
        "ACCESS_LOG": str(site / "access.log"),
        "INSTANCE_PATH": str(site),
        "DATABASE_URL": f"sqlite:///{site / 'test.sqlite'}",
        "SEARCH_INDEX_DIR": str(site / "index"),
        "SECRET_KEY": "test-secret-key",
        **settings,
    }
    output = site / "gunicorn.out"
    with serve(env, output) as (base, server):
        yield base, server, output


def _get(url: str) -> tuple[int, dict[str, str], str]:
    with urlopen(url, timeout=30) as response:
        return response.status, dict(response.headers), response.read().decode()


def test_gunicorn_serves_searches_side_by_side_and_logs_no_search(site):
    with gunicorn(site) as (base, server, output):
        status, headers, page = _get(base + SEARCH)
        assert status == 200 and headers["Server"].startswith("gunicorn")
        assert "Austin" in page
        searches = [f"{base}/search?where=Austin%2C+TX&q=PTSD&radius={r}" for r in range(20, 60)]
        with ThreadPoolExecutor(8) as pool:
            assert {status for status, _, _ in pool.map(_get, searches)} == {200}
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=45) == 0
    log = (site / "access.log").read_text()
    assert log.count("GET /search") == 41
    assert "127.0.0.1" not in log  # the visitor's address (the error log names the bind)
    for secret in ("PTSD", "Austin", "where="):
        assert secret not in log and secret not in output.read_text(), secret


def test_sigterm_lets_a_request_in_flight_finish(site):
    with gunicorn(site) as (base, server, _):
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=30) as conn:
            body = b"email=a%40example.org&password=not-the-password"
            conn.sendall(
                b"POST /account/sign-in HTTP/1.1\r\nHost: " + host.encode() + b"\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body[:10]
            )
            time.sleep(0.5)  # the worker thread is now reading the body
            server.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            assert server.poll() is None  # still waiting for the request in flight
            conn.sendall(body[10:])
            answer = conn.recv(65536)
        assert re.match(rb"HTTP/1\.1 [2-5]\d\d ", answer), answer[:80]
        assert server.wait(timeout=45) == 0


def test_gunicorn_with_the_database_down_starts_and_answers_503(site):
    """A worker boots while PostgreSQL is unreachable, and every page says 'try later'."""
    down = f"postgresql://postgres@127.0.0.1:{free_port()}/directory"
    with gunicorn(site, DATABASE_URL=down, SEARCH_BACKEND="postgres") as (base, server, _):
        for path in ("/clinics/some-clinic", "/api/v1/search?where=Austin%2C+TX"):
            with pytest.raises(HTTPError) as answer:
                urlopen(base + path, timeout=30)
            answer.value.close()
            assert answer.value.code == 503 and answer.value.headers["Retry-After"].isdigit()
        assert server.poll() is None
