"""search: each indexed clinic's result card

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 14:40:00.000000

A search page reads no listing rows: what a result card shows is prepared when a
clinic is indexed and kept with its document (directory/listings/cards.py). On
PostgreSQL, search_document gets a `card` column (the card's JSON as text: it is
only ever handed back whole, never queried).

Every indexed document's fingerprint has changed, on either backend (the Whoosh
index keeps the card in its stored row, under a key older rows lack): every
published clinic is queued for re-indexing (search_queue), which each server drains
when it starts, before its first search. Until then a hit without a card is shown
from the listing's row (listings.finder). On both SQLite and PostgreSQL.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    if _postgresql():
        op.execute("ALTER TABLE search_document ADD COLUMN card text NOT NULL DEFAULT ''")
    op.execute(
        "INSERT INTO search_queue (clinic_id, queued_at) "
        "SELECT id, CURRENT_TIMESTAMP FROM clinic WHERE status = 'published' ORDER BY id"
    )


def downgrade():
    if _postgresql():
        op.execute("ALTER TABLE search_document DROP COLUMN IF EXISTS card")
