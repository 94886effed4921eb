"""The one table of a listing's fields: add a field here (and in a migration) only.

Each entry says what a field is (its kind and limits), who edits it, how the
listing form asks for it and how it is shown and published. From this table come
the `Clinic` and `Offering` columns, the listing form and the admin's clinic form,
the simple validation rules, the record a revision stores, the moderation diff,
the admin's read-only view, the JSON API and the demo loader. Rules that tie
fields together or need outside data (an in-person clinic needs an address, a
ZIP code must exist, phone numbers are normalized) stay in
`directory.listings.records`, the one module with field-specific behaviour.

Kinds: `text` (one line), `long_text`, `choice` (one code of `choices`), `number`
(a whole number, `minimum`..`limit`), `yes_no`, `date`, `codes` (a list of codes,
of `choices` when given), `vocabulary` (codes of an editor-managed vocabulary,
stored through an association table: `attribute` names the relationship).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..geo import US_STATES
from .languages import LANGUAGE_NAMES

FieldKind = Literal[
    "text", "long_text", "choice", "number", "yes_no", "date", "codes", "vocabulary"
]
Editor = Literal["clinic", "staff"]
ApiShape = Literal["summary", "detail", ""]

CLINIC: frozenset[Editor] = frozenset({"clinic"})  # the listing form, reviewed by an editor
STAFF: frozenset[Editor] = frozenset({"staff"})  # the admin's clinic form, applied at once
BOTH: frozenset[Editor] = CLINIC | STAFF

KINDS = {"in_person": "In person", "telehealth": "Telehealth", "both": "In person and telehealth"}
STATUSES = ("draft", "pending", "published", "suspended")
MEDICAL_DIRECTORS = {
    "anesthesiologist": "Anesthesiologist",
    "psychiatrist": "Psychiatrist",
    "emergency-physician": "Emergency physician",
    "crna": "Nurse anesthetist (CRNA)",
    "nurse-practitioner": "Nurse practitioner",
    "other": "Other physician",
}
# By name, as people look for them (Alabama, Alaska, American Samoa, ...), not by code.
STATE_NAMES = {
    code: f"{name} ({code})" for code, name in sorted(US_STATES.items(), key=lambda s: s[1])
}
MAX_PRICE = 100_000
# What a treatment's price covers besides the session itself.
PRICE_INCLUDES = {
    "consultation": "Consultation",
    "monitoring": "Medical monitoring",
    "integration": "Integration session",
}
# Licence types a state board issues, as clinics write them ("AZ MD 12345").
LICENSE_TYPES = {
    "MD": "Physician (MD)",
    "DO": "Physician (DO)",
    "NP": "Nurse practitioner",
    "APRN": "Advanced practice registered nurse",
    "CRNA": "Nurse anesthetist",
    "PA": "Physician assistant",
    "RN": "Registered nurse",
    "PSY": "Psychologist",
    "LCSW": "Clinical social worker",
    "LPC": "Professional counselor",
    "FAC": "Clinic or facility licence",
}
MAX_CREDENTIALS = 20  # clinicians' NPIs or licences on one listing


@dataclass(frozen=True)
class ListingField:
    """One field of a listing (or of one of its treatments)."""

    name: str
    label: str
    kind: FieldKind
    section: str = ""  # the listing form's fieldset (a key of SECTIONS)
    limit: int | None = None  # text: most characters; number: highest value
    minimum: int = 0  # number: lowest value
    required: bool = False  # text: must not be blank
    default: Any = None
    choices: Mapping[str, str] = field(default_factory=dict)  # code -> label
    prompt: str = ""  # choice: the empty first option, when there is one
    message: str = ""  # what a wrong value is told; codes: "{codes}" lists the wrong ones
    vocabulary: str = ""  # vocabulary: its name in `vocabulary_names()`
    attribute: str = ""  # vocabulary: the Clinic relationship holding the rows
    unit: str = ""  # number: after the form's label, "(USD)"
    help: str = ""  # under the form field
    input: Mapping[str, Any] = field(default_factory=dict)  # HTML attributes of the input
    width: int | None = None  # the column's width, where it is not `limit`
    edited_by: frozenset[Editor] = BOTH
    api: ApiShape = "detail"  # in every search result, only on the clinic's own page, or never
    shown: bool = True  # in the admin's read-only view of a listing
    upper: bool = False  # free codes: capitals, spaces inside, commas between (licences)

    @property
    def is_list(self) -> bool:
        return self.kind in ("codes", "vocabulary")

    @property
    def form_label(self) -> str:
        return f"{self.label} ({self.unit})" if self.unit else self.label

    @property
    def phrase(self) -> str:
        """The label inside a sentence: "Ketamine IV: lowest price per session"."""
        return self.label[:1].lower() + self.label[1:]

    @property
    def empty(self) -> Any:
        """The value of a field nobody filled in."""
        if self.default is not None:
            return self.default
        if self.is_list:
            return []
        if self.kind == "yes_no":
            return False
        return "" if self.kind in ("text", "long_text", "choice") else None


SECTIONS = {
    "clinic": "The clinic",
    "where": "Where",
    "contact": "Contact",
    "visits": "Visits",
    "treatments": "Treatments and prices",  # the offerings, one fieldset per treatment
    "coverage": "Conditions, insurance and payment",
    "credentials": "Licences and credentials",
}

_YES_NO = "Choose yes or no."

LISTING_FIELDS: tuple[ListingField, ...] = (
    ListingField(
        "name",
        "Name",
        "text",
        "clinic",
        limit=160,
        required=True,
        message="Enter the clinic's name.",
        api="summary",
        shown=False,
    ),
    ListingField(
        "kind",
        "Kind of listing",
        "choice",
        "clinic",
        choices=KINDS,
        default="in_person",
        width=16,
        message="Choose in person, telehealth or both.",
        help="In person: a clinic patients visit. Telehealth: an online program.",
        api="summary",
    ),
    ListingField(
        "description",
        "Description",
        "long_text",
        "clinic",
        limit=4000,
        input={"rows": 6},
        shown=False,
    ),
    ListingField(
        "medical_director",
        "Medical director",
        "choice",
        "clinic",
        choices=MEDICAL_DIRECTORS,
        default="other",
        width=32,
        message="Choose who directs the clinic medically.",
    ),
    ListingField(
        "street",
        "Street address",
        "text",
        "where",
        limit=200,
        input={"autocomplete": "street-address"},
    ),
    ListingField("city", "City", "text", "where", limit=100, api="summary"),
    ListingField(
        "state",
        "State",
        "choice",
        "where",
        choices=STATE_NAMES,
        prompt="Choose a state",
        width=2,
        message="Choose a US state.",
        api="summary",
    ),
    ListingField(
        "postal_code",
        "ZIP code",
        "text",
        "where",
        limit=5,
        width=10,
        input={"inputmode": "numeric"},
        api="summary",
    ),
    ListingField(
        "states_served",
        "States served (telehealth)",
        "codes",
        "where",
        choices=STATE_NAMES,
        message="Unknown state codes: {codes}.",
        help="Telehealth programs: every state you are licensed to treat in.",
        edited_by=CLINIC,
        api="summary",
    ),
    ListingField("phone", "Phone", "text", "contact", limit=32, input={"type": "tel"}),
    ListingField(
        "website",
        "Website",
        "text",
        "contact",
        limit=300,
        input={"type": "url", "placeholder": "https://"},
    ),
    ListingField("email", "Email", "text", "contact", limit=254, input={"type": "email"}),
    ListingField(
        "hours",
        "Hours",
        "text",
        "contact",
        limit=300,
        input={"placeholder": "Mon–Fri 9–5, Sat by appointment"},
    ),
    ListingField(
        "languages",
        "Languages",
        "codes",
        "contact",
        choices=LANGUAGE_NAMES,
        message="Unknown language codes: {codes}.",
        help="Every language patients can be seen in.",
        edited_by=CLINIC,
    ),
    ListingField(
        "consultation_fee",
        "Consultation fee",
        "number",
        "visits",
        limit=10_000,
        unit="USD",
    ),
    ListingField("free_consultation", "Free consultation", "yes_no", "visits", message=_YES_NO),
    ListingField(
        "accepting_new_patients",
        "Accepting new patients",
        "yes_no",
        "visits",
        default=True,
        message=_YES_NO,
        api="summary",
    ),
    ListingField("integration_therapy", "Integration therapy", "yes_no", "visits", message=_YES_NO),
    ListingField(
        "good_faith_estimate",
        "Good Faith Estimate for self-pay patients",
        "yes_no",
        "visits",
        message=_YES_NO,
        help="A written estimate of the total cost before treatment, which the No Surprises "
        "Act entitles self-pay patients to.",
    ),
    ListingField(
        "conditions",
        "Conditions treated",
        "vocabulary",
        "coverage",
        vocabulary="condition",
        attribute="conditions",
        edited_by=CLINIC,
        api="summary",
    ),
    ListingField(
        "insurers",
        "Insurers",
        "vocabulary",
        "coverage",
        vocabulary="insurer",
        attribute="insurers",
        edited_by=CLINIC,
        api="summary",
    ),
    ListingField(
        "payment",
        "Payment options",
        "vocabulary",
        "coverage",
        vocabulary="payment",
        attribute="payment_options",
        edited_by=CLINIC,
        api="summary",
    ),
    ListingField(
        "npi",
        "Organization NPI",
        "text",
        "credentials",
        limit=20,  # room for what people paste; the rule is ten digits (records.py)
        width=10,
        input={"inputmode": "numeric"},
        help="The clinic's own 10-digit National Provider Identifier (type 2), as the "
        "NPPES registry lists it.",
    ),
    ListingField(
        "clinician_npis",
        "Clinician NPIs",
        "codes",
        "credentials",
        limit=MAX_CREDENTIALS,
        help="Each prescribing clinician's 10-digit NPI, separated by commas.",
        input={"inputmode": "numeric"},
    ),
    ListingField(
        "licenses",
        "State licences",
        "codes",
        "credentials",
        limit=MAX_CREDENTIALS,
        upper=True,
        help="Each licence as state, type and number, separated by commas: "
        "AZ MD 12345, AZ FAC 9876. Types: " + ", ".join(LICENSE_TYPES) + ".",
    ),
    ListingField(
        "spravato_rems", "Spravato REMS certified", "yes_no", "credentials", message=_YES_NO
    ),
    ListingField(
        "medical_director_name",
        "Medical director: name and credential",
        "text",
        "credentials",
        limit=160,
        input={"placeholder": "Dr. Jane Roe, MD, board-certified anesthesiologist"},
    ),
    # Staff only: publishing is an editor's decision.
    ListingField(
        "status",
        "Status",
        "choice",
        choices={status: status.title() for status in STATUSES},
        default="draft",
        width=16,
        message="Choose a status.",
        edited_by=STAFF,
        api="",
        shown=False,
    ),
    # Nobody's to edit: the oldest of the sections' confirmed dates (listings.confirmations).
    ListingField(
        "last_verified_at",
        "Last verified",
        "date",
        message="Enter a date.",
        edited_by=frozenset(),
        api="summary",
        shown=False,
    ),
)

# One treatment a listing offers (an Offering row): prices in whole US dollars.
OFFERING_FIELDS: tuple[ListingField, ...] = (
    ListingField(
        "price_min",
        "Lowest price per session",
        "number",
        limit=MAX_PRICE,
        unit="USD",
        api="summary",
    ),
    ListingField(
        "price_max",
        "Highest price per session",
        "number",
        limit=MAX_PRICE,
        unit="USD",
        api="summary",
    ),
    ListingField(
        "series_price",
        "Price of a series",
        "number",
        limit=MAX_PRICE * 20,
        unit="USD",
    ),
    ListingField(
        "series_sessions",
        "Sessions in the series",
        "number",
        minimum=1,
        limit=52,
    ),
    ListingField(
        "insurance_accepted",
        "Insurance accepted for this treatment",
        "yes_no",
        message=_YES_NO,
        api="summary",
    ),
    ListingField(
        "includes",
        "The price includes",
        "codes",
        choices=PRICE_INCLUDES,
        message="Unknown items: {codes}.",
    ),
    ListingField("notes", "Notes for patients", "text", limit=500),
)

FIELDS = {f.name: f for f in LISTING_FIELDS}
OFFERING = {f.name: f for f in OFFERING_FIELDS}
# The record a clinic submits and an editor reviews: what the clinic's form edits.
RECORD_FIELDS = tuple(f for f in LISTING_FIELDS if "clinic" in f.edited_by)
SCALAR_FIELDS = tuple(f.name for f in RECORD_FIELDS if not f.is_list)
LIST_FIELDS = tuple(f.name for f in RECORD_FIELDS if f.is_list)
# What the admin's clinic form changes directly (prices and lists go through moderation).
STAFF_FIELDS = tuple(f.name for f in LISTING_FIELDS if "staff" in f.edited_by)
LABELS = {f.name: f.label for f in LISTING_FIELDS} | {"offerings": SECTIONS["treatments"]}


def fields_in(section: str) -> tuple[ListingField, ...]:
    """The listing form's fields of one fieldset, in form order."""
    return tuple(f for f in RECORD_FIELDS if f.section == section)
