"""imports: where an imported listing came from

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 08:10:00.000000

`clinic.external_id` ("<source>:<id>") ties a listing to the row of the list it was
imported from, so importing the same list again updates it (directory/imports).
Unique, empty for listings that were not imported. On both SQLite and PostgreSQL.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("clinic") as batch_op:
        batch_op.add_column(sa.Column("external_id", sa.String(length=200), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_clinic_external_id"), ["external_id"])


def downgrade():
    with op.batch_alter_table("clinic") as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_clinic_external_id"), type_="unique")
        batch_op.drop_column("external_id")
