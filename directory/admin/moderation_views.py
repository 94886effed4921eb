"""The editors' desk: the admin home, the moderation queue and one revision's review.

Decisions go through `directory.listings.decisions`, what the desk shows comes from
`listings.review`; this module only parses the POST, calls the service and tells
the editor what happened. A decision that loses a race (the message names who
decided, and when), a stale edit or an invalid payload comes back as a flash
message and a redirect to the revision, never as a server error. A stale edit is
shown three ways (the listing its form showed, the live one, the proposal) with a
box per change, so the editor applies field by field.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request
from flask_admin import AdminIndexView, BaseView, expose
from flask_login import current_user
from sqlalchemy import func, select

from ..extensions import db
from ..listings import decisions
from ..listings.credentials import due_checks
from ..listings.errors import InvalidRecord, ModerationError
from ..listings.records import LABELS, clinic_record, validate_record
from ..listings.review import edit_review, is_stale, pending_counts, queue
from ..listings.vocabulary import vocabulary_names
from ..models import Ownership, Revision
from ..models.moderation import REVISION_KINDS
from .access import ClinicOrStaff, StaffOnly, has_role
from .display import ChangeRow, change_rows, three_way_rows
from .forms import DecisionForm

KIND_LABELS = {
    "new": "New listing",
    "edit": "Edit",
    "claim": "Claim",
    "report": "Patient report",
}

APPROVED = {
    "new": "Approved: the listing is live and its author manages it.",
    "edit": "Approved: the change is live.",
    "claim": "Approved: the account now manages this listing.",
    "report": "Approved: the report is marked as handled.",
}


def _user():
    return current_user._get_current_object()


class AdminHome(ClinicOrStaff, AdminIndexView):
    """The admin's front page: the queue at a glance for staff, a short guide for clinics."""

    own_headings = True

    @expose("/")
    def index(self):
        """Staff see how many submissions wait, by kind; clinic users see where to start."""
        staff = has_role("admin", "editor")
        counts = pending_counts() if staff else None
        due = len(due_checks()) if staff else 0
        return self.render(
            "admin/directory/home.html", counts=counts, kind_labels=KIND_LABELS, checks_due=due
        )


class ModerationView(StaffOnly, BaseView):
    """Pending submissions, oldest first, and the page where an editor decides one."""

    own_headings = True

    @expose("/")
    def index(self):
        """The queue, optionally narrowed to one kind (`?kind=edit`)."""
        kind = request.args.get("kind")
        items = queue()
        if kind in REVISION_KINDS:
            items = [r for r in items if r.kind == kind]
        else:
            kind = None
        return self.render(
            "admin/directory/queue.html",
            items=items,
            counts=pending_counts(),
            kind=kind,
            kind_labels=KIND_LABELS,
            is_stale=is_stale,
            checks_due=len(due_checks()),
        )

    @expose("/<int:revision_id>/")
    def detail(self, revision_id: int):
        """Field-by-field diff (edits), the whole record (new), evidence (claims),
        the message (reports), and the decision forms."""
        revision = db.get_or_404(Revision, revision_id)
        return self.render("admin/directory/revision.html", **self._review(revision))

    def _review(self, revision: Revision) -> dict[str, Any]:
        names = vocabulary_names()
        review = edit_review(revision) if revision.is_open else None
        context: dict[str, Any] = {
            "revision": revision,
            "kind_labels": KIND_LABELS,
            "rows": [],
            "three_way": [],
            "before_label": "Live listing",
            "problems": {},
            "stale": review is not None and review.stale,
            "labels": LABELS,
        }
        if review is not None and review.base is not None:
            # The edit's own changes: a field it leaves alone is never shown as undone.
            rows = three_way_rows(review, names["modality"])
            context["rows"] = [ChangeRow(r.field, r.label, r.live, r.proposed) for r in rows]
            context["three_way"] = rows if review.stale else []
        elif revision.kind == "edit" and revision.base_record is not None:  # decided
            context["before_label"] = "When the form was opened"
            context["rows"] = change_rows(revision.base_record, revision.payload, names["modality"])
        elif revision.kind in ("edit", "new") and revision.clinic is not None:
            live = clinic_record(revision.clinic) if revision.kind == "edit" else None
            context["rows"] = change_rows(live, revision.payload, names["modality"])
        if revision.kind in ("edit", "new") and revision.is_open:
            context["problems"] = validate_record(revision.payload, names)
        if revision.kind == "claim" and revision.clinic is not None:
            context["owners"] = db.session.scalar(
                select(func.count(Ownership.id)).where(Ownership.clinic_id == revision.clinic_id)
            )
        return context

    @expose("/<int:revision_id>/approve", methods=("POST",))
    def approve(self, revision_id: int):
        """Apply the revision (edits and new listings go live, claims grant access)."""
        return self._decide(revision_id, "approve")

    @expose("/<int:revision_id>/reject", methods=("POST",))
    def reject(self, revision_id: int):
        """Refuse the revision, with a reason the author reads."""
        return self._decide(revision_id, "reject")

    @expose("/<int:revision_id>/request-changes", methods=("POST",))
    def request_changes(self, revision_id: int):
        """Send the revision back to its author with what to change."""
        return self._decide(revision_id, "request_changes")

    def _decide(self, revision_id: int, action: str):
        revision = db.get_or_404(Revision, revision_id)
        back = redirect(self.get_url(".detail", revision_id=revision.id), code=303)
        form = DecisionForm()
        if not form.validate_on_submit():
            for errors in form.errors.values():
                for message in errors:
                    flash(message, "warning")
            return back
        editor, lock, reason = _user(), form.lock_version.data, form.reason.data or ""
        fields = (form.apply.data or []) if form.choose_fields.data else None
        try:
            if action == "approve":
                note = decisions.approve(editor, revision, lock, fields)
                done = note or APPROVED[revision.kind]
            elif action == "reject":
                decisions.reject(editor, revision, reason, lock)
                done = "Rejected. The author will read your reason."
            else:
                decisions.request_changes(editor, revision, reason, lock)
                done = "Sent back to the author with your request for changes."
        except InvalidRecord as exc:
            db.session.rollback()
            details = "; ".join(
                f"{LABELS.get(key, key)}: {message}" for key, message in exc.errors.items()
            )
            flash(f"{exc.message} {details}", "danger")
        except ModerationError as exc:  # AlreadyDecided, StaleRevision and the rest
            db.session.rollback()
            flash(exc.message, "warning")
        else:
            flash(done, "success")
        return back
