"""Our search API and Datasette side by side, on the same listings, interleaved in one run.

    .venv/bin/python bench/peers.py --size 1000 10000 100000 --seconds 15 --concurrency 20

(`make bench-peers` installs the bench extras, datasette and sqlite-utils, and runs it;
`PEERS_ARGS` overrides the arguments.)

For each `--size` N: our site is built and served exactly as bench/http_load.py does
(`serve`: migrations, vocabularies, N synthetic listings from bench/listings.py, a full
index rebuild, SQLite + Whoosh or `--backend postgres`, gunicorn with gunicorn.conf.py,
2 workers x 4 threads by default, app `http_load:bench_app()`). The same published
listings, with the same ids, are then read back from that database into a separate
SQLite file made with sqlite-utils: a `clinics` table, an FTS5 index (porter
tokenizer, no triggers) on name, description, city and conditions, and indexes on lat
and lng. `datasette serve FILE --setting default_page_size 20 --setting
sql_time_limit_ms 5000 --setting facet_time_limit_ms 1000` (one process, default
`num_sql_threads`) serves that file on another free port.

Two kinds of query, each sent to every side, every request different (queries are
drawn from the records: a condition, a treatment word and/or a city of a real listing,
so nearly all have results; page sizes 16-24; points jittered around a listing):

* text + facets: ours `/api/v1/search?q=WORDS&per_page=K`;
  Datasette `/peers/clinics.json?_search=WORDS&_facet=state&_facet=kind&_size=K`.
* text + place: ours `/api/v1/search?q=WORDS&where=LAT,LNG&radius=R&per_page=K`;
  Datasette `...?_search=WORDS&lat__gte=..&lat__lte=..&lng__gte=..&lng__lte=..&_size=K`,
  the box being `directory.geo.bounding_box(LAT, LNG, R)`, the one our engines
  pre-filter with.

Sides, run in turn in slices of `--slice` seconds (round-robin, repeated until each
has had `--seconds`), so machine noise hits them alike:

* ours: gunicorn, `--concurrency` asyncio clients (http_load's `concurrent_run`), each
  with its own cookie so the page cache never answers. What it computes: the words
  spell-checked, with synonyms, matched to the vocabularies (filters offered), ranked
  by relevance, or by geodesic distance within a true circle (exact miles on WGS-84);
  the total; facets for modality, condition, insurer and payment; for a place, the
  telehealth programs serving its state and the nearest matches when none is within
  the radius; each result's prices, price and listing freshness, credential checks
  (trust badges); page links.
* datasette: the same clients against `datasette serve`. What it computes: an FTS5
  MATCH of the escaped words (no synonyms, no spelling; Datasette 0.65's table view
  orders matches by primary key, not by FTS5 rank), a lat/lng box not a circle (no
  distances), a count, and only the facets asked for (state, kind; none for the
  place kind). No telehealth, no prices or badges. Datasette suggests facets on every
  table request by default (a query per column); `_nosuggest=1` is sent so it does
  not, unless `--suggest-facets`.
* ping: the same clients against `/bench/ping` of our gunicorn server (the
  framework's ceiling: no database, no template).
* raw: in this process, single thread, Python's sqlite3 on the Datasette file: the
  SQL Datasette runs for the same query (FTS5 MATCH as `rowid in (...)`, the box, the
  page, the count, the facets), timed per query; no HTTP, no JSON. It gets through
  the list of queries faster than the servers and starts it again (reported as
  repeats; SQLite keeps no results between queries, only its page cache, warm anyway).

Every HTTP answer must be 200; non-200 answers and transport errors are counted per
side and make the exit status 1. Before the timed run, `--sample` queries of each
kind (then the warm-up's, never among the timed ones) are sent once to each side to
count queries without results ("empty"), the mean number of matches (ours: a circle,
Datasette: its box) and answers without the facets asked for. Reported per size:
req/s, p50/p95/p99 (ms), errors, and ratios ours/datasette (req/s, p95), ours/raw
(p50), ours/ping (req/s; the ping rows run in the same rounds as each kind);
`--json OUT` writes the figures. The clients are pure Python and share the machine's
cores with both servers, so figures are relative. Datasette is one process (its SQL
in a thread pool); ours is `--workers` processes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import shlex
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from http_load import Level, concurrent_run, free_port, serve, wait_until_up  # noqa: E402

KINDS = ("text+facets", "text+place")
SIDES = ("ours", "datasette", "ping", "raw")
MATCHING = ("ours", "datasette", "raw")  # the sides that answer a query
SERVERS = ("ours", "datasette")
DB_NAME = "peers"  # the Datasette file's stem, hence its URL /peers/clinics.json
RADII = (10, 25, 50, 100, 200)
PAGE_SIZES = range(16, 25)
FACET_SIZE = 30  # Datasette's default_facet_size
JITTER_DEGREES = 0.05  # about 3.5 miles: the point stays near the listing it came from
# Words patients type for each treatment; each appears in the descriptions of
# clinics offering it, and our engines read it as that modality.
MODALITY_WORDS = {
    "iv": ("infusion", "iv"),
    "im": ("intramuscular",),
    "spravato": ("spravato", "esketamine"),
    "sublingual": ("sublingual",),
}


# -- the same listings, for Datasette -----------------------------------------------------------
def export_listings(database_url: str) -> list[dict[str, Any]]:
    """The published listings of our database as flat rows (SQLite or PostgreSQL)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = {
                r.id: {
                    "id": r.id,
                    "slug": r.slug,
                    "name": r.name,
                    "description": r.description,
                    "city": r.city,
                    "state": r.state,
                    "kind": r.kind,
                    "lat": r.lat,
                    "lng": r.lng,
                    "accepting_new_patients": int(bool(r.accepting_new_patients)),
                    "modalities": [],
                    "conditions": [],
                    "insurers": [],
                    "payment": [],
                    "min_price": None,
                }
                for r in conn.execute(
                    text(
                        "SELECT id, slug, name, description, city, state, kind, lat, lng,"
                        " accepting_new_patients FROM clinic WHERE status = 'published'"
                        " ORDER BY id"
                    )
                )
            }
            for clinic_id, code, price in conn.execute(
                text(
                    "SELECT o.clinic_id, m.code, o.price_min FROM offering o"
                    " JOIN modality m ON m.id = o.modality_id ORDER BY o.clinic_id, o.sort_key"
                )
            ):
                if row := rows.get(clinic_id):
                    row["modalities"].append(code)
                    if price is not None:
                        low = row["min_price"]
                        row["min_price"] = price if low is None else min(low, price)
            links = {
                "conditions": ("clinic_condition", "condition_id", "condition", "name"),
                "insurers": ("clinic_insurer", "insurer_id", "insurer", "code"),
                "payment": ("clinic_payment_option", "payment_option_id", "payment_option", "code"),
            }
            for key, (link, column, vocabulary, shown) in links.items():
                for clinic_id, value in conn.execute(
                    text(
                        f"SELECT l.clinic_id, v.{shown} FROM {link} l"
                        f" JOIN {vocabulary} v ON v.id = l.{column} ORDER BY l.clinic_id, v.{shown}"
                    )
                ):
                    if row := rows.get(clinic_id):
                        row[key].append(value)
    finally:
        engine.dispose()
    return list(rows.values())


def write_datasette_db(rows: list[dict[str, Any]], path: Path) -> None:
    """`clinics` with an FTS5 index (porter) on name, description, city, conditions."""
    import sqlite_utils

    db = sqlite_utils.Database(path)
    table = db["clinics"]
    table.insert_all(
        rows,
        pk="id",
        batch_size=2000,
        columns={"lat": float, "lng": float, "min_price": int},
    )
    table.enable_fts(
        ["name", "description", "city", "conditions"],
        fts_version="FTS5",
        create_triggers=False,
        tokenize="porter",
    )
    table.create_index(["lat"])
    table.create_index(["lng"])
    db.analyze()
    db.close()


@contextmanager
def datasette(path: Path, log_path: Path) -> Iterator[str]:
    """`datasette serve` on a free port; yields its base URL; stops it afterwards."""
    port = free_port()
    log = open(log_path, "w")  # noqa: SIM115
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "datasette"),
            "serve",
            str(path),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--setting",
            "default_page_size",
            "20",
            "--setting",
            "sql_time_limit_ms",
            "5000",
            "--setting",
            "facet_time_limit_ms",
            "1000",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_until_up(base + "/-/versions.json", server)
        except (OSError, RuntimeError) as exc:
            log.flush()
            raise RuntimeError(f"datasette did not start: {log_path.read_text()[-2000:]}") from exc
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
        errors = [
            line
            for line in log_path.read_text().splitlines()
            if "Traceback" in line or "ERROR" in line
        ]
        if errors:
            print(f"datasette log: {len(errors)} error lines, first:")
            print("  " + "\n  ".join(errors[:5]))


# -- the queries --------------------------------------------------------------------------------
def condition_word(name: str) -> str:
    """What a patient types for a condition: "crps" for "Complex regional pain syndrome
    (CRPS)", "treatment resistant depression" for "Treatment-resistant depression"."""
    if match := re.search(r"\(([^)]+)\)", name):
        return match.group(1).lower()
    return re.sub(r"[^a-z0-9]+", " ", name.lower()).strip()


def fts_escape(words: str) -> str:
    """Datasette's `escape_fts` for plain words: each one quoted, all of them required."""
    return " ".join(f'"{word}"' for word in words.split())


@dataclass(frozen=True)
class Query:
    kind: str
    words: str
    size: int
    lat: float | None = None
    lng: float | None = None
    radius: int | None = None
    box: tuple[float, float, float, float] | None = None  # min_lat, max_lat, min_lng, max_lng

    def ours(self) -> str:
        params: dict[str, Any] = {"q": self.words}
        if self.kind == "text+place":
            params |= {"where": f"{self.lat:.4f},{self.lng:.4f}", "radius": self.radius}
        return f"/api/v1/search?{urlencode({**params, 'per_page': self.size})}"

    def datasette(self, suggest: bool) -> str:
        params: list[tuple[str, Any]] = [("_search", self.words)]
        if self.kind == "text+facets":
            params += [("_facet", "state"), ("_facet", "kind")]
        else:
            low_lat, high_lat, low_lng, high_lng = self.box
            params += [
                ("lat__gte", low_lat),
                ("lat__lte", high_lat),
                ("lng__gte", low_lng),
                ("lng__lte", high_lng),
            ]
        params.append(("_size", self.size))
        if not suggest:
            params.append(("_nosuggest", 1))
        return f"/{DB_NAME}/clinics.json?{urlencode(params)}"


def make_queries(rows: list[dict[str, Any]], kind: str, count: int, seed: int) -> list[Query]:
    """`count` different queries of `kind`, each built from the words of one listing."""
    from directory.geo import bounding_box

    rng = random.Random(f"{seed}-{kind}")
    pool = [r for r in rows if kind == "text+facets" or r["lat"] is not None]
    made: dict[Query, None] = {}
    attempts = 0
    while len(made) < count and attempts < count * 20:
        attempts += 1
        row = rng.choice(pool)
        conditions = [condition_word(name) for name in row["conditions"]]
        treatments = [w for m in row["modalities"] for w in MODALITY_WORDS.get(m, ())]
        subjects = conditions + treatments
        if not subjects:
            continue
        subject = rng.choice(subjects)
        size = rng.choice(PAGE_SIZES)
        if kind == "text+facets":
            shape = rng.randrange(5)
            if shape == 0:
                words = subject
            elif shape == 1:
                words = row["city"]
            elif shape in (2, 3):
                words = f"{subject} {row['city']}"
            else:
                words = f"{rng.choice(conditions or subjects)} {rng.choice(treatments or subjects)}"
            query = Query(kind, " ".join(dict.fromkeys(words.split())), size)
        else:
            lat = round(row["lat"] + rng.uniform(-JITTER_DEGREES, JITTER_DEGREES), 4)
            lng = round(row["lng"] + rng.uniform(-JITTER_DEGREES, JITTER_DEGREES), 4)
            radius = rng.choice(RADII)
            box = tuple(round(v, 5) for v in bounding_box(lat, lng, radius))
            query = Query(kind, subject, size, lat, lng, radius, box)
        made[query] = None
    return list(made)


class Rotation:
    """The queries in order; after the last, again from the first (counted as repeats)."""

    def __init__(self, items: list[Any]):
        self.items, self.served = items, 0

    def __iter__(self) -> Rotation:
        return self

    def __next__(self) -> Any:
        item = self.items[self.served % len(self.items)]
        self.served += 1
        return item

    @property
    def repeated(self) -> int:
        return max(0, self.served - len(self.items))


# -- the raw engine: Datasette's SQL, in process -------------------------------------------------
def raw_statements(query: Query) -> list[tuple[str, dict[str, Any]]]:
    """The statements Datasette's table view runs for `query` (page, count, facets)."""
    where = (
        "rowid in (select rowid from clinics_fts where clinics_fts match :search)"
        if query.kind == "text+facets"
        else "rowid in (select rowid from clinics_fts where clinics_fts match :search)"
        " and lat >= :p0 and lat <= :p1 and lng >= :p2 and lng <= :p3"
    )
    params: dict[str, Any] = {"search": fts_escape(query.words)}
    if query.box:
        params |= {f"p{i}": value for i, value in enumerate(query.box)}
    statements = [
        (
            f"select * from clinics where {where} order by id limit {query.size + 1}",
            params,
        ),
        (f"select count(*) from clinics where {where}", params),
    ]
    if query.kind == "text+facets":
        for column in ("state", "kind"):
            statements.append(
                (
                    f"select {column} as value, count(*) as count from"
                    f" (select * from clinics where {where})"
                    f" where {column} is not null group by {column}"
                    f" order by count desc, value limit {FACET_SIZE + 1}",
                    params,
                )
            )
    return statements


def raw_run(conn: sqlite3.Connection, queries: Rotation, seconds: float) -> Level:
    """One thread, one query after another for `seconds`, each timed."""
    run = Level(1)
    started = time.monotonic()
    until = started + seconds
    while time.monotonic() < until:
        statements = raw_statements(next(queries))
        began = time.perf_counter()
        for sql, params in statements:
            conn.execute(sql, params).fetchall()
        run.latencies.append(time.perf_counter() - began)
        run.statuses[200] = run.statuses.get(200, 0) + 1
    run.seconds = time.monotonic() - started
    return run


# -- runs, figures --------------------------------------------------------------------------------
@dataclass
class Tally:
    """One side and kind over all its slices."""

    side: str
    kind: str
    clients: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    transport_errors: int = 0
    empty: int = 0
    sampled: int = 0
    repeated: int = 0

    def add(self, run: Level) -> None:
        self.seconds += run.seconds
        self.latencies += run.latencies
        self.transport_errors += run.transport_errors
        for status, n in run.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + n

    @property
    def errors(self) -> int:
        return self.transport_errors + sum(n for s, n in self.statuses.items() if s != 200)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else float("nan")

    def percentile(self, p: float) -> float:
        level = Level(self.clients, latencies=self.latencies)
        return level.percentile(p)

    def figures(self) -> dict[str, Any]:
        return {
            "side": self.side,
            "kind": self.kind,
            "clients": self.clients,
            "seconds": round(self.seconds, 2),
            "requests": len(self.latencies),
            "req_s": round(self.rate, 1),
            "p50_ms": round(self.percentile(50), 2),
            "p95_ms": round(self.percentile(95), 2),
            "p99_ms": round(self.percentile(99), 2),
            "errors": self.errors,
            "statuses": {str(s): n for s, n in sorted(self.statuses.items())},
            "transport_errors": self.transport_errors,
            "empty_in_sample": self.empty,
            "sampled": self.sampled,
            "repeated_queries": self.repeated,
        }


def fetch_json(url: str, timeout: float) -> tuple[int, Any]:
    """(status, the JSON body, or the first 300 characters of a body that is not JSON)."""
    try:
        with urlopen(url, timeout=timeout) as response:
            status, body = response.status, response.read()
    except HTTPError as error:
        status, body = error.code, error.read()
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body[:300].decode("utf-8", "replace")


@dataclass
class Sample:
    """A sample of one kind, sent once to every side before the timed run."""

    queries: int = 0
    answered: int = 0  # by both servers with a 200
    empty: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MATCHING, 0))
    matches: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MATCHING, 0))
    facets_missing: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SERVERS, 0))
    facets_timed_out: int = 0  # Datasette answers 200 without a facet it ran out of time for
    failed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SERVERS, 0))
    first_failure: dict[str, str] = field(default_factory=dict)

    def figures(self) -> dict[str, Any]:
        return {
            "queries": self.queries,
            "answered": self.answered,
            "empty": self.empty,
            "mean_matches": {
                side: round(n / self.answered, 1) if self.answered else None
                for side, n in self.matches.items()
            },
            "facets_missing": self.facets_missing,
            "datasette_facets_timed_out": self.facets_timed_out,
            "non_200": self.failed,
            "first_non_200": self.first_failure,
        }


def check_sample(
    ours: str, theirs: str, conn: sqlite3.Connection, queries: list[Query], args
) -> Sample:
    """Send each of `queries` once to every side: results, matches, facets."""
    sample = Sample(len(queries))
    for query in queries:
        urls = {
            "ours": ours + query.ours(),
            "datasette": theirs + query.datasette(args.suggest_facets),
        }
        answers, totals = {}, {}
        for side, url in urls.items():
            status, body = fetch_json(url, args.timeout)
            if status != 200:
                sample.failed[side] += 1
                sample.first_failure.setdefault(side, f"{status} {url}: {str(body)[:300]}")
                continue
            answers[side] = body
            totals[side] = body["total" if side == "ours" else "filtered_table_rows_count"]
        if len(answers) < len(urls):
            continue
        sample.answered += 1
        count_sql, params = raw_statements(query)[1]
        totals["raw"] = conn.execute(count_sql, params).fetchone()[0]
        for side, total in totals.items():
            sample.matches[side] += total
            sample.empty[side] += total == 0
        asked = {
            "ours": ("modality", "condition", "insurer", "payment"),  # always computed
            "datasette": ("state", "kind") if query.kind == "text+facets" else (),
        }
        got = {
            "ours": answers["ours"]["facets"],
            "datasette": answers["datasette"].get("facet_results", {}),
        }
        for side, names in asked.items():
            sample.facets_missing[side] += any(name not in got[side] for name in names)
        sample.facets_timed_out += bool(answers["datasette"].get("facets_timed_out"))
    return sample


def interleave(
    args: argparse.Namespace,
    bases: dict[str, str],
    conn: sqlite3.Connection,
    rotations: dict[tuple[str, str], Rotation],
    tallies: dict[tuple[str, str], Tally],
) -> None:
    """Round-robin slices over every (kind, side) until each has had `--seconds`."""
    rounds = max(1, math.ceil(args.seconds / args.slice))
    pairs = [(kind, side) for kind in KINDS for side in SIDES]
    for number in range(rounds):
        length = min(args.slice, args.seconds - number * args.slice)
        shift = number % len(pairs)  # a different side leads each round
        for kind, side in pairs[shift:] + pairs[:shift]:
            rotation = rotations[kind, side]
            if side == "raw":
                run = raw_run(conn, rotation, length)
            else:
                run = concurrent_run(bases[side], args.concurrency, length, args.timeout, rotation)
            tallies[kind, side].add(run)
        done = {pair: tallies[pair] for pair in pairs}
        print(
            f"  round {number + 1}/{rounds}: "
            + ", ".join(
                f"{kind[5:]}/{side} {len(t.latencies)}" for (kind, side), t in done.items()
            ),
            flush=True,
        )


def show_warnings(log: Path) -> None:
    """The first warnings of our server's log (a 503's reason, say), if any."""
    lines = log.read_text().splitlines() if log.exists() else []
    warnings = [line for line in lines if "WARNING" in line]
    if warnings:
        print(f"gunicorn log: {len(warnings)} warning lines, first:")
        print("  " + "\n  ".join(line[:300] for line in warnings[:5]))


def ratio(a: float, b: float) -> float | None:
    return a / b if b and not math.isnan(a) and not math.isnan(b) else None


def one_size(args: argparse.Namespace, size: int) -> dict[str, Any]:
    """Build both sides for `size` listings, run the interleaved load, return the figures."""
    sized = argparse.Namespace(**{**vars(args), "size": size})
    timings: dict[str, float] = {}
    with ExitStack() as stack:
        started = time.perf_counter()
        print(f"\n== {size:,} listings: building our site ({args.backend})", flush=True)
        site = stack.enter_context(
            serve(sized, args.backend, "http_load:bench_app()", "/bench/ping")
        )
        timings["ours_build_s"] = time.perf_counter() - started
        # `prepare` (in `serve`) put the site's settings in os.environ: its folder and
        # database. Its gunicorn log's warnings are shown at the end (serve shows errors).
        stack.callback(show_warnings, Path(os.environ["INSTANCE_PATH"]) / "gunicorn.log")

        started = time.perf_counter()
        rows = export_listings(os.environ["DATABASE_URL"])
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-peers-")))
        path = folder / f"{DB_NAME}.db"
        write_datasette_db(rows, path)
        timings["datasette_build_s"] = time.perf_counter() - started
        started = time.perf_counter()
        theirs = stack.enter_context(datasette(path, folder / "datasette.log"))
        timings["datasette_start_s"] = time.perf_counter() - started
        print(
            f"site built in {timings['ours_build_s']:.1f} s; Datasette file ({len(rows):,} rows,"
            f" {path.stat().st_size / 2**20:.1f} MB) in {timings['datasette_build_s']:.1f} s,"
            f" serving in {timings['datasette_start_s']:.1f} s",
            flush=True,
        )
        conn = sqlite3.connect(path)
        stack.callback(conn.close)

        bases = {"ours": site.base, "datasette": theirs, "ping": site.base}
        rotations: dict[tuple[str, str], Rotation] = {}
        tallies: dict[tuple[str, str], Tally] = {}
        samples: dict[str, Sample] = {}
        for kind in KINDS:
            queries = make_queries(rows, kind, args.queries + args.sample, args.seed + size)
            if len(queries) < args.queries + args.sample:
                print(f"  {kind}: only {len(queries):,} different queries could be made")
            sample, timed = queries[: args.sample], queries[args.sample :]
            checked = check_sample(site.base, theirs, conn, sample, args)
            samples[kind] = checked
            print(
                f"  {kind}: {len(timed):,} timed queries; of {len(sample)} sampled,"
                f" no results: {checked.empty}, mean matches:"
                f" {checked.figures()['mean_matches']}, facets missing:"
                f" {checked.facets_missing}, Datasette facets timed out:"
                f" {checked.facets_timed_out}, non-200: {checked.failed}",
                flush=True,
            )
            for side, failure in checked.first_failure.items():
                print(f"  first non-200 answer from {side}: {failure}", flush=True)
            paths = {
                "ours": [q.ours() for q in timed],
                "datasette": [q.datasette(args.suggest_facets) for q in timed],
                "ping": ["/bench/ping"],
                "raw": timed,
            }
            for side in SIDES:
                rotations[kind, side] = Rotation(paths[side])
                clients = 1 if side == "raw" else args.concurrency
                tallies[kind, side] = Tally(side, kind, clients, sampled=len(sample))
                tallies[kind, side].empty = checked.empty.get(side, 0)
            # Warm-up (not reported): the sample's queries again, a few clients per server.
            for side in ("ours", "datasette"):
                warm = [
                    q.ours() if side == "ours" else q.datasette(args.suggest_facets) for q in sample
                ]
                concurrent_run(bases[side], 4, args.warmup, args.timeout, Rotation(warm))
        interleave(args, bases, conn, rotations, tallies)
        for pair, tally in tallies.items():
            tally.repeated = rotations[pair].repeated if pair[1] != "ping" else 0

    result: dict[str, Any] = {"size": size, "listings": len(rows), **timings, "kinds": {}}
    for kind in KINDS:
        t = {side: tallies[kind, side] for side in SIDES}
        result["kinds"][kind] = {
            "sides": {side: tally.figures() for side, tally in t.items()},
            "sample": samples[kind].figures(),
            "ours_over_datasette_req_s": ratio(t["ours"].rate, t["datasette"].rate),
            "ours_over_datasette_p95": ratio(
                t["ours"].percentile(95), t["datasette"].percentile(95)
            ),
            "ours_over_raw_p50": ratio(t["ours"].percentile(50), t["raw"].percentile(50)),
            "ours_over_ping_req_s": ratio(t["ours"].rate, t["ping"].rate),
        }
    return result


def _x(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}x"


def print_table(args: argparse.Namespace, result: dict[str, Any]) -> None:
    print(
        f"\n{result['size']:,} listings ({args.backend}; ours built in"
        f" {result['ours_build_s']:.0f} s, Datasette file in {result['datasette_build_s']:.0f} s);"
        f" {args.concurrency} clients, {args.seconds:g} s per side and kind"
        f" in {args.slice:g} s slices"
    )
    print("| side | kind | requests | req/s | p50 ms | p95 ms | p99 ms | errors | empty |")
    print("|---|---|---|---|---|---|---|---|---|")
    for kind, figures in result["kinds"].items():
        for side, f in figures["sides"].items():
            empty = "" if side == "ping" else f"{f['empty_in_sample']}/{f['sampled']}"
            print(
                f"| {side} | {kind} | {f['requests']:,} "
                f"| {f['req_s']:.0f} | {f['p50_ms']:.1f} | {f['p95_ms']:.1f} "
                f"| {f['p99_ms']:.1f} | {f['errors']} | {empty} |"
            )
    print("\n| kind | ours/datasette req/s | ours/datasette p95 | ours/raw p50 | ours/ping req/s |")
    print("|---|---|---|---|---|")
    for kind, figures in result["kinds"].items():
        print(
            f"| {kind} | {_x(figures['ours_over_datasette_req_s'])} "
            f"| {_x(figures['ours_over_datasette_p95'])} | {_x(figures['ours_over_raw_p50'], 1)} "
            f"| {_x(figures['ours_over_ping_req_s'], 3)} |"
        )
    for kind, figures in result["kinds"].items():
        sample = figures["sample"]
        means = ", ".join(f"{side} {n}" for side, n in sample["mean_matches"].items())
        print(
            f"{kind}, {sample['queries']} queries sent once to each side first: mean matches"
            f" {means}; no results {sample['empty']}; facets missing"
            f" {sample['facets_missing']}; Datasette facets timed out"
            f" {sample['datasette_facets_timed_out']}; non-200 {sample['non_200']}"
        )
    repeats = [
        f"{kind}/{side} {f['repeated_queries']:,}"
        for kind, figures in result["kinds"].items()
        for side, f in figures["sides"].items()
        if f["repeated_queries"]
    ]
    if repeats:
        print(f"queries sent again after the list ran out: {', '.join(repeats)}")


def git_head() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except OSError:
        return "unknown"
    return done.stdout.strip() or "unknown"


def versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for name in ("datasette", "sqlite-utils", "flask", "gunicorn"):
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            found.append(f"{name} missing")
    return ", ".join(found + [f"SQLite {sqlite3.sqlite_version}"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--seconds", type=float, default=15, help="per side and kind")
    parser.add_argument("--concurrency", type=int, default=20, help="HTTP clients at once")
    parser.add_argument("--slice", type=float, default=3, help="seconds per turn")
    parser.add_argument("--backend", choices=["whoosh", "postgres"], default="whoosh")
    parser.add_argument("--workers", type=int, default=2, help="WEB_WORKERS")
    parser.add_argument("--web-threads", type=int, default=4, help="WEB_THREADS")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--warmup", type=float, default=2, help="seconds per server, not reported")
    parser.add_argument("--queries", type=int, default=20_000, help="different queries per kind")
    parser.add_argument("--sample", type=int, default=200, help="queries checked for results")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--suggest-facets",
        action="store_true",
        help="let Datasette suggest facets on every request (its default; off here)",
    )
    parser.add_argument("--json", metavar="OUT", help="write the figures to this file")
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get(
            "BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    if args.concurrency < 1 or args.seconds <= 0 or args.slice <= 0:
        parser.error("--concurrency, --seconds and --slice must be positive")

    import signal

    # Ctrl-C and `kill` end the run at once, wherever it is, and the context managers
    # then stop both servers and remove their folders. A handler of our own, because
    # asyncio.run's (installed only while SIGINT has Python's default one) merely
    # cancels its task, and a cancellation http_load's clients absorb is lost.
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)

    command = shlex.join([".venv/bin/python", "bench/peers.py", *sys.argv[1:]])
    head = git_head()
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {head}")
    print(f"$ {command}")
    print(f"{versions()}; {os.cpu_count()} cores", flush=True)
    results = []
    for size in args.size:
        results.append(one_size(args, size))
        print_table(args, results[-1])
    if len(results) > 1:  # all sizes together, ready to paste
        print(f"\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {head}; $ {command}")
        for result in results:
            print_table(args, result)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "date": datetime.now(UTC).isoformat(timespec="seconds"),
                    "commit": head,
                    "command": command,
                    "versions": versions(),
                    "settings": {
                        k: v for k, v in vars(args).items() if k not in ("json", "pg_admin_url")
                    },
                    "results": results,
                },
                indent=2,
            )
        )
    failed = sum(
        f["errors"]
        for result in results
        for figures in result["kinds"].values()
        for f in figures["sides"].values()
    ) + sum(
        sum(figures["sample"]["non_200"].values())
        for result in results
        for figures in result["kinds"].values()
    )
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as stopped:  # both servers are stopped by now
        print(f"\ninterrupted ({stopped or 'SIGINT'}): servers stopped, folders removed")
        sys.exit(130)
