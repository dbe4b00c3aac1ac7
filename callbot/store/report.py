"""A campaign's report, computed by the database with aggregate queries.

Four GROUP BY queries, each served by an index (``ix_campaign_customer_status``,
``ix_call_attempt_outcome`` which covers outcome and talk time, ``ix_call_attempt_campaign_ended``),
so the cost grows with the number of distinct statuses, outcomes and hours, not with Python
loops over rows. Status totals are cumulative exactly as the campaign manual defines them
(:func:`scripts_dsl.status.cumulative_totals`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from callbot.store.errors import NotFound
from callbot.store.models import AttemptState, CallAttempt, Campaign, CampaignCustomer
from dialer.outcome import CallOutcome
from scripts_dsl.status import CustomerStatus, cumulative_totals

__all__ = ["CampaignReport", "HourCount", "report"]


@dataclass(frozen=True)
class HourCount:
    """Attempts that ended within the UTC hour starting at ``hour``."""

    hour: datetime
    attempts: int


@dataclass(frozen=True)
class CampaignReport:
    """Customers per status (and the manual's cumulative totals), progress, and attempts.

    ``answer_rate`` is answered / finished attempts; ``avg_talk_s`` averages answered calls;
    both are None before there is anything to divide.
    """

    campaign_id: int
    customers: int
    by_status: Mapping[CustomerStatus, int]
    totals: Mapping[CustomerStatus, int]
    called: int
    done: int
    remaining: int
    attempts: int
    in_progress: int
    abandoned: int
    by_outcome: Mapping[CallOutcome, int]
    answer_rate: float | None
    avg_talk_s: float | None
    calls_per_hour: tuple[HourCount, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "campaign_id": self.campaign_id,
            "customers": self.customers,
            "by_status": {s.value: n for s, n in self.by_status.items()},
            "totals": {s.value: n for s, n in self.totals.items()},
            "called": self.called,
            "done": self.done,
            "remaining": self.remaining,
            "attempts": self.attempts,
            "in_progress": self.in_progress,
            "abandoned": self.abandoned,
            "by_outcome": {o.value: n for o, n in self.by_outcome.items()},
            "answer_rate": self.answer_rate,
            "avg_talk_s": self.avg_talk_s,
            "calls_per_hour": [{"hour": h.hour.isoformat(), "attempts": h.attempts}
                               for h in self.calls_per_hour],
        }


def _count_if(condition: Any) -> Any:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _hour(dialect: str) -> Any:
    ended = col(CallAttempt.ended_at)
    if dialect == "postgresql":
        # Literal arguments, not bind parameters: GROUP BY must repeat the same expression.
        return sa.func.date_trunc(sa.literal_column("'hour'"),
                                  sa.func.timezone(sa.literal_column("'UTC'"), ended))
    return sa.func.strftime(sa.literal_column("'%Y-%m-%d %H:00:00'"), ended)


def _as_hour(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def report(session: Session, campaign_id: int) -> CampaignReport:
    """The report of one campaign."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound("campaign", campaign_id)
    cc, ca = CampaignCustomer, CallAttempt

    by_status = {status: 0 for status in CustomerStatus}
    called = done = remaining = 0
    for status, count, n_called, n_done, n_left in session.execute(
        sa.select(cc.status, sa.func.count(), _count_if(cc.attempts > 0),
                  _count_if(cc.done == sa.true()),
                  _count_if(sa.and_(cc.done == sa.false(), cc.attempts < campaign.max_attempts)))
        .where(cc.campaign_id == campaign_id).group_by(cc.status)):
        by_status[CustomerStatus(status)] = int(count)
        called, done, remaining = called + int(n_called), done + int(n_done), remaining + int(n_left)

    by_outcome: dict[CallOutcome, int] = {}
    unfinished = finished = answered_talk_ms = 0
    for outcome, count, talk in session.execute(
        sa.select(ca.outcome, sa.func.count(), sa.func.coalesce(sa.func.sum(ca.talk_ms), 0))
        .where(ca.campaign_id == campaign_id).group_by(ca.outcome)):
        if outcome is None:
            unfinished = int(count)
            continue
        by_outcome[CallOutcome(outcome)] = int(count)
        finished += int(count)
        if outcome is CallOutcome.ANSWERED:
            answered_talk_ms = int(talk)

    abandoned = 0
    if unfinished:
        abandoned = int(session.execute(
            sa.select(sa.func.count()).where(ca.campaign_id == campaign_id,
                                             col(ca.outcome).is_(None),
                                             ca.state == AttemptState.ABANDONED)).scalar_one())

    hour = _hour(session.get_bind().dialect.name).label("hour")
    hours = tuple(
        HourCount(_as_hour(h), int(n)) for h, n in session.execute(
            sa.select(hour, sa.func.count())
            .where(ca.campaign_id == campaign_id, col(ca.ended_at).is_not(None))
            .group_by(hour).order_by(hour)))

    answered = by_outcome.get(CallOutcome.ANSWERED, 0)
    return CampaignReport(
        campaign_id=campaign_id,
        customers=sum(by_status.values()),
        by_status=by_status,
        totals=cumulative_totals(by_status),
        called=called,
        done=done,
        remaining=remaining,
        attempts=finished + unfinished,
        in_progress=unfinished - abandoned,
        abandoned=abandoned,
        by_outcome=by_outcome,
        answer_rate=answered / finished if finished else None,
        avg_talk_s=answered_talk_ms / answered / 1000 if answered else None,
        calls_per_hour=hours,
    )
