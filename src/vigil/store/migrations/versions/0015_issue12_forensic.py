"""evidence identity per exhibit; read problems on the file instance; raw non-UTF-8 names

Revision ID: issue12_forensic
Revises: issue14_welfare
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "issue12_forensic"
down_revision = "issue14_welfare"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("exhibit", sa.String(length=600), server_default="", nullable=False)
        )
        batch_op.drop_constraint("uq_source_case_id_sha256", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_source_case_id_exhibit_sha256"), ["case_id", "exhibit", "sha256"]
        )
    with op.batch_alter_table("file_instance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("problem", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("read_complete", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.add_column(sa.Column("raw_path", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("file_instance", schema=None) as batch_op:
        batch_op.drop_column("raw_path")
        batch_op.drop_column("read_complete")
        batch_op.drop_column("problem")
    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.drop_constraint("uq_source_case_id_exhibit_sha256", type_="unique")
        batch_op.create_unique_constraint("uq_source_case_id_sha256", ["case_id", "sha256"])
        batch_op.drop_column("exhibit")
