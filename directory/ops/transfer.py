"""Move a whole site between databases (SQLite ⇄ PostgreSQL) through one JSON-lines file.

The file's first line is a header (format name and version, the Alembic revision
of the schema, the tables and their columns, in an order where every table comes
after the tables it refers to); then one line per row, `{"table": …, "row": {…}}`,
table by table in that order, each table by primary key; the last line holds the
row counts, so a cut-off file is refused instead of half-imported. A name ending
in `.gz` is gzip-compressed.

Every table the app owns is exported (vocabularies, clinics, offerings, the
clinic × vocabulary associations, accounts with their password hashes, ownerships,
revisions, audit events) except the rate-limit events. Times are written in UTC
ISO 8601. An import goes into an empty database migrated to the same revision, in
one transaction, keeping every id; on PostgreSQL it then moves each id sequence
past the highest id, and the search index is rebuilt from the imported rows.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import JSON, Date, DateTime, Integer, Table, bindparam, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..models.clinic import as_utc
from ..search import sync

FORMAT = "ketamine-directory-export"
FORMAT_VERSION = 1
# Rate-limit events are short-lived counters, not part of a site.
SKIPPED_TABLES = frozenset({"throttle_event"})
BATCH = 500


class TransferError(Exception):
    """An export or import that cannot go ahead; the message says why and what to do."""


def app_tables() -> list[Table]:
    """The tables a site is made of, parents before children."""
    return [t for t in db.metadata.sorted_tables if t.name not in SKIPPED_TABLES]


def schema_revision() -> str | None:
    """The Alembic revision the database is migrated to (None when it never was)."""
    try:
        with db.engine.connect() as conn:
            heads = conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
            return ",".join(sorted(heads)) or None
    except SQLAlchemyError:
        return None


# -- export ----------------------------------------------------------------------------
def export_site(path: Path) -> dict[str, int]:
    """Write every row of the site to `path` (which must not exist); return rows per table.

    The rows are read in one transaction (REPEATABLE READ on PostgreSQL, one read
    transaction on SQLite), so the file is a consistent snapshot even while the
    site serves. The file is readable by its owner only: it holds password hashes.
    """
    if path.exists():
        raise TransferError(f"{path} already exists; choose a new file name.")
    revision = schema_revision()
    if revision is None:
        raise TransferError("This database has no schema yet: nothing to export.")
    tables = app_tables()
    counts: dict[str, int] = {}
    partial = path.with_name(path.name + ".partial")
    try:
        with _open(partial, "w", compress=path.suffix == ".gz") as out:
            os.chmod(partial, 0o600)
            header = {
                "format": FORMAT,
                "version": FORMAT_VERSION,
                "schema_revision": revision,
                "source_engine": db.engine.dialect.name,
                "exported_at": datetime.now(UTC).isoformat(),
                "tables": [
                    {"name": t.name, "columns": [c.name for c in t.columns]} for t in tables
                ],
            }
            _write(out, header)
            for table, row in _snapshot_rows(tables):
                counts[table.name] = counts.get(table.name, 0) + 1
                _write(out, {"table": table.name, "row": _encode_row(row)})
            counts = {t.name: counts.get(t.name, 0) for t in tables}
            _write(out, {"end": True, "counts": counts})
        partial.rename(path)
    finally:
        partial.unlink(missing_ok=True)
    return counts


def _snapshot_rows(tables: list[Table]) -> Iterator[tuple[Table, dict[str, Any]]]:
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        elif conn.dialect.name == "sqlite":
            # pysqlite only opens transactions before writes; one read transaction
            # keeps every SELECT on the same snapshot.
            conn.exec_driver_sql("BEGIN")
        try:
            for table in tables:
                stmt = select(table).order_by(*table.primary_key.columns)
                for row in conn.execute(stmt.execution_options(yield_per=BATCH)).mappings():
                    yield table, dict(row)
        finally:
            conn.rollback()


def _encode_row(row: dict[str, Any]) -> dict[str, Any]:
    return {name: _encode(value) for name, value in row.items()}


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


# -- import ----------------------------------------------------------------------------
def import_site(path: Path, reindex: bool = True) -> dict[str, int]:
    """Load an export into this (empty, migrated) database; return rows per table.

    All rows go in one transaction: a failure leaves the database empty as before.
    """
    if not path.is_file():
        raise TransferError(f"{path} is not a file.")
    tables = {t.name: t for t in app_tables()}
    with _open(path, "r") as lines:
        header = _read_header(path, lines)
        _check_target(header, tables)
        try:
            counts = _insert_rows(path, lines, tables)
            if db.engine.dialect.name == "postgresql":
                _advance_sequences(list(tables.values()))
            db.session.commit()
        except (SQLAlchemyError, TransferError, OSError, UnicodeDecodeError, EOFError) as exc:
            db.session.rollback()
            if isinstance(exc, TransferError):
                raise
            if not isinstance(exc, SQLAlchemyError):
                raise TransferError(f"{path} could not be read: {exc}") from exc
            detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise TransferError(f"The import failed and nothing was saved: {detail}") from exc
    if reindex:
        sync.rebuild()
    return counts


def _read_header(path: Path, lines: IO[str]) -> dict[str, Any]:
    try:
        header = json.loads(next(lines, "") or "null")
    except (json.JSONDecodeError, UnicodeDecodeError, OSError, EOFError) as exc:
        raise TransferError(f"{path} is not an export of this directory ({exc}).") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise TransferError(f"{path} is not an export of this directory (no {FORMAT} header).")
    if header.get("version") != FORMAT_VERSION:
        raise TransferError(
            f"{path} has export format version {header.get('version')!r}; this release reads "
            f"version {FORMAT_VERSION}. Import it with the release that wrote it."
        )
    return header


def _check_target(header: dict[str, Any], tables: dict[str, Table]) -> None:
    """Refuse anything but an empty database at the export's schema revision."""
    revision = schema_revision()
    if revision is None:
        raise TransferError(
            "This database has no schema yet: run `flask db upgrade` first, then import."
        )
    if revision != header.get("schema_revision"):
        raise TransferError(
            f"The export was made at schema revision {header.get('schema_revision')}, this "
            f"database is at {revision}: migrate both to the same release "
            "(`flask db upgrade`) before moving the site."
        )
    exported = {t["name"]: t["columns"] for t in header.get("tables", [])}
    for name, table in tables.items():
        if exported.get(name) != [c.name for c in table.columns]:
            raise TransferError(
                f"The export's table {name!r} does not match this release's "
                "(a different code version?): import with the release that wrote it."
            )
    unknown = sorted(set(exported) - set(tables))
    if unknown:
        raise TransferError(f"The export holds tables this release does not know: {unknown}")
    filled = {
        name: n
        for name, table in tables.items()
        if (n := db.session.scalar(select(func.count()).select_from(table)))
    }
    if filled:
        shown = ", ".join(
            f"{name} ({n:,} row{'s' if n != 1 else ''})" for name, n in filled.items()
        )
        raise TransferError(
            f"The database is not empty: {shown}. Import only into a new database made with "
            "`flask db upgrade` alone (not `flask setup`, which loads vocabularies)."
        )


def _insert_rows(path: Path, lines: IO[str], tables: dict[str, Table]) -> dict[str, int]:
    counts = dict.fromkeys(tables, 0)
    batch: list[dict[str, Any]] = []
    current: Table | None = None
    done: set[str] = set()
    trailer: dict[str, Any] | None = None
    for number, line in enumerate(lines, start=2):
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TransferError(f"{path}, line {number}: not JSON ({exc.msg}).") from exc
        if item.get("end"):
            trailer = item
            break
        table = tables.get(item.get("table"))
        if table is None or not isinstance(item.get("row"), dict):
            raise TransferError(f"{path}, line {number}: not a row of a known table.")
        if table is not current:
            _flush(current, batch)
            if current is not None:
                done.add(current.name)
            if table.name in done:
                raise TransferError(f"{path}, line {number}: rows of {table.name} are split.")
            current = table
        batch.append(_decode_row(table, item["row"], f"{path}, line {number}"))
        counts[table.name] += 1
        if len(batch) >= BATCH:
            _flush(current, batch)
    _flush(current, batch)
    if trailer is None:
        raise TransferError(f"{path} ends early (no closing line): the file is incomplete.")
    if trailer.get("counts") != counts:
        raise TransferError(f"{path} is inconsistent: its closing line counts other rows.")
    return counts


def _decode_row(table: Table, row: dict[str, Any], where: str) -> dict[str, Any]:
    if set(row) != set(table.columns.keys()):
        raise TransferError(f"{where}: the columns do not match table {table.name}.")
    decoded = {}
    for column in table.columns:
        value = row[column.name]
        try:
            if value is not None and isinstance(column.type, DateTime):
                value = datetime.fromisoformat(value)
            elif value is not None and isinstance(column.type, Date):
                value = date.fromisoformat(value)
        except (TypeError, ValueError) as exc:
            raise TransferError(f"{where}: bad {column.name} value {value!r}.") from exc
        decoded[column.name] = value
    return decoded


def _flush(table: Table | None, batch: list[dict[str, Any]]) -> None:
    if table is None or not batch:
        return
    # JSON columns: None means SQL NULL (as it was read), not the JSON literal null.
    # (A bind parameter may not share its column's name, hence the "json_" prefix.)
    json_columns = [c.name for c in table.columns if isinstance(c.type, JSON)]
    stmt = table.insert().values(
        {name: bindparam(f"json_{name}", type_=JSON(none_as_null=True)) for name in json_columns}
    )
    rows = [{(f"json_{k}" if k in json_columns else k): v for k, v in row.items()} for row in batch]
    db.session.execute(stmt, rows)
    batch.clear()


def _advance_sequences(tables: list[Table]) -> None:
    """Make PostgreSQL's next id the highest imported id + 1, table by table."""
    quote = db.engine.dialect.identifier_preparer.quote
    for table in tables:
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or not isinstance(keys[0].type, Integer):
            continue
        name, column = quote(table.name), quote(keys[0].name)
        db.session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence(:table, :column), "
                f"COALESCE((SELECT MAX({column}) FROM {name}), 0) + 1, false)"
            ),
            {"table": name, "column": keys[0].name},
        )


# -- files -----------------------------------------------------------------------------
def _open(path: Path, mode: str, compress: bool | None = None) -> IO[str]:
    if path.suffix == ".gz" if compress is None else compress:
        return gzip.open(path, mode + "t", encoding="utf-8")  # type: ignore[return-value]
    return open(path, mode, encoding="utf-8")  # noqa: SIM115


def _write(out: IO[str], item: dict[str, Any]) -> None:
    out.write(json.dumps(item, ensure_ascii=False, separators=(",", ":"), allow_nan=False))
    out.write("\n")
