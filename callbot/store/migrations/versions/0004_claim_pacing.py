"""An index for the campaign-wide call rate: attempts of a campaign by creation time.

:func:`callbot.store.dialing.claim_due` counts a campaign's attempts created within the
last pacing window, under the campaign's row lock, so that every worker together keeps the
campaign's calls per second.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_call_attempt_campaign_created", "call_attempt", ["campaign_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_call_attempt_campaign_created", table_name="call_attempt")
