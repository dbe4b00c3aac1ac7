"""The dialer's side of the store: claims, leases, attempts and their results.

One promise holds throughout: a call attempt is recorded before its INVITE leaves.
:func:`claim_due` leases due customers to a worker and, in the same transaction, creates a
pending :class:`~callbot.store.models.CallAttempt` for each; :func:`mark_dialing` refuses an
attempt whose lease was lost; :func:`finish_attempt` writes the result exactly once;
:func:`recover_expired` turns the attempts of a dead worker into ``abandoned`` ones and puts
their customers back only after the retry interval.

Claims take row locks with ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several
workers split a campaign without waiting for each other; on SQLite the claim runs inside
``BEGIN IMMEDIATE``, the single write lock. Transactions that lock both a campaign customer
and one of its attempts lock the customer first, so they never deadlock on PostgreSQL.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from callbot.store.db import write_transaction
from callbot.store.errors import AttemptFinished, LeaseLost, NotFound
from callbot.store.models import (
    AttemptState,
    CallAttempt,
    CallEvent,
    CallStat,
    Campaign,
    CampaignCustomer,
    CampaignState,
    Customer,
    DoNotContact,
    StatusChange,
    StatusSource,
)
from callbot.store.report import hour_of
from callbot.store.retry import DoneReason, RetryDecision, decide, decide_abandoned
from callbot.store.rows import get_campaign, insert_returning_ids, lock_customer
from callbot.store.types import utc
from dialer.outcome import CallResult
from scripts_dsl.errors import StatusChangeRefused
from scripts_dsl.status import CustomerStatus, check_move

__all__ = [
    "Claim",
    "StatusChangeRequest",
    "EventRecord",
    "FinishReport",
    "claim_due",
    "mark_dialing",
    "renew_lease",
    "finish_attempt",
    "recover_expired",
    "rebuild_stats",
]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claim:
    """A customer leased to a worker, with the pending attempt to dial."""

    attempt_id: int
    attempt_no: int
    campaign_customer_id: int
    customer_id: int
    phone: str
    timezone: str
    status: CustomerStatus
    fields: Mapping[str, Any]
    lease_expires_at: datetime


@dataclass(frozen=True)
class StatusChangeRequest:
    """A status move asked for during a call (a set_status block) or by a person."""

    to_status: CustomerStatus
    source: StatusSource
    actor: str | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class EventRecord:
    """One event of a call, ``t_ms`` after the attempt started."""

    t_ms: int
    kind: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FinishReport:
    """What :func:`finish_attempt` did. ``recorded`` is False when the attempt had already
    been finished (nothing was changed). ``decision`` is None when the customer's schedule
    was left alone (the attempt was already superseded by a newer one)."""

    attempt_id: int
    recorded: bool
    status: CustomerStatus
    refused: tuple[str, ...] = ()
    decision: RetryDecision | None = None


def claim_due(session: Session, campaign_id: int, worker_id: str, *, now: datetime, limit: int,
              lease_seconds: float, open_timezones: Collection[str] | None = None) -> list[Claim]:
    """Lease up to ``limit`` customers of a running campaign to ``worker_id`` and record a
    pending attempt for each, in one transaction.

    A customer is due when it is not done, its next attempt time has come (customers are
    due from the moment they are added), nobody holds its lease, its number is not on the
    Do-Not-Contact list and it has had fewer than ``max_attempts`` attempts.
    ``open_timezones``, when given, keeps only customers whose time zone (their own, else
    the campaign's) is among them: the zones in which it is now calling hours. Expired
    leases of the campaign are recovered first (:func:`recover_expired`), so their
    customers wait the retry interval.
    """
    if limit <= 0:
        return []
    stamp = utc(now)
    until = stamp + timedelta(seconds=lease_seconds)
    cc, cu = CampaignCustomer, Customer
    with write_transaction(session):
        # The campaign row lock serializes the claims of every worker of this campaign, so
        # that together they keep its limits (SQLite has one writer at a time anyway).
        campaign = get_campaign(session, campaign_id, lock=True)
        if campaign.state is not CampaignState.RUNNING:
            return []
        _recover(session, stamp, campaign_id)
        limit = min(limit, _campaign_room(session, campaign, stamp))
        if limit <= 0:
            return []
        # The campaign's settings go in as values, not as a join: SQLite then walks
        # ix_campaign_customer_claim in order and stops after ``limit`` rows.
        zone = sa.func.coalesce(col(cu.timezone), sa.literal(campaign.timezone))
        query = (
            sa.select(col(cc.id), col(cc.customer_id), col(cc.attempts), col(cc.status),
                      col(cu.name), col(cu.phone), col(cu.email), col(cu.code), col(cu.extra),
                      zone)
            .join(cu, col(cu.id) == col(cc.customer_id))
            .where(col(cc.campaign_id) == campaign_id, col(cc.done) == sa.false(),
                   col(cc.lease_owner).is_(None),
                   col(cc.next_attempt_at) <= stamp,
                   col(cc.attempts) < campaign.max_attempts,
                   ~sa.exists().where(col(DoNotContact.phone) == col(cu.phone)))
            .order_by(col(cc.next_attempt_at), col(cc.id))
            .limit(limit)
            .with_for_update(skip_locked=True, of=cc)
        )
        if open_timezones is not None:
            query = query.where(zone.in_(list(open_timezones)))
        rows = session.execute(query).all()
        if not rows:
            return []
        session.execute(
            sa.update(cc).where(col(cc.id).in_([r.id for r in rows]))
            .values(attempts=cc.attempts + 1, lease_owner=worker_id, lease_expires_at=until)
            .execution_options(synchronize_session=False))
        attempt_ids = insert_returning_ids(session, CallAttempt, [{
            "campaign_customer_id": r.id, "campaign_id": campaign_id,
            "attempt_no": r.attempts + 1, "worker_id": worker_id,
            "state": AttemptState.PENDING, "created_at": stamp, "message": "", "digits": "",
        } for r in rows])
    claims = []
    for row, attempt_id in zip(rows, attempt_ids, strict=True):
        fields = {"name": row.name, "phone": row.phone, "email": row.email, "code": row.code,
                  **(row.extra or {})}
        claims.append(Claim(attempt_id=attempt_id, attempt_no=row.attempts + 1,
                            campaign_customer_id=row.id, customer_id=row.customer_id,
                            phone=row.phone, timezone=row[-1], status=row.status,
                            fields=fields, lease_expires_at=until))
    return claims


def _locked_attempt(session: Session, attempt_id: int) -> tuple[CampaignCustomer, CallAttempt]:
    """Lock an attempt and its customer, customer first: every transaction that locks both
    (claims and recovery lock customers, then attempts) takes them in that order, so two of
    them never wait for each other in a cycle on PostgreSQL."""
    owner = session.exec(select(CallAttempt.campaign_customer_id)
                         .where(CallAttempt.id == attempt_id)).first()
    if owner is None:
        raise NotFound("call attempt", attempt_id)
    cc = lock_customer(session, owner)
    attempt = session.exec(select(CallAttempt).where(CallAttempt.id == attempt_id)
                           .with_for_update()).one()
    return cc, attempt


def mark_dialing(session: Session, attempt_id: int, call_id: str, *, now: datetime) -> None:
    """Record that the INVITE with ``call_id`` is about to leave for this attempt.

    Raises :class:`LeaseLost` when the worker no longer holds the customer's lease (the
    attempt was abandoned, or the lease ran out): the worker must not dial.
    """
    stamp = utc(now)
    with write_transaction(session):
        cc, attempt = _locked_attempt(session, attempt_id)
        if attempt.state is AttemptState.DIALING and attempt.call_id == call_id:
            return
        if attempt.state is AttemptState.FINISHED:
            raise AttemptFinished(f"call attempt {attempt_id} is already finished")
        if (attempt.state is not AttemptState.PENDING or cc.lease_owner != attempt.worker_id
                or cc.lease_expires_at is None or cc.lease_expires_at <= stamp):
            raise LeaseLost(f"call attempt {attempt_id}: worker {attempt.worker_id} no longer "
                            "holds this customer's lease; do not dial")
        attempt.state = AttemptState.DIALING
        attempt.call_id = call_id
        attempt.started_at = stamp
        session.add(attempt)


def renew_lease(session: Session, worker_id: str, *, now: datetime, lease_seconds: float,
                campaign_customer_ids: Collection[int] | None = None) -> int:
    """Extend the leases ``worker_id`` still holds (all, or the given customers); returns how
    many were extended. A lease already taken back by :func:`recover_expired` is not."""
    cc = CampaignCustomer
    statement = (sa.update(cc).where(col(cc.lease_owner) == worker_id)
                 .values(lease_expires_at=utc(now) + timedelta(seconds=lease_seconds))
                 .execution_options(synchronize_session=False))
    if campaign_customer_ids is not None:
        statement = statement.where(col(cc.id).in_(list(campaign_customer_ids)))
    with write_transaction(session):
        result = session.execute(statement)
    return int(result.rowcount)  # type: ignore[attr-defined]


def finish_attempt(session: Session, attempt_id: int, result: CallResult, *, now: datetime,
                   status_changes: Iterable[StatusChangeRequest] = (),
                   events: Iterable[EventRecord] = (),
                   retry: RetryDecision | None = None,
                   also: Callable[[Session, FinishReport, int], None] | None = None) -> FinishReport:
    """Write an attempt's result, its events and the status changes it caused, and schedule
    the customer, in one transaction. Finishing an attempt twice changes nothing.

    ``also(session, report, campaign_id)`` runs inside that transaction when the result is
    recorded (the outbox of :mod:`callbot.store.outbox` uses it: a webhook row exists exactly
    when the result it tells of was committed).

    Status changes are checked in order against the customer's stored status with
    :func:`scripts_dsl.status.check_move`; refused ones are recorded as not applied, with the
    reason. ``retry`` overrides the campaign's retry rules (:func:`callbot.store.retry.decide`).
    A customer on the Do-Not-Contact list is done whatever the rules say. When the attempt
    was abandoned and the customer has been claimed again since, only the result and the
    status changes are written; the newer attempt owns the schedule.
    """
    stamp = utc(now)
    with write_transaction(session):
        cc, attempt = _locked_attempt(session, attempt_id)
        if attempt.state is AttemptState.FINISHED:
            return FinishReport(attempt_id, recorded=False, status=cc.status)
        _write_result(attempt, result, stamp)
        _write_events(session, attempt_id, events)
        refused = _apply_changes(session, cc, attempt_id, status_changes, stamp)
        attempt.final_status = cc.status
        decision = None
        if attempt.attempt_no == cc.attempts:
            decision = retry or _decision(session, cc, result, stamp)
            if not decision.done and _on_dnc(session, cc.customer_id):
                decision = RetryDecision.finished(DoneReason.DO_NOT_CONTACT)
            cc.last_outcome = result.outcome
            cc.done = decision.done
            cc.done_reason = decision.reason
            cc.next_attempt_at = decision.next_attempt_at
            cc.lease_owner = None
            cc.lease_expires_at = None
        session.add(attempt)
        session.add(cc)
        _count(session, attempt.campaign_id, result, stamp)
        _log.info("attempt %s (campaign customer %s): %s, status %s, %s", attempt_id, cc.id,
                  result.outcome.value, cc.status.value,
                  "schedule kept" if decision is None else
                  f"done ({decision.reason})" if decision.done else
                  f"next at {decision.next_attempt_at}")
        report = FinishReport(attempt_id, recorded=True, status=cc.status,
                              refused=tuple(refused), decision=decision)
        if also is not None:
            also(session, report, attempt.campaign_id)
        return report


def _write_result(attempt: CallAttempt, result: CallResult, stamp: datetime) -> None:
    attempt.state = AttemptState.FINISHED
    attempt.outcome = result.outcome
    attempt.sip_status = result.sip_status
    attempt.hangup_by = result.hangup_by
    attempt.ring_ms = result.ring_ms
    attempt.talk_ms = result.talk_ms
    attempt.reason = result.reason
    attempt.message = result.message
    attempt.digits = result.digits[:255]
    if result.call_id:
        attempt.call_id = result.call_id
    attempt.ended_at = stamp


def _count(session: Session, campaign_id: int, result: CallResult, stamp: datetime) -> None:
    """Add the attempt to its hour's line of :class:`CallStat` (insert or increment)."""
    table = CallStat.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    upsert: Any = pg_insert(table) if dialect == "postgresql" else sqlite_insert(table)
    statement = upsert.values(campaign_id=campaign_id,
                              hour=stamp.replace(minute=0, second=0, microsecond=0),
                              outcome=result.outcome, attempts=1, talk_ms=result.talk_ms)
    session.execute(statement.on_conflict_do_update(
        index_elements=["campaign_id", "hour", "outcome"],
        set_={"attempts": table.c.attempts + 1, "talk_ms": table.c.talk_ms + result.talk_ms}))


def rebuild_stats(session: Session, campaign_id: int) -> None:
    """Recompute a campaign's :class:`CallStat` lines from its attempts (repair, or after
    attempts were loaded by other means than :func:`finish_attempt`)."""
    ca, table = CallAttempt, CallStat.__table__  # type: ignore[attr-defined]
    hour = hour_of(session.get_bind().dialect.name, col(ca.ended_at))
    rows = (sa.select(sa.literal(campaign_id), hour, col(ca.outcome), sa.func.count(),
                      sa.func.coalesce(sa.func.sum(col(ca.talk_ms)), 0))
            .where(col(ca.campaign_id) == campaign_id, col(ca.outcome).is_not(None),
                   col(ca.ended_at).is_not(None))
            .group_by(hour, col(ca.outcome)))
    with write_transaction(session):
        session.execute(sa.delete(table).where(table.c.campaign_id == campaign_id))
        session.execute(sa.insert(table).from_select(
            ["campaign_id", "hour", "outcome", "attempts", "talk_ms"], rows))


def _write_events(session: Session, attempt_id: int, events: Iterable[EventRecord]) -> None:
    rows = [{"attempt_id": attempt_id, "seq": seq, "t_ms": e.t_ms, "kind": e.kind,
             "data": dict(e.data)} for seq, e in enumerate(events, start=1)]
    if rows:
        session.execute(sa.insert(CallEvent.__table__), rows)  # type: ignore[attr-defined]


def _apply_changes(session: Session, cc: CampaignCustomer, attempt_id: int | None,
                   requests: Iterable[StatusChangeRequest], stamp: datetime) -> list[str]:
    assert cc.id is not None
    refused: list[str] = []
    for request in requests:
        at = stamp if request.at is None else utc(request.at)
        change = StatusChange(campaign_customer_id=cc.id, from_status=cc.status,
                              to_status=CustomerStatus(request.to_status),
                              source=StatusSource(request.source), actor=request.actor, at=at,
                              attempt_id=attempt_id)
        try:
            check_move(cc.status, change.to_status)
        except StatusChangeRefused as exc:
            change.applied = False
            change.message = str(exc)
            refused.append(str(exc))
        else:
            cc.status = change.to_status
            cc.status_changed_at = at
        session.add(change)
    return refused


def _decision(session: Session, cc: CampaignCustomer, result: CallResult,
              stamp: datetime) -> RetryDecision:
    campaign = get_campaign(session, cc.campaign_id)
    return decide(campaign.retry_rules, campaign.max_attempts, result.outcome, cc.attempts,
                  stamp, talk_ms=result.talk_ms, hangup_by=result.hangup_by)


def _on_dnc(session: Session, customer_id: int) -> bool:
    query = (sa.select(col(DoNotContact.id))
             .join(Customer, col(Customer.phone) == col(DoNotContact.phone))
             .where(col(Customer.id) == customer_id))
    return session.execute(query).first() is not None


def recover_expired(session: Session, *, now: datetime,
                    campaign_id: int | None = None) -> list[int]:
    """Take back the leases that expired before ``now`` (their worker died or hung).

    Their pending or dialing attempts become ``abandoned``; their customers are scheduled
    after the campaign's longest retry interval (never at once: the call may have reached
    the customer), or are done when out of attempts. Returns the abandoned attempt ids.
    """
    stamp = utc(now)
    with write_transaction(session):
        if campaign_id is not None:
            return _recover(session, stamp, campaign_id)
        campaigns = session.exec(select(Campaign.id).order_by(col(Campaign.id))).all()
        return [attempt for each in campaigns if each is not None
                for attempt in _recover(session, stamp, each)]


def _recover(session: Session, stamp: datetime, campaign_id: int) -> list[int]:
    cc = CampaignCustomer
    query = (select(cc).where(cc.campaign_id == campaign_id,
                              col(cc.lease_expires_at) <= stamp,
                              col(cc.lease_owner).is_not(None))
             .with_for_update(skip_locked=True))
    rows = session.exec(query).all()
    if not rows:
        return []
    campaign = get_campaign(session, campaign_id)
    abandoned: list[int] = []
    for row in rows:
        attempts = session.exec(select(CallAttempt).where(
            CallAttempt.campaign_customer_id == row.id,
            col(CallAttempt.state).in_([AttemptState.PENDING, AttemptState.DIALING]))).all()
        for attempt in attempts:
            attempt.state = AttemptState.ABANDONED
            attempt.message = (f"worker {attempt.worker_id} stopped renewing its lease "
                               f"(expired {row.lease_expires_at}); the call's result is unknown")
            session.add(attempt)
            assert attempt.id is not None
            abandoned.append(attempt.id)
        decision = decide_abandoned(campaign.retry_rules, campaign.max_attempts, row.attempts,
                                    stamp)
        _log.warning("campaign customer %s: lease of %s expired, %d attempt(s) abandoned, %s",
                     row.id, row.lease_owner, len(attempts),
                     f"done ({decision.reason})" if decision.done
                     else f"next at {decision.next_attempt_at}")
        row.lease_owner = None
        row.lease_expires_at = None
        row.done = decision.done
        row.done_reason = decision.reason
        row.next_attempt_at = decision.next_attempt_at
        session.add(row)
    session.flush()
    return abandoned


def _campaign_room(session: Session, campaign: Campaign, stamp: datetime) -> int:
    """How many calls the campaign may start now, whatever worker asks: at most
    ``max_concurrent`` customers leased at once, and at most ``cps`` attempts created per
    second (a sliding window of max(1 s, 1/cps), so slow rates below one call per second
    work too). Run after expired leases were recovered: the leases left are live."""
    cc = CampaignCustomer
    leased = session.execute(
        sa.select(sa.func.count()).select_from(cc)
        .where(col(cc.campaign_id) == campaign.id, col(cc.lease_owner).is_not(None))
    ).scalar_one()
    window = max(1.0, 1.0 / campaign.cps)
    recent = session.execute(
        sa.select(sa.func.count()).select_from(CallAttempt)
        .where(col(CallAttempt.campaign_id) == campaign.id,
               col(CallAttempt.created_at) > stamp - timedelta(seconds=window))
    ).scalar_one()
    per_window = int(campaign.cps * window + 1e-9)
    return max(0, min(campaign.max_concurrent - int(leased), per_window - int(recent)))
