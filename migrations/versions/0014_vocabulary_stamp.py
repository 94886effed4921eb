"""vocabularies: a stamp every change moves on, so processes keep the names they read

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 14:35:00.000000

A search names every code it shows (facets, chips, result cards), and read the
four vocabulary tables on each request to do it. `vocabulary_stamp` holds one
number that every change to a vocabulary moves on in its own transaction
(directory/listings/vocabulary.py); a process keeps the names it read until the
number moves, so a rename still shows at once on every server. On both SQLite and
PostgreSQL.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    stamp = op.create_table(
        "vocabulary_stamp",
        sa.Column("id", sa.Boolean(), primary_key=True),
        sa.Column("stamp", sa.Integer(), nullable=False),
    )
    op.bulk_insert(stamp, [{"id": True, "stamp": 0}])


def downgrade():
    op.drop_table("vocabulary_stamp")
