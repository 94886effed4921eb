"""HTTP throughput and latency under gunicorn with gunicorn.conf.py, what `make run` serves.

    .venv/bin/python bench/http_load.py --concurrency 10 20 50 --backend whoosh postgres
    .venv/bin/python bench/http_load.py --concurrency 20 --url http://127.0.0.1:5000
    .venv/bin/python bench/http_load.py                        # wrk table: demo clinics, Whoosh
    .venv/bin/python bench/http_load.py --size 10000           # 10k synthetic listings
    .venv/bin/python bench/http_load.py --backend postgres     # scratch PostGIS database

Builds a site in a temporary folder (migrations, vocabularies, the demo clinics or
`--size` synthetic ones from bench/listings.py, a full index rebuild; PostgreSQL in
a scratch database `bench_<random>` with PostGIS, created and dropped here) and
serves it with `gunicorn --config gunicorn.conf.py` on 127.0.0.1:<free port>
(gthread, WEB_WORKERS x WEB_THREADS, default 2 x 4; `--workers`, `--web-threads`).

`--concurrency N ...`: for each level, N clients at once, each on its own
keep-alive connection and with a cookie of its own (so the page cache, which only
answers cookie-less visitors, never does), asking in turn, in slices of 5 s until
each had `--seconds`: the next of 12,000 different `/search` pages, the next of
12,000 different `/api/v1/search` answers, and `/bench/ping`; each search is
reported as a share of the trivial route's throughput measured in the same rounds.
The server is `http_load:bench_app()`: `wsgi:app`, exactly what `make run` serves,
with /bench/ping added. Reported per level: throughput, p50/p95/p99 latency (send to
last byte) and errors: 5xx answers and transport errors (refused, reset, timed
out after `--timeout`). The clients are pure Python (asyncio) and share the
machine's cores with the server.

Without `--concurrency`: wrk (Debian package `wrk`) against a results page, the JSON
API, a clinic page and `/bench/ping`, a trivial route registered only on this
bench app (`bench_app` below, gunicorn's app factory), never in the product; each
page is reported as a fraction of the ping. Any error makes the exit status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WHERE, Q = "Austin, TX", "PTSD"
SEARCH_QUERY = f"where={quote(WHERE)}&q={Q}"
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
# Different searches a rotation sends in turn: more than a 20 s run makes, so
# almost every request is a first (uncached) one.
DISTINCT = 12_000


def bench_app():
    """gunicorn's app factory (`http_load:bench_app()`): `make run`'s app (`wsgi:app`,
    with its start-up work) plus /bench/ping."""
    from wsgi import app

    @app.get("/bench/ping")
    def bench_ping() -> str:
        """The framework's own ceiling: no database, no template."""
        return "pong"

    return app


def prepare(env: dict[str, str], size: int | None) -> str:
    """Build the site the workers will serve; return the path of a clinic page."""
    from flask_migrate import upgrade
    from werkzeug.datastructures import MultiDict

    from directory import create_app
    from directory.extensions import db
    from directory.listings import demo
    from directory.listings.finder import find
    from directory.listings.vocabulary import load_vocabularies
    from directory.search import sync

    os.environ.update(env)
    app = create_app()
    with app.app_context(), app.test_request_context():
        upgrade()
        load_vocabularies()
        if size is None:
            demo.load_demo()
        else:
            from listings import load

            load(size)
        indexed = sync.rebuild()
        found = find(MultiDict({"where": WHERE, "q": Q}))
        slug = found.results[0].card.slug
        db.session.remove()
        db.engine.dispose()
    print(f"site: {indexed} listings indexed ({env['SEARCH_BACKEND']})", flush=True)
    return f"/clinics/{slug}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, server: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode} during start-up")
        try:
            with urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@dataclass
class Site:
    base: str
    clinic: str
    server: subprocess.Popen
    workers: int
    threads: int


@contextmanager
def serve(args: argparse.Namespace, backend: str, app: str, ready: str) -> Iterator[Site]:
    """A fresh site of `backend`, served by gunicorn with gunicorn.conf.py and `app`."""
    from search import scratch_database

    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        database = scratch_database(args.pg_admin_url) if backend == "postgres" else nullcontext()
        with database as url:
            port = free_port()
            env = {
                "INSTANCE_PATH": tmp,
                "DATABASE_URL": url or f"sqlite:///{tmp}/directory.sqlite",
                "SEARCH_BACKEND": backend,
                "SEARCH_INDEX_DIR": f"{tmp}/search-index",
                "SECRET_KEY": "bench-http",
                "SITE_URL": f"http://127.0.0.1:{port}",
                "SECURE_COOKIES": "0",
                "DEMO_DATA": "0",
                "MAIL_OUTBOX_DIR": f"{tmp}/outbox",
                "HOST": "127.0.0.1",
                "PORT": str(port),
                "WEB_WORKERS": str(args.workers),
                "WEB_THREADS": str(args.web_threads),
            }
            clinic = prepare(env, args.size)
            if url:  # as autovacuum would soon after a bulk load
                import psycopg

                with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
                    conn.execute("ANALYZE")
            log = open(Path(tmp) / "gunicorn.log", "w")  # noqa: SIM115
            server = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "gunicorn"),
                    "--config",
                    str(ROOT / "gunicorn.conf.py"),
                    "--pythonpath",
                    f"{ROOT},{ROOT / 'bench'}",
                    app,
                ],
                cwd=ROOT,
                env={**os.environ, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            base = f"http://127.0.0.1:{port}"
            try:
                wait_until_up(base + ready, server)
                yield Site(base, clinic, server, args.workers, args.web_threads)
            finally:
                server.terminate()
                server.wait(timeout=60)
                log.close()
                errors = [
                    line
                    for line in (Path(tmp) / "gunicorn.log").read_text().splitlines()
                    if "[ERROR]" in line or "Traceback" in line
                ]
                if errors:
                    print(f"gunicorn log ({backend}): {len(errors)} error lines, first:")
                    print("  " + "\n  ".join(errors[:5]))


def distinct_searches(path: str, count: int) -> list[str]:
    """`count` different searches of `path` (places x words x radius x filter x page x
    order), so nearly every request misses the page cache."""
    from search import PLACES, WORDS

    paths = [
        f"{path}?where={quote(place)}&q={quote(word)}&radius={radius}{modality}"
        f"&page={page}&sort={sort}"
        for place in PLACES
        for word in WORDS
        for radius in (10, 25, 50, 100, 200)
        for modality in ("", "&modality=iv", "&modality=spravato", "&modality=im")
        for page in (1, 2)
        for sort in ("distance", "relevance", "price")
    ]
    random.Random(5).shuffle(paths)
    return paths[:count]


def worker_peaks_mb(master: int) -> list[float]:
    """Peak RSS (VmHWM) of each gunicorn worker."""
    peaks = []
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    for pid in children:
        status = Path(f"/proc/{pid}/status").read_text()
        peaks.append(int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024)
    return peaks


# -- concurrent clients (pure Python) --------------------------------------------------------
@dataclass
class Level:
    """What N clients saw in one timed run."""

    clients: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, answered requests
    statuses: dict[int, int] = field(default_factory=dict)
    transport_errors: int = 0

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    @property
    def other_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if 300 <= status < 500)

    def add(self, other: Level) -> None:
        """Count another slice of the same clients as part of this run."""
        self.seconds += other.seconds
        self.latencies += other.latencies
        self.transport_errors += other.transport_errors
        for status, n in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + n

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one HTTP/1.1 response; (status, server will close the connection)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers.get("connection", "").lower() == "close"


async def _client(
    number: int,
    host: str,
    port: int,
    paths: Iterator[str],
    until: float,
    timeout: float,
    run: Level,
) -> None:
    """One visitor: a keep-alive connection, a cookie of its own, a new search each time."""
    writer: asyncio.StreamWriter | None = None
    reader: asyncio.StreamReader | None = None
    cookie = f"bench-client={number}"
    while time.monotonic() < until:
        request = (
            f"GET {next(paths)} HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: {cookie}\r\n"
            "Accept: text/html\r\n\r\n"
        ).encode()
        started = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(host, port), timeout
                )
            writer.write(request)
            status, closing = await asyncio.wait_for(_read_response(reader), timeout)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            if time.monotonic() < until:
                run.transport_errors += 1
            if writer is not None:
                writer.close()
            writer = reader = None
            continue
        if time.monotonic() <= until:  # answers after the bell are not counted
            run.latencies.append(time.perf_counter() - started)
            run.statuses[status] = run.statuses.get(status, 0) + 1
        if closing:
            writer.close()
            writer = reader = None
    if writer is not None:
        writer.close()


def concurrent_run(base: str, clients: int, seconds: float, timeout: float, paths) -> Level:
    """`clients` visitors at once for `seconds`; what they saw."""
    host, port = base.removeprefix("http://").split(":")
    run = Level(clients)

    async def main() -> None:
        until = time.monotonic() + seconds
        started = time.monotonic()
        await asyncio.gather(
            *(_client(n, host, int(port), paths, until, timeout, run) for n in range(clients))
        )
        run.seconds = min(time.monotonic(), until) - started

    asyncio.run(main())
    return run


# What the clients ask for, each in turn in slices of SLICE seconds, so machine noise
# hits them alike: results pages, the JSON API, and the trivial route beside them.
TARGETS = {"/search": "pages", "/api/v1/search": "API", "/bench/ping": "trivial route"}
SLICE = 5.0


def _levels(
    base: str, label: str, args: argparse.Namespace, targets: dict[str, Iterator[str]]
) -> list[tuple[str, str, Level]]:
    """A warm-up, then each concurrency level against the server at `base`: every
    target for `--seconds` in all, in interleaved slices."""
    for paths in targets.values():
        concurrent_run(base, 4, args.warmup, args.timeout, paths)  # not reported
    results = []
    for clients in args.concurrency:
        runs = {target: Level(clients) for target in targets}
        slices = max(1, math.ceil(args.seconds / SLICE))
        for _ in range(slices):
            for target, paths in targets.items():
                slice_run = concurrent_run(
                    base, clients, args.seconds / slices, args.timeout, paths
                )
                runs[target].add(slice_run)
        for target, run in runs.items():
            results.append((label, target, run))
            print(
                f"{label} {TARGETS[target]} {clients} clients: {len(run.latencies)} answers, "
                f"{run.server_errors} 5xx, {run.transport_errors} transport errors",
                flush=True,
            )
    return results


def concurrency_mode(args: argparse.Namespace) -> int:
    targets = {
        "/search": itertools.cycle(distinct_searches("/search", DISTINCT)),
        "/api/v1/search": itertools.cycle(distinct_searches("/api/v1/search", DISTINCT)),
        "/bench/ping": itertools.repeat("/bench/ping"),
    }
    results: list[tuple[str, str, Level]] = []
    peaks: dict[str, list[float]] = {}
    if args.url:  # a server already running, e.g. `make run` on a fresh clone: no ping
        targets.pop("/bench/ping")
        results = _levels(args.url.rstrip("/"), args.url, args, targets)
    for backend in [] if args.url else args.backend:
        with serve(args, backend, "http_load:bench_app()", "/") as site:
            results += _levels(site.base, backend, args, targets)
            peaks[backend] = worker_peaks_mb(site.server.pid)
    labels = {"whoosh": "SQLite + Whoosh", "postgres": "PostgreSQL + postgres search"}
    labels[args.url] = args.url
    print(
        f"\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; gunicorn --config gunicorn.conf.py "
        f"(gthread, {args.workers} workers x {args.web_threads} threads), wsgi:app; "
        f"http_load:bench_app() (wsgi:app + /bench/ping); {args.seconds:g} s per target "
        f"and level in {SLICE:g} s slices taken in turn; distinct searches (pages and API), "
        "one cookie per client"
    )
    print(
        "| engine | asked | clients | answers | req/s | of the trivial route | p50 ms "
        "| p95 ms | p99 ms | 5xx | transport errors | other non-200 |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    failed = 0
    ping = {
        (backend, run.clients): len(run.latencies) / run.seconds
        for backend, target, run in results
        if target == "/bench/ping" and run.seconds
    }
    for backend, target, run in results:
        failed += run.server_errors + run.transport_errors
        rate = len(run.latencies) / run.seconds if run.seconds else 0.0
        trivial = ping.get((backend, run.clients))
        share = f"{rate / trivial:.0%}" if trivial and target != "/bench/ping" else ""
        print(
            f"| {labels[backend]} | {TARGETS[target]} | {run.clients} | {len(run.latencies):,} "
            f"| {rate:.0f} | {share} | {run.percentile(50):.1f} "
            f"| {run.percentile(95):.1f} | {run.percentile(99):.1f} | {run.server_errors} "
            f"| {run.transport_errors} | {run.other_errors} |"
        )
    for backend, values in peaks.items():
        print(f"worker peak RSS (VmHWM), {backend}: {', '.join(f'{p:.0f} MB' for p in values)}")
    return 1 if failed else 0


# -- wrk: one URL or a rotation, a few connections ------------------------------------------
def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * UNITS[unit]


def rotation_script(paths: list[str], folder: str) -> str:
    """A wrk Lua script that sends each request to the next of `paths`."""
    script = Path(folder) / f"rotate-{len(paths)}-{abs(hash(tuple(paths)))}.lua"
    listed = ",\n".join(f'  "{p}"' for p in paths)
    script.write_text(
        f"local paths = {{\n{listed}\n}}\nlocal i = 0\n"
        "request = function()\n  i = i + 1\n"
        '  return wrk.format("GET", paths[(i % #paths) + 1])\nend\n'
    )
    return str(script)


def wrk(url: str, seconds: int, connections: int, threads: int, script: str | None = None) -> dict:
    """One wrk run: requests/s, latency percentiles (ms), errors."""
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "--latency",
            *(["--script", script] if script else []),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result = {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "non_2xx": 0,
        "socket_errors": 0,
    }
    for pct in ("50", "75", "90", "99"):
        result[f"p{pct}"] = _ms(re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M).group(1))
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        result["non_2xx"] = int(match.group(1))
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    ):
        result["socket_errors"] = sum(int(n) for n in match.groups())
    return result


def wrk_mode(args: argparse.Namespace) -> int:
    failed = 0
    for backend in args.backend:
        with (
            serve(args, backend, "http_load:bench_app()", "/bench/ping") as site,
            tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp,
        ):
            base, clinic = site.base, site.clinic
            # (path, wrk script or None): one URL again and again (after the first
            # request, answered by the page cache), or a new search every request.
            rotations = {
                name: distinct_searches(name, DISTINCT) for name in ("/search", "/api/v1/search")
            }
            paths = {
                "/bench/ping (Flask ceiling)": ("/bench/ping", None),
                f"/search?{SEARCH_QUERY}": (f"/search?{SEARCH_QUERY}", None),
                f"/api/v1/search?{SEARCH_QUERY}": (f"/api/v1/search?{SEARCH_QUERY}", None),
                f"clinic page {clinic}": (clinic, None),
                **{
                    f"{name}, {DISTINCT} distinct searches in turn": (
                        name,
                        rotation_script(rotated, tmp),
                    )
                    for name, rotated in rotations.items()
                },
            }
            for path, script in paths.values():
                first = path if script is None else distinct_searches(path, 1)[0]
                with urlopen(base + first, timeout=30) as response:
                    assert response.status == 200, (first, response.status)
                if script is None:  # a rotation's warm-up would fill its cache
                    wrk(base + path, args.warmup, args.connections, args.threads)
            results = {
                label: wrk(base + path, int(args.seconds), args.connections, args.threads, script)
                for label, (path, script) in paths.items()
            }
            peaks = worker_peaks_mb(site.server.pid)
        ceiling = results["/bench/ping (Flask ceiling)"]["rps"]
        print(
            f"\ngunicorn --config gunicorn.conf.py ({args.workers} x {args.web_threads} gthread), "
            f"{backend}, wrk -t{args.threads} -c{args.connections} -d{args.seconds}s, "
            "same 2-core machine"
        )
        print("| URL | requests | req/s | median ms | p99 ms | errors | of ping req/s |")
        print("|---|---|---|---|---|---|---|")
        for label, r in results.items():
            errors = r["non_2xx"] + r["socket_errors"]
            failed += errors
            print(
                f"| {label} | {r['requests']} | {r['rps']:.0f} | {r['p50']:.1f} "
                f"| {r['p99']:.1f} | {errors} | {r['rps'] / ceiling:.0%} |"
            )
        print(f"worker peak RSS (VmHWM): {', '.join(f'{p:.0f} MB' for p in peaks)}")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", nargs="+", choices=["whoosh", "postgres"], default=["whoosh"])
    parser.add_argument("--size", type=int, help="synthetic listings instead of the demo set")
    parser.add_argument("--workers", type=int, default=2, help="WEB_WORKERS")
    parser.add_argument("--web-threads", type=int, default=4, help="WEB_THREADS")
    parser.add_argument(
        "--concurrency",
        type=int,
        nargs="+",
        metavar="N",
        help="concurrent clients per level (e.g. 10 20 50): the Python client instead of wrk",
    )
    parser.add_argument(
        "--url", help="with --concurrency: load this running server instead of building one"
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--connections", type=int, default=4, help="wrk connections")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--seconds", type=float, default=20, help="per URL or level")
    parser.add_argument("--warmup", type=int, default=3, help="seconds, not reported")
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get(
            "BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    return concurrency_mode(args) if args.concurrency else wrk_mode(args)


if __name__ == "__main__":
    sys.exit(main())
