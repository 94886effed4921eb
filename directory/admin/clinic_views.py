"""The clinic area: my listings, a new listing, claiming a listing, my submissions.

Every object named in a URL is fetched through `directory.listings.access`, so a
clinic user asking for someone else's listing or revision gets a 404. Clinic ids
are never read from form fields: the URL names the listing, ownership decides.

The edit form carries the listing as it showed it (`listings.edit_base`, signed),
so an edit is made against the version its form was opened at, not the one live
when it is sent; an edit sent back for changes reopens on its own proposal.
"""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_login import current_user
from sqlalchemy import func, or_, select

from ..extensions import db
from ..insights.reports import listing_months
from ..listings import confirmations, edit_base
from ..listings.access import get_own_revision, get_owned_clinic, owned_clinic_ids
from ..listings.edit_base import EditBase, InvalidBase
from ..listings.errors import InvalidRecord, ModerationError
from ..listings.records import clinic_record, diff_records
from ..listings.submissions import (
    confirm_accurate,
    reopen_base,
    request_claim,
    submit_edit,
    submit_new,
)
from ..listings.submissions import withdraw as withdraw_revision
from ..listings.vocabulary import vocabulary_names
from ..models import Clinic, Ownership, Revision
from ..models.insights import COUNTED
from .access import ClinicMenu
from .display import change_rows, record_rows
from .forms import ClaimForm, ListingForm, listing_form

CATEGORY = "My clinic"
SEARCH_LIMIT = 25
# What "still accurate" confirmed, by the button's `part`.
VERIFIED = {
    "prices": "Thank you: patients now see your prices were confirmed today.",
    "listing": "Thank you: patients now see your details, hours and insurance were "
    "confirmed today.",
    "all": "Thank you: the whole listing now shows it was confirmed today.",
}
BASE_REFUSED = (
    "This form could not be checked against the listing it was opened on (it was changed "
    "outside the site, or belongs to another listing), so nothing was sent. Open the edit "
    "page again and make your change there."
)


def _user():
    """The signed-in user as a model (Flask-Login's proxy, unwrapped for the services)."""
    return current_user._get_current_object()


def _render_listing_form(view: BaseView, form: ListingForm, status: int = 200, **context):
    return view.render("admin/directory/listing_form.html", form=form, **context), status


class MyListingsView(ClinicMenu, BaseView):
    """Listings the user manages: status, freshness, edit, "still accurate", history."""

    @expose("/")
    def index(self):
        """Every listing the user owns, with its review state."""
        user = _user()
        clinics = list(
            db.session.scalars(
                select(Clinic)
                .join(Ownership, Ownership.clinic_id == Clinic.id)
                .where(Ownership.user_id == user.id)
                .order_by(Clinic.name, Clinic.id)
            )
        )
        pending = dict(
            db.session.execute(
                select(Revision.clinic_id, func.count(Revision.id))
                .where(
                    Revision.author_id == user.id,
                    Revision.status == "pending",
                    Revision.kind.in_(("edit", "new")),
                )
                .group_by(Revision.clinic_id)
            ).all()
        )
        return self.render("admin/directory/my_listings.html", clinics=clinics, pending=pending)

    @expose("/<int:clinic_id>/")
    def listing(self, clinic_id: int):
        """One listing: what patients see, whether it is stale, and its submissions."""
        clinic = get_owned_clinic(_user(), clinic_id)
        revisions = list(
            db.session.scalars(
                select(Revision)
                .where(Revision.clinic_id == clinic.id, Revision.kind.in_(("new", "edit")))
                .order_by(Revision.created_at.desc(), Revision.id.desc())
            )
        )
        return self.render(
            "admin/directory/listing.html",
            clinic=clinic,
            revisions=revisions,
            rows=record_rows(clinic_record(clinic), vocabulary_names()),
            confirmed=confirmations.section_dates(clinic),
            section_labels=confirmations.SECTIONS,
        )

    @expose("/<int:clinic_id>/insights")
    def insights(self, clinic_id: int):
        """How often patients found and contacted this listing, month by month."""
        clinic = get_owned_clinic(_user(), clinic_id)
        return self.render(
            "admin/directory/insights.html",
            months=listing_months(clinic.id),
            counted=COUNTED,
            clinic=clinic,
        )

    @expose("/<int:clinic_id>/edit", methods=("GET", "POST"))
    def edit(self, clinic_id: int):
        """Propose changes; they wait for an editor unless the account is trusted.

        `?from=<revision>` reopens one of the user's edits of this listing on its own
        proposal (after an editor asked for changes) instead of the live listing.
        """
        user = _user()
        clinic = get_owned_clinic(user, clinic_id)
        context = {
            "clinic": clinic,
            "title": f"Edit {clinic.name}",
            "pending_edits": db.session.scalar(
                select(func.count(Revision.id)).where(
                    Revision.clinic_id == clinic.id,
                    Revision.kind == "edit",
                    Revision.status == "pending",
                )
            ),
        }
        if request.method == "GET":
            base, record = EditBase(clinic.version, clinic_record(clinic)), None
            source = request.args.get("from", type=int)
            if source is not None:
                revision = get_own_revision(user, source)
                if revision.kind != "edit" or revision.clinic_id != clinic.id:
                    abort(404)
                base, record = reopen_base(revision), revision.payload
                context["reopened"] = revision
            form = listing_form(record or base.record)
            form.base.data = edit_base.sign(clinic.id, base)
            return _render_listing_form(self, form, **context)
        form = listing_form()
        try:
            base = edit_base.read(form.base.data, clinic.id)
        except InvalidBase:
            form.validate_listing()
            form.general_errors.append(BASE_REFUSED)
            return _render_listing_form(self, form, 400, **context)
        if form.validate_listing() and not diff_records(base.record, form.to_record()):
            flash("You did not change anything, so nothing was sent for review.", "info")
            return _render_listing_form(self, form, **context)
        if not form.has_errors():
            try:
                revision = submit_edit(
                    user, clinic, form.to_record(), note=form.note.data or "", base=base
                )
            except InvalidRecord as exc:
                db.session.rollback()
                form.attach_errors(exc.errors)
            else:
                if revision.status == "approved":
                    flash("Published (trusted account): patients see your changes now.", "success")
                elif user.trusted:
                    flash(
                        "Someone changed this listing after you opened the form, so your "
                        "change waits for an editor, who will compare the two.",
                        "warning",
                    )
                else:
                    flash(
                        "Thank you. Your change is pending review: patients keep seeing the "
                        "current listing until an editor approves it.",
                        "success",
                    )
                return redirect(self.get_url(".listing", clinic_id=clinic.id))
        return _render_listing_form(self, form, 400, **context)

    @expose("/<int:clinic_id>/verify", methods=("POST",))
    def verify(self, clinic_id: int):
        """'Still accurate': the clinic confirms today its prices, the rest, or both."""
        user = _user()
        clinic = get_owned_clinic(user, clinic_id)
        part = request.form.get("part", "all")
        if part not in VERIFIED:
            flash("Choose what is still accurate: the prices, the rest, or both.", "warning")
        else:
            for each in ("prices", "listing") if part == "all" else (part,):
                confirm_accurate(user, clinic, each)
            flash(VERIFIED[part], "success")
        return redirect(self.get_url(".listing", clinic_id=clinic.id))


class NewListingView(ClinicMenu, BaseView):
    """Submit a listing that is not in the directory yet."""

    @expose("/", methods=("GET", "POST"))
    def index(self):
        """The listing form; the new listing stays hidden until an editor approves it."""
        context = {"clinic": None, "title": "Submit a new listing"}
        if request.method == "GET":
            record = None
            source = request.args.get("from", type=int)
            if source is not None:  # start again from one of the user's own submissions
                revision = get_own_revision(_user(), source)
                record = revision.payload if revision.kind == "new" else None
            return _render_listing_form(self, listing_form(record), **context)
        form = listing_form()
        if form.validate_listing():
            try:
                submit_new(_user(), form.to_record(), note=form.note.data or "")
            except InvalidRecord as exc:
                db.session.rollback()
                form.attach_errors(exc.errors)
            else:
                flash(
                    "Thank you. Your listing is pending review; we will email you when an "
                    "editor has looked at it.",
                    "success",
                )
                return redirect(url_for("admin_my_submissions.index"))
        return _render_listing_form(self, form, 400, **context)


def _claimable(clinic_id: int) -> Clinic:
    """A published listing the user does not manage yet; 404 for anything else."""
    clinic = db.session.get(Clinic, clinic_id)
    if clinic is None or not clinic.is_published or clinic.id in owned_clinic_ids(_user()):
        abort(404)
    return clinic


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


class ClaimView(ClinicMenu, BaseView):
    """Find a published listing and ask to manage it."""

    @expose("/")
    def index(self):
        """Search published listings by name or city."""
        query = (request.args.get("q") or "").strip()[:100]
        results: list[Clinic] = []
        if len(query) >= 2:
            pattern = _like(query)
            stmt = (
                select(Clinic)
                .where(
                    Clinic.status == "published",
                    or_(
                        func.lower(Clinic.name).like(pattern, escape="\\"),
                        func.lower(Clinic.city).like(pattern, escape="\\"),
                    ),
                )
                .order_by(Clinic.name, Clinic.id)
                .limit(SEARCH_LIMIT + 1)
            )
            owned = owned_clinic_ids(_user())
            if owned:
                stmt = stmt.where(Clinic.id.not_in(owned))
            results = list(db.session.scalars(stmt))
        return self.render(
            "admin/directory/claim_search.html",
            query=query,
            results=results[:SEARCH_LIMIT],
            more=len(results) > SEARCH_LIMIT,
        )

    @expose("/<int:clinic_id>", methods=("GET", "POST"))
    def claim(self, clinic_id: int):
        """Work email and a message; the editor decides."""
        clinic = _claimable(clinic_id)
        form = ClaimForm()
        if form.validate_on_submit():
            try:
                revision = request_claim(
                    _user(), clinic, form.work_email.data.strip(), form.message.data.strip()
                )
            except ModerationError as exc:
                db.session.rollback()
                flash(exc.message, "warning")
                return redirect(url_for("admin_my_submissions.index"))
            flash("Thank you. Your claim is waiting for an editor.", "success")
            if revision.payload.get("domain_matches"):
                flash(
                    "For your information: your email's domain matches the listing's website. "
                    "The editor sees this as a signal, not as proof.",
                    "info",
                )
            return redirect(url_for("admin_my_submissions.index"))
        status = 400 if form.errors else 200
        return self.render("admin/directory/claim_form.html", clinic=clinic, form=form), status


class SubmissionsView(ClinicMenu, BaseView):
    """Everything the user submitted, with the editors' decisions and reasons."""

    @expose("/")
    def index(self):
        """All of the user's revisions, newest first."""
        revisions = list(
            db.session.scalars(
                select(Revision)
                .where(Revision.author_id == _user().id)
                .order_by(Revision.created_at.desc(), Revision.id.desc())
            )
        )
        return self.render("admin/directory/submissions.html", revisions=revisions)

    @expose("/<int:revision_id>/")
    def detail(self, revision_id: int):
        """One submission: what it proposed and what the editor said."""
        revision = get_own_revision(_user(), revision_id)
        names = vocabulary_names()
        rows = []
        if revision.kind == "edit" and revision.base_record is not None:
            # What the user changed, against the listing as the form showed it.
            rows = change_rows(revision.base_record, revision.payload, names["modality"])
        elif revision.kind == "edit" and revision.clinic is not None:
            rows = change_rows(clinic_record(revision.clinic), revision.payload, names["modality"])
        elif revision.kind == "new":
            rows = change_rows(None, revision.payload, names["modality"])
        return self.render("admin/directory/submission.html", revision=revision, rows=rows)

    @expose("/<int:revision_id>/withdraw", methods=("POST",))
    def withdraw(self, revision_id: int):
        """Take back a pending submission."""
        user = _user()
        revision = get_own_revision(user, revision_id)
        try:
            withdraw_revision(user, revision)
        except ModerationError as exc:
            db.session.rollback()
            flash(exc.message, "warning")
        else:
            flash("Your submission was withdrawn.", "success")
        return redirect(self.get_url(".index"))
