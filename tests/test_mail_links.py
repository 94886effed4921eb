"""Mailed links start with SITE_URL, whatever Host header the request carried.

A reset link built from the Host header can be pointed at a stranger's site (send
the form with `Host: evil.example`, and the victim's mail links there, token
included). So every mailed link comes from the configured SITE_URL, in a request
and outside one (the CLI's reminders), and production refuses to start without
it. Runs on SQLite and PostgreSQL; mail goes to the real file outbox.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import select

from directory import create_app
from directory.config import PROJECT_ROOT, load_config
from directory.extensions import db
from directory.listings import decisions
from directory.mail import external_url, outbox_messages
from directory.models import Revision, User
from tests.conftest import ENGINES, make_app
from tests.helpers import (
    PASSWORD,
    client_for,
    form_tokens,
    listing_post,
    make_user,
    record_of,
    remind_stale,
    text,
    token_in,
)

SITE = "https://directory.example.org"
SPOOFED = "http://evil.example"
_LINK = re.compile(r"https?://\S+")


@pytest.fixture(params=ENGINES)
def site_app(request, tmp_path) -> Iterator[Flask]:
    """An app set up as in production: SITE_URL, and no SERVER_NAME, so pages answer
    whatever Host a request names (Flask would build external links from it)."""
    yield from make_app(request.param, tmp_path, SITE_URL=SITE + "/", SERVER_NAME=None)


def _links(app: Flask) -> list[str]:
    return [
        link for message in outbox_messages(app) for link in _LINK.findall(message.get_content())
    ]


def _post_as(client, base_url: str, path: str, data: dict, headers: dict | None = None):
    """Fetch the form and post it through `base_url` (its host is the Host header)."""
    page = client.get(path, base_url=base_url, headers=headers)
    token = token_in(text(page))
    return client.post(
        path, data={**data, "csrf_token": token}, base_url=base_url, headers=headers, buffered=True
    )


def test_a_reset_mail_asked_for_under_a_spoofed_host_links_to_the_site(site_app):
    make_user(site_app, "ann@example.com")
    client = site_app.test_client()
    response = _post_as(
        client,
        SPOOFED,
        "/account/reset",
        {"email": "ann@example.com"},
        {"X-Forwarded-Host": "evil.example"},
    )
    assert response.status_code == 200
    (link,) = _links(site_app)
    assert link.startswith(f"{SITE}/account/reset/"), link
    # The link works: it is this site's own reset page.
    assert client.get(urlsplit(link).path).status_code == 200


def test_sign_up_mails_under_a_spoofed_host_link_to_the_site(site_app):
    make_user(site_app, "taken@example.com")
    client = site_app.test_client()
    for email in ("new@example.com", "taken@example.com"):
        data = {"email": email, "password": PASSWORD, "confirm": PASSWORD}
        assert _post_as(client, SPOOFED, "/account/sign-up", data).status_code == 200
    links = _links(site_app)
    assert len(links) == 3, links  # a verification link; sign-in and reset for the owner
    assert all(urlsplit(link).netloc == "directory.example.org" for link in links), links


def test_decision_mails_outside_a_request_link_to_the_site(site):
    """Moderation can run outside any request (a script): the link is still whole."""
    site.app.config["SITE_URL"] = SITE
    owner = client_for(site.app, site.clinic_user)
    url = f"/admin/my-listings/{site.a}/edit"
    data = {**listing_post(record_of(site.app, site.a)), "hours": "Mon-Fri 8-18"}
    data.update(form_tokens(owner, url))
    assert owner.post(url, data=data).status_code == 302
    with site.app.app_context():
        revision = db.session.scalars(select(Revision).order_by(Revision.id.desc())).first()
        editor = db.session.get(User, site.editor)
        decisions.reject(editor, revision, "Opening hours need a source.")
    assert _links(site.app) == [f"{SITE}/admin/"]


def test_stale_reminders_from_the_cli_link_to_the_listing(stale_listings):
    app, ids, _slugs, _names, _owner = stale_listings
    app.config["SITE_URL"] = SITE
    remind_stale(app)
    assert _links(app) == [f"{SITE}/admin/my-listings/{ids['stale']}/"]


# -- the setting -----------------------------------------------------------------------------
@pytest.fixture
def production_env(monkeypatch) -> None:
    """No SITE_URL and no debug flag in the environment, whatever the shell has."""
    for name in ("SITE_URL", "FLASK_DEBUG"):
        monkeypatch.delenv(name, raising=False)


def test_production_without_site_url_refuses_to_start(tmp_path, production_env):
    with pytest.raises(ValueError, match="SITE_URL is not set"):
        create_app({"SECRET_KEY": "x"}, instance_path=tmp_path)
    app = create_app({"SECRET_KEY": "x", "SITE_URL": "https://Directory.Example.org/"}, tmp_path)
    assert app.config["SITE_URL"] == "https://directory.example.org"
    with app.app_context():
        assert external_url("account.sign_in") == "https://directory.example.org/account/sign-in"


def test_wsgi_says_why_it_will_not_start(tmp_path, production_env):
    """What gunicorn loads exits with the reason, not a traceback."""
    env = {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "FLASK_DEBUG")}
    env.update(INSTANCE_PATH=str(tmp_path), SECRET_KEY="x")
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("Not starting: SITE_URL is not set"), result.stderr


def test_tests_and_debug_runs_get_a_stand_in(tmp_path, production_env, monkeypatch):
    testing = load_config(tmp_path, SECRET_KEY="x", TESTING=True, SERVER_NAME="directory.test")
    assert testing["SITE_URL"] == "http://directory.test"
    monkeypatch.setenv("FLASK_DEBUG", "1")  # `flask run --debug`
    assert load_config(tmp_path, SECRET_KEY="x")["SITE_URL"] == "http://127.0.0.1:5000"


@pytest.mark.parametrize(
    "value",
    [
        "directory.example.org",
        "ftp://directory.example.org",
        "https://directory.example.org/directory",
        "https://directory.example.org/?next=/",
        "https://directory.example.org/#top",
        "https://someone@directory.example.org",
        "https://directory.example.org:99999",
        "https://",
        "https://directory example.org",
    ],
)
def test_a_bad_site_url_is_refused(tmp_path, value):
    with pytest.raises(ValueError, match="SITE_URL must be"):
        load_config(tmp_path, SECRET_KEY="x", SITE_URL=value)


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("https://directory.example.org/", "https://directory.example.org"),
        ("  https://[::1]:8443 ", "https://[::1]:8443"),
    ],
)
def test_a_good_site_url_is_kept_without_its_slash(tmp_path, value, stored):
    assert load_config(tmp_path, SECRET_KEY="x", SITE_URL=value)["SITE_URL"] == stored
