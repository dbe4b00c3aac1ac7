"""Answers per script block: the ``answer_stat`` table, kept by a trigger on ``call_event``.

Every ``digit``, ``transcript``, ``branch`` and ``transfer`` event of a call adds one to the
line (campaign, block, kind, answer) in the same transaction that writes the event, so the
report's "answers per script block" reads a few dozen rows however many calls were made.
The block of an event that does not name one (a transcript) is the block named by the
latest earlier event of the same attempt. Existing events are counted when the table is
created. :func:`api.services.reports.rebuild_answer_stats` recomputes a campaign's lines.

Revision ID: 0003
Revises: 0002
Create Date: 2025-02-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = "('digit', 'transcript', 'branch', 'transfer')"

_SQLITE_TRIGGER = f"""
CREATE TRIGGER trg_call_event_answer_stat AFTER INSERT ON call_event
WHEN NEW.kind IN {_KINDS}
BEGIN
  INSERT INTO answer_stat (campaign_id, block, kind, answer, count)
  SELECT a.campaign_id,
         substr(coalesce(json_extract(NEW.data, '$.block'),
                         (SELECT json_extract(p.data, '$.block') FROM call_event p
                          WHERE p.attempt_id = NEW.attempt_id AND p.seq < NEW.seq
                            AND json_extract(p.data, '$.block') IS NOT NULL
                          ORDER BY p.seq DESC LIMIT 1), ''), 1, 255),
         NEW.kind,
         substr(coalesce(CASE NEW.kind
                           WHEN 'digit' THEN json_extract(NEW.data, '$.digit')
                           WHEN 'transcript' THEN json_extract(NEW.data, '$.intent')
                           WHEN 'branch' THEN json_extract(NEW.data, '$.to')
                           ELSE CASE WHEN json_extract(NEW.data, '$.ok') THEN 'ok'
                                     ELSE 'failed' END
                         END, ''), 1, 255),
         1
  FROM call_attempt a WHERE a.id = NEW.attempt_id
  ON CONFLICT (campaign_id, block, kind, answer) DO UPDATE SET count = count + 1;
END
"""

_PG_ROWS = """
SELECT a.campaign_id,
       substr(coalesce(e.data ->> 'block',
                       (SELECT p.data ->> 'block' FROM call_event p
                        WHERE p.attempt_id = e.attempt_id AND p.seq < e.seq
                          AND p.data ->> 'block' IS NOT NULL
                        ORDER BY p.seq DESC LIMIT 1), ''), 1, 255) AS blk,
       e.kind,
       substr(coalesce(CASE e.kind
                         WHEN 'digit' THEN e.data ->> 'digit'
                         WHEN 'transcript' THEN e.data ->> 'intent'
                         WHEN 'branch' THEN e.data ->> 'to'
                         ELSE CASE WHEN e.data ->> 'ok' = 'true' THEN 'ok' ELSE 'failed' END
                       END, ''), 1, 255) AS ans,
       count(*)
FROM {source} e JOIN call_attempt a ON a.id = e.attempt_id
WHERE e.kind IN ('digit', 'transcript', 'branch', 'transfer')
GROUP BY a.campaign_id, blk, e.kind, ans
"""

# One upsert per INSERT/COPY statement (a transition table, PostgreSQL 10+): a bulk load
# or a multi-row insert adds its counts at once instead of updating a line per event.
_PG_FUNCTION = f"""
CREATE FUNCTION call_event_answer_stat() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO answer_stat (campaign_id, block, kind, answer, count)
  {_PG_ROWS.format(source="new_events")}
  ON CONFLICT (campaign_id, block, kind, answer)
  DO UPDATE SET count = answer_stat.count + EXCLUDED.count;
  RETURN NULL;
END
$$
"""

_PG_TRIGGER = """
CREATE TRIGGER trg_call_event_answer_stat AFTER INSERT ON call_event
REFERENCING NEW TABLE AS new_events
FOR EACH STATEMENT EXECUTE FUNCTION call_event_answer_stat()
"""

_SQLITE_BACKFILL = f"""
INSERT INTO answer_stat (campaign_id, block, kind, answer, count)
SELECT a.campaign_id,
       substr(coalesce(json_extract(e.data, '$.block'),
                       (SELECT json_extract(p.data, '$.block') FROM call_event p
                        WHERE p.attempt_id = e.attempt_id AND p.seq < e.seq
                          AND json_extract(p.data, '$.block') IS NOT NULL
                        ORDER BY p.seq DESC LIMIT 1), ''), 1, 255) AS blk,
       e.kind,
       substr(coalesce(CASE e.kind
                         WHEN 'digit' THEN json_extract(e.data, '$.digit')
                         WHEN 'transcript' THEN json_extract(e.data, '$.intent')
                         WHEN 'branch' THEN json_extract(e.data, '$.to')
                         ELSE CASE WHEN json_extract(e.data, '$.ok') THEN 'ok'
                                   ELSE 'failed' END
                       END, ''), 1, 255) AS ans,
       count(*)
FROM call_event e JOIN call_attempt a ON a.id = e.attempt_id
WHERE e.kind IN {_KINDS}
GROUP BY a.campaign_id, blk, e.kind, ans
"""

_PG_BACKFILL = ("INSERT INTO answer_stat (campaign_id, block, kind, answer, count)"
                + _PG_ROWS.format(source="call_event"))


def upgrade() -> None:
    op.create_table(
        "answer_stat",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("block", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("answer", sa.String(length=255), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"],
                                name=op.f("fk_answer_stat_campaign_id_campaign"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("campaign_id", "block", "kind", "answer",
                                name=op.f("pk_answer_stat")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_BACKFILL)
        op.execute(_PG_FUNCTION)
        op.execute(_PG_TRIGGER)
    else:
        op.execute(_SQLITE_BACKFILL)
        op.execute(_SQLITE_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS trg_call_event_answer_stat"
               + (" ON call_event" if op.get_bind().dialect.name == "postgresql" else ""))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS call_event_answer_stat()")
    op.drop_table("answer_stat")
