"""Tests for the deterministic demo-data generator in ``seed_data/generate_demo.py``.

The generator lives in a plain data folder (not a package), so it is loaded by file path, the
same way the app loads it.
"""

import importlib.util
import json
import re
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import zipcodes

from tests.helpers import sphere_miles

SEED_DIR = Path(__file__).resolve().parent.parent / "seed_data"
PHONE_RE = re.compile(r"^\(\d{3}\) 555-01\d{2}$")
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MEDICAL_CLAIM_RE = re.compile(r"\b(cures?|cured|curing|guaranteed?)\b", re.IGNORECASE)
ALL_STATES = {
    "AK", "AL", "AR", "AZ", "CA", "CO", "CT", "DC", "DE", "FL", "GA", "HI", "IA", "ID", "IL",
    "IN", "KS", "KY", "LA", "MA", "MD", "ME", "MI", "MN", "MO", "MS", "MT", "NC", "ND", "NE",
    "NH", "NJ", "NM", "NV", "NY", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT",
    "VA", "VT", "WA", "WI", "WV", "WY",
}  # fmt: skip
EXPECTED_KEYS = {
    "slug", "name", "description", "kind", "street", "city", "state", "postal_code", "lat",
    "lng", "geo_precision", "states_served", "phone", "website", "email", "hours", "languages",
    "medical_director", "integration_therapy", "spravato_rems", "accepting_new_patients",
    "consultation_fee", "free_consultation", "status", "last_verified_at", "offerings",
    "conditions", "insurers", "payment", "good_faith_estimate", "npi", "clinician_npis",
    "licenses", "medical_director_name",
}  # fmt: skip
OFFERING_KEYS = {
    "modality", "price_min", "price_max", "series_price", "series_sessions",
    "insurance_accepted", "includes", "notes",
}  # fmt: skip
DIRECTORS = {
    "anesthesiologist", "psychiatrist", "emergency-physician", "crna", "nurse-practitioner",
    "other",
}  # fmt: skip
# (lowest allowed price_min, highest allowed price_min, highest allowed price_max)
PRICE_BOUNDS = {
    "iv": (350, 800, 900),
    "im": (250, 500, 500),
    "sublingual": (100, 300, 300),
    "spravato": (600, 1000, 1000),
}


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_demo", SEED_DIR / "generate_demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _vocab(name: str) -> list[dict[str, Any]]:
    return json.loads((SEED_DIR / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    return _load_generator()


@pytest.fixture(scope="module")
def listings(gen: ModuleType) -> list[dict[str, Any]]:
    return gen.generate_demo()


@pytest.fixture(scope="module")
def in_person(listings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in listings if c["kind"] in ("in_person", "both")]


@pytest.fixture(scope="module")
def telehealth(listings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in listings if c["kind"] == "telehealth"]


def _offers(clinics: list[dict[str, Any]], modality: str) -> list[dict[str, Any]]:
    return [o for c in clinics for o in c["offerings"] if o["modality"] == modality]


# -- vocabularies ---------------------------------------------------------------------------


def test_vocabulary_files_are_well_formed() -> None:
    modalities = _vocab("modalities.json")
    assert [m["code"] for m in modalities] == ["iv", "im", "spravato", "sublingual"]
    for m in modalities:
        assert set(m) == {"code", "name", "short_name", "description", "sort_order"}
        assert m["name"] and m["short_name"] and m["description"].endswith(".")
    assert sorted(m["sort_order"] for m in modalities) == [m["sort_order"] for m in modalities]

    conditions = _vocab("conditions.json")
    assert len(conditions) == 17
    for c in conditions:
        assert set(c) == {"code", "name", "synonyms"}
        assert SLUG_RE.match(c["code"]) and c["synonyms"]
        assert all(s == s.lower() for s in c["synonyms"])
    by_code = {c["code"]: c for c in conditions}
    assert {"post-traumatic stress", "post traumatic stress disorder", "trauma"} <= set(
        by_code["ptsd"]["synonyms"]
    )
    assert {"complex regional pain syndrome", "rsd"} <= set(by_code["crps"]["synonyms"])

    insurers = _vocab("insurers.json")
    payments = _vocab("payment_options.json")
    assert len(insurers) == 12 and len(payments) == 6
    for item in insurers + payments:
        assert set(item) == {"code", "name"}
    for vocab in (modalities, conditions, insurers, payments):
        codes = [item["code"] for item in vocab]
        assert len(codes) == len(set(codes))
    assert not (SEED_DIR / "__init__.py").exists()


def test_every_code_used_exists_in_vocabularies(listings: list[dict[str, Any]]) -> None:
    modalities = {m["code"] for m in _vocab("modalities.json")}
    conditions = {c["code"] for c in _vocab("conditions.json")}
    insurers = {i["code"] for i in _vocab("insurers.json")}
    payments = {p["code"] for p in _vocab("payment_options.json")}
    used_modalities = {o["modality"] for c in listings for o in c["offerings"]}
    used_conditions = {x for c in listings for x in c["conditions"]}
    used_insurers = {x for c in listings for x in c["insurers"]}
    used_payments = {x for c in listings for x in c["payment"]}
    assert used_modalities <= modalities and used_modalities == modalities
    assert used_conditions <= conditions and len(used_conditions) >= 15
    assert used_insurers <= insurers and len(used_insurers) >= 10
    assert used_payments <= payments and used_payments == payments
    assert {c["medical_director"] for c in listings} <= DIRECTORS


# -- shape and determinism ------------------------------------------------------------------


def test_exact_keys(gen: ModuleType, listings: list[dict[str, Any]]) -> None:
    assert set(gen.CLINIC_KEYS) == EXPECTED_KEYS and set(gen.OFFERING_KEYS) == OFFERING_KEYS
    for c in listings:
        assert set(c) == EXPECTED_KEYS, c["slug"]
        assert c["offerings"], c["slug"]
        for o in c["offerings"]:
            assert set(o) == OFFERING_KEYS, c["slug"]


def test_deterministic(gen: ModuleType, listings: list[dict[str, Any]]) -> None:
    again = gen.generate_demo()
    assert again == listings
    assert gen.generate_demo(seed=gen.DEFAULT_SEED) == listings
    assert gen.generate_demo(seed=1) != listings


def test_reference_date_only_shifts_verification_dates(gen: ModuleType) -> None:
    later = gen.generate_demo(reference_date=gen.REFERENCE_DATE + timedelta(days=10))
    base = gen.generate_demo()
    assert [c["slug"] for c in later] == [c["slug"] for c in base]
    for a, b in zip(base, later, strict=True):
        if a["last_verified_at"] is None:
            assert b["last_verified_at"] is None
        else:
            shift = date.fromisoformat(b["last_verified_at"]) - date.fromisoformat(
                a["last_verified_at"]
            )
            assert shift == timedelta(days=10)


def test_slugs_unique_and_names_unique_per_city(listings: list[dict[str, Any]]) -> None:
    slugs = [c["slug"] for c in listings]
    assert len(slugs) == len(set(slugs))
    assert all(SLUG_RE.match(s) for s in slugs)
    per_city = Counter((c["city"], c["state"], c["name"]) for c in listings)
    assert max(per_city.values()) == 1
    for c in listings:
        if c["kind"] != "telehealth":
            assert c["slug"].startswith(re.sub(r"[^a-z0-9]+", "-", c["name"].lower())[:8])


# -- coverage ---------------------------------------------------------------------------------


def test_in_person_coverage(in_person: list[dict[str, Any]]) -> None:
    assert len(in_person) >= 640
    published = [c for c in in_person if c["status"] == "published"]
    assert len(published) >= 600
    assert len({c["state"] for c in published}) >= 45
    per_state = Counter(c["state"] for c in in_person)
    assert set(per_state) == ALL_STATES
    assert min(per_state.values()) >= 2
    kinds = Counter(c["kind"] for c in in_person)
    assert 0.04 <= kinds["both"] / len(in_person) <= 0.14
    assert len({(c["city"], c["state"]) for c in in_person}) >= 300  # small towns too


def test_austin_area(in_person: list[dict[str, Any]]) -> None:
    published = [c for c in in_person if c["status"] == "published"]
    austin = [c for c in published if (c["city"], c["state"]) == ("Austin", "TX")]
    assert len(austin) >= 4
    nearby = {
        c["city"]
        for c in published
        if c["city"] != "Austin" and sphere_miles(30.2672, -97.7431, c["lat"], c["lng"]) <= 50
    }
    assert len(nearby) >= 3
    assert {"Round Rock", "San Marcos", "Georgetown"} <= nearby


def test_telehealth_programs(telehealth: list[dict[str, Any]]) -> None:
    served = [c for c in telehealth if c["states_served"]]
    assert len(served) >= 15
    national = 0
    for c in telehealth:
        states = c["states_served"]
        assert set(states) <= ALL_STATES and len(states) == len(set(states))
        assert states == sorted(states)
        if set(states) == ALL_STATES:
            national += 1
        else:
            assert 5 <= len(states) <= 40
        assert c["state"] in states
        assert [o["modality"] for o in c["offerings"]] == ["sublingual"]
        assert not c["spravato_rems"]
        assert c["hours"].startswith("Appointments")
    assert national >= 2


def test_states_served_by_kind(in_person: list[dict[str, Any]]) -> None:
    for c in in_person:
        if c["kind"] == "in_person":
            assert c["states_served"] == []
        else:
            assert c["state"] in c["states_served"]
            assert 1 <= len(c["states_served"]) <= 4


# -- geography and contact details ------------------------------------------------------------


def test_coordinates_are_zip_centroids(listings: list[dict[str, Any]]) -> None:
    for c in listings:
        assert c["geo_precision"] == "zip"
        matches = zipcodes.matching(c["postal_code"])
        assert len(matches) == 1, c["postal_code"]
        rec = matches[0]
        assert rec["zip_code_type"] == "STANDARD" and rec["active"]
        assert (rec["city"], rec["state"]) == (c["city"], c["state"])
        assert isinstance(c["lat"], float) and isinstance(c["lng"], float)
        assert c["lat"] == float(rec["lat"]) and c["lng"] == float(rec["long"])


def test_phone_numbers_are_fictional_with_real_area_codes(listings: list[dict[str, Any]]) -> None:
    for c in listings:
        assert PHONE_RE.match(c["phone"]), c["phone"]
        area_codes = zipcodes.matching(c["postal_code"])[0]["area_codes"]
        if area_codes:
            assert c["phone"][1:4] in area_codes, (c["slug"], c["phone"], area_codes)
    pensacola = [c for c in listings if (c["city"], c["state"]) == ("Pensacola", "FL")]
    assert all(not c["phone"].startswith("(251)") for c in pensacola)  # 251 is Mobile, AL


def test_websites_and_emails_use_example_tld(listings: list[dict[str, Any]]) -> None:
    for c in listings:
        assert re.match(r"^https://[a-z0-9-]+\.example$", c["website"]), c["website"]
        domain = c["website"].removeprefix("https://")
        assert c["email"] is None or c["email"] == f"hello@{domain}"
    assert any(c["email"] is None for c in listings)
    websites = [c["website"] for c in listings]
    assert len(websites) == len(set(websites))


def test_contact_text_fields(listings: list[dict[str, Any]]) -> None:
    for c in listings:
        assert re.match(r"^\d+ \S.*", c["street"]), c["street"]
        assert c["hours"] and c["languages"][0] == "en"
        assert 2 <= c["description"].count(". ") + 1 <= 4, c["description"]
        # Word boundaries: real towns such as Moncure, NC must not trip the check.
        assert not MEDICAL_CLAIM_RE.search(c["description"]), c["description"]
    spanish = sum("es" in c["languages"] for c in listings) / len(listings)
    assert 0.12 <= spanish <= 0.30


# -- offerings and prices ---------------------------------------------------------------------


def test_price_ranges_per_modality(listings: list[dict[str, Any]]) -> None:
    for c in listings:
        for o in c["offerings"]:
            lo, hi, cap = PRICE_BOUNDS[o["modality"]]
            pmin, pmax = o["price_min"], o["price_max"]
            assert (pmin is None) == (pmax is None), c["slug"]
            if pmin is not None:
                assert lo <= pmin <= hi, (c["slug"], o)
                assert pmin <= pmax <= cap, (c["slug"], o)
                assert pmin % 5 == 0 and pmax % 5 == 0
            assert (o["series_price"] is None) == (o["series_sessions"] is None)
            if o["series_price"] is not None:
                assert pmin is not None
                assert o["series_sessions"] >= 2
                assert o["series_price"] < o["series_sessions"] * pmin, (c["slug"], o)


def test_modality_mix(in_person: list[dict[str, Any]]) -> None:
    n = len(in_person)
    share = {m: len(_offers(in_person, m)) / n for m in PRICE_BOUNDS}
    assert 0.65 <= share["iv"] <= 0.85
    assert 0.25 <= share["im"] <= 0.45
    assert 0.25 <= share["spravato"] <= 0.45
    assert 0.07 <= share["sublingual"] <= 0.25
    full_menu = [c for c in in_person if len(c["offerings"]) == 4]
    assert len(full_menu) < 0.1 * n
    for c in in_person:
        mods = [o["modality"] for o in c["offerings"]]
        assert len(mods) == len(set(mods))


def test_iv_series_pricing(listings: list[dict[str, Any]]) -> None:
    priced_iv = [o for o in _offers(listings, "iv") if o["price_min"] is not None]
    with_series = [o for o in priced_iv if o["series_price"] is not None]
    assert 0.25 <= len(with_series) / len(priced_iv) <= 0.55
    assert all(o["series_sessions"] == 6 for o in with_series)


def test_spravato_pricing(listings: list[dict[str, Any]]) -> None:
    offers = _offers(listings, "spravato")
    priced = [o for o in offers if o["price_min"] is not None]
    assert 0.05 <= len(priced) / len(offers) <= 0.30
    billed = [o for o in offers if o["insurance_accepted"] and o["price_min"] is None]
    assert len(billed) > len(offers) / 2


def test_some_clinics_publish_no_price(listings: list[dict[str, Any]]) -> None:
    unpriced = [c for c in listings if all(o["price_min"] is None for o in c["offerings"])]
    assert 0.05 <= len(unpriced) / len(listings) <= 0.20
    # Not only Spravato-billed-to-insurance clinics: some cash clinics hide prices too.
    assert any(o["modality"] == "iv" for c in unpriced for o in c["offerings"])


def test_insurance_rare_for_iv_common_for_spravato(listings: list[dict[str, Any]]) -> None:
    iv = _offers(listings, "iv")
    spravato = _offers(listings, "spravato")
    iv_insured = sum(o["insurance_accepted"] for o in iv) / len(iv)
    spravato_insured = sum(o["insurance_accepted"] for o in spravato) / len(spravato)
    assert 0 < iv_insured < 0.15
    assert spravato_insured > 0.60
    for o in _offers(listings, "im") + _offers(listings, "sublingual"):
        assert not o["insurance_accepted"]


def test_insurers_consistent_with_offerings(listings: list[dict[str, Any]]) -> None:
    for c in listings:
        insured = any(o["insurance_accepted"] for o in c["offerings"])
        assert bool(c["insurers"]) == insured, c["slug"]
        assert len(c["insurers"]) == len(set(c["insurers"]))
        if "spravato" in [o["modality"] for o in c["offerings"]] and insured:
            assert 2 <= len(c["insurers"]) <= 6
    with_insurers = sum(bool(c["insurers"]) for c in listings) / len(listings)
    assert with_insurers < 0.5  # "usually []"
    assert all(not c["insurers"] for c in listings if c["kind"] == "telehealth")


# -- other attributes -------------------------------------------------------------------------


def test_flags_and_fees(listings: list[dict[str, Any]]) -> None:
    for c in listings:
        offers_spravato = any(o["modality"] == "spravato" for o in c["offerings"])
        assert c["spravato_rems"] == offers_spravato
        if c["free_consultation"]:
            assert c["consultation_fee"] is None
        if c["consultation_fee"] is not None:
            assert isinstance(c["consultation_fee"], int) and c["consultation_fee"] > 0
        assert "self-pay" in c["payment"] or c["insurers"]
        for field in ("integration_therapy", "accepting_new_patients", "free_consultation"):
            assert isinstance(c[field], bool)
    accepting = sum(c["accepting_new_patients"] for c in listings) / len(listings)
    assert accepting > 0.8
    self_pay = sum("self-pay" in c["payment"] for c in listings) / len(listings)
    assert self_pay > 0.95


def test_conditions(listings: list[dict[str, Any]]) -> None:
    for c in listings:
        assert 3 <= len(c["conditions"]) <= 10, c["slug"]
        assert len(c["conditions"]) == len(set(c["conditions"]))
    depression = sum("depression" in c["conditions"] for c in listings) / len(listings)
    assert depression >= 0.9

    def pain_share(clinics: list[dict[str, Any]]) -> float:
        return sum("chronic-pain" in c["conditions"] for c in clinics) / len(clinics)

    anesthesia = [c for c in listings if c["medical_director"] == "anesthesiologist"]
    psychiatry = [c for c in listings if c["medical_director"] == "psychiatrist"]
    assert pain_share(anesthesia) > pain_share(psychiatry) + 0.2


def test_statuses(gen: ModuleType, listings: list[dict[str, Any]]) -> None:
    statuses = Counter(c["status"] for c in listings)
    assert set(statuses) == {"published", "pending", "draft", "suspended"}
    assert 0.95 <= statuses["published"] / len(listings) <= 0.99
    austin = [c for c in listings if (c["city"], c["state"]) == ("Austin", "TX")]
    assert any(c["status"] != "published" for c in austin)
    assert any(c["status"] != "published" for c in listings if c["kind"] == "telehealth")


def test_last_verified_dates(gen: ModuleType, listings: list[dict[str, Any]]) -> None:
    ref = gen.REFERENCE_DATE
    values = [c["last_verified_at"] for c in listings]
    assert 0 < values.count(None) <= 0.05 * len(values)
    ages = [(ref - date.fromisoformat(v)).days for v in values if v is not None]
    assert all(0 <= age <= 400 for age in ages)
    old = sum(age > 180 for age in ages) / len(values)
    assert 0.08 <= old <= 0.25
