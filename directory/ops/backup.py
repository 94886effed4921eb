"""Online backups of a SQLite site: a consistent copy made while the app keeps serving.

The copy goes through SQLite's backup API (`sqlite3.Connection.backup`), which
copies pages under the database's own locking, so a write in progress never
leaves a half-written copy, as copying the file could. PostgreSQL sites are
backed up with pg_dump instead (docs/deploy.md).
"""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from ..extensions import db

PG_DUMP_HINT = (
    "This site's database is PostgreSQL: `flask backup` only copies SQLite databases. "
    "Back it up with pg_dump instead, e.g. "
    'pg_dump --format=custom --file=directory.dump "$DATABASE_URL" '
    "(restore with pg_restore; see docs/deploy.md)."
)


class BackupError(Exception):
    """A backup that cannot be made; the message says why and what to do."""


def backup_sqlite(folder: Path, now: datetime | None = None) -> Path:
    """Copy the app's SQLite database to `folder`/directory-<UTC time>.sqlite; return the path.

    The file is written under a temporary name, checked with `PRAGMA integrity_check`,
    made readable by its owner only (it holds password hashes) and then renamed, so a
    file with the final name is always a complete backup.
    """
    engine = db.engine
    if engine.dialect.name != "sqlite":
        raise BackupError(PG_DUMP_HINT)
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        raise BackupError("The SQLite database is in memory: there is no file to back up.")
    if not Path(database).is_file():
        raise BackupError(f"There is no database at {database}: nothing to back up.")
    folder.mkdir(parents=True, exist_ok=True)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    target = folder / f"directory-{stamp}.sqlite"
    n = 1
    while target.exists():
        n += 1
        target = folder / f"directory-{stamp}-{n}.sqlite"
    partial = target.with_name(target.name + ".partial")
    with engine.connect() as conn:
        source = conn.connection.driver_connection
        copy = sqlite3.connect(partial)
        try:
            os.chmod(partial, 0o600)
            source.backup(copy)
            # The site runs in WAL mode (directory/database.py); a backup is one
            # self-contained file, with no -wal or -shm beside it once opened.
            copy.execute("PRAGMA journal_mode = DELETE")
            result = copy.execute("PRAGMA integrity_check").fetchone()
        finally:
            copy.close()
    if not result or result[0] != "ok":
        partial.unlink(missing_ok=True)
        raise BackupError(f"The copy failed SQLite's integrity check: {result}")
    partial.rename(target)
    return target
