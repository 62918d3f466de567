"""welfare: how each reveal was shown and for how long; the agency's exposure threshold

Revision ID: issue14_welfare
Revises: issue11_derived
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "issue14_welfare"
down_revision = "issue11_derived"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("media_reveal", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("blurred", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(
            sa.Column("greyscale", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(
            sa.Column("seconds_on_screen", sa.Float(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("ended_at", sa.DateTime(), nullable=True))
    op.create_table(
        "welfare_policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("reveals_per_day", sa.Integer(), nullable=False),
        sa.Column("minutes_per_day", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_welfare_policy_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["user_account.id"],
            name=op.f("fk_welfare_policy_updated_by_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_welfare_policy")),
        sa.UniqueConstraint("agency_id", name=op.f("uq_welfare_policy_agency_id")),
    )


def downgrade() -> None:
    op.drop_table("welfare_policy")
    with op.batch_alter_table("media_reveal", schema=None) as batch_op:
        batch_op.drop_column("ended_at")
        batch_op.drop_column("seconds_on_screen")
        batch_op.drop_column("greyscale")
        batch_op.drop_column("blurred")
