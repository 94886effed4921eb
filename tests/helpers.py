"""What many test modules share: signing in, posting forms with their hidden fields,
making accounts, reading pages, the admin's listing-form helpers, and threads that
race.

Test modules import from here and never from each other; fixtures live in
`conftest.py`. Accounts are made by the sign-up service's own `create_user`, so a
test account is what a real one is.
"""

from __future__ import annotations

import html as html_lib
import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from directory.account import services
from directory.admin.forms import OFFER_PREFIX
from directory.extensions import db
from directory.geo.distance import MEAN_RADIUS_MILES
from directory.listings.records import clinic_record
from directory.models import Clinic, CredentialCheck, Ownership, Revision, User

PASSWORD = "correct horse battery staple"
_TOKEN = re.compile(
    r'<meta name="csrf-token" content="([^"]+)"|'
    r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"'
)
_BASE = re.compile(r'<input[^>]*name="base"[^>]*value="([^"]+)"')


@dataclass
class Site:
    """The `site` fixture (conftest.py): six demo clinics and one account of each kind."""

    app: Flask
    a: int  # a clinic the clinic user owns (Juneau, AK; IV at $650)
    b: int  # someone else's clinic
    ids: list[int]
    clinic_user: int
    other_user: int
    editor: int
    editor2: int
    admin: int


# -- accounts ------------------------------------------------------------------------------
def make_user(
    app: Flask,
    email: str,
    role: str = "clinic",
    *,
    verified: bool = True,
    trusted: bool = False,
    owns=(),
) -> int:
    """An account with PASSWORD, made by `services.create_user`; owning `owns`."""
    with app.app_context():
        user = services.create_user(email, PASSWORD, role, verified=verified)
        user.trusted = trusted
        for clinic_id in owns:
            db.session.add(Ownership(user_id=user.id, clinic_id=clinic_id))
        db.session.commit()
        return user.id


def get_user(app: Flask, email: str) -> User | None:
    """The account with `email`, detached from the session, or None."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None:
            db.session.expunge(user)
        return user


def sign_in(client: FlaskClient, email: str, password: str, address: str = "127.0.0.1", **extra):
    """POST the sign-in form from `address`, returning the response as it is."""
    token = csrf_token(client, "/account/sign-in")
    return client.post(
        "/account/sign-in",
        data={"email": email, "password": password, "csrf_token": token, **extra},
        environ_base={"REMOTE_ADDR": address},
    )


# -- pages and forms -----------------------------------------------------------------------
def token_in(html: str, where: str = "the page") -> str:
    """The CSRF token a page carries (its form's hidden field, or the meta tag)."""
    match = _TOKEN.search(html)
    assert match, f"no CSRF token on {where}"
    return match[1] or match[2]


def client_for(app: Flask, user_id: int | None) -> FlaskClient:
    """A test client signed in as `user_id` through the real sign-in form."""
    client = app.test_client()
    if user_id is not None:
        with app.app_context():
            email = db.session.get(User, user_id).email
        response = post(
            client,
            "/account/sign-in",
            {"email": email, "password": PASSWORD, "next": ""},
            "/account/sign-in",
        )
        assert response.status_code == 302, (email, response.status_code)
    return client


def csrf_token(client: FlaskClient, page: str, *, statuses: tuple[int, ...] = (200,)) -> str:
    """The CSRF token of `page`'s form, fetched by `client` (whose session it belongs to).

    `statuses`: what the page may answer (a form shown again with errors is a 400).
    """
    response = client.get(page)
    assert response.status_code in statuses, (page, response.status_code)
    return token_in(text(response), page)


def form_tokens(client: FlaskClient, page: str) -> dict[str, str]:
    """The hidden fields a page's form carries: the CSRF token, and on a listing's edit
    form the signed base (the listing as the form showed it)."""
    response = client.get(page)
    assert response.status_code == 200, (page, response.status_code)
    html = text(response)
    tokens = {"csrf_token": token_in(html, page)}
    base = _BASE.search(html)
    if base:
        tokens["base"] = html_lib.unescape(base[1])
    return tokens


def post(client: FlaskClient, url: str, data: dict, token_page: str, **kwargs):
    """POST `data` with the hidden fields of `token_page`'s form (`data` wins)."""
    return client.post(url, data={**form_tokens(client, token_page), **data}, **kwargs)


# -- the admin's listing forms and moderation ------------------------------------------------
def record_of(app: Flask, clinic_id: int) -> dict:
    """The listing's record as the services see it (`clinic_record`)."""
    with app.app_context():
        return clinic_record(db.session.get(Clinic, clinic_id))


def listing_post(record: dict) -> dict[str, Any]:
    """A record as the listing form posts it."""
    data: dict[str, Any] = {}
    for name, value in record.items():
        if name == "offerings":
            continue
        if isinstance(value, bool):  # a checked box posts "y"; an unchecked one nothing
            if value:
                data[name] = "y"
        elif isinstance(value, list):
            data[name] = list(value)
        else:
            data[name] = "" if value is None else str(value)
    for offer in record.get("offerings") or []:
        prefix = f"{OFFER_PREFIX}{offer['modality']}-"
        data[prefix + "offered"] = "y"
        for name in ("price_min", "price_max", "series_price", "series_sessions"):
            value = offer.get(name)
            data[prefix + name] = "" if value is None else str(value)
        if offer.get("insurance_accepted"):
            data[prefix + "insurance_accepted"] = "y"
        data[prefix + "notes"] = offer.get("notes") or ""
        data[prefix + "includes"] = list(offer.get("includes") or [])
    return data


def with_iv_price(record: dict, low: int, high: int | None = None) -> dict:
    """A copy of `record` whose IV infusion costs `low` (to `high`)."""
    offers = [dict(o) for o in record["offerings"]]
    for offer in offers:
        if offer["modality"] == "iv":
            offer["price_min"], offer["price_max"] = low, high if high is not None else low
    return {**record, "offerings": offers}


def submit_edit(site: Site, client: FlaskClient, record: dict, **extra):
    """The clinic user's edit of listing `a`, posted through its form."""
    url = f"/admin/my-listings/{site.a}/edit"
    return post(client, url, {**listing_post(record), **extra}, url)


def count(app: Flask, model: type, *where) -> int:
    """How many `model` rows match `where`."""
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def last_revision(app: Flask, *where) -> Revision:
    """The newest revision matching `where`, detached."""
    with app.app_context():
        revision = db.session.scalars(
            select(Revision).where(*where).order_by(Revision.id.desc())
        ).first()
        assert revision is not None
        db.session.expunge(revision)
        return revision


def lock_of(app: Flask, revision_id: int) -> int:
    """The revision's lock version, which a decision form posts back."""
    with app.app_context():
        return db.session.get(Revision, revision_id).lock_version


def decide(client: FlaskClient, revision_id: int, action: str, lock: int, reason: str = ""):
    """Approve, reject or send back a revision through the moderation page's form."""
    page = f"/admin/moderation/{revision_id}/"
    data = {"lock_version": str(lock), "reason": reason}
    return post(
        client, f"/admin/moderation/{revision_id}/{action}", data, page, follow_redirects=True
    )


def iv_price_in_search(client: FlaskClient, clinic_id: int) -> int | None:
    """The IV price search shows for the clinic near Juneau (None: not found)."""
    response = client.get("/api/v1/search?where=99801&modality=iv&radius=50")
    assert response.status_code == 200
    for result in response.get_json()["results"]:
        if result["id"] == clinic_id:
            return next(m["price_min"] for m in result["modalities"] if m["code"] == "iv")
    return None


# -- reading pages and mails -----------------------------------------------------------------
def field_block(html: str, name: str) -> str:
    """The markup of one form field: from its wrapper to the next field's."""
    start = html.index(f'data-field="{name}"')
    end = html.find('data-field="', start + 1)
    return html[start : end if end != -1 else len(html)]


def text(response) -> str:
    """The response's body as text."""
    return response.get_data(as_text=True)


def plain(response) -> str:
    """The page with entities decoded (apostrophes in messages are escaped)."""
    return html_lib.unescape(text(response))


def sphere_miles(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle miles on the mean-radius sphere: an oracle independent of geopy."""
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lng2 - lng1)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * MEAN_RADIUS_MILES * math.asin(min(1.0, math.sqrt(h)))


def remind_stale(app: Flask) -> str:
    """Run `flask listings remind-stale`; its output."""
    result = app.test_cli_runner().invoke(args=["listings", "remind-stale"])
    assert result.exit_code == 0, result.output
    return result.output


# -- the clinic's edits, as revisions ---------------------------------------------------------
def pending_edit(site: Site, client: FlaskClient, record: dict, **extra) -> Revision:
    """`submit_edit`, which must be accepted (a redirect), and the revision it made."""
    response = submit_edit(site, client, record, **extra)
    assert response.status_code == 302, response.status_code
    return last_revision(site.app)


# -- rows the demo data holds ------------------------------------------------------------------
def first_published(app: Flask, kind: str | None = None) -> Clinic:
    """The published listing (of `kind`: "in_person" or "telehealth") with the lowest
    id, detached; there must be one."""
    where = [Clinic.status == "published"] + ([Clinic.kind == kind] if kind else [])
    with app.app_context():
        clinic = db.session.scalars(select(Clinic).where(*where).order_by(Clinic.id)).first()
        assert clinic is not None, ("no published listing", kind)
        db.session.expunge(clinic)
        return clinic


# -- trust ----------------------------------------------------------------------------------
def add_check(
    clinic_id: int, kind: str, subject: str, outcome: str, source: str, reference: str, age: int
) -> None:
    """An editor's check written straight to the table (in the caller's app context,
    not committed), `age` days ago: what the pages and the API read is then judged
    against dates the test chose."""
    db.session.add(
        CredentialCheck(
            clinic_id=clinic_id,
            kind=kind,
            subject=subject,
            outcome=outcome,
            source=source,
            reference=reference,
            checked_on=datetime.now(UTC).date() - timedelta(days=age),
        )
    )


# -- races -------------------------------------------------------------------------------------
def all_at_once(count: int, work: Callable[[int], Any]) -> list[Any]:
    """`work(n)` for each n in range(count), each in a real thread of its own, released
    together by a barrier; their results in order of n. A thread's exception is raised
    here, in the test's own thread, and a thread that hangs fails the test. Prepare what
    is not the race (clients, tokens) before calling, so that the threads collide."""
    start = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            start.wait(timeout=60)
            results[n] = work(n)
        except BaseException as exc:  # raised below, in the test's own thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    if errors:
        raise errors[0]
    return results
