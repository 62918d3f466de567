"""issue 15: federation (node keys, peers, nonces, hits, outbox, inbox, peer outcomes)

Revision ID: issue15_federation
Revises: 0001
Create Date: 2026-11-30 00:33:51.861998
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "issue15_federation"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "federation_node",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("signing_public_key", sa.String(length=100), nullable=False),
        sa.Column("oprf_public_key", sa.String(length=100), nullable=False),
        sa.Column("keys_dir", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("rotated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_federation_node_agency_id_agency")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_node")),
        sa.UniqueConstraint("agency_id", name=op.f("uq_federation_node_agency_id")),
    )
    op.create_table(
        "peer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("public_key", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("selectors_per_hour", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.Column("key_changed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_peer_agency_id_agency")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_peer")),
        sa.UniqueConstraint("agency_id", "code", name=op.f("uq_peer_agency_id_code")),
    )
    op.create_table(
        "peer_nonce",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("peer_id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("selectors", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["peer_id"], ["peer.id"], name=op.f("fk_peer_nonce_peer_id_peer"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_peer_nonce")),
        sa.UniqueConstraint("peer_id", "nonce", name=op.f("uq_peer_nonce_peer_id_nonce")),
    )
    with op.batch_alter_table("peer_nonce", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_peer_nonce_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "deconfliction_hit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("peer_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("selector_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("our_reference", sa.String(length=100), nullable=False),
        sa.Column("their_reference", sa.String(length=100), nullable=False),
        sa.Column("contact", sa.String(length=300), nullable=True),
        sa.Column("their_case", sa.String(length=100), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_deconfliction_hit_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_file.id"], name=op.f("fk_deconfliction_hit_case_id_case_file")
        ),
        sa.ForeignKeyConstraint(
            ["peer_id"], ["peer.id"], name=op.f("fk_deconfliction_hit_peer_id_peer")
        ),
        sa.ForeignKeyConstraint(
            ["selector_id"], ["selector.id"], name=op.f("fk_deconfliction_hit_selector_id_selector")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deconfliction_hit")),
        sa.UniqueConstraint(
            "agency_id",
            "peer_id",
            "direction",
            "selector_id",
            name=op.f("uq_deconfliction_hit_agency_id_peer_id_direction_selector_id"),
        ),
    )
    op.create_table(
        "inbox_referral",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("peer_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("their_referral_id", sa.Integer(), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=200), nullable=False),
        sa.Column("package", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_inbox_referral_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_file.id"], name=op.f("fk_inbox_referral_case_id_case_file")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["user_account.id"],
            name=op.f("fk_inbox_referral_decided_by_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["peer_id"], ["peer.id"], name=op.f("fk_inbox_referral_peer_id_peer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_referral")),
        sa.UniqueConstraint(
            "peer_id", "idempotency_key", name=op.f("uq_inbox_referral_peer_id_idempotency_key")
        ),
    )
    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("peer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_outbox_message_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["peer_id"], ["peer.id"], name=op.f("fk_outbox_message_peer_id_peer")
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"], ["referral.id"], name=op.f("fk_outbox_message_referral_id_referral")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_message")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_message_idempotency_key")),
    )
    op.create_table(
        "peer_outcome",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("peer_id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("occurred_on", sa.DateTime(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["peer_id"], ["peer.id"], name=op.f("fk_peer_outcome_peer_id_peer")
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"], ["referral.id"], name=op.f("fk_peer_outcome_referral_id_referral")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name=op.f("fk_peer_outcome_subject_id_subject")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_peer_outcome")),
        sa.UniqueConstraint(
            "peer_id", "idempotency_key", name=op.f("uq_peer_outcome_peer_id_idempotency_key")
        ),
    )
    op.create_table(
        "inbox_subject",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inbox_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("their_subject_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["inbox_id"],
            ["inbox_referral.id"],
            name=op.f("fk_inbox_subject_inbox_id_inbox_referral"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name=op.f("fk_inbox_subject_subject_id_subject")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_subject")),
        sa.UniqueConstraint(
            "inbox_id", "subject_id", name=op.f("uq_inbox_subject_inbox_id_subject_id")
        ),
    )
    with op.batch_alter_table("inbox_subject", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inbox_subject_subject_id"), ["subject_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("inbox_subject", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbox_subject_subject_id"))

    op.drop_table("inbox_subject")
    op.drop_table("peer_outcome")
    op.drop_table("outbox_message")
    op.drop_table("inbox_referral")
    op.drop_table("deconfliction_hit")
    with op.batch_alter_table("peer_nonce", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_peer_nonce_received_at"))

    op.drop_table("peer_nonce")
    op.drop_table("peer")
    op.drop_table("federation_node")
