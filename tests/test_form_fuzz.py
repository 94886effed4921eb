"""Any value typed into any form gets a clear answer and is never lost.

Hypothesis types arbitrary text into the account forms, the clinic's listing form
and the claim form (CSRF on, real database). Every answer must be a success, a
429, or the form again with status 400, an error message beside a field and the
typed value still in its field; a refused form stores nothing.
"""

from __future__ import annotations

import itertools

import html5lib
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from directory.admin.forms import OFFER_PREFIX
from directory.models import Revision
from tests.helpers import client_for, count, csrf_token, form_tokens, listing_post, record_of

# Text of every script, control characters, quotes, angle brackets and ampersands
# included (lone surrogates cannot be sent as UTF-8 at all).
typed_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=300)
FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_addresses = (f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}" for i in itertools.count(1))

LISTING_FIELDS = [
    "name",
    "description",
    "street",
    "city",
    "state",
    "postal_code",
    "phone",
    "website",
    "email",
    "hours",
    "languages",
    "consultation_fee",
    f"{OFFER_PREFIX}iv-price_min",
    f"{OFFER_PREFIX}iv-price_max",
    f"{OFFER_PREFIX}iv-notes",
]


def _field_value(page: str, name: str) -> str | None:
    """What the re-rendered form holds in field `name` (None when the field is absent)."""
    document = html5lib.parse(page, namespaceHTMLElements=False)
    for element in document.iter():
        if element.tag not in ("input", "textarea", "select") or element.get("name") != name:
            continue
        if element.tag == "textarea":
            return element.text or ""
        if element.tag == "select":
            chosen = [o.get("value") for o in element.iter("option") if o.get("selected")]
            return chosen[0] if chosen else ""
        return element.get("value") or ""
    return None


def _as_parsed(value: str | None) -> str | None:
    """`value` as an HTML parser reads it back: NUL becomes U+FFFD, line breaks are
    normalized to \\n, and a textarea drops one leading line break."""
    if value is None:
        return None
    value = value.replace("\x00", "\ufffd").replace("\r\n", "\n").replace("\r", "\n")
    return value.removeprefix("\n")


def _assert_refused_clearly(response, typed: dict[str, str], selects: tuple[str, ...] = ()):
    page = response.get_data(as_text=True)
    assert "field-error" in page, "a refused form says what is wrong, beside the field"
    for name, value in typed.items():
        if name in selects:  # a select cannot hold an unknown option; the error names it
            continue
        kept = _field_value(page, name)
        # Fields strip surrounding whitespace (and account emails are lower-cased);
        # anything else typed must come back.
        expected = {_as_parsed(v) for v in (value, value.strip(), value.strip().lower())}
        assert _as_parsed(kept) in expected, (name, value, kept)


def _client_from_a_new_address(app):
    """Each example from its own address, so the per-address limits stay out of the way."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = next(_addresses)
    return client


@pytest.fixture
def anonymous(fresh_app):
    return fresh_app


@FUZZ
@given(email=typed_text, password=typed_text, confirm=typed_text)
def test_sign_up_with_any_values(anonymous, email, password, confirm):
    client = _client_from_a_new_address(anonymous)
    typed = {"email": email}
    data = {"email": email, "password": password, "confirm": confirm}
    data["csrf_token"] = csrf_token(client, "/account/sign-up")
    response = client.post("/account/sign-up", data=data)
    assert response.status_code in (200, 400, 429), response.status_code
    if response.status_code == 400:
        _assert_refused_clearly(response, typed)


@FUZZ
@given(email=typed_text, password=typed_text, next_url=typed_text)
def test_sign_in_with_any_values(anonymous, email, password, next_url):
    client = _client_from_a_new_address(anonymous)
    data = {"email": email, "password": password, "next": next_url}
    data["csrf_token"] = csrf_token(client, "/account/sign-in")
    response = client.post("/account/sign-in", data=data)
    assert response.status_code in (400, 429), response.status_code  # no such account
    page = response.get_data(as_text=True)
    assert "field-error" in page or "Email or password is incorrect." in page
    typed = {_as_parsed(v) for v in (email, email.strip(), email.strip().lower())}
    assert _as_parsed(_field_value(page, "email")) in typed


@FUZZ
@given(email=typed_text)
def test_reset_request_with_any_values(anonymous, email):
    client = _client_from_a_new_address(anonymous)
    data = {"email": email, "csrf_token": csrf_token(client, "/account/reset")}
    response = client.post("/account/reset", data=data)
    assert response.status_code in (200, 400, 429), response.status_code
    if response.status_code == 400:
        _assert_refused_clearly(response, {"email": email})


@FUZZ
@given(field=st.sampled_from(LISTING_FIELDS), value=typed_text)
def test_listing_form_with_any_value_in_any_field(site, field, value):
    owner = client_for(site.app, site.clinic_user)
    url = f"/admin/my-listings/{site.a}/edit"
    before = count(site.app, Revision)
    data = {**listing_post(record_of(site.app, site.a)), field: value}
    data.update(form_tokens(owner, url))
    response = owner.post(url, data=data)
    assert response.status_code in (200, 302, 400), response.status_code
    if response.status_code == 400:
        _assert_refused_clearly(response, {field: value}, selects=("state", "languages"))
        assert count(site.app, Revision) == before, "nothing invalid is stored"
    elif response.status_code == 302:
        assert count(site.app, Revision) == before + 1
    else:
        assert "You did not change anything" in response.get_data(as_text=True)


@FUZZ
@given(work_email=typed_text, message=typed_text)
def test_claim_form_with_any_values(site, work_email, message):
    claimant = client_for(site.app, site.other_user)
    url = f"/admin/claim/{site.a}"
    before = count(site.app, Revision)
    data = {"work_email": work_email, "message": message}
    data["csrf_token"] = csrf_token(claimant, url)
    response = claimant.post(url, data=data)
    assert response.status_code in (302, 400), response.status_code
    if response.status_code == 400:
        _assert_refused_clearly(response, {"work_email": work_email, "message": message})
        assert count(site.app, Revision) == before


@pytest.mark.parametrize("value", ["\x00", "Clinic\x00name", "\x1b[31mred", "a\x7fb"])
def test_control_characters_are_refused_clearly(site, value):
    owner = client_for(site.app, site.clinic_user)
    url = f"/admin/my-listings/{site.a}/edit"
    before = count(site.app, Revision)
    data = {**listing_post(record_of(site.app, site.a)), "name": value}
    data.update(form_tokens(owner, url))
    response = owner.post(url, data=data)
    assert response.status_code == 400
    assert "field-error" in response.get_data(as_text=True)
    assert count(site.app, Revision) == before


@pytest.mark.parametrize("url", ["/account/sign-in", "/account/reset", "/account/sign-up"])
def test_control_characters_in_account_forms_get_a_clear_answer(anonymous, url):
    client = _client_from_a_new_address(anonymous)
    typed = "ann\x00@example.com"
    data = {"email": typed, "password": "pass\x00word long enough", "confirm": "x"}
    data["csrf_token"] = csrf_token(client, url)
    response = client.post(url, data=data)
    page = response.get_data(as_text=True)
    if url == "/account/reset":  # same answer whether or not an account exists
        assert response.status_code in (200, 400)
    else:
        assert response.status_code == 400
        assert "field-error" in page or "Email or password is incorrect." in page
