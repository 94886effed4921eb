"""Staff changes to accounts (`account.staff_edits.update_account`), below the admin form.

On SQLite and PostgreSQL (`site`, from tests/test_admin.py): who may change what,
the audit events each change writes, and that a refusal writes nothing.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from directory.account.services import AccountError, EmailTaken
from directory.account.staff_edits import update_account
from directory.extensions import db
from directory.models import AuditEvent, User


def _events() -> list[tuple[str, dict, dict, int, str]]:
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
    return [(e.action, e.before, e.after, e.actor_id, e.target) for e in events]


def _state(user_id: int) -> tuple:
    db.session.rollback()
    user = db.session.get(User, user_id)
    return (user.email, user.name, user.role, user.active, user.trusted)


def test_trust_and_other_changes_are_audited_apart_in_one_commit(site):
    with site.app.app_context():
        editor = db.session.get(User, site.editor)
        owner = db.session.get(User, site.clinic_user)
        changes = update_account(
            editor, owner, {"name": "Juniper Front Desk", "active": True, "trusted": True}
        )
        assert changes == {"name": ("", "Juniper Front Desk"), "trusted": (False, True)}
        assert _state(site.clinic_user)[1:] == ("Juniper Front Desk", "clinic", True, True)
        target = "owner@juniper.example"
        assert _events() == [
            ("user_changed", {"name": ""}, {"name": "Juniper Front Desk"}, site.editor, target),
            ("trust_changed", {"trusted": False}, {"trusted": True}, site.editor, target),
        ]


def test_nothing_changed_writes_nothing(site):
    with site.app.app_context():
        editor = db.session.get(User, site.editor)
        owner = db.session.get(User, site.clinic_user)
        assert update_account(editor, owner, {"name": "", "active": True, "trusted": False}) == {}
        assert _events() == []


@pytest.mark.parametrize(
    ("target", "values"),
    [
        ("clinic_user", {"role": "admin"}),
        ("clinic_user", {"email": "evil@x.example"}),
        ("editor2", {"name": "Renamed"}),
        ("admin", {"active": False}),
        ("editor", {"role": "admin"}),  # not even one's own
    ],
)
def test_editors_manage_clinic_accounts_only(site, target, values):
    user_id = getattr(site, target)
    with site.app.app_context():
        before = _state(user_id)
        editor = db.session.get(User, site.editor)
        with pytest.raises(AccountError, match="Only an admin can change roles"):
            update_account(editor, db.session.get(User, user_id), values)
        assert _state(user_id) == before
        assert _events() == []


def test_clinic_accounts_change_nobody(site):
    with site.app.app_context():
        owner = db.session.get(User, site.clinic_user)
        other = db.session.get(User, site.other_user)
        with pytest.raises(AccountError):
            update_account(owner, other, {"trusted": True})
        with pytest.raises(AccountError):
            update_account(owner, owner, {"trusted": True})
        assert not _state(site.clinic_user)[4] and not _state(site.other_user)[4]


def test_an_admin_changes_roles_and_emails(site):
    with site.app.app_context():
        admin = db.session.get(User, site.admin)
        editor2 = db.session.get(User, site.editor2)
        values = {"role": "admin", "email": "  Second.Editor@Directory.TEST "}
        update_account(admin, editor2, values)
        email, _name, role, _active, _trusted = _state(site.editor2)
        assert (email, role) == ("second.editor@directory.test", "admin")
        ((action, before, after, actor, target),) = _events()
        assert (action, actor, target) == (
            "user_changed",
            site.admin,
            "second.editor@directory.test",
        )
        assert before == {"role": "editor", "email": "editor2@directory.test"}
        assert after == {"role": "admin", "email": "second.editor@directory.test"}


def test_an_email_in_use_is_refused(site):
    with site.app.app_context():
        admin = db.session.get(User, site.admin)
        owner = db.session.get(User, site.clinic_user)
        with pytest.raises(EmailTaken, match="Another account already uses that email"):
            update_account(admin, owner, {"email": "Other@Lindqvist.example", "name": "x"})
        assert _state(site.clinic_user)[:2] == ("owner@juniper.example", "")
        assert _events() == []


@pytest.mark.parametrize("values", [{"role": "editor"}, {"active": False}])
def test_an_admin_cannot_lock_themselves_out(site, values):
    with site.app.app_context():
        admin = db.session.get(User, site.admin)
        with pytest.raises(AccountError, match="cannot remove your own admin access"):
            update_account(admin, admin, {**values, "name": "Me"})
        assert _state(site.admin)[1:4] == ("", "admin", True)
        assert _events() == []
        update_account(db.session.get(User, site.admin), admin, {"name": "Me"})  # the rest is fine
        assert _state(site.admin)[1] == "Me"


def test_roles_are_a_closed_list_and_fields_a_fixed_set(site):
    with site.app.app_context():
        admin = db.session.get(User, site.admin)
        owner = db.session.get(User, site.clinic_user)
        with pytest.raises(AccountError, match="Choose clinic, editor or admin"):
            update_account(admin, owner, {"role": "superuser"})
        with pytest.raises(ValueError, match="password_hash"):
            update_account(admin, owner, {"password_hash": "x"})
        assert _state(site.clinic_user)[2] == "clinic"
