"""Races in moderation end in a message, never in a server error (issue 9, point 6).

Real threads, each with its own app context and session, on SQLite and PostgreSQL.
A `Gate` makes the race real rather than likely: it holds the database's write lock
(SQLite: BEGIN IMMEDIATE on a connection of its own) or a row lock (PostgreSQL:
SELECT ... FOR UPDATE) until every thread is queued behind it, so each thread has
read the revision as pending and is at its first write when the gate opens.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from directory.extensions import db
from directory.listings import decisions, submissions
from directory.listings.errors import AlreadyDecided, ModerationError
from directory.listings.records import clinic_record
from directory.mail import outbox_messages
from directory.models import AuditEvent, Clinic, Ownership, Revision, User
from tests.helpers import (
    Site,
    client_for,
    count,
    csrf_token,
    make_user,
    plain,
    record_of,
    with_iv_price,
)

ANN, BOB = "Ann Editor", "Bob Editor"
GATE_WAIT = 5.0  # seconds; SQLite's busy timeout in tests is 5 s as well


# -- the gate -----------------------------------------------------------------------------
class Gate:
    """Hold writers back until `waiting` of them queue up, then let them all go at once."""

    def __init__(self, app: Flask, table: str, row_id: int):
        self.url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
        self.table, self.row_id = table, row_id
        self.overlapped = False
        self._conn: Any = None

    @property
    def engine(self) -> str:
        return self.url.get_backend_name()

    def _dsn(self) -> str:
        return self.url.set(drivername="postgresql").render_as_string(hide_password=False)

    def close(self) -> None:
        if self.engine == "sqlite":
            self._conn = sqlite3.connect(self.url.database, isolation_level=None, timeout=GATE_WAIT)
            self._conn.execute("BEGIN IMMEDIATE")
        else:
            self._conn = psycopg.connect(self._dsn())
            self._conn.execute(
                f"SELECT id FROM {self.table} WHERE id = %s FOR UPDATE", (self.row_id,)
            )

    def open_when(self, waiting: int) -> None:
        """Release once `waiting` sessions wait on the lock (PostgreSQL shows them in
        pg_stat_activity; SQLite cannot, so its writers get a generous moment)."""
        if self.engine == "sqlite":
            time.sleep(0.6)
            self.overlapped = True
        else:
            deadline = time.monotonic() + GATE_WAIT
            with psycopg.connect(self._dsn(), autocommit=True) as watcher:
                while time.monotonic() < deadline:
                    row = watcher.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                        "current_database() AND wait_event_type = 'Lock'"
                    ).fetchone()
                    if row and row[0] >= waiting:
                        self.overlapped = True
                        break
                    time.sleep(0.02)
        self.release()

    def release(self) -> None:
        if self._conn is not None:
            if self.engine == "sqlite":
                self._conn.execute("ROLLBACK")
            else:
                self._conn.rollback()
            self._conn.close()
            self._conn = None


@dataclass
class Outcome:
    status: str  # "ok", "refused" (a ModerationError) or "error" (anything else)
    value: Any = None
    message: str = ""


def at_once(
    app: Flask,
    jobs: list[Callable[[], Callable[[], Any]]],
    gate: Gate,
) -> list[Outcome]:
    """Run each job in a thread of its own: `job()` prepares inside the thread's app
    context (loads rows), the function it returns acts once all threads are ready and
    the gate holds them; the gate opens when every thread waits behind it."""
    outcomes: list[Outcome | None] = [None] * len(jobs)
    ready = threading.Barrier(len(jobs) + 1)

    def run(i: int, job: Callable[[], Callable[[], Any]]) -> None:
        with app.app_context():
            try:
                act = job()
                ready.wait(GATE_WAIT)
                outcomes[i] = Outcome("ok", act())
            except ModerationError as exc:
                outcomes[i] = Outcome("refused", exc, exc.message)
            except Exception as exc:  # the point of the test: there must be none
                outcomes[i] = Outcome("error", exc, f"{type(exc).__name__}: {exc}")
            finally:
                db.session.remove()

    gate.close()
    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    try:
        for thread in threads:
            thread.start()
        ready.wait(GATE_WAIT)
        gate.open_when(len(jobs))
    finally:
        gate.release()
        for thread in threads:
            thread.join(30)
    assert all(o is not None for o in outcomes), "a thread did not finish"
    return [o for o in outcomes if o is not None]


# -- the revisions of each kind ---------------------------------------------------------------
def name_editors(at: Site) -> None:
    with at.app.app_context():
        db.session.get(User, at.editor).name = ANN
        db.session.get(User, at.editor2).name = BOB
        db.session.commit()


def make_revision(at: Site, kind: str) -> int:
    """A pending revision of `kind`, made through the services."""
    with at.app.app_context():
        owner = db.session.get(User, at.clinic_user)
        clinic = db.session.get(Clinic, at.a)
        if kind == "edit":
            revision = submissions.submit_edit(
                owner, clinic, with_iv_price(clinic_record(clinic), 480, 520)
            )
        elif kind == "new":
            record = {**clinic_record(clinic), "name": "Brand New Ketamine Clinic"}
            revision = submissions.submit_new(owner, record)
        elif kind == "claim":
            claimant = db.session.get(User, at.other_user)
            revision = submissions.request_claim(claimant, clinic, "dr@x.example", "I run it.")
        else:
            revision = submissions.report_problem(clinic, "The phone number is out of date.")
        return revision.id


def decision(revision_id: int, editor_id: int, action: str) -> Callable[[], Callable[[], Any]]:
    def prepare() -> Callable[[], Any]:
        editor = db.session.get(User, editor_id)
        revision = db.session.get(Revision, revision_id)
        lock = revision.lock_version
        if action == "approve":
            return lambda: decisions.approve(editor, revision, lock)
        return lambda: decisions.reject(editor, revision, "Not plausible.", lock)

    return prepare


PAIRS = {"approve-approve": ("approve", "approve"), "approve-reject": ("approve", "reject")}


@pytest.mark.parametrize("kind", ["new", "edit", "claim", "report"])
@pytest.mark.parametrize("pair", list(PAIRS))
def test_two_deciders_at_once_one_wins_the_other_is_told_who(site, kind, pair):
    name_editors(site)
    revision_id = make_revision(site, kind)
    with site.app.app_context():
        clinic_id = db.session.get(Revision, revision_id).clinic_id
        version_before = db.session.get(Clinic, site.a).version
    mails_before = len(outbox_messages(site.app))
    actions = PAIRS[pair]
    gate = Gate(site.app, "revision", revision_id)
    outcomes = at_once(
        site.app,
        [
            decision(revision_id, site.editor, actions[0]),
            decision(revision_id, site.editor2, actions[1]),
        ],
        gate,
    )
    assert gate.overlapped, "both decisions must have waited at the same write"
    assert [o.status for o in outcomes].count("error") == 0, [o.message for o in outcomes]
    assert sorted(o.status for o in outcomes) == ["ok", "refused"], outcomes
    winner = 0 if outcomes[0].status == "ok" else 1
    loser = outcomes[1 - winner]
    assert isinstance(loser.value, AlreadyDecided)
    won_as = actions[winner]
    done = "approved it" if won_as == "approve" else "rejected it"
    assert f"{(ANN, BOB)[winner]} {done} a moment ago" in loser.message, loser.message

    status = "approved" if won_as == "approve" else "rejected"
    reviewer = (site.editor, site.editor2)[winner]
    with site.app.app_context():
        revision = db.session.get(Revision, revision_id)
        assert (revision.status, revision.reviewer_id) == (status, reviewer)
        events = db.session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.revision_id == revision_id, AuditEvent.action.not_like("%_submitted")
            )
        ).all()
        assert events == [f"{kind}_{status}"], "exactly one decision is recorded"
        clinic = db.session.get(Clinic, clinic_id)
        owners = db.session.scalar(
            select(func.count(Ownership.id)).where(Ownership.clinic_id == clinic_id)
        )
        if kind == "edit":
            expected = version_before + (1 if status == "approved" else 0)
            assert db.session.get(Clinic, site.a).version == expected
            iv = next(o for o in clinic_record(clinic)["offerings"] if o["modality"] == "iv")
            assert iv["price_min"] == (480 if status == "approved" else 650)
        elif kind == "new":
            assert clinic.status == ("published" if status == "approved" else "draft")
            assert owners == (1 if status == "approved" else 0)
        elif kind == "claim":
            assert owners == (2 if status == "approved" else 1)  # the owner, and the claimant
    authored = kind != "report"
    assert len(outbox_messages(site.app)) - mails_before == (1 if authored else 0)


def test_two_edits_of_one_listing_approved_at_once_both_apply(site):
    """Different revisions, same listing, different fields: the second decision reads
    the listing the first one wrote (no StaleDataError, no lost change)."""
    name_editors(site)
    with site.app.app_context():
        owner = db.session.get(User, site.clinic_user)
        clinic = db.session.get(Clinic, site.a)
        live = clinic_record(clinic)
        phone = submissions.submit_edit(owner, clinic, {**live, "phone": "(907) 555-0199"}).id
        hours = submissions.submit_edit(owner, clinic, {**live, "hours": "Mon-Sat 8-18"}).id
    gate = Gate(site.app, "clinic", site.a)
    outcomes = at_once(
        site.app,
        [decision(phone, site.editor, "approve"), decision(hours, site.editor2, "approve")],
        gate,
    )
    assert [o.status for o in outcomes] == ["ok", "ok"], [o.message for o in outcomes]
    record = record_of(site.app, site.a)
    assert (record["phone"], record["hours"]) == ("(907) 555-0199", "Mon-Sat 8-18")
    assert {k: v for k, v in record.items() if k not in ("phone", "hours")} == {
        k: v for k, v in live.items() if k not in ("phone", "hours")
    }


def test_withdraw_racing_an_approval_ends_in_one_outcome(site):
    name_editors(site)
    revision_id = make_revision(site, "edit")

    def withdraw() -> Callable[[], Any]:
        author = db.session.get(User, site.clinic_user)
        revision = db.session.get(Revision, revision_id)
        return lambda: submissions.withdraw(author, revision)

    gate = Gate(site.app, "revision", revision_id)
    outcomes = at_once(site.app, [decision(revision_id, site.editor, "approve"), withdraw], gate)
    assert sorted(o.status for o in outcomes) == ["ok", "refused"], [o.message for o in outcomes]
    with site.app.app_context():
        status = db.session.get(Revision, revision_id).status
    loser = next(o for o in outcomes if o.status == "refused")
    if status == "approved":
        assert f"{ANN} approved it a moment ago" in loser.message
    else:
        assert status == "withdrawn" and "the author withdrew it a moment ago" in loser.message
        assert (
            record_of(site.app, site.a)["offerings"]
            != with_iv_price(record_of(site.app, site.a), 480, 520)["offerings"]
        )


# -- through HTTP: two signed-in editors press their buttons at once ---------------------------
@pytest.mark.parametrize("kind", ["new", "edit", "claim", "report"])
def test_two_editors_posting_at_once_get_no_500(site, kind):
    name_editors(site)
    revision_id = make_revision(site, kind)
    page = f"/admin/moderation/{revision_id}/"
    editors = [client_for(site.app, site.editor), client_for(site.app, site.editor2)]
    with site.app.app_context():
        lock = db.session.get(Revision, revision_id).lock_version
    forms = [
        {"csrf_token": csrf_token(client, page), "lock_version": str(lock), "reason": "No."}
        for client in editors
    ]
    urls = [f"/admin/moderation/{revision_id}/approve", f"/admin/moderation/{revision_id}/reject"]

    def press(i: int) -> Callable[[], Callable[[], Any]]:
        def prepare() -> Callable[[], Any]:
            return lambda: editors[i].post(urls[i], data=forms[i], follow_redirects=True)

        return prepare

    gate = Gate(site.app, "revision", revision_id)
    outcomes = at_once(site.app, [press(0), press(1)], gate)
    assert gate.overlapped
    assert [o.status for o in outcomes] == ["ok", "ok"], [o.message for o in outcomes]
    responses = [o.value for o in outcomes]
    assert [r.status_code for r in responses] == [200, 200]
    pages = [plain(r) for r in responses]
    with site.app.app_context():
        revision = db.session.get(Revision, revision_id)
        status, reviewer = revision.status, revision.reviewer_id
    winner = 0 if status == "approved" else 1
    assert reviewer == (site.editor, site.editor2)[winner]
    assert "already" not in pages[winner]
    verb = "approved it" if winner == 0 else "rejected it"
    assert (
        f"This submission was already {status}: {(ANN, BOB)[winner]} {verb} a moment ago."
        in (pages[1 - winner])
    )
    assert count(site.app, AuditEvent, AuditEvent.revision_id == revision_id) == 2


# -- claims ---------------------------------------------------------------------------------
def test_parallel_claims_by_one_account_make_one_pending_claim(site):
    claimant = make_user(site.app, "manager@somewhere.example")

    def claim() -> Callable[[], Any]:
        user = db.session.get(User, claimant)
        clinic = db.session.get(Clinic, site.b)
        return lambda: submissions.request_claim(user, clinic, "dr@x.example", "I run it.").id

    gate = Gate(site.app, "clinic", site.b)
    outcomes = at_once(site.app, [claim, claim, claim], gate)
    assert gate.overlapped
    assert sorted(o.status for o in outcomes) == ["ok", "refused", "refused"], [
        o.message for o in outcomes
    ]
    for outcome in outcomes:
        if outcome.status == "refused":
            assert outcome.message == "Your claim for this listing is already waiting for review."
    pending = (
        Revision.kind == "claim",
        Revision.author_id == claimant,
        Revision.status == "pending",
    )
    assert count(site.app, Revision, *pending) == 1
    assert count(site.app, AuditEvent, AuditEvent.action == "claim_submitted") == 1


def test_parallel_claims_through_the_claim_form(site):
    claimant = make_user(site.app, "manager@somewhere.example")
    clients = [client_for(site.app, claimant) for _ in range(2)]
    url = f"/admin/claim/{site.b}"
    forms = [
        {"csrf_token": csrf_token(c, url), "work_email": "dr@x.example", "message": "Mine."}
        for c in clients
    ]

    def press(i: int) -> Callable[[], Callable[[], Any]]:
        return lambda: lambda: clients[i].post(url, data=forms[i], follow_redirects=True)

    outcomes = at_once(site.app, [press(0), press(1)], Gate(site.app, "clinic", site.b))
    assert [o.status for o in outcomes] == ["ok", "ok"], [o.message for o in outcomes]
    pages = [plain(o.value) for o in outcomes]
    assert [o.value.status_code for o in outcomes] == [200, 200]
    assert sum("Your claim is waiting for an editor" in p for p in pages) == 1
    assert sum("already waiting for review" in p for p in pages) == 1
    assert count(site.app, Revision, Revision.kind == "claim", Revision.status == "pending") == 1


def test_approving_a_claim_already_granted_says_so(site):
    name_editors(site)
    claim_id = make_revision(site, "claim")
    editor = client_for(site.app, site.editor)
    editor2 = client_for(site.app, site.editor2)
    page = f"/admin/moderation/{claim_id}/"
    with site.app.app_context():
        lock = db.session.get(Revision, claim_id).lock_version
    stale_form = {"csrf_token": csrf_token(editor2, page), "lock_version": str(lock)}
    data = {"csrf_token": csrf_token(editor, page), "lock_version": str(lock)}
    first = editor.post(f"{page}approve", data=data, follow_redirects=True)
    assert "Approved: the account now manages this listing." in plain(first)
    # the second editor's page was loaded before: the claim was granted by Ann
    again = editor2.post(f"{page}approve", data=stale_form, follow_redirects=True)
    assert again.status_code == 200
    assert "This submission was already approved: Ann Editor approved it a moment ago." in (
        plain(again)
    )
    owners = (Ownership.user_id == site.other_user, Ownership.clinic_id == site.a)
    assert count(site.app, Ownership, *owners) == 1


def test_approving_a_claim_of_an_account_that_already_manages_the_listing(site):
    claim_id = make_revision(site, "claim")
    with site.app.app_context():  # access granted meanwhile by another way
        db.session.add(Ownership(user_id=site.other_user, clinic_id=site.a))
        db.session.commit()
        lock = db.session.get(Revision, claim_id).lock_version
    editor = client_for(site.app, site.editor)
    page = f"/admin/moderation/{claim_id}/"
    data = {"csrf_token": csrf_token(editor, page), "lock_version": str(lock)}
    response = editor.post(f"{page}approve", data=data, follow_redirects=True)
    assert response.status_code == 200
    assert "other@lindqvist.example already managed this listing" in plain(response)
    owners = (Ownership.user_id == site.other_user, Ownership.clinic_id == site.a)
    assert count(site.app, Ownership, *owners) == 1
    assert count(site.app, Revision, Revision.id == claim_id, Revision.status == "approved") == 1
