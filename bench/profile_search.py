"""Where a search's time and a worker's memory go: cProfile and tracemalloc.

    .venv/bin/python bench/profile_search.py --workdir /tmp/w100k --size 100000 build
    .venv/bin/python bench/profile_search.py --workdir /tmp/w100k rebuild   # profile a rebuild
    .venv/bin/python bench/profile_search.py --workdir /tmp/w100k query --kind place+text+filters
    .venv/bin/python bench/profile_search.py --workdir /tmp/w100k memory    # the Whoosh tables
    .venv/bin/python bench/profile_search.py --workdir /tmp/p100k --backend postgres \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_x explain --kind text

`build` loads `--size` synthetic listings (bench/listings.py) into SQLite in
`--workdir` and rebuilds the Whoosh index there, unprofiled; the other steps
reuse that folder, each in its own process, so a profile sees a fresh worker.
The folder is kept: delete it yourself. Whoosh runs on SQLite; `--backend postgres`
needs `--database-url` to a database with PostGIS that you create and drop, and
`explain` prints EXPLAIN ANALYZE of every statement one search of `--kind` runs.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search import _app, _multi, _rss_mb, query_mix  # noqa: E402


def _profile(call, top: int) -> None:
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    call()
    profile.disable()
    print(f"wall time under cProfile: {time.perf_counter() - started:.1f} s")
    stats = pstats.Stats(profile)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


def explain(kind: str, index: int, cold: bool = False) -> None:
    """EXPLAIN ANALYZE every statement that one search of this kind sends (PostgreSQL).

    After one search of the same query (what is kept per process is warm) unless
    `cold`: then the statements of a process's first such search (frequencies,
    facets and total)."""
    from sqlalchemy import event

    from directory.extensions import db
    from directory.listings.finder import parse
    from directory.listings.vocabulary import vocabulary_names
    from directory.search import get_backend

    args = [a for k, a in query_mix(random.Random(7), 200) if k == kind][index]
    query = parse(_multi(args), vocabulary_names())
    if not cold:
        get_backend().search(query)  # warm
    statements: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    started = time.perf_counter()
    get_backend().search(query)
    print(f"{kind} {args}: backend.search {1000 * (time.perf_counter() - started):.1f} ms")
    event.remove(db.engine, "before_cursor_execute", record)
    with db.engine.connect() as conn:
        for statement, parameters in statements:
            if statement.lstrip().upper().startswith("SET"):
                conn.exec_driver_sql(statement)  # the search's SET LOCALs, in one transaction
                continue
            if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            print("\n" + " ".join(statement.split())[:300])
            print("\n".join(row[0] for row in plan))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["build", "rebuild", "query", "memory", "explain"])
    parser.add_argument("--backend", choices=["whoosh", "postgres"], default="whoosh")
    parser.add_argument("--database-url")
    parser.add_argument("--index", type=int, default=0, help="which query of --kind (explain)")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--kind", default="place+text+filters", help="a kind of the query mix")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--cold", action="store_true", help="explain a first search (explain)")
    args = parser.parse_args()
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    app = _app(args.backend, args.workdir, args.database_url)
    with app.app_context(), app.test_request_context():
        from directory.listings.finder import find
        from directory.search import get_backend, sync

        if args.step == "build":
            from flask_migrate import upgrade
            from listings import load

            from directory.listings.vocabulary import load_vocabularies

            upgrade()
            load_vocabularies()
            loaded = load(args.size)
            started = time.perf_counter()
            sync.rebuild()
            print(f"loaded {loaded.count} in {loaded.load_s:.1f} s; ", end="")
            print(f"rebuild {time.perf_counter() - started:.1f} s")
            if args.database_url:
                from sqlalchemy import text

                from directory.extensions import db

                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                    c.execute(text("ANALYZE"))
        elif args.step == "explain":
            explain(args.kind, args.index, args.cold)
        elif args.step == "rebuild":
            _profile(sync.rebuild, args.top)
        elif args.step == "query":
            mix = [a for kind, a in query_mix(random.Random(7), 200) if kind == args.kind]
            find(_multi(mix[0]))  # builds the per-generation tables, not profiled
            for query in mix[:5]:
                find(_multi(query))

            def run() -> None:
                for _ in range(3):
                    for query in mix:
                        find(_multi(query))

            print(f"{3 * len(mix)} '{args.kind}' queries through find")
            _profile(run, args.top)
        else:
            before = _rss_mb()
            tracemalloc.start(3)
            get_backend()._current()  # the per-generation row table (Whoosh)
            snapshot = tracemalloc.take_snapshot()
            print(f"RSS before {before:.0f} MB, after the row table {_rss_mb():.0f} MB")
            for stat in snapshot.statistics("lineno")[: args.top]:
                print(stat)
            mix = query_mix(random.Random(7), 200)
            for _, query in mix:
                find(_multi(query))
            print(f"after the query mix: RSS {_rss_mb():.0f} MB")
            generation = get_backend()._generation
            masks = [*generation.postings.values(), *generation.terms.values()]
            print(
                f"cached masks: {len(generation.postings)} postings, {len(generation.terms)} "
                f"terms, {sum(m.nbytes for m in masks) / 2**20:.1f} MiB"
            )
            top = tracemalloc.take_snapshot().compare_to(snapshot, "lineno")
            for stat in top[: args.top]:
                print(stat)


if __name__ == "__main__":
    main()
