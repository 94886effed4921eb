"""postgres search: PostGIS and the search_document table

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 10:20:00.000000

The table behind SEARCH_BACKEND=postgres (directory/search/postgres_backend.py):
one row per published clinic, written only by the backend after commits. It is
not a model: nothing but the search backend reads or writes it, and
migrations/env.py keeps autogenerate from proposing to drop it (or PostGIS's
spatial_ref_sys). SQLite has no PostGIS and uses the Whoosh index instead, so
there this revision does nothing.
"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    if not _postgresql():
        return
    # Needs a superuser (or a database owner on PostgreSQL >= 13 with trusted extensions).
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    # English stemming (Snowball) without PostgreSQL's stop-word list: the backend
    # drops the same stop words as the Whoosh analyzer itself, so both engines
    # ignore the same words.
    op.execute(
        "CREATE TEXT SEARCH DICTIONARY directory_english_stem "
        "(TEMPLATE = snowball, LANGUAGE = english)"
    )
    op.execute("CREATE TEXT SEARCH CONFIGURATION directory_english (COPY = pg_catalog.english)")
    op.execute(
        "ALTER TEXT SEARCH CONFIGURATION directory_english "
        "ALTER MAPPING REPLACE english_stem WITH directory_english_stem"
    )
    op.execute(
        """
        CREATE TABLE search_document (
            clinic_id integer PRIMARY KEY,
            fingerprint varchar(40) NOT NULL,
            in_person boolean NOT NULL,
            telehealth boolean NOT NULL,
            states_served text[] NOT NULL DEFAULT '{}',
            geog geography(Point, 4326),
            modality text[] NOT NULL DEFAULT '{}',
            condition text[] NOT NULL DEFAULT '{}',
            insurer text[] NOT NULL DEFAULT '{}',
            payment text[] NOT NULL DEFAULT '{}',
            prices jsonb NOT NULL DEFAULT '{}',
            verified_ordinal integer NOT NULL DEFAULT 0,
            document tsvector NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX ix_search_document_document ON search_document USING gin (document)")
    op.execute("CREATE INDEX ix_search_document_geog ON search_document USING gist (geog)")
    for column in ("states_served", "modality", "condition", "insurer", "payment"):
        op.execute(
            f"CREATE INDEX ix_search_document_{column} ON search_document USING gin ({column})"
        )
    op.execute(
        "CREATE INDEX ix_search_document_verified ON search_document (verified_ordinal DESC, clinic_id)"
    )


def downgrade():
    if not _postgresql():
        return
    op.execute("DROP TABLE IF EXISTS search_document")
    op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS directory_english")
    op.execute("DROP TEXT SEARCH DICTIONARY IF EXISTS directory_english_stem")
    # The postgis extension stays: other database objects may use it, and dropping it
    # is a decision for whoever administers the server.
