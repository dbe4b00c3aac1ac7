"""A campaign's report, computed by the database with aggregate queries.

Customers per status, called, done and remaining: one statement of range counts over the
covering index ``ix_campaign_customer_status`` (see :func:`_customer_counts`). Attempts per
outcome, talk time and calls per hour: GROUP BY over :class:`~callbot.store.models.CallStat`
(one line per hour and outcome, kept by ``finish_attempt``); unfinished attempts (no outcome
yet): GROUP BY over ``ix_call_attempt_outcome``. The cost grows with customers, hours and
outcomes, not with the number of attempts, so a campaign with a million attempts reports as
fast as a small one. Status totals are cumulative exactly as the campaign manual defines
them (:func:`scripts_dsl.status.cumulative_totals`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from callbot.store.errors import NotFound
from callbot.store.models import AttemptState, CallAttempt, CallStat, Campaign, CampaignCustomer
from dialer.outcome import CallOutcome
from scripts_dsl.status import CustomerStatus, cumulative_totals

__all__ = ["CampaignReport", "HourCount", "report", "hour_of"]


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


def _customer_counts(session: Session, campaign_id: int, max_attempts: int) -> tuple[
        dict[CustomerStatus, int], int, int, int]:
    """Customers per status, and how many were called, are done, and remain to be called.

    One statement of range counts on ``ix_campaign_customer_status`` (campaign_id, status,
    done, attempts): per status, the customers done and not done (together every customer
    once), those of each with no attempt yet, and those not done that reached
    ``max_attempts``. Each count walks one contiguous range of the index with no per-row
    grouping, so the statement reads the campaign's index entries about once; a GROUP BY
    on the same index costs several times more per row (BENCHMARKS.md, "Reports").
    """
    cc = CampaignCustomer

    def count(status: CustomerStatus, is_done: bool, *more: Any) -> Any:
        return (sa.select(sa.func.count()).select_from(cc)
                .where(col(cc.campaign_id) == campaign_id, col(cc.status) == status,
                       col(cc.done) == (sa.true() if is_done else sa.false()), *more)
                .scalar_subquery())

    statuses = tuple(CustomerStatus)
    columns: list[Any] = []
    for status in statuses:
        columns += [count(status, False), count(status, True),
                    count(status, False, col(cc.attempts) == 0),
                    count(status, True, col(cc.attempts) == 0),
                    count(status, False, col(cc.attempts) >= max_attempts)]
    row = session.execute(sa.select(*columns)).one()
    by_status: dict[CustomerStatus, int] = {}
    called = done = remaining = 0
    for i, status in enumerate(statuses):
        waiting, finished, waiting_uncalled, finished_uncalled, exhausted = (
            int(n) for n in row[5 * i:5 * i + 5])
        by_status[status] = waiting + finished
        called += waiting + finished - waiting_uncalled - finished_uncalled
        done += finished
        remaining += waiting - exhausted
    return by_status, called, done, remaining


def hour_of(dialect: str, moment: Any) -> Any:
    """SQL for the start of the UTC hour of ``moment``, in the form the store keeps
    timestamps (so it compares equal to a bound Python datetime). Arguments are literals, not
    bind parameters: a GROUP BY must repeat the very same expression."""
    if dialect == "postgresql":
        utc_zone: Any = sa.literal_column("'UTC'")
        return sa.func.timezone(utc_zone, sa.func.date_trunc(
            sa.literal_column("'hour'"), sa.func.timezone(utc_zone, moment)))
    return sa.func.strftime(sa.literal_column("'%Y-%m-%d %H:00:00.000000'"), moment)


def report(session: Session, campaign_id: int) -> CampaignReport:
    """The report of one campaign."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound("campaign", campaign_id)
    ca, st = CallAttempt, CallStat

    by_status, called, done, remaining = _customer_counts(session, campaign_id,
                                                         campaign.max_attempts)

    by_outcome: dict[CallOutcome, int] = {}
    answered_talk_ms = 0
    for outcome, count, talk in session.execute(
        sa.select(col(st.outcome), sa.func.sum(col(st.attempts)), sa.func.sum(col(st.talk_ms)))
        .where(col(st.campaign_id) == campaign_id).group_by(col(st.outcome))):
        by_outcome[CallOutcome(outcome)] = int(count)
        if outcome is CallOutcome.ANSWERED:
            answered_talk_ms = int(talk)

    unfinished = {state: int(count) for state, count in session.execute(
        sa.select(col(ca.state), sa.func.count())
        .where(col(ca.campaign_id) == campaign_id, col(ca.outcome).is_(None))
        .group_by(col(ca.state)))}

    hours = tuple(HourCount(_as_utc(hour), int(count)) for hour, count in session.execute(
        sa.select(col(st.hour), sa.func.sum(col(st.attempts)))
        .where(col(st.campaign_id) == campaign_id).group_by(col(st.hour))
        .order_by(col(st.hour))))

    finished = sum(by_outcome.values())
    answered = by_outcome.get(CallOutcome.ANSWERED, 0)
    abandoned = unfinished.get(AttemptState.ABANDONED, 0)
    return CampaignReport(
        campaign_id=campaign_id,
        customers=sum(by_status.values()),
        by_status=by_status,
        totals=cumulative_totals(by_status),
        called=called,
        done=done,
        remaining=remaining,
        attempts=finished + sum(unfinished.values()),
        in_progress=sum(n for state, n in unfinished.items()
                        if state is not AttemptState.ABANDONED),
        abandoned=abandoned,
        by_outcome=by_outcome,
        answer_rate=answered / finished if finished else None,
        avg_talk_s=answered_talk_ms / answered / 1000 if answered else None,
        calls_per_hour=hours,
    )


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
