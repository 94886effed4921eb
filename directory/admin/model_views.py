"""Flask-Admin model views: clinics, vocabularies, users and the audit log.

Every change made here is written as an audit event in the same transaction and,
where patients could see it, re-indexed after the commit. Nothing is deleted:
listings are suspended, accounts deactivated, vocabulary entries renamed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

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
from sqlalchemy import Select, distinct, false, inspect, or_, select
from sqlalchemy.orm.exc import StaleDataError
from wtforms import HiddenField, SelectField
from wtforms.validators import ValidationError

from ..database import DatabaseBusy
from ..extensions import db
from ..forms import BUSY_MESSAGE
from ..geo import get_gazetteer
from ..listings.audit import record_event
from ..listings.moderation import InvalidRecord, revert_to, set_trusted
from ..listings.records import (
    LABELS,
    LIST_FIELDS,
    SCALAR_FIELDS,
    clinic_record,
    normalize_phone,
    validate_record,
)
from ..listings.vocabulary import vocabulary_names
from ..models import AuditEvent, Clinic, Condition, Modality, Offering, User
from ..models.clinic import MEDICAL_DIRECTORS, STALE_AFTER_DAYS, STATUSES, clinic_condition
from ..search import sync
from .access import StaffOnly, has_role
from .display import show_value
from .forms import (
    KIND_CHOICES,
    ROLE_CHOICES,
    STATE_CHOICES,
    AdminSecureForm,
    AdminUserForm,
    EditorUserForm,
    choices,
)
from .url_args import GuardedListArguments

DATA_CATEGORY = "Directory data"
RECORD_KEYS = (*SCALAR_FIELDS, *LIST_FIELDS, "offerings")
_CODE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_MARKUP = re.compile(r"[<>]|&#?\w+;")


def _user() -> User:
    return current_user._get_current_object()


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def changed_fields(model: Any, names: Iterable[str]) -> dict[str, tuple[Any, Any]]:
    """{name: (before, after)} for the attributes the form changed (not yet flushed)."""
    state = inspect(model)
    changes = {}
    for name in names:
        history = state.attrs[name].history
        if history.has_changes():
            before = history.deleted[0] if history.deleted else None
            after = history.added[0] if history.added else None
            if before != after:
                changes[name] = (before, after)
    return changes


def _audit(action: str, changes: dict[str, tuple[Any, Any]], **kwargs: Any) -> None:
    record_event(
        _user(),
        action,
        before={k: _jsonable(v[0]) for k, v in changes.items()},
        after={k: _jsonable(v[1]) for k, v in changes.items()},
        **kwargs,
    )


class DirectoryModelView(GuardedListArguments, ModelView):
    """Shared settings: CSRF-protected forms, our own asset templates, no deletions,
    URL arguments checked before they reach the database (`url_args`)."""

    form_base_class = AdminSecureForm
    list_template = "admin/directory/model/list.html"
    create_template = "admin/directory/model/create.html"
    edit_template = "admin/directory/model/edit.html"
    can_delete = False
    can_export = False
    page_size = 50

    def handle_view_exception(self, exc: Exception) -> bool:
        if isinstance(exc, DatabaseBusy):  # Flask-Admin rolls back and shows the form again
            flash(BUSY_MESSAGE, "error")
            return True
        if isinstance(exc, StaleDataError):
            flash(
                "Someone else saved this record while you were editing it. "
                "Reload the page and make your change again.",
                "error",
            )
            return True
        return super().handle_view_exception(exc)


# -- clinics --------------------------------------------------------------------------------
CLINIC_FORM_FIELDS = (
    "name",
    "status",
    "kind",
    "description",
    "street",
    "city",
    "state",
    "postal_code",
    "phone",
    "website",
    "email",
    "hours",
    "medical_director",
    "consultation_fee",
    "free_consultation",
    "accepting_new_patients",
    "integration_therapy",
    "spravato_rems",
    "last_verified_at",
)
# A change of kind can make other fields required (an in-person clinic needs an address).
_KIND_DEPENDENT = ("street", "city", "postal_code", "states_served")


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
    when = model.last_verified_at.isoformat() if model.last_verified_at else None
    if model.is_stale():
        text = f"Not verified since {when}" if when else "Never verified"
        return Markup('<span class="badge badge-warning">stale</span> ') + escape(text)
    return escape(when or "")


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
    column_labels = {"last_verified_at": "Last verified", "is_demo": "Demo data"}
    column_searchable_list = ("name", "city", "slug", "postal_code")
    column_filters = (
        FilterEqual(Clinic.status, "Status", options=[(s, s.title()) for s in STATUSES]),
        FilterEqual(Clinic.state, "State", options=STATE_CHOICES),
        FilterEqual(Clinic.kind, "Kind", options=KIND_CHOICES),
        BooleanEqualFilter(Clinic.is_demo, "Demo data"),
        StaleFilter(),
    )
    column_default_sort = ("id", False)
    column_formatters = {"last_verified_at": _verified_formatter, "name": _name_formatter}
    column_formatters_detail = {"last_verified_at": _verified_formatter}
    column_details_exclude_list = ("states_served", "languages")
    form_columns = (*CLINIC_FORM_FIELDS, "expected_version")
    form_overrides = {name: SelectField for name in ("status", "kind", "state", "medical_director")}
    form_args = {
        **{name: {"label": LABELS[name]} for name in CLINIC_FORM_FIELDS if name in LABELS},
        "status": {"label": "Status", "choices": choices((s, s.title()) for s in STATUSES)},
        "kind": {"label": LABELS["kind"], "choices": choices(KIND_CHOICES)},
        "state": {"label": LABELS["state"], "choices": choices(STATE_CHOICES)},
        "medical_director": {
            "label": LABELS["medical_director"],
            "choices": choices(MEDICAL_DIRECTORS.items()),
        },
    }
    form_extra_fields = {"expected_version": HiddenField()}

    def edit_form(self, obj: Clinic | None = None):
        form = super().edit_form(obj)
        if obj is not None and not form.expected_version.data:
            form.expected_version.data = str(obj.version)
        return form

    def on_model_change(self, form: Any, model: Clinic, is_created: bool) -> None:
        expected = str(form.expected_version.data or "")
        if expected.isdigit() and int(expected) != model.version:
            raise ValidationError(
                f"This listing changed while you were editing it (you opened version "
                f"{expected}, it is now version {model.version}). Reload and try again."
            )
        changes = changed_fields(model, CLINIC_FORM_FIELDS)
        if not changes:
            return
        if "phone" in changes and model.phone:
            model.phone = normalize_phone(model.phone) or model.phone
            changes["phone"] = (changes["phone"][0], model.phone)
        relevant = set(changes) | (set(_KIND_DEPENDENT) if "kind" in changes else set())
        with db.session.no_autoflush:  # loading offerings must not flush the half-made change
            errors = validate_record(clinic_record(model), vocabulary_names())
        problems = [f"{LABELS.get(k, k)}: {m}" for k, m in errors.items() if k in relevant]
        if problems:
            raise ValidationError(" ".join(problems))
        if "postal_code" in changes and model.postal_code:
            place = get_gazetteer().zip_place(model.postal_code)
            if place is not None:
                model.lat, model.lng, model.geo_precision = place.lat, place.lng, "zip"
        _audit("clinic_updated", changes, clinic=model)
        sync.enqueue([model.id])  # committed with the change by Flask-Admin

    def after_model_change(self, form: Any, model: Clinic, is_created: bool) -> None:
        sync.drain()


# -- vocabularies ---------------------------------------------------------------------------
class VocabularyAdmin(StaffOnly, DirectoryModelView):
    """Codes are permanent (they are in URLs and the index); names may be reworded."""

    vocabulary = ""
    # Fields that reach the search documents: changing one re-indexes the clinics using it.
    indexed_fields: tuple[str, ...] = ()
    column_list = ("code", "name", "sort_order")
    column_searchable_list = ("code", "name")
    column_default_sort = ("sort_order", False)
    form_columns: tuple[str, ...] = ("code", "name", "sort_order")
    form_widget_args: dict[str, Any] = {}

    def edit_form(self, obj: Any = None):
        form = super().edit_form(obj)
        form.code.render_kw = {**(form.code.render_kw or {}), "readonly": True}
        return form

    def on_model_change(self, form: Any, model: Any, is_created: bool) -> None:
        changes = changed_fields(model, self.form_columns)
        if not is_created and "code" in changes:
            raise ValidationError(
                "A code cannot change: it is used in links and the search index. "
                "Change the name instead."
            )
        if not _CODE.match(model.code or "") or len(model.code) > 64:
            raise ValidationError("Use a code of lowercase letters, digits and hyphens.")
        model.name = (model.name or "").strip()
        if not model.name or _MARKUP.search(model.name):
            raise ValidationError("Enter a plain-text name.")
        with db.session.no_autoflush:
            self.check(model)
        action = "vocabulary_added" if is_created else "vocabulary_changed"
        _audit(action, changes, target=f"{self.vocabulary}:{model.code}")
        if not is_created and set(changes) & set(self.indexed_fields):
            sync.enqueue_selected(self.clinic_ids(model))  # committed with the change

    def check(self, model: Any) -> None:
        """Extra rules of one vocabulary."""

    def clinic_ids(self, model: Any) -> Select:
        """A select of the clinics whose search documents include this entry."""
        return select(Clinic.id).where(false())

    def after_model_change(self, form: Any, model: Any, is_created: bool) -> None:
        sync.drain()


class ModalityAdmin(VocabularyAdmin):
    vocabulary = "modality"
    indexed_fields = ("name", "short_name")
    column_list = ("code", "name", "short_name", "sort_order")
    form_columns = ("code", "name", "short_name", "sort_order", "description")

    def clinic_ids(self, model: Modality) -> Select:
        return select(distinct(Offering.clinic_id)).where(Offering.modality_id == model.id)


class ConditionAdmin(VocabularyAdmin):
    vocabulary = "condition"
    indexed_fields = ("name", "synonyms")
    column_list = ("code", "name", "synonyms", "sort_order")
    form_columns = ("code", "name", "sort_order", "synonyms")
    column_formatters = {"synonyms": lambda v, c, m, n: ", ".join(m.synonyms or [])}

    def check(self, model: Condition) -> None:
        synonyms = model.synonyms if model.synonyms is not None else []
        if not isinstance(synonyms, list) or not all(isinstance(s, str) for s in synonyms):
            raise ValidationError('Synonyms must be a JSON list of words, like ["MDD"].')
        model.synonyms = [s.strip() for s in synonyms if s.strip()]

    def clinic_ids(self, model: Condition) -> Select:
        return select(clinic_condition.c.clinic_id).where(
            clinic_condition.c.condition_id == model.id
        )


class InsurerAdmin(VocabularyAdmin):
    vocabulary = "insurer"


class PaymentOptionAdmin(VocabularyAdmin):
    vocabulary = "payment"


# -- users ----------------------------------------------------------------------------------
class UserAdmin(StaffOnly, DirectoryModelView):
    """Accounts. Editors see and change clinic accounts only; admins manage everyone.

    Nobody but an admin can give anyone (themselves included) a staff role, and an
    admin cannot lock themselves out.
    """

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

    def on_model_change(self, form: Any, model: User, is_created: bool) -> None:
        actor = _user()
        changes = changed_fields(model, ("email", "name", "role", "active", "trusted"))
        old_role = changes.get("role", (model.role, model.role))[0]
        actor_is_admin = (old_role if model.id == actor.id else actor.role) == "admin"
        if not actor_is_admin and (old_role != "clinic" or "role" in changes or "email" in changes):
            raise ValidationError("Only an admin can change roles, emails or staff accounts.")
        if model.role not in ("admin", "editor", "clinic"):
            raise ValidationError("Choose clinic, editor or admin.")
        if model.id == actor.id and actor_is_admin and (model.role != "admin" or not model.active):
            raise ValidationError("You cannot remove your own admin access or deactivate yourself.")
        if "email" in changes:
            model.email = model.email.strip().lower()
            taken = db.session.scalar(
                select(User.id).where(User.email == model.email, User.id != model.id)
            )
            if taken:
                raise ValidationError("Another account already uses that email.")
        trusted = changes.pop("trusted", None)
        if changes:
            _audit("user_changed", changes, target=model.email)
        if trusted is not None:
            model.trusted = trusted[0]
            set_trusted(actor, model, trusted[1])  # audits and commits the whole change


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
