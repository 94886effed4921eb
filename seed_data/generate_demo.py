"""Deterministic, fictional demo data for the ketamine clinic directory.

``generate_demo()`` returns a list of plain dicts, one per listing (in-person clinics first,
then telehealth programs).  It is a pure function: it touches no database, writes no files and
uses only a private ``random.Random(seed)``, so the same seed always yields an equal list.  The
only date it knows about is ``reference_date`` (``REFERENCE_DATE`` by default), from which the
``last_verified_at`` values are counted backwards.

Design choices, in short:

* **Places are real, clinics are not.**  Towns, ZIP codes, centroids and area codes come from the
  ``zipcodes`` package (active STANDARD ZIPs in the 50 states and DC).  Every clinic's
  ``postal_code`` is a ZIP of its town and its ``lat``/``lng`` are that ZIP's centroid, hence
  ``geo_precision == "zip"``.  Names, streets, websites (``.example`` TLD) and phone numbers
  (the fictional ``555-0100``..``555-0199`` range) are invented.
* **Where clinics go.**  A town's weight is ``n_standard_zips ** TOWN_WEIGHT_EXPONENT``.  The ZIP
  count is a rough population proxy; a linear weight would scatter most clinics over one-ZIP
  hamlets (78% of ZIPs belong to single-ZIP towns), so the exponent (1.7) tilts the draw towards
  metros while still leaving roughly a third of clinics in small towns.  On top of the weighted
  draw every state and DC gets two clinics, Austin TX gets ``AUSTIN_CLINICS`` and a few suburbs
  within 50 miles of Austin get one each, so demos of local search always have something to show.
* **Realistic mixes, not uniform noise.**  Modalities, conditions, prices and insurance depend on
  who leads the clinic (anesthesiology-led practices lean to IV and pain conditions,
  psychiatry-led ones to Spravato and insurance).  Target proportions: IV ~75% of in-person
  clinics, IM ~35%, Spravato ~35%, sublingual ~15%, telehealth programs sublingual only, ~12%
  of clinics without any published price, insurance common for Spravato and rare for IV.
* **Edge cases on purpose.**  A handful of listings are ``pending``/``draft``/``suspended``
  (one of them in Austin, one a telehealth program) so tests can prove that unpublished
  listings never show, and a few have no ``last_verified_at``.

Run ``python seed_data/generate_demo.py`` for summary statistics.
"""

import functools
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import zipcodes

from directory.geo.distance import miles_between
from directory.listings.demo import PLACE_KEYS
from directory.models.listing_fields import LISTING_FIELDS, OFFERING_FIELDS
from directory.slugs import slugify, unique_slug

REFERENCE_DATE = date(2026, 11, 1)
DEFAULT_SEED = 20261125

N_IN_PERSON = 690
"""In-person listings (kind ``in_person`` or ``both``); ~20 end up unpublished."""
N_TELEHEALTH = 22
TOWN_WEIGHT_EXPONENT = 1.7
BOTH_SHARE = 0.08
NO_PRICE_SHARE = 0.055
"""Clinics that hide all prices on purpose.  Spravato-only clinics billing insurance have no
price either, which brings the share of clinics without any price to roughly 12%."""

AUSTIN = ("Austin", "TX")
AUSTIN_CLINICS = 6
AUSTIN_NEIGHBOURS = ("Round Rock", "San Marcos", "Georgetown", "Cedar Park")
"""All within 30 miles of downtown Austin."""

UNPUBLISHED_COUNTS = {"pending": 8, "draft": 6, "suspended": 5}

# A listing record: where the listing is on the map, every field of the field table
# (`directory.models.listing_fields`) and its treatments. A field the generator does
# not choose a value for gets the field's empty value.
CLINIC_KEYS = (*PLACE_KEYS, *(f.name for f in LISTING_FIELDS), "offerings")
OFFERING_KEYS = ("modality", *(f.name for f in OFFERING_FIELDS))


def _field_defaults() -> dict[str, Any]:
    return {f.name: f.empty for f in LISTING_FIELDS}


# ---------------------------------------------------------------------------------------------
# Geography
# ---------------------------------------------------------------------------------------------

STATE_NEIGHBOURS: dict[str, tuple[str, ...]] = {
    "AK": (),
    "AL": ("FL", "GA", "MS", "TN"),
    "AR": ("LA", "MO", "MS", "OK", "TN", "TX"),
    "AZ": ("CA", "CO", "NM", "NV", "UT"),
    "CA": ("AZ", "NV", "OR"),
    "CO": ("AZ", "KS", "NE", "NM", "OK", "UT", "WY"),
    "CT": ("MA", "NY", "RI"),
    "DC": ("MD", "VA"),
    "DE": ("MD", "NJ", "PA"),
    "FL": ("AL", "GA"),
    "GA": ("AL", "FL", "NC", "SC", "TN"),
    "HI": (),
    "IA": ("IL", "MN", "MO", "NE", "SD", "WI"),
    "ID": ("MT", "NV", "OR", "UT", "WA", "WY"),
    "IL": ("IA", "IN", "KY", "MO", "WI"),
    "IN": ("IL", "KY", "MI", "OH"),
    "KS": ("CO", "MO", "NE", "OK"),
    "KY": ("IL", "IN", "MO", "OH", "TN", "VA", "WV"),
    "LA": ("AR", "MS", "TX"),
    "MA": ("CT", "NH", "NY", "RI", "VT"),
    "MD": ("DC", "DE", "PA", "VA", "WV"),
    "ME": ("NH",),
    "MI": ("IN", "OH", "WI"),
    "MN": ("IA", "ND", "SD", "WI"),
    "MO": ("AR", "IA", "IL", "KS", "KY", "NE", "OK", "TN"),
    "MS": ("AL", "AR", "LA", "TN"),
    "MT": ("ID", "ND", "SD", "WY"),
    "NC": ("GA", "SC", "TN", "VA"),
    "ND": ("MN", "MT", "SD"),
    "NE": ("CO", "IA", "KS", "MO", "SD", "WY"),
    "NH": ("MA", "ME", "VT"),
    "NJ": ("DE", "NY", "PA"),
    "NM": ("AZ", "CO", "OK", "TX", "UT"),
    "NV": ("AZ", "CA", "ID", "OR", "UT"),
    "NY": ("CT", "MA", "NJ", "PA", "VT"),
    "OH": ("IN", "KY", "MI", "PA", "WV"),
    "OK": ("AR", "CO", "KS", "MO", "NM", "TX"),
    "OR": ("CA", "ID", "NV", "WA"),
    "PA": ("DE", "MD", "NJ", "NY", "OH", "WV"),
    "RI": ("CT", "MA"),
    "SC": ("GA", "NC"),
    "SD": ("IA", "MN", "MT", "ND", "NE", "WY"),
    "TN": ("AL", "AR", "GA", "KY", "MO", "MS", "NC", "VA"),
    "TX": ("AR", "LA", "NM", "OK"),
    "UT": ("AZ", "CO", "ID", "NM", "NV", "WY"),
    "VA": ("DC", "KY", "MD", "NC", "TN", "WV"),
    "VT": ("MA", "NH", "NY"),
    "WA": ("ID", "OR"),
    "WI": ("IA", "IL", "MI", "MN"),
    "WV": ("KY", "MD", "OH", "PA", "VA"),
    "WY": ("CO", "ID", "MT", "NE", "SD", "UT"),
}
STATES: tuple[str, ...] = tuple(sorted(STATE_NEIGHBOURS))
"""The 50 states plus DC; territories are left out."""


@dataclass(frozen=True)
class Place:
    """One active STANDARD ZIP code with its centroid."""

    zip_code: str
    lat: float
    lng: float
    area_codes: tuple[str, ...]
    timezone: str


@dataclass(frozen=True)
class Town:
    """A (city, state) pair and its STANDARD ZIPs, sorted by ZIP code."""

    city: str
    state: str
    places: tuple[Place, ...]

    @property
    def weight(self) -> float:
        return len(self.places) ** TOWN_WEIGHT_EXPONENT


@functools.cache
def load_towns() -> tuple[Town, ...]:
    """All towns with at least one active STANDARD ZIP, sorted by (state, city).

    Cached because ``zipcodes.list_all()`` takes a few hundred milliseconds; the result is
    immutable, so caching cannot break determinism.
    """
    grouped: dict[tuple[str, str], list[Place]] = defaultdict(list)
    for rec in zipcodes.list_all():
        if not rec["active"] or rec["zip_code_type"] != "STANDARD":
            continue
        if rec["state"] not in STATE_NEIGHBOURS:
            continue
        grouped[(rec["city"], rec["state"])].append(
            Place(
                zip_code=rec["zip_code"],
                lat=float(rec["lat"]),
                lng=float(rec["long"]),
                area_codes=tuple(rec["area_codes"]),
                timezone=rec["timezone"],
            )
        )
    towns = [
        Town(city, state, tuple(sorted(places, key=lambda p: p.zip_code)))
        for (city, state), places in grouped.items()
    ]
    return tuple(sorted(towns, key=lambda t: (t.state, t.city)))


@functools.cache
def _state_area_code_counts() -> dict[str, Counter[str]]:
    """How many STANDARD ZIPs of each state list each area code."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for town in load_towns():
        for place in town.places:
            counts[town.state].update(place.area_codes)
    return dict(counts)


def area_code_for(state: str, place: Place) -> str:
    """The area code used for a listing's phone number.

    ``zipcodes`` lists a ZIP's area codes in numeric order, and border ZIPs also list the
    neighbouring state's code (Pensacola FL: 251, 448, 850), so the first entry is often wrong.
    We take the ZIP's code that is most common in its state (ties: lowest number), falling back
    to the state's most common code for the three ZIPs that list none.
    """
    counts = _state_area_code_counts()[state]
    candidates = place.area_codes or tuple(counts)
    return min(candidates, key=lambda code: (-counts[code], code))


def _timezone_label(tz: str) -> str:
    if tz.startswith(("America/New_York", "America/Detroit", "America/Indiana/Indianapolis")):
        return "ET"
    if tz in ("America/Indiana/Knox", "America/Indiana/Tell_City"):
        return "CT"
    if "Kentucky" in tz or tz.startswith("America/Indiana"):
        return "ET"
    if tz.startswith(("America/Denver", "America/Phoenix", "America/Boise")):
        return "MT"
    if tz == "America/Los_Angeles":
        return "PT"
    if tz == "Pacific/Honolulu":
        return "HT"
    if tz in ("America/Anchorage", "America/Juneau", "America/Sitka"):
        return "AKT"
    return "CT"


# ---------------------------------------------------------------------------------------------
# Vocabularies used by the generator (codes must exist in the JSON files next to this module)
# ---------------------------------------------------------------------------------------------

MODALITY_ORDER = ("iv", "im", "spravato", "sublingual")
CONDITION_ORDER = (
    "depression",
    "treatment-resistant-depression",
    "bipolar-depression",
    "ptsd",
    "anxiety",
    "ocd",
    "suicidal-ideation",
    "postpartum-depression",
    "chronic-pain",
    "neuropathic-pain",
    "crps",
    "fibromyalgia",
    "migraine",
    "cancer-related-symptoms",
    "alcohol-use-disorder",
    "substance-use-disorder",
    "eating-disorders",
)
PAYMENT_ORDER = ("self-pay", "financing", "hsa-fsa", "superbill", "sliding-scale", "credit-card")

DIRECTORS: dict[str, float] = {
    "anesthesiologist": 0.33,
    "psychiatrist": 0.28,
    "emergency-physician": 0.13,
    "crna": 0.11,
    "nurse-practitioner": 0.10,
    "other": 0.05,
}
TELEHEALTH_DIRECTORS: dict[str, float] = {
    "psychiatrist": 0.5,
    "nurse-practitioner": 0.35,
    "other": 0.15,
}
DIRECTOR_PHRASE = {
    "anesthesiologist": "a board-certified anesthesiologist",
    "psychiatrist": "a psychiatrist",
    "emergency-physician": "an emergency physician",
    "crna": "a certified registered nurse anesthetist",
    "nurse-practitioner": "a psychiatric nurse practitioner",
    "other": "a physician",
}

# P(modality) for in-person clinics by director.  Averaged over the director mix this lands near
# IV 75%, IM 35%, Spravato 35%, sublingual ~11%; half of the ``both`` clinics add at-home
# sublingual, for ~15% overall.
MODALITY_P: dict[str, dict[str, float]] = {
    "anesthesiologist": {"iv": 0.85, "im": 0.35, "spravato": 0.22, "sublingual": 0.08},
    "psychiatrist": {"iv": 0.42, "im": 0.30, "spravato": 0.68, "sublingual": 0.14},
    "emergency-physician": {"iv": 0.84, "im": 0.40, "spravato": 0.18, "sublingual": 0.10},
    "crna": {"iv": 0.86, "im": 0.45, "spravato": 0.12, "sublingual": 0.08},
    "nurse-practitioner": {"iv": 0.70, "im": 0.38, "spravato": 0.40, "sublingual": 0.12},
    "other": {"iv": 0.72, "im": 0.32, "spravato": 0.30, "sublingual": 0.12},
}

PAIN_LEANING = {"anesthesiologist", "crna"}
CONDITION_P_MENTAL: dict[str, float] = {
    "depression": 0.97,
    "treatment-resistant-depression": 0.78,
    "bipolar-depression": 0.32,
    "ptsd": 0.70,
    "anxiety": 0.72,
    "ocd": 0.33,
    "suicidal-ideation": 0.35,
    "postpartum-depression": 0.22,
    "alcohol-use-disorder": 0.12,
    "substance-use-disorder": 0.10,
    "eating-disorders": 0.06,
}
CONDITION_P_PAIN_LEANING: dict[str, float] = {
    "chronic-pain": 0.72,
    "neuropathic-pain": 0.45,
    "crps": 0.38,
    "fibromyalgia": 0.40,
    "migraine": 0.32,
    "cancer-related-symptoms": 0.10,
}
CONDITION_P_PAIN_OTHER: dict[str, float] = {
    "chronic-pain": 0.30,
    "neuropathic-pain": 0.14,
    "crps": 0.08,
    "fibromyalgia": 0.15,
    "migraine": 0.12,
    "cancer-related-symptoms": 0.03,
}

INSURER_WEIGHTS: dict[str, float] = {
    "bcbs": 1.6,
    "unitedhealthcare": 1.3,
    "aetna": 1.3,
    "cigna": 1.2,
    "humana": 0.7,
    "optum": 0.6,
    "anthem": 1.2,
    "kaiser": 1.0,
    "medicare": 0.8,
    "medicaid": 0.35,
    "tricare": 0.45,
    "va-community-care": 0.35,
}
KAISER_STATES = frozenset({"CA", "CO", "DC", "GA", "HI", "MD", "OR", "VA", "WA"})
ANTHEM_STATES = frozenset(
    {"CA", "CO", "CT", "GA", "IN", "KY", "ME", "MO", "NH", "NV", "NY", "OH", "VA", "WI"}
)

OTHER_LANGUAGES = ("vi", "zh", "ko", "ru", "tl", "ar", "fr", "pt", "hi", "pl")

# ---------------------------------------------------------------------------------------------
# Names and addresses
# ---------------------------------------------------------------------------------------------

REGIONAL_WORDS: dict[str, tuple[str, ...]] = {
    "AK": ("Northern Lights", "Last Frontier"),
    "AL": ("Yellowhammer", "Gulf Coast"),
    "AR": ("Ozark", "Natural State"),
    "AZ": ("Desert Sky", "Saguaro"),
    "CA": ("Golden Coast", "Pacific", "Sierra"),
    "CO": ("Front Range", "Rocky Mountain"),
    "CT": ("Nutmeg", "Constitution"),
    "DC": ("Capitol", "Potomac"),
    "DE": ("First State", "Brandywine"),
    "FL": ("Sunshine", "Gulf Coast", "Palm Coast"),
    "GA": ("Peach State", "Chattahoochee"),
    "HI": ("Aloha", "Trade Winds"),
    "IA": ("Hawkeye", "Heartland"),
    "ID": ("Gem State", "Snake River"),
    "IL": ("Prairie State", "Great Lakes"),
    "IN": ("Hoosier", "Crossroads"),
    "KS": ("Sunflower", "Flint Hills"),
    "KY": ("Bluegrass", "Cumberland"),
    "LA": ("Bayou", "Pelican"),
    "MA": ("Bay State", "Cape"),
    "MD": ("Chesapeake", "Old Line"),
    "ME": ("Pine Tree", "Downeast"),
    "MI": ("Great Lakes", "Wolverine"),
    "MN": ("North Star", "Ten Thousand Lakes"),
    "MO": ("Show-Me", "Ozark"),
    "MS": ("Magnolia", "Delta"),
    "MT": ("Big Sky", "Treasure State"),
    "NC": ("Blue Ridge", "Tar Heel"),
    "ND": ("Red River", "Peace Garden"),
    "NE": ("Cornhusker", "Platte River"),
    "NH": ("Granite State", "White Mountain"),
    "NJ": ("Garden State", "Jersey Shore"),
    "NM": ("Enchanted Mesa", "Land of Enchantment"),
    "NV": ("Silver State", "High Desert"),
    "NY": ("Empire State", "Hudson Valley"),
    "OH": ("Buckeye", "Ohio Valley"),
    "OK": ("Sooner", "Red River"),
    "OR": ("Cascade", "Willamette"),
    "PA": ("Keystone", "Allegheny"),
    "RI": ("Ocean State", "Narragansett"),
    "SC": ("Palmetto", "Lowcountry"),
    "SD": ("Black Hills", "Mount Rushmore"),
    "TN": ("Smoky Mountain", "Volunteer"),
    "TX": ("Lone Star", "Hill Country", "Gulf Coast"),
    "UT": ("Wasatch", "Beehive"),
    "VA": ("Old Dominion", "Shenandoah"),
    "VT": ("Green Mountain", "Champlain"),
    "WA": ("Evergreen", "Puget Sound", "Cascade"),
    "WI": ("Badger State", "Northwoods"),
    "WV": ("Mountaineer", "Appalachian"),
    "WY": ("Cowboy State", "High Plains"),
}
NAME_FIRST = (
    "Cedar", "Blue", "Silver", "Willow", "Stone", "Quiet", "Juniper", "Aspen", "Red", "Bright",
    "Clear", "High", "Still", "Golden", "Green", "Sage", "Harbor", "North", "West", "Oak",
    "Pine", "Maple", "Birch", "Laurel", "Amber", "Copper", "Crystal", "Morning", "Hidden",
    "Summit", "River", "Canyon", "Meadow", "Prairie", "Sun", "Heron", "Fox", "Elm", "Ash",
    "Open", "Lantern", "Linden", "Sparrow", "Thistle", "Magnolia", "Cypress", "Hawthorn",
)  # fmt: skip
NAME_SECOND = (
    "Ridge", "Harbor", "Creek", "Grove", "Hollow", "Bridge", "Valley", "Point", "Crest",
    "Springs", "Meadow", "Field", "Brook", "Haven", "Pines", "Bluff", "Mesa", "Shore", "Path",
    "Trail", "Peak", "Glen", "Landing", "Park", "View", "Water", "Light", "Stone", "Gate",
    "Hill", "Wood", "Bend", "Cove",
)  # fmt: skip
SURNAMES = (
    "Hollis", "Marlowe", "Whitaker", "Ellison", "Calloway", "Prescott", "Delgado", "Okafor",
    "Brennan", "Sorensen", "Castillo", "Abernathy", "Lindqvist", "Kowalski", "Mercer", "Harlan",
    "Beaumont", "Ferreira", "Thornton", "Asher", "Whitfield", "Navarro", "Quinlan", "Avery",
)  # fmt: skip
SUFFIXES_GENERAL = (
    "Ketamine Clinic", "Ketamine Wellness", "Ketamine Center", "Ketamine Therapy",
    "Ketamine Institute", "Mental Wellness", "Wellness Center", "Ketamine Care",
    "Infusion Center", "Ketamine & Infusion Center", "Mind & Body Clinic",
)  # fmt: skip
SUFFIXES_BY_DIRECTOR = {
    "anesthesiologist": ("Infusion Center", "Infusion Therapy", "Pain & Infusion Clinic"),
    "crna": ("Infusion Center", "Infusion Therapy", "Infusion Clinic"),
    "emergency-physician": ("Infusion Clinic", "Infusion Center", "Ketamine Infusions"),
    "psychiatrist": ("Integrative Psychiatry", "Psychiatry & Ketamine", "Behavioral Health"),
    "nurse-practitioner": ("Mental Health", "Psychiatric Care", "Wellness Collective"),
    "other": ("Healing Center", "Wellness Studio", "Recovery & Wellness"),
}
CITY_SUFFIXES = ("Ketamine Center", "Ketamine Clinic", "Infusion Center", "Ketamine Wellness")
REGIONAL_SUFFIXES = ("Wellness", "Clinic", "Center", "Institute", "Therapy", "Infusions", "Care")
TELEHEALTH_SUFFIXES = (
    "Health", "Telehealth", "Virtual Care", "At-Home Ketamine", "Ketamine Online",
    "Mind Telehealth", "Home Ketamine Program",
)  # fmt: skip
STREET_NAMES = (
    "Main St", "Oak Ave", "Maple St", "Medical Center Dr", "Professional Pkwy", "Commerce Blvd",
    "Park Ave", "Lakeview Dr", "Washington St", "Lincoln Ave", "Highland Ave", "Ridge Rd",
    "Market St", "Center St", "University Blvd", "Hospital Dr", "Cedar Ln", "Elm St", "Pine St",
    "Broadway", "Church St", "Jefferson Ave", "Franklin St", "Meadow Ln", "Corporate Dr",
    "Executive Dr", "Health Park Blvd", "Mill St", "River Rd", "Spring St", "2nd St", "3rd Ave",
    "Walnut St", "Chestnut St", "Madison Ave", "Wellness Way", "Summit Dr", "Valley View Rd",
    "N Main St", "S Main St", "Westgate Dr", "Parkside Dr", "Orchard Rd", "Sycamore St",
)  # fmt: skip
HOURS_IN_PERSON = (
    "Mon–Fri 8am–6pm",
    "Mon–Fri 9am–5pm",
    "Mon–Thu 8am–7pm, Fri 8am–2pm",
    "Tue–Sat 9am–5pm",
    "Mon–Fri 7am–7pm",
    "Mon–Sat 8am–8pm",
    "Mon, Wed, Fri 9am–5pm; Tue, Thu 11am–7pm",
    "Mon–Fri 8:30am–4:30pm",
    "Mon–Thu 9am–6pm",
    "By appointment, Mon–Sat",
)
HOURS_SATURDAY = (", Sat 9am–1pm", ", Sat 8am–12pm", ", Sat 10am–2pm")


# ---------------------------------------------------------------------------------------------
# Small random helpers
# ---------------------------------------------------------------------------------------------


def _weighted_pick(rng: random.Random, weights: dict[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys], k=1)[0]


def _weighted_sample(rng: random.Random, weights: dict[str, float], k: int) -> list[str]:
    """``k`` distinct keys drawn without replacement, proportional to weight."""
    pool = {key: w for key, w in weights.items() if w > 0}
    chosen: list[str] = []
    while pool and len(chosen) < k:
        key = _weighted_pick(rng, pool)
        chosen.append(key)
        del pool[key]
    return chosen


def _price(rng: random.Random, lo: int, hi: int, mode: int) -> int:
    """A price in [lo, hi] rounded to $25, sometimes shaved to end in 5 ($495, $395…)."""
    value = round(rng.triangular(lo, hi, mode) / 25) * 25
    value = max(lo, min(hi, value))
    if rng.random() < 0.2 and value - 5 >= lo:
        value -= 5
    return value


def _upper(
    rng: random.Random, price_min: int, cap: int, p_range: float, steps: Sequence[int]
) -> int:
    """``price_max``: equal to the minimum, or the minimum plus a step, never above ``cap``."""
    if rng.random() < p_range:
        return min(cap, price_min + rng.choice(steps))
    return price_min


def _series(rng: random.Random, price: int, sessions: int, lo: float, hi: float) -> int:
    """Package price for ``sessions`` sessions, floored to $25, strictly below list price."""
    return int(sessions * price * rng.uniform(lo, hi)) // 25 * 25


def _offering(modality: str) -> dict[str, Any]:
    return {"modality": modality, **{f.name: f.empty for f in OFFERING_FIELDS}}


NOTES: dict[str, tuple[str, ...]] = {
    "iv": (
        "40–60 minute infusions with continuous vital-sign monitoring.",
        "Initial series of six infusions over two to three weeks; boosters as needed.",
        "Private infusion suites with reclining chairs and eyeshades.",
        "Booster infusions available for returning patients.",
        "Pain protocols use longer infusions; ask during the consultation.",
    ),
    "im": (
        "Shorter visits; most patients rest about an hour after the injection.",
        "Offered as an alternative for patients who prefer to avoid an IV.",
        "Monitored recovery room; a driver is required afterwards.",
    ),
    "spravato": (
        "Certified Spravato treatment center; two-hour observation after each dose.",
        "We help with prior authorization and benefits checks.",
        "Twice-weekly induction for four weeks, then maintenance.",
        "Billed to insurance; copay assistance information available.",
    ),
    "sublingual": (
        "At-home lozenges between in-clinic sessions, with virtual check-ins.",
        "Prescribed after an in-person evaluation; a support person must be present at home.",
        "Used mainly as maintenance after an infusion series.",
    ),
    "telehealth": (
        "Medication shipped to your home; a support person must be present during sessions.",
        "Includes a video intake, dosing guidance and follow-up visits.",
        "Program includes guided preparation and integration calls.",
        "Clinician check-ins after the first and fourth sessions.",
    ),
}

IV_SENTENCES = (
    "Infusions take place in private rooms with continuous monitoring.",
    "Each infusion is dosed by weight and adjusted during the session.",
    "Every patient starts with a medical screening before the first infusion.",
)
SPRAVATO_SENTENCES = (
    "As a certified Spravato center, the clinic provides the required observation on site.",
    "Staff help with insurance benefits checks and prior authorization for Spravato.",
)
INTEGRATION_SENTENCES = (
    "Integration sessions with licensed therapists are offered alongside treatment.",
    "The team works with each patient's own therapist or offers in-house integration support.",
    "Preparation and integration sessions help patients make sense of each experience.",
)

# ---------------------------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------------------------


class _Builder:
    """Holds the RNG and the uniqueness registries while one dataset is generated."""

    def __init__(self, seed: int, reference_date: date) -> None:
        self.rng = random.Random(seed)
        self.reference_date = reference_date
        self.towns = load_towns()
        self.slugs: set[str] = set()
        self.names_by_town: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.all_names: set[str] = set()
        self.phones: dict[str, set[str]] = defaultdict(set)

    # -- places ------------------------------------------------------------------------------

    def allocate_towns(self) -> list[Town]:
        """Fixed Austin-area clinics, two per state, then a population-weighted draw."""
        rng = self.rng
        by_key = {(t.city, t.state): t for t in self.towns}
        chosen = [by_key[AUSTIN]] * AUSTIN_CLINICS
        chosen += [by_key[(city, "TX")] for city in AUSTIN_NEIGHBOURS]
        by_state: dict[str, list[Town]] = defaultdict(list)
        for town in self.towns:
            by_state[town.state].append(town)
        for state in STATES:
            candidates = by_state[state]
            chosen += rng.choices(candidates, weights=[t.weight for t in candidates], k=2)
        remaining = N_IN_PERSON - len(chosen)
        chosen += rng.choices(self.towns, weights=[t.weight for t in self.towns], k=remaining)
        return chosen

    def phone(self, town: Town, place: Place) -> str:
        area = area_code_for(town.state, place)
        free = [n for n in range(100) if f"{n:02d}" not in self.phones[area]]
        line = f"{self.rng.choice(free) if free else self.rng.randrange(100):02d}"
        self.phones[area].add(line)
        return f"({area}) 555-01{line}"

    def street(self) -> str:
        rng = self.rng
        number = rng.choice((rng.randint(100, 999), rng.randint(1000, 9999), rng.randint(10, 99)))
        street = f"{number} {rng.choice(STREET_NAMES)}"
        if rng.random() < 0.45:
            street += f", Suite {rng.choice((1, 2, 2, 3, 4))}{rng.randint(0, 4)}{rng.randint(0, 9)}"
        return street

    # -- names -------------------------------------------------------------------------------

    def _candidate_name(self, town: Town, director: str, allowed: Callable[[str], bool]) -> str:
        rng = self.rng

        def pick(options: Sequence[str]) -> str:
            return rng.choice([o for o in options if allowed(o)] or ["Ketamine Clinic"])

        roll = rng.random()
        if roll < 0.18:
            region = rng.choice(REGIONAL_WORDS[town.state])
            return f"{region} Ketamine {pick(REGIONAL_SUFFIXES)}"
        if roll < 0.30 and len(town.city) <= 16:
            return f"{town.city} {pick(CITY_SUFFIXES)}"
        if roll < 0.40:
            surname = rng.choice(SURNAMES)
            return f"{surname} {pick((*SUFFIXES_BY_DIRECTOR[director], 'Ketamine Institute'))}"
        first = rng.choice(NAME_FIRST)
        second = rng.choice([s for s in NAME_SECOND if s != first])
        if roll < 0.75:
            suffix = pick(SUFFIXES_GENERAL)
        else:
            suffix = pick(SUFFIXES_BY_DIRECTOR[director])
        return f"{first} {second} {suffix}"

    def clinic_name(self, town: Town, director: str, modalities: list[str], pain: bool) -> str:
        """A fictional name unique in the town and, except city-named clinics, nationwide.

        "Infusion" only appears in names of clinics that offer IV, "Pain" only where pain
        conditions are treated.
        """

        def allowed(suffix: str) -> bool:
            if "Infusion" in suffix and "iv" not in modalities:
                return False
            return pain or "Pain" not in suffix

        key = (town.city, town.state)
        for _ in range(200):
            name = self._candidate_name(town, director, allowed)
            if name in self.names_by_town[key]:
                continue
            if name in self.all_names and not name.startswith(town.city):
                continue
            break
        self.names_by_town[key].add(name)
        self.all_names.add(name)
        return name

    def telehealth_name(self) -> str:
        rng = self.rng
        for _ in range(200):
            first = rng.choice(NAME_FIRST)
            second = rng.choice([s for s in NAME_SECOND if s != first])
            stem = f"{first}{second.lower()}" if rng.random() < 0.7 else f"{first} {second}"
            name = f"{stem} {rng.choice(TELEHEALTH_SUFFIXES)}"
            if name not in self.all_names:
                break
        self.all_names.add(name)
        return name

    def unique_slug(self, *parts: str) -> str:
        slug = unique_slug(slugify(" ".join(parts)), self.slugs.__contains__)
        self.slugs.add(slug)
        return slug

    # -- shared attributes -------------------------------------------------------------------

    def languages(self, state: str, p_spanish: float) -> list[str]:
        rng = self.rng
        if state in {"TX", "CA", "FL", "AZ", "NM", "NV"}:
            p_spanish = min(0.9, p_spanish * 1.8)
        langs = ["en"]
        if rng.random() < p_spanish:
            langs.append("es")
        if rng.random() < 0.04:
            haitian = state == "FL" and rng.random() < 0.5
            langs.append("ht" if haitian else rng.choice(OTHER_LANGUAGES))
        return langs

    def last_verified(self) -> str | None:
        """~83% within 180 days, ~15% 181–400 days old, ~2% never verified."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.02:
            return None
        days = rng.randint(0, 180) if roll < 0.85 else rng.randint(181, 400)
        return (self.reference_date - timedelta(days=days)).isoformat()

    def consultation(self, free_share: float) -> tuple[int | None, bool]:
        rng = self.rng
        if rng.random() < free_share:
            return None, True
        if rng.random() < 0.25:
            return None, False  # fee exists but is not published
        return rng.choice((50, 75, 100, 100, 125, 150, 150, 195, 200, 250, 300)), False

    def conditions(self, director: str, telehealth: bool = False) -> list[str]:
        rng = self.rng
        probs = dict(CONDITION_P_MENTAL)
        if telehealth:
            probs.update({code: p / 4 for code, p in CONDITION_P_PAIN_OTHER.items()})
            probs["suicidal-ideation"] = 0.05  # at-home programs screen these patients out
        elif director in PAIN_LEANING:
            probs.update(CONDITION_P_PAIN_LEANING)
        else:
            probs.update(CONDITION_P_PAIN_OTHER)
        picked = [c for c in CONDITION_ORDER if rng.random() < probs[c]]
        while len(picked) < 3:
            rest = {c: probs[c] for c in CONDITION_ORDER if c not in picked}
            picked.append(_weighted_pick(rng, rest))
        while len(picked) > 10:
            droppable = [c for c in picked if c != "depression"]
            picked.remove(rng.choice(droppable))
        return [c for c in CONDITION_ORDER if c in picked]

    def insurers(self, state: str, k: int) -> list[str]:
        weights = dict(INSURER_WEIGHTS)
        if state not in KAISER_STATES:
            weights["kaiser"] = 0.0
        if state not in ANTHEM_STATES:
            weights["anthem"] = 0.0
        chosen = _weighted_sample(self.rng, weights, k)
        return [code for code in INSURER_WEIGHTS if code in chosen]

    def payment(self, has_insurers: bool, has_iv: bool) -> list[str]:
        rng = self.rng
        chance = {
            "self-pay": 0.97 if has_insurers else 1.0,
            "financing": 0.5 if has_iv else 0.25,
            "hsa-fsa": 0.55,
            "superbill": 0.28 if has_insurers else 0.5,
            "sliding-scale": 0.07,
            "credit-card": 0.7,
        }
        chosen = [code for code in PAYMENT_ORDER if rng.random() < chance[code]]
        return chosen or ["self-pay"]

    # -- listings ----------------------------------------------------------------------------

    def in_person(self, town: Town) -> dict[str, Any]:
        rng = self.rng
        place = rng.choice(town.places)
        kind = "both" if rng.random() < BOTH_SHARE else "in_person"
        director = _weighted_pick(rng, DIRECTORS)
        p = MODALITY_P[director]
        modalities = [m for m in ("iv", "im", "spravato") if rng.random() < p[m]]
        sub_p = 0.5 if kind == "both" else p["sublingual"]
        if rng.random() < sub_p:
            modalities.append("sublingual")
        if not modalities:
            modalities = ["spravato" if director == "psychiatrist" else "iv"]

        no_price = rng.random() < NO_PRICE_SHARE
        offerings: list[dict[str, Any]] = []
        insurers: list[str] = []
        for modality in modalities:
            offer = _offering(modality)
            if rng.random() < 0.8:
                offer["notes"] = rng.choice(NOTES[modality])
            if modality == "iv":
                offer["price_min"] = _price(rng, 350, 800, 475)
                offer["price_max"] = _upper(
                    rng, offer["price_min"], 900, 0.45, (50, 100, 150, 200, 300)
                )
                if rng.random() < 0.4:
                    offer["series_sessions"] = 6
                    offer["series_price"] = _series(rng, offer["price_min"], 6, 0.78, 0.95)
                pain_clinic = director in PAIN_LEANING
                if rng.random() < (0.09 if pain_clinic else 0.03):
                    offer["insurance_accepted"] = True
                    offer["notes"] = "Some plans cover infusions for pain conditions such as CRPS."
            elif modality == "im":
                offer["price_min"] = _price(rng, 250, 500, 325)
                offer["price_max"] = _upper(rng, offer["price_min"], 500, 0.3, (25, 50, 100))
                if rng.random() < 0.2:
                    offer["series_sessions"] = 6
                    offer["series_price"] = _series(rng, offer["price_min"], 6, 0.8, 0.95)
            elif modality == "sublingual":
                offer["price_min"] = _price(rng, 100, 300, 150)
                offer["price_max"] = _upper(rng, offer["price_min"], 300, 0.3, (25, 50, 100))
            else:  # spravato: usually billed to insurance, sometimes a self-pay price
                offer["insurance_accepted"] = rng.random() < 0.88
                if not offer["insurance_accepted"] or rng.random() < 0.04:
                    offer["price_min"] = _price(rng, 600, 1000, 800)
                    offer["price_max"] = _upper(rng, offer["price_min"], 1000, 0.3, (50, 100, 200))
                else:
                    offer["price_min"] = offer["price_max"] = None
            if no_price:
                offer.update(
                    price_min=None, price_max=None, series_price=None, series_sessions=None
                )
            offerings.append(offer)

        if any(o["insurance_accepted"] for o in offerings):
            k = rng.randint(2, 6) if "spravato" in modalities else rng.randint(1, 4)
            insurers = self.insurers(town.state, k)

        states_served: list[str] = []
        if kind == "both":
            neighbours = list(STATE_NEIGHBOURS[town.state])
            extra = rng.sample(neighbours, min(len(neighbours), rng.randint(0, 3)))
            states_served = sorted({town.state, *extra})

        conditions = self.conditions(director)
        pain = any(code in conditions for code in ("chronic-pain", "crps", "neuropathic-pain"))
        name = self.clinic_name(town, director, modalities, pain)
        city_slug = slugify(town.city)
        name_slug = slugify(name)
        parts = [name] if name_slug.startswith(city_slug) else [name, town.city]
        if slugify(" ".join(parts)) in self.slugs:  # same name in a same-named town elsewhere
            parts.append(town.state)
        slug = self.unique_slug(*parts)
        fee, free = self.consultation(0.45)
        hours = rng.choice(HOURS_IN_PERSON)
        if rng.random() < 0.3 and "Sat" not in hours:
            hours += rng.choice(HOURS_SATURDAY)
        languages = self.languages(town.state, 0.17)
        integration = rng.random() < (0.75 if director == "psychiatrist" else 0.5)
        clinic = _field_defaults() | {
            "slug": slug,
            "name": name,
            "description": "",
            "kind": kind,
            "street": self.street(),
            "city": town.city,
            "state": town.state,
            "postal_code": place.zip_code,
            "lat": place.lat,
            "lng": place.lng,
            "geo_precision": "zip",
            "states_served": states_served,
            "phone": self.phone(town, place),
            "website": f"https://{slug}.example",
            "email": f"hello@{slug}.example" if rng.random() < 0.8 else None,
            "hours": hours,
            "languages": languages,
            "medical_director": director,
            "integration_therapy": integration,
            "spravato_rems": "spravato" in modalities,
            "accepting_new_patients": rng.random() < 0.92,
            "consultation_fee": fee,
            "free_consultation": free,
            "status": "published",
            "last_verified_at": self.last_verified(),
            "offerings": offerings,
            "conditions": conditions,
            "insurers": insurers,
            "payment": self.payment(bool(insurers), "iv" in modalities),
        }
        clinic["description"] = self.describe_clinic(clinic)
        return clinic

    def telehealth(self, town: Town, national: bool) -> dict[str, Any]:
        rng = self.rng
        place = rng.choice(town.places)
        director = _weighted_pick(rng, TELEHEALTH_DIRECTORS)
        if national:
            states = list(STATES)
        else:
            others = [s for s in STATES if s != town.state]
            states = sorted([town.state, *rng.sample(others, rng.randint(4, 39))])
        offer = _offering("sublingual")
        offer["notes"] = rng.choice(NOTES["telehealth"])
        offer["price_min"] = _price(rng, 100, 300, 150)
        offer["price_max"] = _upper(rng, offer["price_min"], 300, 0.2, (25, 50))
        if rng.random() < 0.7:
            sessions = rng.choice((4, 6, 6, 8))
            offer["series_sessions"] = sessions
            offer["series_price"] = _series(rng, offer["price_min"], sessions, 0.6, 0.9)
        name = self.telehealth_name()
        slug = self.unique_slug(name)
        fee, free = self.consultation(0.35)
        clinic = _field_defaults() | {
            "slug": slug,
            "name": name,
            "description": "",
            "kind": "telehealth",
            "street": self.street(),
            "city": town.city,
            "state": town.state,
            "postal_code": place.zip_code,
            "lat": place.lat,
            "lng": place.lng,
            "geo_precision": "zip",
            "states_served": states,
            "phone": self.phone(town, place),
            "website": f"https://{slug}.example",
            "email": f"hello@{slug}.example",
            "hours": rng.choice(
                (
                    "Appointments 7 days, 7am–10pm {tz}",
                    "Appointments Mon–Sat, 8am–8pm {tz}",
                    "Appointments 7 days, 9am–9pm {tz}",
                )
            ).format(tz=_timezone_label(place.timezone)),
            "languages": self.languages(town.state, 0.35),
            "medical_director": director,
            "integration_therapy": rng.random() < 0.8,
            "spravato_rems": False,
            "accepting_new_patients": rng.random() < 0.95,
            "consultation_fee": fee,
            "free_consultation": free,
            "status": "published",
            "last_verified_at": self.last_verified(),
            "offerings": [offer],
            "conditions": self.conditions(director, telehealth=True),
            "insurers": [],
            "payment": self.payment(False, False),
        }
        clinic["description"] = self.describe_telehealth(clinic)
        return clinic

    # -- descriptions ------------------------------------------------------------------------

    def describe_clinic(self, c: dict[str, Any]) -> str:
        rng = self.rng
        mods = [o["modality"] for o in c["offerings"]]
        labels = {
            "iv": "IV ketamine infusions",
            "im": "intramuscular ketamine",
            "spravato": "Spravato (esketamine) treatment",
            "sublingual": "at-home sublingual ketamine",
        }
        offered = [labels[m] for m in mods]
        listing = offered[-1]
        if len(offered) > 1:
            listing = f"{', '.join(offered[:-1])} and {offered[-1]}"
        who = DIRECTOR_PHRASE[c["medical_director"]]
        openers = (
            f"{c['name']} offers {listing} in {c['city']}.",
            f"{c['name']} is a {c['city']} practice led by {who}, offering {listing}.",
            f"Located in {c['city']}, {c['name']} provides {listing} for adults.",
            f"Patients in the {c['city']} area can receive {listing} at {c['name']}.",
        )
        extras: list[str] = []
        if "iv" in mods:
            extras.append(rng.choice(IV_SENTENCES))
        if "spravato" in mods:
            extras.append(rng.choice(SPRAVATO_SENTENCES))
        if "im" in mods and "iv" not in mods:
            extras.append("Intramuscular sessions are shorter than infusions and need no IV line.")
        if c["integration_therapy"]:
            extras.append(rng.choice(INTEGRATION_SENTENCES))
        else:
            extras.append("The team coordinates care with patients' existing providers.")
        if "es" in c["languages"]:
            extras.append("Spanish-speaking staff are available.")
        if c["free_consultation"]:
            extras.append("A free consultation is offered to discuss whether treatment is a fit.")
        if any(code in c["conditions"] for code in ("chronic-pain", "crps", "neuropathic-pain")):
            extras.append("Separate protocols are used for chronic pain conditions.")
        rng.shuffle(extras)
        sentences = [rng.choice(openers), *extras[: rng.randint(1, 3)]]
        return " ".join(sentences)

    def describe_telehealth(self, c: dict[str, Any]) -> str:
        rng = self.rng
        n = len(c["states_served"])
        reach = "nationwide" if n == len(STATES) else f"in {n} states"
        sentences = [
            rng.choice(
                (
                    f"{c['name']} is a telehealth program offering at-home sublingual ketamine "
                    f"to adults {reach}.",
                    f"{c['name']} provides clinician-guided, at-home ketamine treatment {reach}.",
                    f"Based in {c['city']}, {c['state']}, {c['name']} offers at-home ketamine "
                    f"programs {reach}.",
                )
            ),
            rng.choice(
                (
                    "Patients complete a video evaluation before any prescription is written.",
                    "Each program starts with a medical and psychiatric screening by video.",
                )
            ),
        ]
        if c["integration_therapy"]:
            sentences.append("Guided preparation and integration calls are part of every plan.")
        if rng.random() < 0.5:
            sentences.append("A trusted support person must be present during at-home sessions.")
        return " ".join(sentences[:4])


def _assign_statuses(rng: random.Random, clinics: list[dict[str, Any]]) -> None:
    """Mark a handful of listings unpublished.

    One Austin clinic is always ``pending`` and one telehealth program ``draft`` (demo searches
    must hide them); the rest are drawn from states with at least four clinics so every state
    keeps published listings, and never from the Austin area, whose demo listings stay visible.
    """
    austin = [c for c in clinics if (c["city"], c["state"]) == AUSTIN and c["kind"] != "telehealth"]
    rng.choice(austin)["status"] = "pending"
    rng.choice([c for c in clinics if c["kind"] == "telehealth"])["status"] = "draft"
    per_state = Counter(c["state"] for c in clinics if c["kind"] != "telehealth")
    eligible = [
        c
        for c in clinics
        if c["kind"] != "telehealth"
        and per_state[c["state"]] >= 4
        and c["status"] == "published"
        and (c["city"], c["state"]) != AUSTIN
        and not (c["state"] == "TX" and c["city"] in AUSTIN_NEIGHBOURS)
    ]
    remaining = dict(UNPUBLISHED_COUNTS)
    remaining["pending"] -= 1
    remaining["draft"] -= 1
    statuses = [status for status, n in remaining.items() for _ in range(n)]
    for clinic, status in zip(rng.sample(eligible, len(statuses)), statuses, strict=True):
        clinic["status"] = status


def generate_demo(seed: int = DEFAULT_SEED, reference_date: date = REFERENCE_DATE) -> list[dict]:
    """Return the demo listings: in-person clinics (sorted by state, city, name), then telehealth.

    Deterministic for a given ``seed`` and ``reference_date``; every dict has exactly the keys in
    ``CLINIC_KEYS`` and every offering exactly ``OFFERING_KEYS``.
    """
    builder = _Builder(seed, reference_date)
    clinics = [builder.in_person(town) for town in builder.allocate_towns()]
    clinics.sort(key=lambda c: (c["state"], c["city"], c["name"]))

    # Telehealth headquarters favour big metros even more (effective exponent 2.0): that is where
    # such companies tend to register, and it keeps their mailing towns recognisable.
    # Only towns with 10+ ZIPs qualify, so no program is "headquartered" in a hamlet.
    towns = [t for t in builder.towns if len(t.places) >= 10]
    hq_towns = builder.rng.choices(towns, weights=[t.weight**1.25 for t in towns], k=N_TELEHEALTH)
    programs = [builder.telehealth(town, national=i < 2) for i, town in enumerate(hq_towns)]
    programs.sort(key=lambda c: c["name"])

    listings = clinics + programs
    _assign_statuses(builder.rng, listings)
    return listings


# ---------------------------------------------------------------------------------------------
# Summary statistics
# ---------------------------------------------------------------------------------------------


def summarize(listings: list[dict[str, Any]]) -> str:
    """Human-readable statistics about a generated dataset."""
    lines: list[str] = []
    add = lines.append
    in_person = [c for c in listings if c["kind"] != "telehealth"]
    tele = [c for c in listings if c["kind"] == "telehealth"]
    add(
        f"listings: {len(listings)} (in-person incl. both: {len(in_person)}, "
        f"telehealth: {len(tele)})"
    )
    add(f"kind: {dict(sorted(Counter(c['kind'] for c in listings).items()))}")
    add(f"status: {dict(sorted(Counter(c['status'] for c in listings).items()))}")
    by_state = Counter(c["state"] for c in in_person)
    add(f"states with in-person clinics: {len(by_state)}")
    add("in-person by state: " + ", ".join(f"{s} {n}" for s, n in sorted(by_state.items())))
    towns = Counter((c["city"], c["state"]) for c in in_person)
    add(
        f"distinct towns: {len(towns)}; busiest: "
        + ", ".join(f"{c} {s} {n}" for (c, s), n in towns.most_common(10))
    )
    austin = [c for c in in_person if (c["city"], c["state"]) == AUSTIN]
    lat0, lng0 = 30.2672, -97.7431
    near = [
        c
        for c in in_person
        if (c["city"], c["state"]) != AUSTIN and miles_between(lat0, lng0, c["lat"], c["lng"]) <= 50
    ]
    add(
        f"Austin TX: {len(austin)}; other towns within 50 mi of Austin: {len(near)} "
        f"({', '.join(sorted({c['city'] for c in near}))})"
    )
    n = len(in_person)
    mod_counts = Counter(o["modality"] for c in in_person for o in c["offerings"])
    add(
        "in-person modality share: "
        + ", ".join(f"{m} {mod_counts[m]} ({mod_counts[m] / n:.0%})" for m in MODALITY_ORDER)
    )
    tele_mods = Counter(o["modality"] for c in tele for o in c["offerings"])
    add(f"telehealth modalities: {dict(tele_mods)}")
    for m in MODALITY_ORDER:
        offers = [o for c in listings for o in c["offerings"] if o["modality"] == m]
        priced = [o for o in offers if o["price_min"] is not None]
        series = [o for o in offers if o["series_price"] is not None]
        insured = [o for o in offers if o["insurance_accepted"]]
        if priced:
            rng_txt = (
                f"min ${min(o['price_min'] for o in priced)}–"
                f"${max(o['price_min'] for o in priced)}, "
                f"max up to ${max(o['price_max'] for o in priced)}"
            )
        else:
            rng_txt = "no prices"
        add(
            f"  {m:<10} offerings {len(offers):>3}, priced {len(priced):>3} ({rng_txt}), "
            f"series {len(series)}, insurance {len(insured)} ({len(insured) / len(offers):.0%})"
        )
    unpriced = [c for c in listings if all(o["price_min"] is None for o in c["offerings"])]
    add(f"listings without any price: {len(unpriced)} ({len(unpriced) / len(listings):.0%})")
    with_ins = [c for c in listings if c["insurers"]]
    add(
        f"listings accepting insurers: {len(with_ins)}; insurer use: "
        f"{dict(Counter(i for c in listings for i in c['insurers']).most_common())}"
    )
    add(f"directors: {dict(Counter(c['medical_director'] for c in listings).most_common())}")
    languages = Counter(lang for c in listings for lang in c["languages"])
    add(f"languages: {dict(languages.most_common())}")
    add(f"conditions: {dict(Counter(x for c in listings for x in c['conditions']).most_common())}")
    add(f"payment: {dict(Counter(x for c in listings for x in c['payment']).most_common())}")
    verified = [c["last_verified_at"] for c in listings]
    cutoff = (REFERENCE_DATE - timedelta(days=180)).isoformat()
    stale = [v for v in verified if v is not None and v < cutoff]
    add(
        f"last_verified_at: None {verified.count(None)}, older than 180 days {len(stale)} "
        f"({len(stale) / len(listings):.0%})"
    )
    add(
        f"free consultation: {sum(c['free_consultation'] for c in listings)}, "
        f"accepting new patients: {sum(c['accepting_new_patients'] for c in listings)}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    import time

    started = time.perf_counter()
    data = generate_demo()
    elapsed = time.perf_counter() - started
    print(summarize(data))
    print(f"generated in {elapsed:.2f}s (seed {DEFAULT_SEED}, reference date {REFERENCE_DATE})")
