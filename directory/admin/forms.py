"""Admin forms: the listing form clinics fill in, and the small forms editors use.

`ListingForm` parses what a person typed; the rules of a valid listing live in
`directory.listings.records.validate_record`, which runs after WTForms and puts
each message beside the field it concerns. The vocabularies (modalities,
conditions, insurers, payment options) come from the database on every request,
so a vocabulary an editor adds shows up in the form at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from flask_admin.form import BaseForm
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from ..forms import BusyAwareMixin, RefuseControlCharacters, SiteForm, SubForm
from ..geo import US_STATES
from ..listings.records import (
    BOOLEAN_FIELDS,
    LABELS,
    OFFERING_FIELDS,
    TEXT_LIMITS,
    normalize_phone,
    validate_record,
)
from ..listings.vocabulary import vocabulary_names
from ..models.clinic import MEDICAL_DIRECTORS

OFFER_PREFIX = "offer_"
KIND_CHOICES = [
    ("in_person", "In person (a clinic patients visit)"),
    ("telehealth", "Telehealth (online program)"),
    ("both", "Both in person and telehealth"),
]
STATE_CHOICES = [(code, f"{name} ({code})") for code, name in sorted(US_STATES.items())]
NOTE_LIMIT = 2000
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_INTEGER_FIELDS = ("price_min", "price_max", "series_price", "series_sessions")
ROLE_CHOICES = [("clinic", "Clinic"), ("editor", "Editor"), ("admin", "Admin")]


def choices(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """WTForms 3.3 wants SelectChoice objects rather than (value, label) tuples."""
    return [SelectChoice(value, label) for value, label in pairs]


class AdminSecureForm(BusyAwareMixin, BaseForm):
    """Flask-Admin's base form with Flask-WTF's CSRF token (the one CSRFProtect checks),
    refusing control characters in every field like the site's own forms."""

    class Meta(RefuseControlCharacters, FlaskForm.Meta):
        pass


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes; unknown values posted by hand fail `pre_validate`."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _text(name: str, **kwargs: Any) -> StringField:
    limit = TEXT_LIMITS.get(name)
    render_kw = {"maxlength": limit} if limit else {}
    render_kw.update(kwargs.pop("render_kw", {}))
    return StringField(LABELS[name], render_kw=render_kw, **kwargs)


class OfferingForm(SubForm):
    """One treatment: whether it is offered and at what price (whole US dollars)."""

    offered = BooleanField("We offer this treatment")
    price_min = IntegerField(
        "Lowest price per session (USD)", validators=[Optional()], render_kw={"min": 0}
    )
    price_max = IntegerField(
        "Highest price per session (USD)", validators=[Optional()], render_kw={"min": 0}
    )
    series_price = IntegerField(
        "Price of a series (USD)", validators=[Optional()], render_kw={"min": 0}
    )
    series_sessions = IntegerField(
        "Sessions in the series", validators=[Optional()], render_kw={"min": 1}
    )
    insurance_accepted = BooleanField("Insurance accepted for this treatment")
    notes = StringField("Notes for patients", render_kw={"maxlength": 500})

    def has_values(self) -> bool:
        typed = [(self[name].raw_data or [""])[0] for name in (*_INTEGER_FIELDS, "notes")]
        return any(str(value).strip() for value in typed) or bool(self.insurance_accepted.data)


class ListingForm(SiteForm):
    """Every field of a listing. Build it with `listing_form()`, which adds the treatments."""

    name = _text("name", validators=[InputRequired("Enter the clinic's name.")])
    description = TextAreaField(
        LABELS["description"], render_kw={"maxlength": TEXT_LIMITS["description"], "rows": 6}
    )
    kind = SelectField(LABELS["kind"], choices=choices(KIND_CHOICES), default="in_person")
    street = _text("street", render_kw={"autocomplete": "street-address"})
    city = _text("city")
    state = SelectField(LABELS["state"], choices=choices([("", "Choose a state"), *STATE_CHOICES]))
    postal_code = StringField(
        LABELS["postal_code"], render_kw={"maxlength": 5, "inputmode": "numeric"}
    )
    phone = _text("phone", render_kw={"type": "tel"})
    website = _text("website", render_kw={"type": "url", "placeholder": "https://"})
    email = _text("email", render_kw={"type": "email"})
    hours = _text("hours", render_kw={"placeholder": "Mon–Fri 9–5, Sat by appointment"})
    languages = StringField(
        LABELS["languages"],
        description="Two- or three-letter codes separated by commas, like en, es.",
        render_kw={"maxlength": 200},
    )
    medical_director = SelectField(
        LABELS["medical_director"], choices=choices(MEDICAL_DIRECTORS.items()), default="other"
    )
    consultation_fee = IntegerField(
        LABELS["consultation_fee"] + " (USD)", validators=[Optional()], render_kw={"min": 0}
    )
    integration_therapy = BooleanField(LABELS["integration_therapy"])
    spravato_rems = BooleanField(LABELS["spravato_rems"])
    accepting_new_patients = BooleanField(LABELS["accepting_new_patients"], default=True)
    free_consultation = BooleanField(LABELS["free_consultation"])
    states_served = SelectMultipleField(
        LABELS["states_served"],
        choices=choices(STATE_CHOICES),
        description="Telehealth programs: every state you are licensed to treat in.",
        render_kw={"size": 8},
    )
    conditions = MultiCheckboxField(LABELS["conditions"], choices=[])
    insurers = MultiCheckboxField(LABELS["insurers"], choices=[])
    payment = MultiCheckboxField(LABELS["payment"], choices=[])
    note = TextAreaField(
        "Note for the editor (optional)",
        validators=[Length(max=NOTE_LIMIT)],
        render_kw={"maxlength": NOTE_LIMIT, "rows": 3},
    )
    # Edits only: the listing as this form showed it, signed (`listings.edit_base`).
    base = HiddenField()

    # Set by `listing_form()` on the per-request subclass.
    vocabularies: dict[str, dict[str, str]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.offerings_errors: list[str] = []
        self.general_errors: list[str] = []

    # -- structure -------------------------------------------------------------------
    @property
    def modality_names(self) -> dict[str, str]:
        return self.vocabularies.get("modality", {})

    def offering_fields(self) -> list[tuple[str, str, FormField]]:
        """(code, name, subform field) per modality, in display order."""
        return [
            (code, name, self[OFFER_PREFIX + code]) for code, name in self.modality_names.items()
        ]

    def listing_fields(self) -> list[Field]:
        """The top-level fields, in form order (treatments, the note and the base excluded)."""
        return [
            f
            for f in self
            if not f.name.startswith(OFFER_PREFIX) and f.name not in ("note", "base")
        ]

    # -- record <-> form ---------------------------------------------------------------
    def to_record(self) -> dict[str, Any]:
        """The listing in the record shape of `directory.listings.records`."""
        record: dict[str, Any] = {}
        for name in (
            "name",
            "description",
            "street",
            "city",
            "postal_code",
            "website",
            "email",
            "hours",
        ):
            record[name] = (self[name].data or "").strip()
        record["kind"] = self.kind.data
        record["state"] = self.state.data or ""
        phone = (self.phone.data or "").strip()
        record["phone"] = (normalize_phone(phone) or phone) if phone else ""
        record["medical_director"] = self.medical_director.data
        record["consultation_fee"] = self.consultation_fee.data
        for name in BOOLEAN_FIELDS:
            record[name] = bool(self[name].data)
        record["states_served"] = sorted(set(self.states_served.data or []))
        record["languages"] = [
            part.strip().lower()
            for part in re.split(r"[,;\s]+", self.languages.data or "")
            if part.strip()
        ]
        for name in ("conditions", "insurers", "payment"):
            record[name] = sorted(set(self[name].data or []))
        offerings = []
        for code, _name, field in self.offering_fields():
            sub = field.form
            if not sub.offered.data:
                continue
            offer: dict[str, Any] = {"modality": code}
            for name in OFFERING_FIELDS:
                offer[name] = sub[name].data
            offer["insurance_accepted"] = bool(sub.insurance_accepted.data)
            offer["notes"] = (sub.notes.data or "").strip()
            offerings.append(offer)
        record["offerings"] = sorted(offerings, key=lambda o: o["modality"])  # as clinic_record
        return record

    @staticmethod
    def data_from_record(record: dict[str, Any]) -> dict[str, Any]:
        """Initial form data for a record (the live listing or a revision's payload)."""
        data = {k: v for k, v in record.items() if k not in ("offerings", "languages")}
        data["languages"] = ", ".join(record.get("languages") or [])
        for offer in record.get("offerings") or []:
            values = {name: offer.get(name) for name in OFFERING_FIELDS}
            data[OFFER_PREFIX + offer["modality"]] = {"offered": True, **values}
        return data

    # -- validation --------------------------------------------------------------------
    def validate_listing(self) -> bool:
        """WTForms checks (types, choices, CSRF), then the listing rules; True when clean."""
        self.validate()
        for _code, _name, field in self.offering_fields():
            sub = field.form
            if not sub.offered.data and sub.has_values():
                self.add_error(sub.offered, "Tick this box to list these details, or clear them.")
        self.attach_errors(validate_record(self.to_record(), self.vocabularies))
        return not self.has_errors()

    def has_errors(self) -> bool:
        return bool(self.errors or self.offerings_errors or self.general_errors)

    @staticmethod
    def add_error(field: Field, message: str) -> None:
        errors = list(field.errors or [])
        if message not in errors:
            errors.append(message)
        field.errors = errors

    def attach_errors(self, errors: dict[str, str]) -> None:
        """Put `validate_record` messages beside their fields (one message per field)."""
        for key, message in errors.items():
            field = self._field_for(key)
            if field is None:
                target = self.offerings_errors if key == "offerings" else self.general_errors
                if message not in target:
                    target.append(message)
            elif not field.errors:
                self.add_error(field, message)

    def _field_for(self, key: str) -> Field | None:
        if key.startswith("offerings."):
            parts = key.split(".")
            if len(parts) == 3 and OFFER_PREFIX + parts[1] in self:
                sub = self[OFFER_PREFIX + parts[1]].form
                return sub[parts[2]] if parts[2] in sub else None
            return None
        return self[key] if key in self and not key.startswith(OFFER_PREFIX) else None


def listing_form(record: dict[str, Any] | None = None) -> ListingForm:
    """A ListingForm with today's vocabularies; pre-filled from `record` (a GET) or
    bound to the submitted data (a POST)."""
    names = vocabulary_names()
    attrs: dict[str, Any] = {
        OFFER_PREFIX + code: FormField(OfferingForm, label=name)
        for code, name in names["modality"].items()
    }
    attrs["vocabularies"] = names
    form_class = type("ListingForm", (ListingForm,), attrs)
    data = ListingForm.data_from_record(record) if record else None
    form = form_class(data=data)
    form.conditions.choices = choices(names["condition"].items())
    form.insurers.choices = choices(names["insurer"].items())
    form.payment.choices = choices(names["payment"].items())
    return form


def _email_format(form: Form, field: Field) -> None:
    if field.data and not _EMAIL.match(field.data.strip()):
        raise ValidationError("Enter an email address like name@clinic.com.")


class ClaimForm(SiteForm):
    """Ask to manage an existing listing."""

    work_email = StringField(
        "Your work email",
        validators=[InputRequired("Enter your work email."), Length(max=254), _email_format],
        description="An address at the clinic's own domain helps the editor decide faster.",
        render_kw={"type": "email", "maxlength": 254, "autocomplete": "email"},
    )
    message = TextAreaField(
        "How are you connected to this clinic?",
        validators=[InputRequired("Tell the editor who you are."), Length(max=NOTE_LIMIT)],
        render_kw={"maxlength": NOTE_LIMIT, "rows": 4},
    )


class DecisionForm(SiteForm):
    """An editor's decision on a revision; `lock_version` is what the editor looked at.

    A stale edit's approval form sets `choose_fields` and ticks the changes to apply
    (`apply`, by diff key; the service refuses keys the edit does not change).
    """

    lock_version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    choose_fields = HiddenField()
    apply = SelectMultipleField(validate_choice=False)
    reason = TextAreaField(
        "Reason (the clinic will read it)",
        validators=[Length(max=NOTE_LIMIT)],
        render_kw={"maxlength": NOTE_LIMIT, "rows": 3},
    )


class EditorUserForm(AdminSecureForm):
    """What an editor may change on a clinic account: never the role or the email."""

    name = StringField("Name", validators=[Length(max=120)])
    active = BooleanField("Active (may sign in)")
    trusted = BooleanField(
        "Trusted (edits publish at once, still audited)",
        description="Only for clinics whose identity an editor has confirmed.",
    )


class AdminUserForm(EditorUserForm):
    """Admins also manage emails and roles."""

    email = StringField(
        "Email",
        validators=[InputRequired(), Length(max=254), _email_format],
        render_kw={"type": "email", "maxlength": 254},
    )
    role = SelectField("Role", choices=choices(ROLE_CHOICES))
