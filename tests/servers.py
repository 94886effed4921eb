"""Real servers for tests: a free loopback port, and gunicorn as `make run` starts it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.request import urlopen

from directory.config import PROJECT_ROOT

GUNICORN_CONFIG = PROJECT_ROOT / "gunicorn.conf.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(base: str, server: subprocess.Popen, timeout: float = 60) -> None:
    """Until the server answers its home page at all (any status: it is up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, "gunicorn exited during start-up"
        try:
            with urlopen(base + "/", timeout=5):
                return
        except HTTPError as answer:
            answer.close()
            return
        except (URLError, ConnectionError):
            time.sleep(0.2)
    raise AssertionError("gunicorn did not answer within a minute")


@contextmanager
def gunicorn(env: dict[str, str], output: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """`make run`'s server (gunicorn.conf.py) on a free port with these settings added
    to the environment: (base URL, process). SIGTERM at the end, SIGKILL if it hangs."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    environment = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "SITE_URL": base,
        "SECURE_COOKIES": "0",
        "DEMO_DATA": "0",
        **env,
    }
    gunicorn_bin = Path(sys.executable).parent / "gunicorn"
    with output.open("w") as out:
        server = subprocess.Popen(
            [str(gunicorn_bin), "--config", str(GUNICORN_CONFIG)],
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_up(base, server)
            yield base, server
        finally:
            if server.poll() is None:
                server.send_signal(signal.SIGTERM)
                try:
                    server.wait(timeout=45)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()
