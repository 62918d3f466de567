"""an index on the file an event names: a file's page lists the reports and messages naming it

Revision ID: issue14_event_file
Revises: issue12_forensic
"""

from __future__ import annotations

from alembic import op

revision = "issue14_event_file"
down_revision = "issue12_forensic"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index("ix_event_file", ["file_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index("ix_event_file")
