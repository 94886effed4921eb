"""revision base record; one pending claim per account and listing

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 09:00:00.000000

- `revision.base_record`: the listing as the clinic's form showed it when it was
  opened (carried in a signed hidden field), so staleness is decided field by
  field against what the clinic saw, not by comparing version numbers.
- `uq_revision_pending_claim`: a partial unique index, so two claims sent at once
  by one account for one listing cannot both be pending (a constraint, not a
  check-then-insert). Duplicates already stored are closed first, keeping the
  newest, so the index can be built.

On both SQLite and PostgreSQL.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

PENDING_CLAIM = sa.text("kind = 'claim' AND status = 'pending'")


def upgrade():
    with op.batch_alter_table("revision", schema=None) as batch_op:
        batch_op.add_column(sa.Column("base_record", sa.JSON(), nullable=True))
    op.execute(
        """
        UPDATE revision SET status = 'withdrawn',
               reason = 'Closed automatically: a newer claim by the same account waits.'
         WHERE kind = 'claim' AND status = 'pending'
           AND EXISTS (SELECT 1 FROM revision AS newer
                        WHERE newer.kind = 'claim' AND newer.status = 'pending'
                          AND newer.clinic_id = revision.clinic_id
                          AND newer.author_id = revision.author_id
                          AND newer.id > revision.id)
        """
    )
    op.create_index(
        "uq_revision_pending_claim",
        "revision",
        ["clinic_id", "author_id"],
        unique=True,
        sqlite_where=PENDING_CLAIM,
        postgresql_where=PENDING_CLAIM,
    )


def downgrade():
    op.drop_index("uq_revision_pending_claim", table_name="revision")
    with op.batch_alter_table("revision", schema=None) as batch_op:
        batch_op.drop_column("base_record")
