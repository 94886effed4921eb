"""Migration 0003: PostGIS and the PostgreSQL search table, and nothing on SQLite."""

from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from directory.extensions import db


def _has_search_table() -> bool:
    return "search_document" in inspect(db.engine).get_table_names()


def test_search_table_and_indexes_exist_on_postgresql_only(fresh_app):
    with fresh_app.app_context():
        if db.engine.dialect.name == "sqlite":
            assert not _has_search_table()
            return
        assert _has_search_table()
        definitions = db.session.scalars(
            text("SELECT indexdef FROM pg_indexes WHERE tablename = 'search_document'")
        ).all()
        assert any("USING gin (document)" in d for d in definitions), definitions
        assert any("USING gist (geog)" in d for d in definitions), definitions
        geog = db.session.scalar(
            text(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid = 'search_document'::regclass AND attname = 'geog'"
            )
        )
        assert geog == "geography(Point,4326)"


def test_migration_0003_downgrades_and_upgrades_again(fresh_app):
    with fresh_app.app_context():
        postgresql = db.engine.dialect.name == "postgresql"
        db.session.remove()
        downgrade(revision="0002")
        assert not _has_search_table()
        upgrade()
        assert _has_search_table() == postgresql
