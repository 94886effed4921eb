"""Admin forms: the listing form clinics fill in, and the small forms editors use.

`ListingForm` parses what a person typed; the rules of a valid listing live in
`directory.listings.records.validate_record`, which runs after WTForms and puts
each message beside the field it concerns. The vocabularies (modalities,
conditions, insurers, payment options) come from the database on every request,
so a vocabulary an editor adds shows up in the form at once. Fixed lists of codes
(languages, states served) are ticked by name in the order `listing_fields` gives.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from flask_admin.form import BaseForm
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
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
from wtforms.fields.core import UnboundField
from wtforms.validators import InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from ..forms import BusyAwareMixin, RefuseControlCharacters, SiteForm, SubForm
from ..listings.records import normalize_values, validate_record
from ..listings.vocabulary import vocabulary_names
from ..models.listing_fields import (
    FIELDS,
    OFFERING_FIELDS,
    RECORD_FIELDS,
    SECTIONS,
    STAFF_FIELDS,
    ListingField,
    fields_in,
)

OFFER_PREFIX = "offer_"
NOTE_LIMIT = 2000
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_CODE_SEPARATORS = re.compile(r"[,;\s]+")
# Codes with spaces inside ("AZ MD 12345"): separated by commas, semicolons or lines.
_PHRASE_SEPARATORS = re.compile(r"[,;\n]+")
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


# -- fields from the table ---------------------------------------------------------------
def form_field(spec: ListingField) -> UnboundField:
    """The form input for a field of `listing_fields`: WTForms parses the type, the
    listing rules (`validate_record`) judge the value."""
    render_kw: dict[str, Any] = dict(spec.input)
    options: dict[str, Any] = {"description": spec.help, "render_kw": render_kw}
    label = spec.form_label
    if spec.kind in ("text", "long_text"):
        if spec.limit:
            render_kw.setdefault("maxlength", spec.limit)
        required = [InputRequired(spec.message)] if spec.required else []
        field_class = TextAreaField if spec.kind == "long_text" else StringField
        return field_class(label, validators=required, **options)
    if spec.kind == "choice":
        prompt = [("", spec.prompt)] if spec.prompt else []
        pairs = choices([*prompt, *spec.choices.items()])
        return SelectField(label, choices=pairs, default=spec.default, **options)
    if spec.kind == "number":
        render_kw.setdefault("min", spec.minimum)
        return IntegerField(label, validators=[Optional()], **options)
    if spec.kind == "yes_no":
        return BooleanField(label, default=bool(spec.default), **options)
    if spec.kind == "date":
        return DateField(label, validators=[Optional()], **options)
    if spec.kind == "vocabulary":  # choices: today's vocabulary, set by `listing_form()`
        return MultiCheckboxField(label, choices=[], **options)
    if spec.choices:  # languages, states served: ticked by name, stored as codes
        return MultiCheckboxField(label, choices=choices(spec.choices.items()), **options)
    return StringField(label, **options)  # free codes, separated by commas


def field_value(spec: ListingField, field: Field) -> Any:
    """What a parsed input means in a record (text stripped, lists sorted)."""
    data = field.data
    if spec.kind in ("text", "long_text"):
        return (data or "").strip()
    if spec.kind == "choice":
        return data or ""
    if spec.kind == "yes_no":
        return bool(data)
    if spec.kind == "vocabulary" or (spec.kind == "codes" and spec.choices):
        return sorted(set(data or []))
    if spec.kind == "codes":
        separators = _PHRASE_SEPARATORS if spec.upper else _CODE_SEPARATORS
        parts = (" ".join(part.split()) for part in separators.split(data or ""))
        return [part.upper() if spec.upper else part.lower() for part in parts if part]
    return data


def form_data(spec: ListingField, value: Any) -> Any:
    """A record value as its input shows it (free codes joined by commas)."""
    if spec.kind == "codes" and not spec.choices:
        return ", ".join(value or [])
    return value


def field_groups(form: Form, specs: Iterable[ListingField]) -> list[tuple[bool, list[Field]]]:
    """The form's fields for `specs` in runs: (True, one-line inputs side by side in
    a grid) or (False, boxes and lists that take the whole width)."""
    groups: list[tuple[bool, list[Field]]] = []
    for spec in specs:
        short = spec.kind in ("text", "choice", "number") or (
            spec.kind == "codes" and not spec.choices
        )
        if groups and groups[-1][0] == short:
            groups[-1][1].append(form[spec.name])
        else:
            groups.append((short, [form[spec.name]]))
    return groups


class OfferingForm(SubForm):
    """One treatment: whether it is offered and at what price (whole US dollars)."""

    offered = BooleanField("We offer this treatment")

    def has_values(self) -> bool:
        """True when something is typed or ticked (the `offered` box aside)."""
        for spec in OFFERING_FIELDS:
            field = self[spec.name]
            if spec.kind == "yes_no" and field.data:
                return True
            if spec.kind != "yes_no" and str((field.raw_data or [""])[0]).strip():
                return True
        return False

    def groups(self) -> list[tuple[bool, list[Field]]]:
        return field_groups(self, OFFERING_FIELDS)


for _spec in OFFERING_FIELDS:
    setattr(OfferingForm, _spec.name, form_field(_spec))


class ListingForm(SiteForm):
    """Every field a clinic edits (`listing_fields.RECORD_FIELDS`). Build it with
    `listing_form()`, which adds the treatments and today's vocabularies."""

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

    def sections(self) -> list[tuple[str, str, list[tuple[bool, list[Field]]]]]:
        """(key, legend, `field_groups`) per fieldset, in form order; "treatments" has
        no fields of its own (`offering_fields`)."""
        return [
            (key, legend, field_groups(self, fields_in(key))) for key, legend in SECTIONS.items()
        ]

    def offering_fields(self) -> list[tuple[str, str, FormField]]:
        """(code, name, subform field) per modality, in display order."""
        return [
            (code, name, self[OFFER_PREFIX + code]) for code, name in self.modality_names.items()
        ]

    def listing_fields(self) -> list[Field]:
        """The top-level fields, in form order (treatments, the note and the base excluded)."""
        return [self[spec.name] for spec in RECORD_FIELDS]

    # -- record <-> form ---------------------------------------------------------------
    def to_record(self) -> dict[str, Any]:
        """The listing in the record shape of `directory.listings.records`."""
        record = {spec.name: field_value(spec, self[spec.name]) for spec in RECORD_FIELDS}
        offerings = []
        for code, _name, field in self.offering_fields():
            sub = field.form
            if sub.offered.data:
                values = {spec.name: field_value(spec, sub[spec.name]) for spec in OFFERING_FIELDS}
                offerings.append({"modality": code, **values})
        record["offerings"] = sorted(offerings, key=lambda o: o["modality"])  # as clinic_record
        return normalize_values(record)

    @staticmethod
    def data_from_record(record: dict[str, Any]) -> dict[str, Any]:
        """Initial form data for a record (the live listing or a revision's payload)."""
        data = {
            spec.name: form_data(spec, record.get(spec.name))
            for spec in RECORD_FIELDS
            if spec.name in record
        }
        for offer in record.get("offerings") or []:
            values = {spec.name: offer.get(spec.name) for spec in OFFERING_FIELDS}
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


for _spec in RECORD_FIELDS:
    setattr(ListingForm, _spec.name, form_field(_spec))
ListingForm.note = TextAreaField(
    "Note for the editor (optional)",
    validators=[Length(max=NOTE_LIMIT)],
    render_kw={"maxlength": NOTE_LIMIT, "rows": 3},
)
# Edits only: the listing as this form showed it, signed (`listings.edit_base`).
ListingForm.base = HiddenField()


class StaffListingForm(AdminSecureForm):
    """The admin's clinic form: `STAFF_FIELDS`, and the version the form showed (for
    the service's "changed while you were editing")."""

    def values(self) -> dict[str, Any]:
        """The submitted values by name, as `staff_edits.update_listing` takes them."""
        return normalize_values(
            {name: field_value(FIELDS[name], self[name]) for name in STAFF_FIELDS}
        )


for _name in STAFF_FIELDS:
    setattr(StaffListingForm, _name, form_field(FIELDS[_name]))
StaffListingForm.expected_version = HiddenField()


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
    for spec in RECORD_FIELDS:
        if spec.kind == "vocabulary":
            form[spec.name].choices = choices(names[spec.vocabulary].items())
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
