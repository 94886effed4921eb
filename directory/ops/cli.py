"""`flask backup`, `flask export` and `flask import`: whole-site operations for the server.

`--format hsds` exports the published listings as an Open Referral HSDS 3.0 data
package instead (`directory.opendata`), or loads one into a site without listings.

Every failure is a `click.ClickException`: one plain message on stderr, exit code 1.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from ..opendata import hsds, hsds_import
from . import backup, transfer

FORMAT_OPTION = click.option(
    "--format",
    "file_format",
    type=click.Choice(["site", "hsds"]),
    default="site",
    show_default=True,
    help="site: the whole site (JSON lines); hsds: published listings as HSDS 3.0 (zip).",
)


@click.command("backup")
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the copy (default: <instance>/backups).",
)
@with_appcontext
def backup_command(folder: Path | None) -> None:
    """Copy the SQLite database, online and consistent, to a timestamped file.

    PostgreSQL sites are backed up with pg_dump (this command says so and exits 1).
    """
    try:
        path = backup.backup_sqlite(folder or Path(current_app.instance_path) / "backups")
    except (backup.BackupError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Backed up the database to {path} ({path.stat().st_size:,} bytes).")


@click.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@FORMAT_OPTION
@with_appcontext
def export_command(path: Path, file_format: str) -> None:
    """Write the whole site (every table but rate-limit events) to PATH (JSON lines).

    A PATH ending in .gz is compressed. The file holds password hashes and emails:
    it is made readable by its owner only; keep it that way. With --format hsds,
    PATH is a zip of the published listings only, which anyone may read.
    """
    if file_format == "hsds":
        _export_hsds(path)
        return
    try:
        counts = transfer.export_site(path)
    except (transfer.TransferError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Exported {sum(counts.values()):,} rows to {path}: {_summary(counts)}")


@click.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--reindex/--no-reindex", default=True, help="Rebuild the search index afterwards (default)."
)
@FORMAT_OPTION
@with_appcontext
def import_command(path: Path, reindex: bool, file_format: str) -> None:
    """Load a `flask export` file into this empty database (made by `flask db upgrade`).

    Ids are kept; on PostgreSQL the id sequences are moved past them; then the
    search index is rebuilt. With --format hsds, PATH is an HSDS package, loaded as
    published listings into a site that has vocabularies but no listings.
    """
    if file_format == "hsds":
        _import_hsds(path, reindex)
        return
    try:
        counts = transfer.import_site(path, reindex=reindex)
    except (transfer.TransferError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Imported {sum(counts.values()):,} rows from {path}: {_summary(counts)}")
    if reindex:
        click.echo("Search index rebuilt.")
    else:
        click.echo("Search index not rebuilt: run `flask search reindex`.")


def _export_hsds(path: Path) -> None:
    try:
        counts = hsds.write_package(path)
    except (hsds.HsdsError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Exported {counts['organization']:,} published listings to {path} (HSDS 3.0).")


def _import_hsds(path: Path, reindex: bool) -> None:
    try:
        counts = hsds_import.import_package(path, reindex=reindex)
    except (hsds.HsdsError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Imported {_summary(counts)} from {path} (HSDS 3.0).")
    click.echo("Search index rebuilt." if reindex else "Search index not rebuilt.")


def _summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {n:,}" for name, n in counts.items() if n) or "no rows"


def register(app: Flask) -> None:
    for command in (backup_command, export_command, import_command):
        app.cli.add_command(command)
