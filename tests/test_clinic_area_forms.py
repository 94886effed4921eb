"""The listing form's fixed lists: languages ticked by name, states in name order.

Both store codes (`Clinic.languages`, `Clinic.states_served`); the form shows the
names people look for. Runs on SQLite and PostgreSQL (`site`), CSRF on.
"""

from __future__ import annotations

import re

import html5lib

from directory.geo import US_STATES
from directory.models import Revision
from directory.models.languages import LANGUAGE_NAMES
from tests.helpers import (
    client_for,
    count,
    last_revision,
    listing_post,
    post,
    record_of,
    text,
)

_CODE = re.compile(r"^[a-z]{2,3}$")


def _checkboxes(html: str, name: str) -> list[tuple[str, str, bool]]:
    """(value, label text, checked) of the checkboxes called `name`, in page order."""
    document = html5lib.parse(html, namespaceHTMLElements=False)
    labels = {
        label.get("for"): "".join(label.itertext()).strip() for label in document.iter("label")
    }
    return [
        (box.get("value"), labels.get(box.get("id"), ""), box.get("checked") is not None)
        for box in document.iter("input")
        if box.get("name") == name and box.get("type") == "checkbox"
    ]


def _options(html: str, name: str) -> list[str]:
    """The option labels of the select called `name`, in page order."""
    document = html5lib.parse(html, namespaceHTMLElements=False)
    (select,) = [s for s in document.iter("select") if s.get("name") == name]
    return ["".join(option.itertext()).strip() for option in select.iter("option")]


def _edit(site):
    return client_for(site.app, site.clinic_user), f"/admin/my-listings/{site.a}/edit"


def test_the_language_list_is_codes_with_names_sorted_by_name():
    assert all(_CODE.match(code) for code in LANGUAGE_NAMES)
    names = list(LANGUAGE_NAMES.values())
    assert names == sorted(names) and len(set(names)) == len(names)
    assert {"en", "es", "zh", "vi", "asl"} <= set(LANGUAGE_NAMES)


def test_languages_are_ticked_by_name_and_the_listing_s_own_are_ticked(site):
    owner, url = _edit(site)
    stored = record_of(site.app, site.a)["languages"]
    assert stored, "the demo listing names at least one language"
    boxes = _checkboxes(text(owner.get(url)), "languages")
    assert [(value, label) for value, label, _ in boxes] == list(LANGUAGE_NAMES.items())
    assert ("en", "English") in [(value, label) for value, label, _ in boxes]
    assert sorted(value for value, _, checked in boxes if checked) == sorted(stored)
    assert not any(_CODE.match(label) for _, label, _ in boxes), "names, not codes"


def test_ticked_languages_are_stored_as_codes(site):
    owner, url = _edit(site)
    data = {**listing_post(record_of(site.app, site.a)), "languages": ["vi", "es", "en"]}
    response = post(owner, url, data, url)
    assert response.status_code == 302, text(response)
    assert last_revision(site.app, Revision.clinic_id == site.a).payload["languages"] == [
        "en",
        "es",
        "vi",
    ]


def test_a_refused_form_keeps_every_ticked_language_state_and_typed_value(site):
    owner, url = _edit(site)
    before = count(site.app, Revision)
    good = listing_post(record_of(site.app, site.a))
    data = {
        **good,
        "kind": "both",
        "languages": ["fr", "ko"],
        "states_served": ["NM", "TX"],
        "phone": "(907) 555-0199",
        "postal_code": "00000",  # refused: no such ZIP code
    }
    response = post(owner, url, data, url)
    assert response.status_code == 400
    html = text(response)
    assert "We do not know the ZIP code 00000" in html
    assert [v for v, _, checked in _checkboxes(html, "languages") if checked] == ["fr", "ko"]
    assert [v for v, _, checked in _checkboxes(html, "states_served") if checked] == [
        "NM",
        "TX",
    ]
    assert 'value="(907) 555-0199"' in html and 'value="00000"' in html
    assert f'value="{good["name"]}"' in html.replace("&#39;", "'")
    assert count(site.app, Revision) == before


def test_states_are_offered_in_order_of_name(site):
    owner, url = _edit(site)
    html = text(owner.get(url))
    by_name = [f"{name} ({code})" for code, name in sorted(US_STATES.items(), key=lambda s: s[1])]
    assert _options(html, "state") == ["Choose a state", *by_name]
    served = [label for _, label, _ in _checkboxes(html, "states_served")]
    assert served == by_name
    # DC and the territories fall where their names do, not where their codes would.
    assert served.index("Delaware (DE)") < served.index("District of Columbia (DC)")
    assert served.index("District of Columbia (DC)") < served.index("Florida (FL)")
    assert served.index("Georgia (GA)") < served.index("Guam (GU)") < served.index("Hawaii (HI)")
    assert served[:3] == ["Alabama (AL)", "Alaska (AK)", "American Samoa (AS)"]
