"""trust: stated credentials, editors' checks of them, and a confirmed date per section

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 22:30:00.000000

A listing now states its credentials (organization and clinicians' NPIs, state
licences, its medical director) and whether it offers a Good Faith Estimate; each
treatment says what its price includes, and when and how its price was last
confirmed. Details, hours and insurance carry their own confirmed dates, and
`last_verified_at` becomes the oldest of them (listings/confirmations.py). Existing
listings start with every section confirmed on their old verified date, which is
what that date meant. `credential_check` holds editors' checks.

On PostgreSQL, search_document gets the newest confirmed check's and the oldest
price confirmation's day numbers (the "credentials checked" filter and the
tie-breaks read them), and every published clinic is queued for re-indexing
(search_queue): the Whoosh index's documents gained the same two values.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_CLINIC_COLUMNS = (
    sa.Column("good_faith_estimate", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("npi", sa.String(length=10), nullable=False, server_default=""),
    sa.Column("clinician_npis", sa.JSON(), nullable=False, server_default="[]"),
    sa.Column("licenses", sa.JSON(), nullable=False, server_default="[]"),
    sa.Column("medical_director_name", sa.String(length=160), nullable=False, server_default=""),
    sa.Column("details_confirmed_on", sa.Date(), nullable=True),
    sa.Column("hours_confirmed_on", sa.Date(), nullable=True),
    sa.Column("insurance_confirmed_on", sa.Date(), nullable=True),
)
_OFFERING_COLUMNS = (
    sa.Column("includes", sa.JSON(), nullable=False, server_default="[]"),
    sa.Column("price_confirmed_on", sa.Date(), nullable=True),
    sa.Column("price_confirmed_how", sa.String(length=16), nullable=True),
)


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    for column in _CLINIC_COLUMNS:
        op.add_column("clinic", column)
    for column in _OFFERING_COLUMNS:
        op.add_column("offering", column)
    op.execute(
        "UPDATE clinic SET details_confirmed_on = last_verified_at, "
        "hours_confirmed_on = last_verified_at, insurance_confirmed_on = last_verified_at"
    )
    op.execute(
        "UPDATE offering SET price_confirmed_on = "
        "(SELECT last_verified_at FROM clinic WHERE clinic.id = offering.clinic_id)"
    )
    op.create_table(
        "credential_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=500), nullable=False),
        sa.Column("checked_on", sa.Date(), nullable=False),
        sa.Column("checked_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('organization_npi', 'clinician_npi', 'license', 'spravato_rems', "
            "'medical_director')",
            name=op.f("ck_credential_check_kind"),
        ),
        sa.CheckConstraint(
            "outcome IN ('confirmed', 'not_confirmed')", name=op.f("ck_credential_check_outcome")
        ),
        sa.CheckConstraint(
            "source IN ('nppes', 'state_board', 'rems', 'other')",
            name=op.f("ck_credential_check_source"),
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_credential_check_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["checked_by_id"],
            ["user_account.id"],
            name=op.f("fk_credential_check_checked_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credential_check")),
        sa.UniqueConstraint("clinic_id", "kind", "subject", name="uq_credential_check_subject"),
    )
    op.create_index(
        op.f("ix_credential_check_clinic_id"), "credential_check", ["clinic_id"], unique=False
    )
    if _postgresql():
        op.execute(
            "ALTER TABLE search_document ADD COLUMN checked_ordinal integer NOT NULL DEFAULT 0"
        )
        op.execute(
            "ALTER TABLE search_document ADD COLUMN prices_ordinal integer NOT NULL DEFAULT 0"
        )
    op.execute(
        "INSERT INTO search_queue (clinic_id, queued_at) "
        "SELECT id, CURRENT_TIMESTAMP FROM clinic WHERE status = 'published' ORDER BY id"
    )


def downgrade():
    if _postgresql():
        op.execute("ALTER TABLE search_document DROP COLUMN IF EXISTS prices_ordinal")
        op.execute("ALTER TABLE search_document DROP COLUMN IF EXISTS checked_ordinal")
    op.drop_index(op.f("ix_credential_check_clinic_id"), table_name="credential_check")
    op.drop_table("credential_check")
    with op.batch_alter_table("offering") as batch_op:
        for column in _OFFERING_COLUMNS:
            batch_op.drop_column(column.name)
    with op.batch_alter_table("clinic") as batch_op:
        for column in _CLINIC_COLUMNS:
            batch_op.drop_column(column.name)
