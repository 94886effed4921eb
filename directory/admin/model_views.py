"""Flask-Admin model views: clinics, vocabularies, users and the audit log.

The views are declarative: columns, filters, forms, access. Each save is one
service call (`create_model` / `update_model`, Flask-Admin's documented hooks),
and the service checks the rules, writes the audit event, queues the search work
and commits: `listings.staff_edits` for listings, `listings.vocabulary` for the
vocabularies, `account.staff_edits` for accounts. A refusal is flashed and the form
shown again with every value kept. Nothing is deleted: listings are suspended,
accounts deactivated, vocabulary entries renamed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, Literal, TypeVar

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.filters import (
    BaseSQLAFilter,
    BooleanEqualFilter,
    FilterEqual,
    FilterLike,
)
from flask_admin.helpers import get_form_data
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import or_

from ..account.services import AccountError
from ..account.staff_edits import ACCOUNT_FIELDS, update_account
from ..database import DatabaseBusy
from ..extensions import db
from ..forms import BUSY_MESSAGE
from ..listings import staff_edits, vocabulary
from ..listings.errors import InvalidRecord, ModerationError
from ..listings.record_writes import revert_to
from ..listings.vocabulary import EDITABLE, VocabularyError
from ..models import AuditEvent, Clinic, User
from ..models.clinic import STALE_AFTER_DAYS
from ..models.listing_fields import FIELDS, LABELS, LIST_FIELDS, SCALAR_FIELDS
from .access import StaffOnly, has_role
from .display import show_value
from .forms import ROLE_CHOICES, AdminSecureForm, AdminUserForm, EditorUserForm, StaffListingForm
from .url_args import GuardedListArguments

DATA_CATEGORY = "Directory data"
RECORD_KEYS = (*SCALAR_FIELDS, *LIST_FIELDS, "offerings")
# What services refuse, each with a message for the person who asked.
REFUSALS = (ModerationError, AccountError, VocabularyError)
T = TypeVar("T")


def _user() -> User:
    return current_user._get_current_object()


def form_values(form: Any, names: Iterable[str]) -> dict[str, Any]:
    """What Flask-Admin's `form.populate_obj` would set, by name, for a service to
    apply: the model itself stays untouched until the service has checked the values."""
    holder = SimpleNamespace()
    for name in names:
        if name in form:
            form[name].populate_obj(holder, name)
    return vars(holder)


class DirectoryModelView(GuardedListArguments, ModelView):
    """Shared settings: CSRF-protected forms, our own asset templates, no deletions,
    URL arguments checked before they reach the database (`url_args`).

    Flask-Admin's own writes are switched off: a view saves only through the
    service it names in its `create_model` / `update_model` (`saved`).
    """

    form_base_class = AdminSecureForm
    list_template = "admin/directory/model/list.html"
    create_template = "admin/directory/model/create.html"
    edit_template = "admin/directory/model/edit.html"
    can_delete = False
    can_export = False
    page_size = 50

    def handle_view_exception(self, exc: Exception) -> bool:
        if isinstance(exc, DatabaseBusy):  # nothing was saved: the form is shown again
            flash(BUSY_MESSAGE, "error")
            return True
        return super().handle_view_exception(exc)

    def saved(self, write: Callable[[], T]) -> T | Literal[False]:
        """Run the service call behind a save, in Flask-Admin's contract: its answer,
        or False after flashing why not (a refusal, a busy database), so the form is
        shown again with every value kept. Other errors are the error pages'."""
        try:
            return write()
        except REFUSALS as exc:
            flash(exc.message, "error")
        except Exception as exc:
            db.session.rollback()
            if not self.handle_view_exception(exc):
                raise
        return False

    def create_model(self, form: Any) -> Any:
        flash("Records of this kind are not added here.", "error")
        return False

    def update_model(self, form: Any, model: Any) -> bool:
        flash("Records of this kind are not changed here.", "error")
        return False

    def delete_model(self, model: Any) -> bool:
        flash("Nothing is deleted here: suspend, deactivate or rename instead.", "error")
        return False


# -- clinics --------------------------------------------------------------------------------
class StaleFilter(BaseSQLAFilter):
    """Listings nobody confirmed within STALE_AFTER_DAYS (or never)."""

    def __init__(self) -> None:
        super().__init__(Clinic.last_verified_at, "Verification", options=[("stale", "Stale")])

    def apply(self, query: Any, value: Any, alias: Any = None) -> Any:
        cutoff = datetime.now(UTC).date() - timedelta(days=STALE_AFTER_DAYS)
        return query.filter(
            or_(Clinic.last_verified_at.is_(None), Clinic.last_verified_at < cutoff)
        )

    def operation(self) -> str:
        return "is"


def _verified_formatter(view: Any, context: Any, model: Clinic, name: str) -> Markup:
    """The verified date, and a link to where an editor checks and confirms the listing."""
    when = model.last_verified_at.isoformat() if model.last_verified_at else None
    checks = url_for("admin_checks.listing", clinic_id=model.id, _anchor="confirm")
    link = Markup(f' <a href="{escape(checks)}">Check or confirm</a>')
    if model.is_stale():
        text = f"Not verified since {when}" if when else "Never verified"
        return Markup('<span class="badge badge-warning">stale</span> ') + escape(text) + link
    return escape(when or "") + link


def _name_formatter(view: Any, context: Any, model: Clinic, name: str) -> Markup:
    review = url_for("admin_clinics.details_view", id=model.id)
    return Markup(f'<a href="{escape(review)}">{escape(model.name)}</a>')


class ClinicAdmin(StaffOnly, DirectoryModelView):
    """Listings: find, filter, change core fields and status (prices go through moderation)."""

    can_create = False
    can_view_details = True
    column_list = (
        "id",
        "name",
        "city",
        "state",
        "kind",
        "status",
        "version",
        "last_verified_at",
        "updated_at",
    )
    column_labels = {**LABELS, "is_demo": "Demo data"}
    column_searchable_list = ("name", "city", "slug", "postal_code")
    column_filters = (
        *(
            FilterEqual(
                getattr(Clinic, name),
                FIELDS[name].label,
                options=list(FIELDS[name].choices.items()),
            )
            for name in ("status", "state", "kind")
        ),
        BooleanEqualFilter(Clinic.is_demo, "Demo data"),
        StaleFilter(),
    )
    column_default_sort = ("id", False)
    column_formatters = {"last_verified_at": _verified_formatter, "name": _name_formatter}
    column_formatters_detail = {"last_verified_at": _verified_formatter}
    column_details_exclude_list = ("states_served", "languages")
    form = StaffListingForm

    def edit_form(self, obj: Clinic | None = None):
        form = super().edit_form(obj)
        if obj is not None and not form.expected_version.data:
            form.expected_version.data = str(obj.version)
        return form

    def update_model(self, form: StaffListingForm, model: Clinic) -> bool:
        expected = str(form.expected_version.data or "")
        version = int(expected) if expected.isascii() and expected.isdigit() else None
        values = form.values()
        return (
            self.saved(lambda: staff_edits.update_listing(_user(), model, values, version))
            is not False
        )


# -- vocabularies ---------------------------------------------------------------------------
class VocabularyAdmin(StaffOnly, DirectoryModelView):
    """Codes are permanent (they are in URLs and the index); names may be reworded."""

    column_list: tuple[str, ...] = ("code", "name", "sort_order")
    column_searchable_list = ("code", "name")
    column_default_sort = ("sort_order", False)
    form_columns: tuple[str, ...] = EDITABLE["insurer"]

    def edit_form(self, obj: Any = None):
        form = super().edit_form(obj)
        form.code.render_kw = {**(form.code.render_kw or {}), "readonly": True}
        return form

    def create_model(self, form: Any) -> Any:
        values = form_values(form, self.form_columns)
        return self.saved(lambda: vocabulary.add_entry(_user(), self.model, values))

    def update_model(self, form: Any, model: Any) -> bool:
        values = form_values(form, self.form_columns)
        return self.saved(lambda: vocabulary.change_entry(_user(), model, values)) is not False


class ModalityAdmin(VocabularyAdmin):
    column_list = ("code", "name", "short_name", "sort_order")
    form_columns = EDITABLE["modality"]


class ConditionAdmin(VocabularyAdmin):
    column_list = ("code", "name", "synonyms", "sort_order")
    form_columns = EDITABLE["condition"]
    column_formatters = {"synonyms": lambda v, c, m, n: ", ".join(m.synonyms or [])}


class InsurerAdmin(VocabularyAdmin):
    form_columns = EDITABLE["insurer"]


class PaymentOptionAdmin(VocabularyAdmin):
    form_columns = EDITABLE["payment"]


# -- users ----------------------------------------------------------------------------------
class UserAdmin(StaffOnly, DirectoryModelView):
    """Accounts. Editors see and change clinic accounts only; admins manage everyone
    (the rules, which the service checks again: `account.staff_edits.update_account`)."""

    can_create = False  # accounts are made by sign-up or `flask users create`
    can_view_details = False
    column_list = ("id", "email", "name", "role", "active", "trusted", "email_verified_at")
    column_labels = {"email_verified_at": "Email verified"}
    column_searchable_list = ("email", "name")
    column_filters = (
        FilterEqual(User.role, "Role", options=ROLE_CHOICES),
        BooleanEqualFilter(User.active, "Active"),
        BooleanEqualFilter(User.trusted, "Trusted"),
    )
    column_default_sort = ("id", False)
    form = EditorUserForm

    def get_query(self):
        query = super().get_query()
        return query if has_role("admin") else query.filter(User.role == "clinic")

    def get_count_query(self):
        query = super().get_count_query()
        return query if has_role("admin") else query.filter(User.role == "clinic")

    def get_one(self, id: Any) -> User | None:
        user = super().get_one(id)
        if user is not None and not has_role("admin") and user.role != "clinic":
            return None
        return user

    def edit_form(self, obj: User | None = None):
        form_class = AdminUserForm if has_role("admin") else EditorUserForm
        return form_class(get_form_data(), obj=obj)

    def update_model(self, form: Any, model: User) -> bool:
        values = form_values(form, ACCOUNT_FIELDS)
        return self.saved(lambda: update_account(_user(), model, values)) is not False


# -- audit log ------------------------------------------------------------------------------
KNOWN_ACTIONS = sorted(
    {
        "edit_submitted",
        "edit_published_trusted",
        "new_listing_submitted",
        "claim_submitted",
        "report_submitted",
        "withdrawn",
        "verified_accurate",
        "trust_changed",
        "reverted",
        "stale_reminder_sent",
        "clinic_updated",
        "user_changed",
        "vocabulary_added",
        "vocabulary_changed",
        *(
            f"{kind}_{outcome}"
            for kind in ("new", "edit", "claim", "report")
            for outcome in ("approved", "rejected", "changes_requested")
        ),
    }
)


def _json_short(view: Any, context: Any, model: AuditEvent, name: str) -> Markup:
    value = getattr(model, name)
    if value is None:
        return Markup("")
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    if len(text) > 160:
        text = text[:157] + "…"
    return Markup('<code class="audit-json">') + escape(text) + Markup("</code>")


def _json_full(view: Any, context: Any, model: AuditEvent, name: str) -> Markup:
    value = getattr(model, name)
    if value is None:
        return Markup("")
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2, default=str)
    return Markup('<pre class="audit-json">') + escape(text) + Markup("</pre>")


def _clinic_formatter(view: Any, context: Any, model: AuditEvent, name: str) -> str:
    return show_value(model.clinic.name) if model.clinic else ""


class AuditLogView(StaffOnly, DirectoryModelView):
    """Append-only: who did what, when, with the state before and after."""

    can_create = False
    can_edit = False
    can_delete = False
    can_view_details = True
    column_display_pk = True
    column_list = (
        "id",
        "created_at",
        "actor_label",
        "action",
        "target",
        "clinic",
        "revision_id",
        "before",
        "after",
    )
    column_details_list = column_list
    column_labels = {"actor_label": "Actor", "revision_id": "Revision", "created_at": "When"}
    column_default_sort = [("created_at", True), ("id", True)]
    column_searchable_list = ("action", "actor_label", "target")
    column_filters = (
        FilterEqual(AuditEvent.action, "Action", options=[(a, a) for a in KNOWN_ACTIONS]),
        FilterLike(AuditEvent.action, "Action"),
        FilterEqual(AuditEvent.actor_label, "Actor (email)"),
        FilterLike(AuditEvent.actor_label, "Actor (email)"),
        "created_at",
    )
    details_template = "admin/directory/model/audit_details.html"
    column_formatters = {"before": _json_short, "after": _json_short, "clinic": _clinic_formatter}
    column_formatters_detail = {
        "before": _json_full,
        "after": _json_full,
        "clinic": _clinic_formatter,
    }

    def render(self, template: str, **kwargs: Any) -> str:
        if template == self.details_template and kwargs.get("model") is not None:
            kwargs["revertible"] = revertible(kwargs["model"])
        return super().render(template, **kwargs)

    @expose("/revert/<int:event_id>", methods=("POST",))
    def revert_view(self, event_id: int):
        """Put a listing back to the state recorded as this event's `before`."""
        event = db.get_or_404(AuditEvent, event_id)
        back = redirect(self.get_url(".details_view", id=event.id), code=303)
        reason = (request.form.get("reason") or "").strip()
        if not revertible(event):
            flash("This event holds no complete listing state to go back to.", "warning")
        elif not reason:
            flash("Give a reason for the revert: it is kept in the audit log.", "warning")
        else:
            try:
                revert_to(_user(), event.clinic, event.before, reason)
            except InvalidRecord as exc:
                db.session.rollback()
                details = "; ".join(f"{LABELS.get(k, k)}: {m}" for k, m in exc.errors.items())
                flash(f"{exc.message} {details}", "error")
            else:
                flash("The listing is back to its state before this event.", "success")
        return back


def revertible(event: AuditEvent) -> bool:
    """Events whose `before` is a whole listing record of a clinic that still exists."""
    before = event.before
    return (
        event.clinic is not None
        and isinstance(before, dict)
        and all(key in before for key in RECORD_KEYS)
    )
