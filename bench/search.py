"""Search latency benchmark: median and p95 over a fixed query mix at several sizes.

    .venv/bin/python bench/search.py                 # 1k and 10k listings, Whoosh
    .venv/bin/python bench/search.py --sizes 1000 --repeat 3

Listings come from the demo generator (fictional clinics in real US towns), run
with more seeds until the size is reached, loaded through the same services as
the real data, and indexed by a full rebuild. Each query of the mix is timed
through `listings.finder.find` (parse + backend search + loading the page's rows),
which is what a request does apart from rendering.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from flask_migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from directory import create_app  # noqa: E402
from directory.listings import demo  # noqa: E402
from directory.listings.finder import find  # noqa: E402
from directory.listings.vocabulary import load_vocabularies  # noqa: E402
from directory.search import get_backend, sync  # noqa: E402

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


def listings(size: int) -> list[dict]:
    """`size` demo-shaped records: the generator run with successive seeds."""
    records: list[dict] = []
    seed = 20261125
    while len(records) < size:
        for record in demo.generate_demo_records_for_seed(seed):
            record = dict(record, slug=f"{record['slug']}-{seed}", status="published")
            records.append(record)
            if len(records) == size:
                break
        seed += 1
    return records


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


def run(size: int, queries: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite",
                "SEARCH_INDEX_DIR": f"{tmp}/index",
                "SECRET_KEY": "bench",
                "SERVER_NAME": "bench.local",
            },
            instance_path=Path(tmp),
        )
        with app.app_context(), app.test_request_context():
            upgrade()
            load_vocabularies()
            demo.load_demo(listings(size))
            started = time.perf_counter()
            indexed = sync.rebuild()
            build = time.perf_counter() - started
            mix = query_mix(random.Random(7), queries)
            cold: list[tuple[str, float]] = []
            for label, args in mix[:5]:  # one query of each kind on a fresh generation
                started = time.perf_counter()
                find(_multi(args))
                cold.append((label, (time.perf_counter() - started) * 1000))
            for _, args in mix[5:20]:  # warm the searcher and per-generation caches
                find(_multi(args))
            timings: dict[str, list[float]] = {}
            backend_only: list[float] = []
            for _ in range(repeat):
                for label, args in mix:
                    started = time.perf_counter()
                    found = find(_multi(args))
                    elapsed = (time.perf_counter() - started) * 1000
                    timings.setdefault(label, []).append(elapsed)
                    started = time.perf_counter()
                    get_backend().search(found.query)
                    backend_only.append((time.perf_counter() - started) * 1000)
        every = [t for values in timings.values() for t in values]
        print(f"\n## {indexed} listings (Whoosh), index build {build:.1f} s")
        print("| query | n | median ms | p95 ms |")
        print("|---|---|---|---|")
        for label, values in timings.items():
            print(
                f"| {label} | {len(values)} | {statistics.median(values):.1f} "
                f"| {percentile(values, 0.95):.1f} |"
            )
        print(
            f"| **all (find)** | {len(every)} | {statistics.median(every):.1f} "
            f"| {percentile(every, 0.95):.1f} |"
        )
        print(
            f"| backend.search only | {len(backend_only)} | "
            f"{statistics.median(backend_only):.1f} | {percentile(backend_only, 0.95):.1f} |"
        )


def _multi(args: dict):
    from werkzeug.datastructures import MultiDict

    items = []
    for key, value in args.items():
        for v in value if isinstance(value, list) else [value]:
            items.append((key, v))
    return MultiDict(items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for size in args.sizes:
        run(size, args.queries, args.repeat)


if __name__ == "__main__":
    main()
