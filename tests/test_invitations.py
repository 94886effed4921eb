"""Invitations to claim, on SQLite and PostgreSQL: editors invite unclaimed listings in
bulk, the mail goes to the listing's own address with a link on SITE_URL, accepting
makes the account the listing's manager once, and the admin shows invited, claimed
and expired. Two people accepting one link at once (real threads): one wins."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select

from directory import mail
from directory.extensions import db
from directory.listings.invitations import check
from directory.models import AuditEvent, ClaimInvitation, Clinic, Ownership
from tests.helpers import all_at_once, client_for, csrf_token, make_user, text

PAGE = "/admin/invitations/"


def _prepare(site) -> list[int]:
    """Four unclaimed published listings with addresses, one without, and `a` (owned)."""
    with site.app.app_context():
        clinics = db.session.scalars(select(Clinic).where(Clinic.id.in_(site.ids))).all()
        free = [c for c in clinics if c.id not in (site.a, site.b)]
        for n, clinic in enumerate(free):
            clinic.status = "published"
            clinic.email = "" if n == 0 else f"front-desk{n}@clinic{n}.example"
        db.session.commit()
        return [c.id for c in free]


def _invite(client, ids, **extra):
    data = {"csrf_token": csrf_token(client, PAGE), "clinic": [str(i) for i in ids], **extra}
    return client.post(PAGE + "send", data=data)


def _links(app) -> dict[str, str]:
    """The invitation link mailed to each address."""
    found = {}
    for message in mail.outbox_messages(app):
        body = message.get_content()
        match = re.search(r"(https?://\S+/account/invitation/\S+)", body)
        if match:
            found[message["To"]] = match[1]
    return found


def test_editors_invite_in_bulk_and_the_mail_goes_to_the_listing(site):
    free = _prepare(site)
    editor = client_for(site.app, site.editor)
    response = _invite(editor, [*free, site.a])
    assert response.status_code == 303
    page = text(editor.get(PAGE))
    assert "Sent 3 invitations. 2 not sent" in page
    links = _links(site.app)
    assert set(links) == {f"front-desk{n}@clinic{n}.example" for n in (1, 2, 3)}
    site_url = site.app.config["SITE_URL"]
    assert all(link.startswith(site_url + "/account/invitation/") for link in links.values())
    assert 'data-status-count="invited">3<' in page
    assert f'data-clinic="{site.a}"' not in page  # managed: nothing to invite
    # Again: every open invitation is skipped, nothing is mailed twice.
    _invite(editor, free)
    assert len(mail.outbox_messages(site.app)) == 3
    with site.app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "claim_invited")
        ).all()
        assert sorted(e.target for e in events) == sorted(links)


def test_accepting_an_invitation_makes_the_account_the_manager_once(site):
    free = _prepare(site)
    _invite(client_for(site.app, site.editor), free)
    email, link = sorted(_links(site.app).items())[0]
    path = urlsplit(link).path
    visitor = site.app.test_client()
    page = visitor.get(path)
    assert page.status_code == 200 and "Sign in and accept" in text(page)
    assert f"/account/sign-in?next={path}" in page.get_data(as_text=True).replace("%2F", "/")
    newcomer = make_user(site.app, "manager@clinic1.example")
    client = client_for(site.app, newcomer)
    accepted = client.post(path, data={"csrf_token": csrf_token(client, path)})
    assert accepted.status_code == 303
    with site.app.app_context():
        invitation = db.session.scalars(
            select(ClaimInvitation).where(ClaimInvitation.email == email)
        ).one()
        assert accepted.headers["Location"].endswith(f"/admin/my-listings/{invitation.clinic_id}/")
        owners = db.session.scalars(
            select(Ownership.user_id).where(Ownership.clinic_id == invitation.clinic_id)
        ).all()
        assert owners == [newcomer] and invitation.claimed_by_id == newcomer
        assert (
            db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == "claimed_by_invitation")
            )
            .one()
            .actor_id
            == newcomer
        )
    again = client.get(path)
    assert again.status_code == 400 and "already been used" in text(again)
    editor_page = text(client_for(site.app, site.editor).get(PAGE))
    assert 'data-status-count="claimed">1<' in editor_page


def test_expired_tampered_and_raced_links_say_why(site):
    free = _prepare(site)
    _invite(client_for(site.app, site.editor), free)
    links = sorted(_links(site.app).values())
    expired, raced = urlsplit(links[0]).path, urlsplit(links[1]).path
    with site.app.app_context():
        for invitation in db.session.scalars(select(ClaimInvitation)):
            if invitation.id == _named(site.app, expired)[0]:
                invitation.expires_at = datetime.now(UTC) - timedelta(minutes=1)
        db.session.commit()
    visitor = site.app.test_client()
    assert "has expired" in text(visitor.get(expired))
    assert visitor.get(expired).status_code == 400
    tampered = raced[:-3] + ("aaa" if not raced.endswith("aaa") else "bbb")
    response = visitor.get(tampered)
    assert response.status_code == 400 and "not one we sent" in text(response)
    assert 'data-status-count="expired">1<' in text(client_for(site.app, site.editor).get(PAGE))

    people = [make_user(site.app, f"racer{n}@clinic.example") for n in range(2)]
    clients = [client_for(site.app, person) for person in people]
    tokens = [csrf_token(c, raced) for c in clients]

    def accept(n: int) -> int:
        return clients[n].post(raced, data={"csrf_token": tokens[n]}).status_code

    statuses = sorted(all_at_once(2, accept))
    assert statuses[0] == 303 and statuses[1] in (400, 409)
    with site.app.app_context():
        clinic_id = _named(site.app, raced)[1]
        owners = db.session.scalars(
            select(Ownership.user_id).where(Ownership.clinic_id == clinic_id)
        ).all()
    assert len(owners) == 1 and owners[0] in people


def _named(app, path: str) -> tuple[int, int]:
    """(invitation id, clinic id) a link's token names."""
    with app.test_request_context():
        invitation, _ = check(path.rsplit("/", 1)[1])
        return invitation.id, invitation.clinic_id


def test_only_staff_send_invitations(site):
    owner = client_for(site.app, site.clinic_user)
    assert owner.get(PAGE).status_code == 403
    token = csrf_token(owner, f"/admin/my-listings/{site.a}/edit")
    assert owner.post(PAGE + "send", data={"csrf_token": token, "all": "1"}).status_code == 403
    assert site.app.test_client().get(PAGE).status_code == 302
    editor = client_for(site.app, site.editor)
    refused = editor.post(PAGE + "send", data={"all": "1"})
    assert refused.status_code == 400  # no token: nothing sent
    assert mail.outbox_messages(site.app) == []
