"""Synthetic listings for benchmarks: N demo-shaped clinics on the real US gazetteer.

The demo generator (`seed_data/generate_demo.py`: real towns, ZIP codes and
centroids; invented names) makes about 712 listings per seed; `records(n)` runs it
with successive seeds until `n` are made, marks them all published and makes each
slug unique by appending the seed. `load(n)` inserts them through the same
service as the real demo data (`listings.demo.load_demo`), in batches so that one
session never holds 100k clinics, then a full index rebuild is left to the caller
(`search.sync.rebuild`, what `flask search reindex` does).

Shared by bench/search.py and bench/http_load.py. Needs an app context.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

FIRST_SEED = 20261125  # the default demo seed: N <= 712 starts with the real demo towns
LOAD_BATCH = 5000


def records(size: int) -> Iterator[dict[str, Any]]:
    """`size` published, uniquely slugged records: the generator run with successive seeds."""
    from directory.listings import demo

    generator = demo._generator_module()  # loaded once: re-executing it per seed costs ~1 s
    made, seed = 0, FIRST_SEED
    while made < size:
        for record in generator.generate_demo(seed=seed):
            yield dict(record, slug=f"{record['slug']}-{seed}", status="published")
            made += 1
            if made == size:
                return
        seed += 1


def listings(size: int) -> list[dict[str, Any]]:
    """The same records as a list (what bench/search.py used to build in place)."""
    return list(records(size))


@dataclass
class Loaded:
    count: int
    generate_s: float  # running the generator (not part of loading)
    load_s: float  # demo.load_demo: building the ORM objects, flush, commit


def load(size: int, batch: int = LOAD_BATCH, progress: bool = False) -> Loaded:
    """Insert `size` synthetic clinics through `demo.load_demo`, `batch` at a time.

    Each batch is one `load_demo` call (its own commit); the session is emptied
    between batches so memory stays flat. No `after_commit` hook: the caller
    rebuilds the index once at the end, as `flask setup` does after `seed demo`.
    """
    from directory.extensions import db
    from directory.listings import demo

    count, generate_s, load_s = 0, 0.0, 0.0
    stream = records(size)
    while True:
        started = time.perf_counter()
        chunk = [r for _, r in zip(range(batch), stream, strict=False)]
        generate_s += time.perf_counter() - started
        if not chunk:
            break
        started = time.perf_counter()
        count += demo.load_demo(chunk)
        db.session.expunge_all()
        load_s += time.perf_counter() - started
        if progress:
            print(f"  loaded {count}/{size} ({load_s:.0f} s)", flush=True)
    return Loaded(count, generate_s, load_s)
