"""`flask listings import FILE`: the dry run's report, then (with --apply) the import."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from ..listings.vocabulary import vocabulary_names
from .apply import STATUSES, apply_plan
from .columns import columns, guess_mapping, mapping_problem
from .plan import OUTCOMES, ImportPlan, dry_run
from .spreadsheet import UnreadableFile, read_table


def report_lines(plan: ImportPlan, limit: int = 50) -> list[str]:
    """The dry run in words: counts, then each rejected row's fields and reasons, then
    what each duplicate matched (at most `limit` rows of each)."""
    counts = plan.counts()
    lines = [f"{OUTCOMES[k]}: {n:,}" for k, n in counts.items()]
    rejected = [row for row in plan.rows if row.outcome == "rejected"]
    for row in rejected[:limit]:
        for key, reason in row.errors.items():
            lines.append(f"  row {row.line}: {plan.field_label(key)}: {reason}")
    duplicates = [row for row in plan.rows if row.outcome == "duplicate"]
    for row in duplicates[:limit]:
        lines.append(f"  row {row.line}: already listed as #{row.clinic_id} ({row.reason})")
    return lines


@click.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--apply", "apply_", is_flag=True, help="Import after the dry run's report.")
@click.option(
    "--status",
    type=click.Choice(STATUSES),
    default="pending",
    show_default=True,
    help="What new listings start as.",
)
@click.option(
    "--source", default=None, help="The list's name in external ids (default: file name)."
)
@with_appcontext
def import_command(path: Path, apply_: bool, status: str, source: str | None) -> None:
    """Check a CSV or XLSX list of clinics against the directory (a dry run), and with
    --apply import it: new listings unclaimed, audited, re-indexed."""
    try:
        table = read_table(path.read_bytes(), path.name)
    except UnreadableFile as exc:
        raise click.ClickException(exc.message) from exc
    known = columns(vocabulary_names().get("modality", {}))
    mapping = guess_mapping(table.headers, known)
    if problem := mapping_problem(mapping, known):
        raise click.ClickException(problem)
    ignored = [h for i, h in enumerate(table.headers) if i not in mapping and h]
    if ignored:
        click.echo("Columns not read: " + ", ".join(ignored))
    plan = dry_run(table, mapping, source or path.stem)
    for line in report_lines(plan):
        click.echo(line)
    if not apply_:
        click.echo("Dry run: nothing was written. Add --apply to import.")
        return
    applied = apply_plan(plan, None, status)
    click.echo(f"Imported: {applied.created:,} new, {applied.updated:,} updated.")
