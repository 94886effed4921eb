"""search queue: clinics to re-index, written in the transaction of each change

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 06:10:00.000000

See directory/models/search_queue.py. On both SQLite and PostgreSQL.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "search_queue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_queue")),
    )
    with op.batch_alter_table("search_queue", schema=None) as batch_op:
        batch_op.create_index("ix_search_queue_clinic_id", ["clinic_id"], unique=False)


def downgrade():
    with op.batch_alter_table("search_queue", schema=None) as batch_op:
        batch_op.drop_index("ix_search_queue_clinic_id")
    op.drop_table("search_queue")
