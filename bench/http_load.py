"""HTTP throughput and latency under gunicorn (2 sync workers), measured with wrk.

    .venv/bin/python bench/http_load.py                        # demo clinics, SQLite + Whoosh
    .venv/bin/python bench/http_load.py --size 10000           # 10k synthetic listings
    .venv/bin/python bench/http_load.py --backend postgres     # scratch PostGIS database

Builds a site in a temporary folder (migrations, vocabularies, the demo clinics or
`--size` synthetic ones from bench/listings.py, a full index rebuild), serves it
with `gunicorn -w 2` on 127.0.0.1:<free port> and runs wrk (Debian package `wrk`)
against a results page, the JSON API, a clinic page and `/bench/ping`: a trivial
route registered only on this bench app (`bench_app` below, gunicorn's app
factory), never in the product. The ping goes through the same app-wide hooks
(security headers, host check), so it is the ceiling of Flask + gunicorn for this
app on this machine, and each page is reported as a fraction of it. wrk shares
the machine's cores with the server. Any socket error or non-2xx answer is
reported and makes the exit status 1.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
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
    """gunicorn's app factory (`http_load:bench_app()`): the product app plus /bench/ping."""
    from directory import create_app

    app = create_app()

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
        slug = found.results[0].clinic.slug
    print(f"site: {indexed} listings indexed ({env['SEARCH_BACKEND']})", flush=True)
    return f"/clinics/{slug}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(base: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urlopen(f"{base}/bench/ping", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * UNITS[unit]


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


def worker_peaks_mb(master: int) -> list[float]:
    """Peak RSS (VmHWM) of each gunicorn worker."""
    peaks = []
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    for pid in children:
        status = Path(f"/proc/{pid}/status").read_text()
        peaks.append(int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024)
    return peaks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["whoosh", "postgres"], default="whoosh")
    parser.add_argument("--size", type=int, help="synthetic listings instead of the demo set")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--seconds", type=int, default=20, help="per URL")
    parser.add_argument("--warmup", type=int, default=3, help="seconds per URL, not reported")
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get(
            "BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()

    from contextlib import nullcontext

    from search import scratch_database

    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        database = (
            scratch_database(args.pg_admin_url) if args.backend == "postgres" else nullcontext()
        )
        with database as url:
            env = {
                "INSTANCE_PATH": tmp,
                "DATABASE_URL": url or f"sqlite:///{tmp}/directory.sqlite",
                "SEARCH_BACKEND": args.backend,
                "SEARCH_INDEX_DIR": f"{tmp}/search-index",
                "SECRET_KEY": "bench-http",
                "SECURE_COOKIES": "0",
                "DEMO_DATA": "0",
                "MAIL_OUTBOX_DIR": f"{tmp}/outbox",
            }
            clinic = prepare(env, args.size)
            if url:  # as autovacuum would soon after a bulk load
                import psycopg

                with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
                    conn.execute("ANALYZE")
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            log = open(Path(tmp) / "gunicorn.log", "w")  # noqa: SIM115
            server = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "gunicorn"),
                    "--workers",
                    str(args.workers),
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--pythonpath",
                    f"{ROOT},{ROOT / 'bench'}",
                    "http_load:bench_app()",
                ],
                cwd=ROOT,
                env={**os.environ, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                wait_until_up(base)
                # (path, wrk script or None): one URL again and again (after the first
                # request, answered by the page cache), or a new search every request.
                rotations = {
                    name: distinct_searches(name, DISTINCT)
                    for name in ("/search", "/api/v1/search")
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
                    label: wrk(base + path, args.seconds, args.connections, args.threads, script)
                    for label, (path, script) in paths.items()
                }
                peaks = worker_peaks_mb(server.pid)
            finally:
                server.terminate()
                server.wait(timeout=30)
                log.close()

    ceiling = results["/bench/ping (Flask ceiling)"]["rps"]
    print(
        f"\ngunicorn -w {args.workers} (sync), {args.backend}, wrk -t{args.threads} "
        f"-c{args.connections} -d{args.seconds}s, same 2-core machine"
    )
    print("| URL | requests | req/s | median ms | p99 ms | errors | of ping req/s |")
    print("|---|---|---|---|---|---|---|")
    errors = 0
    for label, r in results.items():
        failed = r["non_2xx"] + r["socket_errors"]
        errors += failed
        print(
            f"| {label} | {r['requests']} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} "
            f"| {failed} | {r['rps'] / ceiling:.0%} |"
        )
    print(f"worker peak RSS (VmHWM): {', '.join(f'{p:.0f} MB' for p in peaks)}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
