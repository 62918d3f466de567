"""the kind of each subject's country basis as a column; each file's dihedral PDQs

Revision ID: issue11_derived
Revises: issue13_server
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "issue11_derived"
down_revision = "issue13_server"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subject", schema=None) as batch_op:
        batch_op.add_column(sa.Column("country_basis_kind", sa.String(length=20), nullable=True))
    with op.batch_alter_table("file", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pdq_dihedral", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("file", schema=None) as batch_op:
        batch_op.drop_column("pdq_dihedral")
    with op.batch_alter_table("subject", schema=None) as batch_op:
        batch_op.drop_column("country_basis_kind")
