"""A campaign's report for the API: the store's report plus answers per script block.

Customers per status (with the manual's cumulative totals), attempts per outcome, answer
rate, average talk time and calls per hour come from :func:`callbot.store.report.report`
(aggregates over the covering index and the per-hour :class:`~callbot.store.models.CallStat`).
Answers per script block come from :class:`AnswerStat`, a small table kept by a database
trigger on ``call_event`` (migration ``0003``): each ``digit``, ``transcript``, ``branch`` and
``transfer`` event adds one to its (campaign, block, kind, answer) line in the transaction
that writes the event. No query reads the attempts or their events: the cost grows with
hours, outcomes and blocks, and the customers-per-status count with the number of customers
(one GROUP BY on a covering index), not with the number of attempts. :func:`rebuild_answer_stats` recomputes a campaign's lines from the events
with a portable GROUP BY on the JSON data (SQLite ``json_extract``, PostgreSQL ``->>``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Final

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy import BigInteger, PrimaryKeyConstraint
from sqlmodel import Field as SQLField
from sqlmodel import Session, SQLModel, col

from callbot.store.db import write_transaction
from callbot.store.models import CallAttempt, CallEvent
from callbot.store.report import CampaignReport, report

__all__ = [
    "AnswerKind", "AnswerStat", "BlockAnswers", "HourCountPublic", "CampaignReportPublic",
    "answers_per_block", "rebuild_answer_stats", "campaign_report", "ANSWER_KINDS",
]


class AnswerKind(StrEnum):
    """The call events counted per block, and what their ``answer`` is."""

    DIGIT = "digit"            # the key pressed (RFC 4733 event or in-band tone)
    TRANSCRIPT = "transcript"  # the recognized intent ('' when none)
    BRANCH = "branch"          # the block the script went to next
    TRANSFER = "transfer"      # 'ok' or 'failed'


ANSWER_KINDS: Final = tuple(k.value for k in AnswerKind)


class AnswerStat(SQLModel, table=True):
    """How many times ``answer`` of ``kind`` happened in ``block`` of a campaign's calls.

    Written only by the database trigger of migration ``0003`` (and
    :func:`rebuild_answer_stats`); never by application code on the call path.
    """

    __tablename__: ClassVar[str] = "answer_stat"
    __table_args__ = (PrimaryKeyConstraint("campaign_id", "block", "kind", "answer"),)

    campaign_id: int = SQLField(foreign_key="campaign.id", ondelete="CASCADE")
    block: str = SQLField(max_length=255)
    kind: str = SQLField(max_length=32)
    answer: str = SQLField(max_length=255)
    count: int = SQLField(default=0, sa_type=BigInteger)


# --- API schemas ------------------------------------------------------------------------


class BlockAnswers(BaseModel):
    """What callers answered in one block of the script."""

    block: str = Field(description="block id ('' when the event named none)")
    keys: dict[str, int] = Field(default_factory=dict, description="key -> presses")
    intents: dict[str, int] = Field(default_factory=dict,
                                    description="recognized intent -> answers ('' = none)")
    branches: dict[str, int] = Field(default_factory=dict,
                                     description="next block -> times the script went there")
    transfers: dict[str, int] = Field(default_factory=dict, description="'ok' / 'failed'")


class HourCountPublic(BaseModel):
    hour: datetime = Field(description="start of the UTC hour")
    attempts: int


class CampaignReportPublic(BaseModel):
    """A campaign's report. ``totals`` are cumulative as the campaign manual defines them:
    Registered = all four statuses, Confirmed = Confirmed + Joined, Joined, Cancelled."""

    campaign_id: int
    customers: int
    by_status: dict[str, int]
    totals: dict[str, int]
    called: int = Field(description="customers called at least once")
    done: int = Field(description="customers who will not be called again")
    remaining: int = Field(description="customers still to call")
    attempts: int
    in_progress: int
    abandoned: int
    by_outcome: dict[str, int]
    answer_rate: float | None = Field(description="answered / finished attempts")
    avg_talk_s: float | None = Field(description="average talk time of answered calls")
    calls_per_hour: list[HourCountPublic]
    answers: list[BlockAnswers]

    model_config = {"json_schema_extra": {"examples": [{
        "campaign_id": 1, "customers": 4, "called": 4, "done": 3, "remaining": 1,
        "by_status": {"Registered": 1, "Confirmed": 1, "Joined": 1, "Cancelled": 1},
        "totals": {"Registered": 4, "Confirmed": 2, "Joined": 1, "Cancelled": 1},
        "attempts": 6, "in_progress": 0, "abandoned": 0,
        "by_outcome": {"answered": 3, "no_answer": 2, "busy": 1},
        "answer_rate": 0.5, "avg_talk_s": 41.3,
        "calls_per_hour": [{"hour": "2025-03-03T02:00:00Z", "attempts": 6}],
        "answers": [{"block": "ask", "keys": {"1": 2, "2": 1}, "intents": {},
                     "branches": {"confirmed": 2, "cancelled": 1}, "transfers": {}}],
    }]}}


# --- queries ----------------------------------------------------------------------------


def answers_per_block(session: Session, campaign_id: int) -> list[BlockAnswers]:
    """The campaign's answers grouped by block (blocks in alphabetical order)."""
    st = AnswerStat
    rows = session.execute(
        sa.select(col(st.block), col(st.kind), col(st.answer), col(st.count))
        .where(col(st.campaign_id) == campaign_id)
        .order_by(col(st.block), col(st.kind), col(st.answer))).all()
    blocks: dict[str, BlockAnswers] = {}
    field_of: Mapping[str, str] = {AnswerKind.DIGIT: "keys", AnswerKind.TRANSCRIPT: "intents",
                                   AnswerKind.BRANCH: "branches",
                                   AnswerKind.TRANSFER: "transfers"}
    for block, kind, answer, count in rows:
        entry = blocks.setdefault(block, BlockAnswers(block=block))
        name = field_of.get(kind)
        if name is not None:
            getattr(entry, name)[answer] = int(count)
    return list(blocks.values())


def _answer_columns() -> tuple[Any, Any]:
    """(block, answer) of a call event as portable SQL over its JSON ``data``."""
    ev = CallEvent.__table__.alias("ev")  # type: ignore[attr-defined]
    prev = CallEvent.__table__.alias("prev")  # type: ignore[attr-defined]
    earlier = (sa.select(prev.c.data["block"].as_string())
               .where(prev.c.attempt_id == ev.c.attempt_id, prev.c.seq < ev.c.seq,
                      prev.c.data["block"].as_string().is_not(None))
               .order_by(prev.c.seq.desc()).limit(1).scalar_subquery())
    block = sa.func.substr(sa.func.coalesce(ev.c.data["block"].as_string(), earlier, ""), 1, 255)
    data = ev.c.data
    answer = sa.case(
        (ev.c.kind == AnswerKind.DIGIT.value, data["digit"].as_string()),
        (ev.c.kind == AnswerKind.TRANSCRIPT.value, data["intent"].as_string()),
        (ev.c.kind == AnswerKind.BRANCH.value, data["to"].as_string()),
        else_=sa.case((data["ok"].as_boolean() == sa.true(), "ok"), else_="failed"))
    return ev, (block, sa.func.substr(sa.func.coalesce(answer, ""), 1, 255))


def rebuild_answer_stats(session: Session, campaign_id: int) -> None:
    """Recompute the campaign's :class:`AnswerStat` lines from its call events (repair, or
    after events were loaded with the trigger disabled)."""
    ev, (block, answer) = _answer_columns()
    ca = CallAttempt.__table__  # type: ignore[attr-defined]
    table = AnswerStat.__table__  # type: ignore[attr-defined]
    rows = (sa.select(sa.literal(campaign_id), block.label("blk"), ev.c.kind,
                      answer.label("ans"), sa.func.count())
            .select_from(ev.join(ca, ca.c.id == ev.c.attempt_id))
            .where(ca.c.campaign_id == campaign_id, ev.c.kind.in_(ANSWER_KINDS))
            .group_by(sa.literal_column("blk"), ev.c.kind, sa.literal_column("ans")))
    with write_transaction(session):
        session.execute(sa.delete(table).where(table.c.campaign_id == campaign_id))
        session.execute(sa.insert(table).from_select(
            ["campaign_id", "block", "kind", "answer", "count"], rows))


def campaign_report(session: Session, campaign_id: int) -> CampaignReportPublic:
    """The full report of one campaign (raises the store's ``NotFound``)."""
    base: CampaignReport = report(session, campaign_id)
    data = base.to_json()
    data["answers"] = answers_per_block(session, campaign_id)
    return CampaignReportPublic.model_validate(data)
