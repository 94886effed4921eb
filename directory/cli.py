"""`flask` commands: setup (migrate + seed + index), seed, search reindex / verify,
listings remind-stale (run daily from cron or a scheduler); backup, export and import
live in `directory.ops.cli`."""

from __future__ import annotations

import sys
import time

import click
from flask import Flask
from flask.cli import AppGroup

from .imports.cli import import_command as listings_import
from .listings import demo, freshness
from .listings.vocabulary import load_vocabularies
from .ops.cli import register as register_ops
from .ops.site_setup import set_up
from .search import IndexBusy, get_backend, sync

search_cli = AppGroup("search", help="Maintain the search index.")
seed_cli = AppGroup("seed", help="Load vocabularies and demo data.")
listings_cli = AppGroup("listings", help="Routine work on listings.")


@listings_cli.command("remind-stale")
def listings_remind_stale() -> None:
    """Mail owners of listings not verified for 180 days (at most once a month each)."""
    stale = len(freshness.stale_clinics())
    sent = freshness.send_reminders()
    click.echo(f"Stale listings: {stale}; reminders sent: {sent}")


listings_cli.add_command(listings_import)


@seed_cli.command("vocabularies")
def seed_vocabularies() -> None:
    """Insert missing vocabulary entries from seed_data/ (idempotent)."""
    added = load_vocabularies()
    click.echo("Vocabularies: " + ", ".join(f"{k} +{v}" for k, v in added.items()))


@seed_cli.command("demo")
def seed_demo() -> None:
    """Insert the fictional demo clinics that are not loaded yet (idempotent)."""
    load_vocabularies()
    added = demo.load_demo(after_commit=sync.refresh)
    click.echo(f"Demo clinics added: {added}")


@search_cli.command("reindex")
def search_reindex() -> None:
    """Rebuild the whole index from the published rows, into a fresh folder."""
    started = time.perf_counter()
    try:
        count = sync.rebuild()
    except IndexBusy:
        raise click.ClickException(
            "Another process is writing the search index and did not finish within ten "
            "minutes. Try again when it is done."
        ) from None
    click.echo(f"Indexed {count} published clinics in {time.perf_counter() - started:.1f} s")


@search_cli.command("verify")
def search_verify() -> None:
    """Check the index files and compare the index with the database; exit 1 on any problem."""
    problems = get_backend().check()
    if problems:
        for problem in problems:
            click.echo(f"Damaged: {problem}.")
        click.echo("Run `flask search reindex` to rebuild it (the site also repairs it itself).")
        sys.exit(1)
    drift = sync.verify()
    if drift.clean:
        click.echo("Index matches the database.")
        return
    for label, ids in (("missing", drift.missing), ("extra", drift.extra), ("stale", drift.stale)):
        if ids:
            shown = ", ".join(map(str, ids[:20])) + (" …" if len(ids) > 20 else "")
            click.echo(f"{label}: {len(ids)} ({shown})")
    sys.exit(1)


def register(app: Flask) -> None:
    app.cli.add_command(search_cli)
    app.cli.add_command(seed_cli)
    app.cli.add_command(listings_cli)
    register_ops(app)

    @app.cli.command("setup")
    @click.option(
        "--demo/--no-demo", "demo_flag", default=None, help="Load demo data into an empty database."
    )
    def setup(demo_flag: bool | None) -> None:
        """Apply migrations, load vocabularies, demo data when empty, and build the index.

        Safe to run on every start: each step does nothing when already done.
        """
        set_up(app, demo_flag, click.echo)
