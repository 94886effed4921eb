"""Imports run in the background: the editor's request starts a thread and returns, and
the admin page follows its progress.

State changes are conditional UPDATEs, so of two clicks on "Import" one starts the
run, and a cancel either stops a planned job at once or asks the running one to stop
before its next batch (`apply.apply_plan`). The thread re-plans from the stored file
when it starts, against the directory as it is then. If the server stops mid-run,
the job stops moving (`touched_at`): the page says it was interrupted, and running
it again is safe, because every row already written is found by its external id.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import select, update

from ..extensions import db
from ..models import ImportJob, User
from ..models.clinic import as_utc, utcnow
from .apply import apply_plan
from .plan import ImportPlan, dry_run
from .spreadsheet import Table, UnreadableFile, read_table

# A running job whose last batch is older than this was interrupted.
INTERRUPTED_AFTER = timedelta(minutes=2)


def job_mapping(job: ImportJob) -> dict[int, str]:
    return {int(position): key for position, key in (job.mapping or {}).items() if key}


def plan_of(job: ImportJob, table: Table | None = None) -> ImportPlan:
    """The job's dry run against the directory now (raises UnreadableFile); `table`:
    its file, when the caller has read it already."""
    table = table or read_table(job.data, job.filename)
    return dry_run(table, job_mapping(job), job.source)


def interrupted(job: ImportJob, now: datetime | None = None) -> bool:
    return job.state == "running" and (now or utcnow()) - as_utc(job.touched_at) > INTERRUPTED_AFTER


def start(job: ImportJob) -> bool:
    """Mark the job running and start its thread; False when it was not planned (or
    interrupted), e.g. the second of two clicks."""
    condition = ImportJob.state == ("running" if interrupted(job) else "planned")
    moved = db.session.execute(
        update(ImportJob)
        .where(ImportJob.id == job.id, condition)
        .values(state="running", cancel_requested=False, touched_at=utcnow(), message="")
    ).rowcount
    db.session.commit()
    if not moved:
        return False
    app = current_app._get_current_object()
    threading.Thread(target=_run, args=(app, job.id), name=f"import-{job.id}", daemon=True).start()
    return True


def cancel(job: ImportJob) -> str:
    """Stop a planned job now, or ask a running one to stop before its next batch."""
    stopped = db.session.execute(
        update(ImportJob)
        .where(ImportJob.id == job.id, ImportJob.state == "planned")
        .values(state="cancelled", touched_at=utcnow())
    ).rowcount
    if not stopped:
        db.session.execute(
            update(ImportJob)
            .where(ImportJob.id == job.id, ImportJob.state == "running")
            .values(cancel_requested=True)
        )
    db.session.commit()
    db.session.refresh(job)
    return job.state


def _run(app: Flask, job_id: int) -> None:
    with app.app_context():
        try:
            run(job_id)
        finally:
            db.session.remove()


def run(job_id: int) -> None:
    """Import the job's rows, recording progress after every batch."""
    job = db.session.get(ImportJob, job_id)
    assert job is not None
    actor = db.session.get(User, job.created_by_id) if job.created_by_id else None
    try:
        plan = plan_of(job)
    except UnreadableFile as exc:
        _finish(job_id, "failed", message=exc.message)
        return
    _set(job_id, total=len(plan.writes), done=0)

    def should_stop() -> bool:
        asked = db.session.scalar(select(ImportJob.cancel_requested).where(ImportJob.id == job_id))
        return bool(asked)

    def progress(done: int, total: int) -> None:
        _set(job_id, done=done, touched_at=utcnow())

    try:
        applied = apply_plan(
            plan, actor, job.new_status, should_stop=should_stop, progress=progress
        )
    except Exception as exc:  # the batch rolled back; the job says so and stops
        db.session.rollback()
        current_app.logger.exception("import %s stopped by an error", job_id)
        _finish(job_id, "failed", message=f"Stopped by an error: {type(exc).__name__}.")
        return
    _finish(
        job_id,
        "cancelled" if applied.stopped else "done",
        created=applied.created,
        updated=applied.updated,
    )


def _set(job_id: int, **values) -> None:
    db.session.execute(update(ImportJob).where(ImportJob.id == job_id).values(**values))
    db.session.commit()


def _finish(job_id: int, state: str, **values) -> None:
    _set(job_id, state=state, touched_at=utcnow(), **values)
