"""Editors' changes to the vocabularies (`listings.vocabulary`), below the admin forms.

On SQLite and PostgreSQL (`site`, from tests/test_admin.py), with the real search
index: codes never change, names are plain text, every change is audited with
before and after, and a rewording that search shows reaches the index.
"""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

from directory import create_app
from directory.extensions import db
from directory.listings.vocabulary import (
    VocabularyError,
    add_entry,
    change_entry,
    vocabulary_names,
)
from directory.models import AuditEvent, Clinic, Condition, Insurer, Modality, SearchQueue, User
from tests.helpers import Site


def _events(*actions: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action.in_(actions)).order_by(AuditEvent.id)
        )
    )


def _search_ids(site: Site, words: str) -> list[int]:
    found = site.app.test_client().get(f"/api/v1/search?q={words}").get_json()
    return [r["id"] for r in found["results"]]


def test_renaming_a_condition_is_audited_and_reaches_the_index(site):
    assert site.a not in _search_ids(site, "zyzzogeton")
    with site.app.app_context():
        editor = db.session.get(User, site.editor)
        condition = db.session.get(Clinic, site.a).conditions[0]
        old_name, code = condition.name, condition.code
        changes = change_entry(editor, condition, {"name": "  Zyzzogeton syndrome "})
        assert changes == {"name": (old_name, "Zyzzogeton syndrome")}
        (event,) = _events("vocabulary_changed")
        assert event.target == f"condition:{code}" and event.actor_id == site.editor
        assert (event.before, event.after) == ({"name": old_name}, {"name": "Zyzzogeton syndrome"})
        assert db.session.scalar(select(func.count(SearchQueue.id))) == 0  # drained
    assert site.a in _search_ids(site, "zyzzogeton")


def test_a_new_modality_wording_reaches_every_clinic_offering_it(site):
    with site.app.app_context():
        editor = db.session.get(User, site.editor)
        iv = db.session.scalars(select(Modality).where(Modality.code == "iv")).one()
        change_entry(editor, iv, {"short_name": "Quuxinfusion"})
    assert site.a in _search_ids(site, "quuxinfusion")


def test_a_code_never_changes(site):
    with site.app.app_context():
        editor = db.session.get(User, site.editor)
        condition = db.session.scalars(select(Condition).order_by(Condition.id)).first()
        code = condition.code
        with pytest.raises(VocabularyError, match="A code cannot change"):
            change_entry(editor, condition, {"code": "renamed-code", "name": "Renamed"})
        db.session.rollback()
        assert db.session.get(Condition, condition.id).code == code
        assert _events("vocabulary_changed") == []


def test_unchanged_values_write_nothing(site):
    with site.app.app_context():
        editor = db.session.get(User, site.editor)
        insurer = db.session.scalars(select(Insurer).order_by(Insurer.id)).first()
        values = {"code": insurer.code, "name": insurer.name, "sort_order": insurer.sort_order}
        assert change_entry(editor, insurer, values) == {}
        assert _events("vocabulary_changed") == []


def test_an_insurer_rename_queues_no_search_work(site):
    """Insurers' names are not in the search documents: nothing to re-index."""
    with site.app.app_context():
        editor = db.session.get(User, site.editor)
        insurer = db.session.scalars(select(Insurer).order_by(Insurer.id)).first()
        change_entry(editor, insurer, {"name": "Renamed Health"})
        assert db.session.scalar(select(func.count(SearchQueue.id))) == 0
        assert len(_events("vocabulary_changed")) == 1


def test_adding_an_entry_is_audited(site):
    with site.app.app_context():
        editor = db.session.get(User, site.editor)
        values = {"code": "harbor-health", "name": " Harbor Health Plan ", "sort_order": 7}
        entry = add_entry(editor, Insurer, values)
        db.session.rollback()
        stored = db.session.get(Insurer, entry.id)
        assert (stored.code, stored.name, stored.sort_order) == (
            "harbor-health",
            "Harbor Health Plan",
            7,
        )
        (event,) = _events("vocabulary_added")
        assert event.target == "insurer:harbor-health"
        assert event.after == {
            "code": "harbor-health",
            "name": "Harbor Health Plan",
            "sort_order": 7,
        }
        assert event.before == {"code": None, "name": None, "sort_order": None}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"code": "Harbor Health", "name": "Harbor"}, "lowercase letters, digits and hyphens"),
        ({"code": "-harbor", "name": "Harbor"}, "lowercase letters, digits and hyphens"),
        ({"code": "h" * 65, "name": "Harbor"}, "lowercase letters, digits and hyphens"),
        ({"code": "harbor", "name": "<b>Harbor</b>"}, "Enter a plain-text name."),
        ({"code": "harbor", "name": "Harbor &amp; Co"}, "Enter a plain-text name."),
        ({"code": "harbor", "name": "   "}, "Enter a plain-text name."),
        ({"code": "harbor", "name": "H" * 121}, "at most 120 characters"),
        ({"code": "harbor", "name": "Harbor", "sort_order": None}, "whole number"),
    ],
)
def test_entries_the_rules_refuse_are_not_added(site, values, message):
    with site.app.app_context():
        editor = db.session.get(User, site.editor)
        before = db.session.scalar(select(func.count(Insurer.id)))
        with pytest.raises(VocabularyError, match=message):
            add_entry(editor, Insurer, values)
        db.session.rollback()
        assert db.session.scalar(select(func.count(Insurer.id))) == before
        assert _events("vocabulary_added") == []


def test_synonyms_are_a_list_of_words(site):
    with site.app.app_context():
        editor = db.session.get(User, site.editor)
        condition = db.session.scalars(select(Condition).order_by(Condition.id)).first()
        for bad in ({"mdd": 1}, "MDD", [1, 2]):
            with pytest.raises(VocabularyError, match="JSON list of words"):
                change_entry(editor, condition, {"synonyms": bad})
        change_entry(editor, condition, {"synonyms": [" MDD ", "", "  "]})
        db.session.rollback()
        assert db.session.get(Condition, condition.id).synonyms == ["MDD"]


def test_a_code_taken_meanwhile_is_refused_with_a_message(site):
    """The form checks that a code is free; two saves racing past that check meet the
    unique constraint, and the second editor gets a message, not an error page."""
    with site.app.app_context():
        editor = db.session.get(User, site.editor)
        add_entry(editor, Insurer, {"code": "harbor-health", "name": "Harbor", "sort_order": 1})
        with pytest.raises(VocabularyError, match="already uses that code"):
            add_entry(editor, Insurer, {"code": "harbor-health", "name": "Other", "sort_order": 2})
        names = db.session.scalars(select(Insurer.name).where(Insurer.code == "harbor-health"))
        assert list(names) == ["Harbor"]
        assert len(_events("vocabulary_added")) == 1


def test_only_a_vocabularys_own_fields_are_editable(site):
    with site.app.app_context():
        editor = db.session.get(User, site.editor)
        insurer = db.session.scalars(select(Insurer).order_by(Insurer.id)).first()
        with pytest.raises(ValueError, match="synonyms"):
            change_entry(editor, insurer, {"synonyms": ["x"]})
        with pytest.raises(ValueError, match="is not a vocabulary"):
            add_entry(editor, Clinic, {"code": "x", "name": "X"})


def test_names_are_kept_per_process_until_any_server_changes_one(site, tmp_path):
    """Two app processes on one database (two apps here: each keeps its own names).
    Reading the names again costs one small query; a rename or an addition made
    through either shows in the other's very next read."""
    app = site.app
    other = create_app(
        {
            **{k: app.config[k] for k in ("TESTING", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI")},
            "SEARCH_INDEX_DIR": str(tmp_path / "other-index"),
        },
        instance_path=tmp_path,
    )
    with app.app_context():
        first = vocabulary_names()
        statements: list[str] = []

        def record(conn, cursor, statement, *args) -> None:
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", record)
        assert vocabulary_names() == first
        event.remove(db.engine, "before_cursor_execute", record)
        assert len(statements) == 1 and "vocabulary_stamp" in statements[0]
    with other.app_context():
        editor = db.session.get(User, site.editor)
        insurer = db.session.scalars(select(Insurer).where(Insurer.code == "aetna")).one()
        change_entry(editor, insurer, {"name": "Aetna Renamed"})
        add_entry(editor, Insurer, {"code": "newplan", "name": "New Plan", "sort_order": 99})
        db.session.remove()
        db.engine.dispose()
    with app.app_context():
        names = vocabulary_names()["insurer"]
        assert names["aetna"] == "Aetna Renamed" and names["newplan"] == "New Plan"
        db.session.remove()
