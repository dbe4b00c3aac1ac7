"""Initial schema of the store: trunks, scripts, campaigns, customers, call attempts,
call events, status changes and Do-Not-Contact.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("code", sa.String(length=100), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer"))
    )
    op.create_index("ix_customer_phone", "customer", ["phone"])

    op.create_table(
        "do_not_contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_do_not_contact")),
        sa.UniqueConstraint("phone", name=op.f("uq_do_not_contact_phone"))
    )

    op.create_table(
        "script",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_script")),
        sa.UniqueConstraint("name", name=op.f("uq_script_name"))
    )

    op.create_table(
        "trunk",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=255), nullable=True),
        sa.Column("registration", sa.Boolean(), nullable=False),
        sa.Column("caller_id", sa.String(length=64), nullable=True),
        sa.Column("max_concurrent", sa.Integer(), nullable=False),
        sa.Column("cps", sa.Float(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("password", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trunk")),
        sa.UniqueConstraint("name", name=op.f("uq_trunk_name"))
    )

    op.create_table(
        "script_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("script_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["script_id"], ["script.id"],
                                name=op.f("fk_script_version_script_id_script"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_script_version")),
        sa.UniqueConstraint("script_id", "version",
                            name=op.f("uq_script_version_script_id_version"))
    )

    op.create_table(
        "campaign",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("script_id", sa.Integer(), nullable=True),
        sa.Column("trunk_id", sa.Integer(), nullable=True),
        sa.Column("caller_id", sa.String(length=64), nullable=True),
        sa.Column("max_concurrent", sa.Integer(), nullable=False),
        sa.Column("cps", sa.Float(), nullable=False),
        sa.Column("hours_start", sa.String(length=5), nullable=False),
        sa.Column("hours_end", sa.String(length=5), nullable=False),
        sa.Column("calling_days", sa.JSON(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("retry_rules", sa.JSON(), nullable=False),
        sa.Column("ring_timeout_s", sa.Integer(), nullable=False),
        sa.Column("max_duration_s", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("script_version_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["script_id"], ["script.id"],
                                name=op.f("fk_campaign_script_id_script")),
        sa.ForeignKeyConstraint(["script_version_id"], ["script_version.id"],
                                name=op.f("fk_campaign_script_version_id_script_version")),
        sa.ForeignKeyConstraint(["trunk_id"], ["trunk.id"],
                                name=op.f("fk_campaign_trunk_id_trunk")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign"))
    )

    op.create_table(
        "campaign_customer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_outcome", sa.String(length=32), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("done_reason", sa.String(length=32), nullable=True),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assigned_agent_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"],
                                name=op.f("fk_campaign_customer_campaign_id_campaign"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"],
                                name=op.f("fk_campaign_customer_customer_id_customer"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_customer")),
        sa.UniqueConstraint("campaign_id", "customer_id",
                            name=op.f("uq_campaign_customer_campaign_id_customer_id"))
    )
    op.create_index("ix_campaign_customer_claim", "campaign_customer",
                    ["campaign_id", "done", "next_attempt_at", "id"])
    op.create_index("ix_campaign_customer_customer_id", "campaign_customer", ["customer_id"])
    op.create_index("ix_campaign_customer_lease", "campaign_customer",
                    ["campaign_id", "lease_expires_at"])
    op.create_index("ix_campaign_customer_status", "campaign_customer",
                    ["campaign_id", "status", "done", "attempts"])

    op.create_table(
        "call_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_customer_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("attempt_no", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("call_id", sa.String(length=255), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("sip_status", sa.Integer(), nullable=True),
        sa.Column("hangup_by", sa.String(length=32), nullable=True),
        sa.Column("ring_ms", sa.Integer(), nullable=True),
        sa.Column("talk_ms", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("message", sa.String(), nullable=False),
        sa.Column("digits", sa.String(length=255), nullable=False),
        sa.Column("final_status", sa.String(length=32), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["campaign_customer_id"], ["campaign_customer.id"],
                                name=op.f("fk_call_attempt_campaign_customer_id_campaign_customer"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"],
                                name=op.f("fk_call_attempt_campaign_id_campaign"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_attempt")),
        sa.UniqueConstraint("campaign_customer_id", "attempt_no",
                            name=op.f("uq_call_attempt_campaign_customer_id_attempt_no"))
    )
    op.create_index("ix_call_attempt_call_id", "call_attempt", ["call_id"])
    op.create_index("ix_call_attempt_campaign_ended", "call_attempt", ["campaign_id", "ended_at"])
    op.create_index("ix_call_attempt_ended_at", "call_attempt", ["ended_at"])
    op.create_index("ix_call_attempt_outcome", "call_attempt", ["campaign_id", "outcome"])

    op.create_table(
        "call_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("t_ms", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["attempt_id"], ["call_attempt.id"],
                                name=op.f("fk_call_event_attempt_id_call_attempt"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_event")),
        sa.UniqueConstraint("attempt_id", "seq", name=op.f("uq_call_event_attempt_id_seq"))
    )

    op.create_table(
        "call_stat",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("talk_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"],
                                name=op.f("fk_call_stat_campaign_id_campaign"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("campaign_id", "hour", "outcome", name=op.f("pk_call_stat"))
    )

    op.create_table(
        "status_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_customer_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=False),
        sa.Column("to_status", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=True),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.Column("message", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["attempt_id"], ["call_attempt.id"],
                                name=op.f("fk_status_change_attempt_id_call_attempt"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["campaign_customer_id"], ["campaign_customer.id"],
                                name=op.f("fk_status_change_campaign_customer_id_campaign_customer"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_change"))
    )
    op.create_index("ix_status_change_customer", "status_change", ["campaign_customer_id", "at"])



def downgrade() -> None:
    op.drop_index("ix_status_change_customer", table_name="status_change")
    op.drop_table("status_change")
    op.drop_table("call_stat")
    op.drop_table("call_event")
    op.drop_index("ix_call_attempt_outcome", table_name="call_attempt")
    op.drop_index("ix_call_attempt_ended_at", table_name="call_attempt")
    op.drop_index("ix_call_attempt_campaign_ended", table_name="call_attempt")
    op.drop_index("ix_call_attempt_call_id", table_name="call_attempt")
    op.drop_table("call_attempt")
    op.drop_index("ix_campaign_customer_status", table_name="campaign_customer")
    op.drop_index("ix_campaign_customer_lease", table_name="campaign_customer")
    op.drop_index("ix_campaign_customer_customer_id", table_name="campaign_customer")
    op.drop_index("ix_campaign_customer_claim", table_name="campaign_customer")
    op.drop_table("campaign_customer")
    op.drop_table("campaign")
    op.drop_table("script_version")
    op.drop_table("trunk")
    op.drop_table("script")
    op.drop_table("do_not_contact")
    op.drop_index("ix_customer_phone", table_name="customer")
    op.drop_table("customer")
