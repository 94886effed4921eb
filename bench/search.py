"""Search latency benchmark: median and p95 over a fixed query mix at several sizes.

    .venv/bin/python bench/search.py                 # 1k and 10k listings, Whoosh
    .venv/bin/python bench/search.py --sizes 1000 --repeat 3
    .venv/bin/python bench/search.py --backend whoosh postgres --sizes 1000 10000 100000 --full

Listings come from the demo generator (fictional clinics in real US towns), run
with more seeds until the size is reached (bench/listings.py), loaded through the
same services as the real data, and indexed by a full rebuild. Each query of the
mix is timed through `listings.finder.find` (parse, understanding the words, the
backend's search, the result cards), which is what a request does apart from
rendering; "backend.search only" is the engine's share of those same calls, timed
in place. `--repeat 1` keeps every query a first one (later rounds repeat the mix,
which PostgreSQL's per-search statistics then answer).

Every backend and size runs in two fresh processes: one loads and indexes, one
searches, so each has its own peak RSS (`ru_maxrss`) and the searching one is
what a worker holds. `--backend postgres` creates a scratch database
`bench_<random>` (PostGIS) through `--pg-admin-url` and drops it afterwards;
Whoosh runs on SQLite, the one-host shape. `--full` adds p99, load and build
times, RSS and a summary; without it the output is the original table.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKEND_NAMES = {"whoosh": "Whoosh", "postgres": "PostgreSQL"}

PLACES = [
    "Austin, TX",
    "10001",
    "Chicago, IL",
    "Denver, CO",
    "98101",
    "Miami, FL",
    "Boise, ID",
    "Nashville, TN",
    "Phoenix, AZ",
    "Portland, ME",
]
WORDS = [
    "ptsd",
    "depression",
    "spravato",
    "infusion",
    "chronic pain",
    "anxiety",
    "esketamine",
    "wellness",
    "ocd",
    "migraine",
]
KINDS = ("text", "place", "place+text+filters", "facets", "deep page")


def listings(size: int) -> list[dict]:
    """`size` demo-shaped records (kept for callers of the old name; see bench/listings.py)."""
    from listings import listings as synthetic

    return synthetic(size)


def query_mix(rng: random.Random, count: int) -> list[tuple[str, dict]]:
    """The fixed mix: text only, place only, place + text + two filters, facets, deep page."""
    mix: list[tuple[str, dict]] = []
    for i in range(count):
        place, word = rng.choice(PLACES), rng.choice(WORDS)
        kind = i % 5
        if kind == 0:
            mix.append(("text", {"q": word}))
        elif kind == 1:
            mix.append(("place", {"where": place, "radius": str(rng.choice([25, 50, 100]))}))
        elif kind == 2:
            mix.append(
                (
                    "place+text+filters",
                    {
                        "where": place,
                        "q": word,
                        "modality": "iv",
                        "max_price": str(rng.choice([400, 600, 800])),
                    },
                )
            )
        elif kind == 3:
            mix.append(
                (
                    "facets",
                    {
                        "modality": ["iv", "spravato"],
                        "insurer": "aetna",
                        "where": place,
                        "radius": "250",
                    },
                )
            )
        else:
            mix.append(("deep page", {"where": place, "radius": "500", "page": "8"}))
    return mix


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def _multi(args: dict):
    from werkzeug.datastructures import MultiDict

    items = []
    for key, value in args.items():
        for v in value if isinstance(value, list) else [value]:
            items.append((key, v))
    return MultiDict(items)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


# -- the two child phases --------------------------------------------------------------


def _app(backend: str, workdir: str, database_url: str | None):
    from directory import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url or f"sqlite:///{workdir}/bench.sqlite",
            "SEARCH_BACKEND": backend,
            "SEARCH_INDEX_DIR": f"{workdir}/index",
            "SECRET_KEY": "bench",
            "SERVER_NAME": "bench.local",
            "SITE_URL": "http://bench.local",
        },
        instance_path=Path(workdir),
    )


def phase_build(backend: str, size: int, workdir: str, database_url: str | None) -> dict:
    """Migrate, load `size` listings through the services, rebuild the index."""
    from flask_migrate import upgrade
    from listings import load
    from sqlalchemy import text

    from directory.extensions import db
    from directory.listings.vocabulary import load_vocabularies
    from directory.search import sync

    app = _app(backend, workdir, database_url)
    with app.app_context(), app.test_request_context():
        upgrade()
        load_vocabularies()
        loaded = load(size, progress=size >= 50_000)
        started = time.perf_counter()
        indexed = sync.rebuild()
        build = time.perf_counter() - started
        analyze = 0.0
        if database_url:
            # What autovacuum does within a minute of a bulk change; done at once so
            # the planner sees the new tables before the first timed query.
            started = time.perf_counter()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))
            analyze = time.perf_counter() - started
    return {
        "indexed": indexed,
        "generate_s": loaded.generate_s,
        "load_s": loaded.load_s,
        "build_s": build,
        "analyze_s": analyze,
        "build_peak_mb": _peak_mb(),
    }


def phase_query(
    backend: str, workdir: str, database_url: str | None, queries: int, repeat: int
) -> dict:
    """Time the query mix in a fresh process, as a worker would run it."""
    from directory.listings.finder import find
    from directory.search import get_backend

    app = _app(backend, workdir, database_url)
    with app.app_context(), app.test_request_context():
        started_mb = _peak_mb()
        mix = query_mix(random.Random(7), queries)
        cold: dict[str, float] = {}
        for label, args in mix[:5]:  # one query of each kind on a fresh process
            started = time.perf_counter()
            find(_multi(args))
            cold[label] = (time.perf_counter() - started) * 1000
        for _, args in mix[5:20]:  # warm the searcher and per-generation caches
            find(_multi(args))
        timings: dict[str, list[float]] = {}
        backend_only: list[float] = []
        # The engine's own share of each `find`: its `search` calls timed in place
        # (the page's search, and the nearest clinics' when nothing is in range), so
        # both figures come from the same, never-repeated queries.
        engine = get_backend()
        search = engine.search
        inside: list[float] = []

        def timed_search(query, *args):
            started = time.perf_counter()
            try:
                return search(query, *args)
            finally:
                inside.append((time.perf_counter() - started) * 1000)

        engine.search = timed_search
        for _ in range(repeat):
            for label, args in mix:
                inside.clear()
                started = time.perf_counter()
                find(_multi(args))
                elapsed = (time.perf_counter() - started) * 1000
                timings.setdefault(label, []).append(elapsed)
                backend_only.append(sum(inside))
        del engine.search
    return {
        "cold_ms": cold,
        "timings": timings,
        "backend_only": backend_only,
        "app_mb": started_mb,
        "query_peak_mb": _peak_mb(),
        "query_rss_mb": _rss_mb(),
    }


# -- the parent: one scratch store per backend and size ----------------------------------


@contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    """A new PostGIS database `bench_<random>`, dropped afterwards; yields its URL."""
    import psycopg

    name = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0]
    try:
        with psycopg.connect(f"{base}/{name}", autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")
        yield f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _child(*args: str) -> dict:
    """Run one phase of this script in a new interpreter; its last stdout line is JSON."""
    done = subprocess.run(
        [sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(backend: str, size: int, queries: int, repeat: int, admin_url: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-search-") as workdir:
        with scratch_database(admin_url) if backend == "postgres" else _none() as url:
            common = ["--backend", backend, "--workdir", workdir]
            if url:
                common += ["--database-url", url]
            build = _child("--phase", "build", "--sizes", str(size), *common)
            query = _child(
                "--phase", "query", "--queries", str(queries), "--repeat", str(repeat), *common
            )
    return {"backend": backend, "size": size, **build, **query}


@contextmanager
def _none() -> Iterator[None]:
    yield None


def report(result: dict, full: bool) -> None:
    timings: dict[str, list[float]] = result["timings"]
    backend_only: list[float] = result["backend_only"]
    every = [t for values in timings.values() for t in values]
    name = BACKEND_NAMES[result["backend"]]
    print(f"\n## {result['indexed']} listings ({name}), index build {result['build_s']:.1f} s")
    if full:
        print(
            f"load through demo.load_demo {result['load_s']:.1f} s "
            f"(+ generator {result['generate_s']:.1f} s); "
            f"peak RSS load+build process {result['build_peak_mb']:.0f} MB, "
            f"query process {result['query_peak_mb']:.0f} MB "
            f"(after app start {result['app_mb']:.0f} MB, at end {result['query_rss_mb']:.0f} MB)"
            + (f"; ANALYZE {result['analyze_s']:.1f} s" if result["analyze_s"] else "")
        )
        cold = ", ".join(f"{k} {v:.0f}" for k, v in result["cold_ms"].items())
        print(f"first query of each kind in a fresh process (ms): {cold}")
        print("| query | n | median ms | p95 ms | p99 ms |")
        print("|---|---|---|---|---|")
    else:
        print("| query | n | median ms | p95 ms |")
        print("|---|---|---|---|")

    def row(label: str, values: list[float]) -> None:
        cells = [statistics.median(values), percentile(values, 0.95)]
        if full:
            cells.append(percentile(values, 0.99))
        print(f"| {label} | {len(values)} | " + " | ".join(f"{c:.1f}" for c in cells) + " |")

    for label, values in timings.items():
        row(label, values)
    row("**all (find)**", every)
    row("backend.search only", backend_only)


def summary(results: list[dict]) -> None:
    """One line per backend and size, against the targets of issue 5."""
    print("\n## Summary")
    print(
        "| backend | listings | load s | rebuild s | p95 place+text+filters ms "
        "| p95 all ms | p99 all ms | query process peak RSS MB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        every = [t for values in r["timings"].values() for t in values]
        print(
            f"| {BACKEND_NAMES[r['backend']]} | {r['indexed']} | {r['load_s']:.1f} "
            f"| {r['build_s']:.1f} | {percentile(r['timings']['place+text+filters'], 0.95):.1f} "
            f"| {percentile(every, 0.95):.1f} | {percentile(every, 0.99):.1f} "
            f"| {r['query_peak_mb']:.0f} |"
        )
    by_key = {(r["backend"], r["size"]): r for r in results}
    for (backend, size), large in by_key.items():
        small = by_key.get((backend, size // 10))
        if small is None:
            continue
        p95 = {
            kind: percentile(large["timings"][kind], 0.95)
            / percentile(small["timings"][kind], 0.95)
            for kind in KINDS
        }
        growth = ", ".join(f"{kind} {ratio:.1f}x" for kind, ratio in p95.items())
        name = BACKEND_NAMES[backend]
        print(f"\np95 growth {small['indexed']} -> {large['indexed']}, {name}: {growth}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", nargs="+", choices=sorted(BACKEND_NAMES), default=["whoosh"])
    parser.add_argument("--full", action="store_true", help="p99, load/build times, RSS, summary")
    parser.add_argument("--pg-admin-url", default=PG_ADMIN_URL, help="where to create bench_*")
    # Internal: one phase in this process (the parent runs them in children).
    parser.add_argument("--phase", choices=["build", "query"], help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase == "build":
        result = phase_build(args.backend[0], args.sizes[0], args.workdir, args.database_url)
        print(json.dumps(result))
        return
    if args.phase == "query":
        result = phase_query(
            args.backend[0], args.workdir, args.database_url, args.queries, args.repeat
        )
        print(json.dumps(result))
        return

    results = []
    for backend in args.backend:
        for size in args.sizes:
            result = measure(backend, size, args.queries, args.repeat, args.pg_admin_url)
            report(result, args.full)
            results.append(result)
            sys.stdout.flush()
    if args.full:
        summary(results)


if __name__ == "__main__":
    main()
