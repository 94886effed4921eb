"""insights: monthly counters of how often each listing was found and contacted

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 08:00:00.000000

`listing_count` holds one number per listing, month and kind (shown in search
results, page views, phone taps, website clicks): nothing about who or when
(directory/models/insights.py). On both SQLite and PostgreSQL.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "listing_count",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('appearance', 'view', 'phone', 'website')", name=op.f("ck_listing_count_kind")
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_listing_count_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listing_count")),
        sa.UniqueConstraint("clinic_id", "month", "kind", name="uq_listing_count"),
    )


def downgrade():
    op.drop_table("listing_count")
