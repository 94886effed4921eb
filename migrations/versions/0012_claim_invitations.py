"""claims: editors' invitations to claim unclaimed listings

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 08:40:00.000000

`claim_invitation` records each invitation mailed to a listing's address: when it
was sent and by whom, until when its link works, and who used it
(directory/models/invitations.py). On both SQLite and PostgreSQL.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "claim_invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("sent_by_id", sa.Integer(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_claim_invitation_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sent_by_id"],
            ["user_account.id"],
            name=op.f("fk_claim_invitation_sent_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["claimed_by_id"],
            ["user_account.id"],
            name=op.f("fk_claim_invitation_claimed_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_invitation")),
    )
    op.create_index(
        op.f("ix_claim_invitation_clinic_id"), "claim_invitation", ["clinic_id"], unique=False
    )


def downgrade():
    op.drop_index(op.f("ix_claim_invitation_clinic_id"), table_name="claim_invitation")
    op.drop_table("claim_invitation")
