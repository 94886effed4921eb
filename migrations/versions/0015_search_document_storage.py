"""postgres search: each document's tsvector kept in its row, the result card out of it

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 15:00:00.000000

With the result card in search_document (0013), most rows grew past PostgreSQL's
2 kB TOAST threshold, and the biggest value, the `document` tsvector (about
1.1 kB, which hardly compresses), went out of line into the TOAST table: every
text match then fetched it from there (three or four more buffers a row), and
did so again for each `@@` of the relevance score. A text search over 100k
documents read 400k buffers. `document` is now stored MAIN (kept in the row
unless nothing else can leave it) and `card` EXTERNAL (moved out of the row
first, uncompressed: it is only read back whole, for the 20 to 70 rows a page
shows). Rows written before keep their layout until written again, so they are
rewritten here (same values; the index generation does not move, since nothing a
search returns changes). The rewrite leaves dead rows for autovacuum. Like 0003,
this revision does nothing on SQLite.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    if not _postgresql():
        return
    op.execute("ALTER TABLE search_document ALTER COLUMN document SET STORAGE MAIN")
    op.execute("ALTER TABLE search_document ALTER COLUMN card SET STORAGE EXTERNAL")
    # New values (a tsvector concatenated with the empty one is the same tsvector)
    # are stored by the new rules; an unchanged out-of-line value would stay where it is.
    op.execute("UPDATE search_document SET document = document || ''::tsvector, card = card || ''")


def downgrade():
    if not _postgresql():
        return
    op.execute("ALTER TABLE search_document ALTER COLUMN document SET STORAGE EXTENDED")
    op.execute("ALTER TABLE search_document ALTER COLUMN card SET STORAGE EXTENDED")
