"""Editors' imports of clinic lists: upload, choose what each column means, read the
dry run, import in the background with a progress bar, cancel.

`directory.imports` decides and writes; this module parses forms and says what
happened. The upload form raises the request size limit for itself alone (the
site's is 1 MB) before anything reads the body; its CSRF token is checked by the
form (the app-wide check would read the body first).
"""

from __future__ import annotations

import re

from flask import Response, abort, flash, jsonify, redirect, request
from flask_admin import BaseView, expose
from flask_login import current_user
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import SelectField, StringField

from ..extensions import csrf, db
from ..forms import SiteForm
from ..imports import jobs
from ..imports.apply import STATUSES
from ..imports.columns import columns, guess_mapping, mapping_problem
from ..imports.plan import OUTCOMES
from ..imports.spreadsheet import (
    MAX_BYTES,
    UnreadableFile,
    read_table,
    template_csv,
    template_xlsx,
)
from ..listings.vocabulary import vocabulary_names
from ..models import ImportJob
from .access import StaffOnly
from .forms import choices

REPORT_ROWS = 200
_SOURCE = re.compile(r"[^a-z0-9-]+")
NEW_STATUS = {"pending": "Pending: an editor publishes each", "published": "Published at once"}


class UploadForm(SiteForm):
    file = FileField("The list (.csv or .xlsx)")
    source = StringField(
        "Name of the list (kept with each listing, so a second import of it updates)",
        render_kw={"maxlength": 60},
    )
    new_status = SelectField("New listings start as", choices=choices(NEW_STATUS.items()))


class StartForm(SiteForm):
    """Start, cancel or discard: nothing but the token."""


def _known():
    return columns(vocabulary_names().get("modality", {}))


def _example(known) -> list[str]:
    sample = {
        "external_id": "A-1001",
        "name": "Example Ketamine Clinic",
        "kind": "in_person",
        "street": "100 Main Street",
        "city": "Austin",
        "state": "TX",
        "postal_code": "78701",
        "phone": "(512) 555-0100",
        "website": "https://clinic.example",
        "treatments": "IV infusion",
        "iv_price": "450",
        "conditions": "depression; PTSD",
    }
    return [sample.get(c.key, "") for c in known]


def _source_name(typed: str, filename: str) -> str:
    stem = filename.rsplit(".", 1)[0]
    name = _SOURCE.sub("-", (typed or stem).lower()).strip("-")
    return name[:60] or "list"


class ImportView(StaffOnly, BaseView):
    """Imports of clinic lists, newest first, and one import's mapping, report and run."""

    own_headings = True

    @expose("/")
    def index(self):
        return self._index(UploadForm())

    def _index(self, form: UploadForm, status: int = 200):
        recent = db.session.scalars(select(ImportJob).order_by(ImportJob.id.desc()).limit(20))
        page = self.render(
            "admin/directory/imports.html",
            form=form,
            jobs=list(recent),
            max_mb=MAX_BYTES // 2**20,
            interrupted=jobs.interrupted,
        )
        return page, status

    @expose("/template.<fmt>")
    def template(self, fmt: str):
        """A blank list with every column and one example row."""
        known = _known()
        headers, example = [c.label for c in known], _example(known)
        if fmt == "csv":
            body, mimetype = template_csv(headers, example), "text/csv"
        elif fmt == "xlsx":
            body = template_xlsx(headers, example)
            mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        else:
            abort(404)
        disposition = f"attachment; filename=clinic-list-template.{fmt}"
        return Response(body, mimetype=mimetype, headers={"Content-Disposition": disposition})

    @expose("/upload", methods=("POST",))
    def upload(self):
        """Keep the file with a guessed column mapping; then the mapping page."""
        request.max_content_length = MAX_BYTES + 2**20
        form = UploadForm()
        if not form.validate_on_submit():
            if form.csrf_token.errors:
                flash("The form expired: choose the file again.", "warning")
            return self._index(form, 400)
        upload = form.file.data
        if upload is None or not getattr(upload, "filename", ""):
            form.file.errors = ["Choose a .csv or .xlsx file."]
            return self._index(form, 400)
        data = upload.read()
        upload.close()  # a large upload is spooled to a temporary file
        try:
            table = read_table(data, upload.filename)
        except UnreadableFile as exc:
            form.file.errors = [exc.message]
            return self._index(form, 400)
        mapping = guess_mapping(table.headers, _known())
        job = ImportJob(
            created_by_id=current_user.id,
            filename=upload.filename[-200:],
            source=_source_name(form.source.data or "", upload.filename),
            data=data,
            mapping={str(k): v for k, v in mapping.items()},
            new_status=form.new_status.data if form.new_status.data in STATUSES else "pending",
        )
        db.session.add(job)
        db.session.commit()
        return redirect(self.get_url(".job", job_id=job.id), code=303)

    @expose("/<int:job_id>/")
    def job(self, job_id: int):
        """The mapping and the dry run (planned), or the run's progress and outcome."""
        return self._job_page(db.get_or_404(ImportJob, job_id))

    def _job_page(self, job: ImportJob, status: int = 200, problem: str = ""):
        known = _known()
        plan = table = None
        if job.state == "planned":
            try:
                table = read_table(job.data, job.filename)
                plan = jobs.plan_of(job, table)
            except UnreadableFile as exc:
                problem = exc.message
        mapping = jobs.job_mapping(job)
        page = self.render(
            "admin/directory/import_job.html",
            job=job,
            table=table,
            plan=plan,
            known=known,
            mapping=mapping,
            problem=problem or (mapping_problem(mapping, known) if table else ""),
            outcomes=OUTCOMES,
            form=StartForm(),
            report_rows=REPORT_ROWS,
            interrupted=jobs.interrupted(job),
            statuses=NEW_STATUS,
        )
        return page, status

    @expose("/<int:job_id>/mapping", methods=("POST",))
    def mapping(self, job_id: int):
        """Save what each column means; the page shows the dry run with it."""
        job = db.get_or_404(ImportJob, job_id)
        if not StartForm().validate_on_submit():
            return self._job_page(job, 400, "The form expired: reload the page and try again.")
        if job.state != "planned":
            return self._job_page(job, 409, "This import has started: its columns are set.")
        table = read_table(job.data, job.filename)
        known = _known()
        valid = {c.key for c in known}
        chosen: dict[str, str] = {}
        for position in range(len(table.headers)):
            key = request.form.get(f"column-{position}", "")
            if key and key not in valid:
                return self._job_page(job, 400, "Choose each column's meaning from the list.")
            if key:
                chosen[str(position)] = key
        problem = mapping_problem({int(k): v for k, v in chosen.items()}, known)
        if problem:
            return self._job_page(job, 400, problem)
        job.mapping = chosen
        db.session.commit()
        flash("Columns saved: the report below uses them.", "success")
        return redirect(self.get_url(".job", job_id=job.id), code=303)

    @expose("/<int:job_id>/start", methods=("POST",))
    def start(self, job_id: int):
        job = db.get_or_404(ImportJob, job_id)
        if not StartForm().validate_on_submit():
            return self._job_page(job, 400, "The form expired: reload the page and try again.")
        if problem := mapping_problem(jobs.job_mapping(job), _known()):
            return self._job_page(job, 400, problem)
        if not jobs.start(job):
            flash("This import is already running or finished.", "warning")
        return redirect(self.get_url(".job", job_id=job.id), code=303)

    @expose("/<int:job_id>/cancel", methods=("POST",))
    def cancel(self, job_id: int):
        job = db.get_or_404(ImportJob, job_id)
        if not StartForm().validate_on_submit():
            return self._job_page(job, 400, "The form expired: reload the page and try again.")
        state = jobs.cancel(job)
        flash(
            "Cancelled: nothing was imported."
            if state == "cancelled" and not job.done
            else "Stopping after the batch being written: every batch is whole.",
            "success",
        )
        return redirect(self.get_url(".job", job_id=job.id), code=303)

    @expose("/<int:job_id>/progress")
    def progress(self, job_id: int):
        """The run's counts, for static/js/import_progress.js."""
        job = db.get_or_404(ImportJob, job_id)
        return jsonify(
            state="interrupted" if jobs.interrupted(job) else job.state,
            done=job.done,
            total=job.total,
            created=job.created,
            updated=job.updated,
            message=job.message,
        )


csrf.exempt(f"{__name__}.upload")
