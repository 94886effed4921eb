"""postgres search: the search_stats row (index generation and document count)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 07:00:00.000000

One row beside search_document (directory/search/postgres_backend.py). Every write
of the index updates it in the same transaction: `generation` becomes the id of
that transaction, `documents` the number of rows. A search reads it in its own
snapshot, so the backend can key what it caches in the process (document
frequencies, facet counts) by generation, and needs no count(*) over the table
for the relevance scores. Transaction ids never repeat in a cluster, so a
generation is never reused for other contents, not even after a downgrade and
upgrade. Like 0003, this revision does nothing on SQLite.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    if not _postgresql():
        return
    op.execute(
        """
        CREATE TABLE search_stats (
            id boolean PRIMARY KEY DEFAULT TRUE CHECK (id),
            generation bigint NOT NULL,
            documents bigint NOT NULL
        )
        """
    )
    op.execute(
        "INSERT INTO search_stats (id, generation, documents) "
        "SELECT TRUE, txid_current(), count(*) FROM search_document"
    )


def downgrade():
    if not _postgresql():
        return
    op.execute("DROP TABLE IF EXISTS search_stats")
