"""search: each indexed clinic's state and whether it accepts new patients

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 20:00:00.000000

A whole-state search ("Texas") takes the in-person clinics whose state it is, and
the "accepting new patients" filter and tie-break read whether each clinic is, so
the search document gained both (directory/search/documents.py). On PostgreSQL,
search_document gets the two columns, filled from the clinic rows so searches are
right at once, with an index on the state.

Every indexed document's fingerprint has changed, on either backend, and the Whoosh
index's stored rows have a new shape (whoosh_index.ROW_FORMAT): every published
clinic is queued for re-indexing (search_queue), which each server drains when it
starts, before its first search. On both SQLite and PostgreSQL.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    if _postgresql():
        op.execute("ALTER TABLE search_document ADD COLUMN state text NOT NULL DEFAULT ''")
        op.execute(
            "ALTER TABLE search_document ADD COLUMN accepting boolean NOT NULL DEFAULT TRUE"
        )
        op.execute(
            """
            UPDATE search_document d
               SET state = COALESCE(c.state, ''),
                   accepting = COALESCE(c.accepting_new_patients, FALSE)
              FROM clinic c
             WHERE c.id = d.clinic_id
            """
        )
        op.execute("CREATE INDEX ix_search_document_state ON search_document (state)")
    op.execute(
        "INSERT INTO search_queue (clinic_id, queued_at) "
        "SELECT id, CURRENT_TIMESTAMP FROM clinic WHERE status = 'published' ORDER BY id"
    )


def downgrade():
    if _postgresql():
        op.execute("DROP INDEX IF EXISTS ix_search_document_state")
        op.execute("ALTER TABLE search_document DROP COLUMN IF EXISTS accepting")
        op.execute("ALTER TABLE search_document DROP COLUMN IF EXISTS state")
