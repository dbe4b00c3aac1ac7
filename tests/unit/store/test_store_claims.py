"""The dialer's side: claims with leases, attempts recorded before dialing, results written
once, dead workers' leases taken back without calling anyone twice within a retry interval."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from callbot.store import repo
from callbot.store.errors import AttemptFinished, InvalidData, LeaseLost, NotFound
from callbot.store.models import (
    AttemptState,
    CallAttempt,
    CallEvent,
    CampaignCustomer,
    CampaignState,
    CustomerCreate,
    StatusChange,
    StatusSource,
)
from callbot.store.retry import DoneReason, RetryDecision
from dialer.outcome import CallOutcome, HangupBy
from scripts_dsl.status import CustomerStatus
from store_helpers import NOW, RULES, phone, result, running_campaign

LEASE = 60


def _customer(session: Session, cc_id: int) -> CampaignCustomer:
    session.expire_all()
    row = session.get(CampaignCustomer, cc_id)
    assert row is not None
    return row


def _attempt(session: Session, attempt_id: int) -> CallAttempt:
    session.expire_all()
    row = session.get(CallAttempt, attempt_id)
    assert row is not None
    return row


def test_claim_records_pending_attempts_before_anything_is_dialed(
        session: Session, engine: Engine) -> None:
    campaign_id, ids = running_campaign(session, 5)
    claims = repo.claim_due(session, campaign_id, "w1", now=NOW, limit=3, lease_seconds=LEASE)
    assert [c.campaign_customer_id for c in claims] == ids[:3]
    assert [c.attempt_no for c in claims] == [1, 1, 1]
    assert claims[0].fields == {"name": "Customer 0", "phone": phone(0), "email": None,
                                "code": "C0", "city": "Hanoi"}
    assert claims[0].timezone == "Asia/Ho_Chi_Minh"
    # Committed: another connection (another process after a crash) sees the attempts.
    with Session(engine) as other:
        attempts = other.exec(select(CallAttempt).order_by(col(CallAttempt.id))).all()
        assert [(a.state, a.worker_id, a.created_at) for a in attempts] == [
            (AttemptState.PENDING, "w1", NOW)] * 3
        leased = other.exec(select(CampaignCustomer).where(
            col(CampaignCustomer.lease_owner).is_not(None))).all()
        assert {(c.attempts, c.lease_expires_at) for c in leased} == {
            (1, NOW + timedelta(seconds=LEASE))}
    rest = repo.claim_due(session, campaign_id, "w2", now=NOW, limit=10, lease_seconds=LEASE)
    assert [c.campaign_customer_id for c in rest] == ids[3:]


def test_full_call_flow_writes_result_events_and_statuses_in_one_go(session: Session) -> None:
    campaign_id, ids = running_campaign(session, 1)
    (claim,) = repo.claim_due(session, campaign_id, "w1", now=NOW, limit=5, lease_seconds=LEASE)
    repo.mark_dialing(session, claim.attempt_id, "call-1@host", now=NOW + timedelta(seconds=1))
    end = NOW + timedelta(seconds=40)
    report = repo.finish_attempt(
        session, claim.attempt_id,
        result(CallOutcome.ANSWERED, talk_ms=30_000, call_id="call-1@host"), now=end,
        status_changes=[repo.StatusChangeRequest(CustomerStatus.CONFIRMED, StatusSource.KEYPRESS,
                                                 "confirm_menu"),
                        repo.StatusChangeRequest(CustomerStatus.JOINED, StatusSource.SPEECH,
                                                 "join_listen")],
        events=[repo.EventRecord(0, "answered"), repo.EventRecord(5200, "dtmf", {"digit": "1"})])
    assert report.recorded and report.status is CustomerStatus.JOINED and not report.refused
    assert report.decision == RetryDecision.finished(DoneReason.ANSWERED)
    attempt = _attempt(session, claim.attempt_id)
    assert (attempt.state, attempt.outcome, attempt.sip_status, attempt.talk_ms,
            attempt.hangup_by, attempt.started_at, attempt.ended_at, attempt.final_status) == (
        AttemptState.FINISHED, CallOutcome.ANSWERED, 200, 30_000, HangupBy.REMOTE,
        NOW + timedelta(seconds=1), end, CustomerStatus.JOINED)
    events = session.exec(select(CallEvent).order_by(col(CallEvent.seq))).all()
    assert [(e.seq, e.t_ms, e.kind, e.data) for e in events] == [
        (1, 0, "answered", {}), (2, 5200, "dtmf", {"digit": "1"})]
    changes = session.exec(select(StatusChange).order_by(col(StatusChange.id))).all()
    assert [(c.from_status, c.to_status, c.source, c.actor, c.attempt_id, c.applied)
            for c in changes] == [
        (CustomerStatus.REGISTERED, CustomerStatus.CONFIRMED, StatusSource.KEYPRESS,
         "confirm_menu", claim.attempt_id, True),
        (CustomerStatus.CONFIRMED, CustomerStatus.JOINED, StatusSource.SPEECH, "join_listen",
         claim.attempt_id, True)]
    cc = _customer(session, ids[0])
    assert (cc.status, cc.done, cc.done_reason, cc.lease_owner, cc.last_outcome,
            cc.status_changed_at) == (CustomerStatus.JOINED, True, DoneReason.ANSWERED, None,
                                      CallOutcome.ANSWERED, end)


def test_finishing_twice_changes_nothing_the_second_time(session: Session) -> None:
    campaign_id, ids = running_campaign(session, 1)
    (claim,) = repo.claim_due(session, campaign_id, "w1", now=NOW, limit=1, lease_seconds=LEASE)
    first = repo.finish_attempt(session, claim.attempt_id, result(CallOutcome.BUSY), now=NOW,
                                events=[repo.EventRecord(0, "busy")])
    second = repo.finish_attempt(
        session, claim.attempt_id, result(CallOutcome.ANSWERED, talk_ms=9000),
        now=NOW + timedelta(minutes=5),
        status_changes=[repo.StatusChangeRequest(CustomerStatus.JOINED, StatusSource.KEYPRESS)],
        events=[repo.EventRecord(0, "again")])
    assert first.recorded and not second.recorded
    assert second.status is CustomerStatus.REGISTERED and second.decision is None
    attempt = _attempt(session, claim.attempt_id)
    assert (attempt.outcome, attempt.ended_at) == (CallOutcome.BUSY, NOW)
    assert len(session.exec(select(CallEvent)).all()) == 1
    assert session.exec(select(StatusChange)).all() == []
    assert _customer(session, ids[0]).next_attempt_at == NOW + timedelta(seconds=600)
    assert repo.report(session, campaign_id).by_outcome == {CallOutcome.BUSY: 1}


def test_busy_customer_is_not_claimed_before_the_retry_interval(session: Session) -> None:
    campaign_id, ids = running_campaign(session, 1)
    (claim,) = repo.claim_due(session, campaign_id, "w1", now=NOW, limit=1, lease_seconds=LEASE)
    repo.finish_attempt(session, claim.attempt_id, result(CallOutcome.BUSY), now=NOW)
    almost = NOW + timedelta(seconds=599)
    assert repo.claim_due(session, campaign_id, "w1", now=almost, limit=1,
                          lease_seconds=LEASE) == []
    (again,) = repo.claim_due(session, campaign_id, "w1", now=NOW + timedelta(seconds=600),
                              limit=1, lease_seconds=LEASE)
    assert (again.campaign_customer_id, again.attempt_no) == (ids[0], 2)


def test_max_attempts_ends_the_customer(session: Session) -> None:
    campaign_id, ids = running_campaign(session, 1, max_attempts=2)
    when = NOW
    for _ in range(2):
        (claim,) = repo.claim_due(session, campaign_id, "w1", now=when, limit=1,
                                  lease_seconds=LEASE)
        report = repo.finish_attempt(session, claim.attempt_id, result(CallOutcome.NO_ANSWER),
                                     now=when)
        when += timedelta(days=1)
    assert report.decision is not None
    assert (report.decision.done, report.decision.reason) == (True, DoneReason.MAX_ATTEMPTS)
    cc = _customer(session, ids[0])
    assert (cc.attempts, cc.done, cc.done_reason) == (2, True, DoneReason.MAX_ATTEMPTS)
    assert repo.claim_due(session, campaign_id, "w1", now=when, limit=1,
                          lease_seconds=LEASE) == []


def test_caller_decision_overrides_the_rules(session: Session) -> None:
    campaign_id, ids = running_campaign(session, 1)
    (claim,) = repo.claim_due(session, campaign_id, "w1", now=NOW, limit=1, lease_seconds=LEASE)
    later = NOW + timedelta(hours=5)
    repo.finish_attempt(session, claim.attempt_id, result(CallOutcome.DECLINED), now=NOW,
                        retry=RetryDecision.retry_at(later))
    cc = _customer(session, ids[0])
    assert (cc.done, cc.next_attempt_at) == (False, later)


def test_only_running_campaigns_are_claimed(session: Session) -> None:
    campaign_id, _ = running_campaign(session, 2)
    repo.move_campaign(session, campaign_id, CampaignState.PAUSED, now=NOW)
    assert repo.claim_due(session, campaign_id, "w1", now=NOW, limit=5, lease_seconds=LEASE) == []
    repo.move_campaign(session, campaign_id, CampaignState.RUNNING, now=NOW)
    assert len(repo.claim_due(session, campaign_id, "w1", now=NOW, limit=5,
                              lease_seconds=LEASE)) == 2


def test_claims_keep_to_the_zones_inside_calling_hours(session: Session) -> None:
    campaign_id, ids = running_campaign(session, 3, timezones={1: "Asia/Tokyo"})
    claims = repo.claim_due(session, campaign_id, "w1", now=NOW, limit=5, lease_seconds=LEASE,
                            open_timezones={"Asia/Tokyo"})
    assert [(c.campaign_customer_id, c.timezone) for c in claims] == [(ids[1], "Asia/Tokyo")]


def test_mark_dialing_refuses_an_attempt_whose_lease_is_gone(session: Session) -> None:
    campaign_id, _ = running_campaign(session, 2)
    first, second = repo.claim_due(session, campaign_id, "w1", now=NOW, limit=2,
                                   lease_seconds=LEASE)
    repo.mark_dialing(session, first.attempt_id, "c1", now=NOW)
    repo.mark_dialing(session, first.attempt_id, "c1", now=NOW)  # repeated: fine
    with pytest.raises(LeaseLost, match="do not dial"):
        repo.mark_dialing(session, second.attempt_id, "c2", now=NOW + timedelta(seconds=LEASE))
    repo.finish_attempt(session, first.attempt_id, result(CallOutcome.BUSY), now=NOW)
    with pytest.raises(AttemptFinished):
        repo.mark_dialing(session, first.attempt_id, "c1", now=NOW)
    with pytest.raises(NotFound, match="call attempt 999"):
        repo.mark_dialing(session, 999, "c", now=NOW)


def test_renewed_lease_is_not_recovered(session: Session) -> None:
    campaign_id, ids = running_campaign(session, 2)
    repo.claim_due(session, campaign_id, "w1", now=NOW, limit=2, lease_seconds=LEASE)
    half = NOW + timedelta(seconds=LEASE / 2)
    assert repo.renew_lease(session, "w1", now=half, lease_seconds=LEASE,
                            campaign_customer_ids=[ids[0]]) == 1
    assert repo.renew_lease(session, "someone-else", now=half, lease_seconds=LEASE) == 0
    abandoned = repo.recover_expired(session, now=NOW + timedelta(seconds=LEASE))
    assert len(abandoned) == 1
    assert _customer(session, ids[0]).lease_owner == "w1"
    assert _customer(session, ids[1]).lease_owner is None
    # The worker that lost a lease cannot renew it back.
    assert repo.renew_lease(session, "w1", now=NOW + timedelta(seconds=LEASE),
                            lease_seconds=LEASE) == 1


def test_dead_worker_customers_wait_the_retry_interval(session: Session) -> None:
    campaign_id, ids = running_campaign(session, 2)
    claims = repo.claim_due(session, campaign_id, "dead", now=NOW, limit=2, lease_seconds=LEASE)
    repo.mark_dialing(session, claims[0].attempt_id, "c1", now=NOW)  # INVITE was in flight
    expiry = NOW + timedelta(seconds=LEASE)
    # Before expiry nothing is recovered and nothing can be claimed.
    assert repo.recover_expired(session, now=expiry - timedelta(seconds=1)) == []
    assert repo.claim_due(session, campaign_id, "w2", now=expiry - timedelta(seconds=1), limit=5,
                          lease_seconds=LEASE) == []
    # At expiry a claim by another worker recovers them, but does not call them.
    assert repo.claim_due(session, campaign_id, "w2", now=expiry, limit=5,
                          lease_seconds=LEASE) == []
    for claim in claims:
        attempt = _attempt(session, claim.attempt_id)
        assert attempt.state is AttemptState.ABANDONED
        assert "stopped renewing its lease" in attempt.message
    retry_at = expiry + timedelta(seconds=RULES.longest_interval_s())
    for cc_id in ids:
        cc = _customer(session, cc_id)
        assert (cc.lease_owner, cc.next_attempt_at, cc.done) == (None, retry_at, False)
    assert repo.claim_due(session, campaign_id, "w2", now=retry_at - timedelta(seconds=1),
                          limit=5, lease_seconds=LEASE) == []
    again = repo.claim_due(session, campaign_id, "w2", now=retry_at, limit=5, lease_seconds=LEASE)
    assert [(c.campaign_customer_id, c.attempt_no) for c in again] == [(i, 2) for i in ids]
    report = repo.report(session, campaign_id)
    assert (report.abandoned, report.in_progress, report.attempts) == (2, 2, 4)


def test_late_result_of_an_abandoned_attempt_is_kept(session: Session) -> None:
    """A worker that was only slow still writes its answered call; the customer's schedule
    then belongs to the newer attempt."""
    campaign_id, ids = running_campaign(session, 1)
    (old,) = repo.claim_due(session, campaign_id, "slow", now=NOW, limit=1, lease_seconds=LEASE)
    retry_at = NOW + timedelta(seconds=LEASE + RULES.longest_interval_s())
    repo.recover_expired(session, now=NOW + timedelta(seconds=LEASE))
    (new,) = repo.claim_due(session, campaign_id, "w2", now=retry_at, limit=1,
                            lease_seconds=LEASE)
    report = repo.finish_attempt(
        session, old.attempt_id, result(CallOutcome.ANSWERED, talk_ms=20_000), now=retry_at,
        status_changes=[repo.StatusChangeRequest(CustomerStatus.CONFIRMED,
                                                 StatusSource.KEYPRESS)])
    assert report.recorded and report.decision is None
    assert _attempt(session, old.attempt_id).state is AttemptState.FINISHED
    cc = _customer(session, ids[0])
    assert (cc.status, cc.lease_owner, cc.attempts) == (CustomerStatus.CONFIRMED, "w2", 2)
    assert _attempt(session, new.attempt_id).state is AttemptState.PENDING


def test_abandoned_attempt_finished_before_reclaim_applies_the_real_result(
        session: Session) -> None:
    campaign_id, ids = running_campaign(session, 1)
    (claim,) = repo.claim_due(session, campaign_id, "slow", now=NOW, limit=1,
                              lease_seconds=LEASE)
    repo.recover_expired(session, now=NOW + timedelta(seconds=LEASE))
    report = repo.finish_attempt(session, claim.attempt_id,
                                 result(CallOutcome.ANSWERED, talk_ms=20_000),
                                 now=NOW + timedelta(seconds=LEASE + 1))
    assert report.decision == RetryDecision.finished(DoneReason.ANSWERED)
    assert _customer(session, ids[0]).done


def test_do_not_contact_numbers_are_never_claimed(session: Session) -> None:
    campaign_id, ids = running_campaign(session, 3)
    repo.add_dnc(session, phone(1), "asked not to be called", now=NOW, created_by="manager")
    again = repo.add_dnc(session, phone(1), "twice", now=NOW)
    assert again.reason == "asked not to be called"
    claims = repo.claim_due(session, campaign_id, "w1", now=NOW, limit=5, lease_seconds=LEASE)
    assert [c.campaign_customer_id for c in claims] == [ids[0], ids[2]]
    cc = _customer(session, ids[1])
    assert (cc.done, cc.done_reason, cc.attempts) == (True, DoneReason.DO_NOT_CONTACT, 0)


def test_do_not_contact_at_import_and_during_a_call(session: Session) -> None:
    campaign_id, ids = running_campaign(session, 1)
    (claim,) = repo.claim_due(session, campaign_id, "w1", now=NOW, limit=1, lease_seconds=LEASE)
    repo.add_dnc(session, phone(0), "during the call", now=NOW)
    assert not _customer(session, ids[0]).done  # in a call: left to the call's end
    report = repo.finish_attempt(session, claim.attempt_id, result(CallOutcome.BUSY), now=NOW)
    assert report.decision == RetryDecision.finished(DoneReason.DO_NOT_CONTACT)
    (late,) = repo.add_customers(session, campaign_id, [CustomerCreate(phone=phone(0))], now=NOW)
    cc = _customer(session, late)
    assert (cc.done, cc.done_reason, cc.next_attempt_at) == (True, DoneReason.DO_NOT_CONTACT,
                                                             None)
    with pytest.raises(InvalidData, match="E.164"):
        repo.add_dnc(session, "0912345678", "x", now=NOW)


def test_two_threads_never_claim_the_same_customer(engine: Engine) -> None:
    with Session(engine) as session:
        campaign_id, ids = running_campaign(session, 150)
    barrier = threading.Barrier(2, timeout=30)
    claimed: dict[str, list[int]] = {}

    def work(worker: str) -> None:
        mine: list[int] = []
        with Session(engine) as session:
            barrier.wait()
            for _ in range(200):
                claims = repo.claim_due(session, campaign_id, worker, now=NOW, limit=3,
                                        lease_seconds=LEASE)
                if not claims:
                    break
                mine.extend(c.campaign_customer_id for c in claims)
        claimed[worker] = mine

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    both = claimed["w0"] + claimed["w1"]
    assert len(both) == len(set(both)) and sorted(both) == sorted(ids)
    with Session(engine) as session:
        attempts = session.execute(sa.select(sa.func.count()).select_from(CallAttempt)).scalar()
    assert attempts == len(ids)


def test_campaign_concurrency_holds_across_workers(session: Session) -> None:
    """max_concurrent is the campaign's, not each worker's: leases are counted in the claim."""
    campaign_id, _ = running_campaign(session, 20, max_concurrent=4)
    first = repo.claim_due(session, campaign_id, "w1", now=NOW, limit=3, lease_seconds=LEASE)
    second = repo.claim_due(session, campaign_id, "w2", now=NOW + timedelta(seconds=5), limit=10,
                            lease_seconds=LEASE)
    assert (len(first), len(second)) == (3, 1)
    repo.finish_attempt(session, first[0].attempt_id, result(CallOutcome.ANSWERED, talk_ms=9000),
                        now=NOW + timedelta(seconds=6))
    again = repo.claim_due(session, campaign_id, "w2", now=NOW + timedelta(seconds=7), limit=10,
                           lease_seconds=LEASE)
    assert len(again) == 1  # one line was freed


def test_campaign_call_rate_holds_across_workers(session: Session) -> None:
    campaign_id, _ = running_campaign(session, 20, cps=3)
    got = [len(repo.claim_due(session, campaign_id, w, now=NOW + timedelta(milliseconds=ms), limit=10,
                              lease_seconds=LEASE))
           for w, ms in (("w1", 0), ("w2", 100), ("w1", 900), ("w2", 1001), ("w1", 1500))]
    assert got == [3, 0, 0, 3, 0]


def test_slow_call_rate_below_one_per_second(session: Session) -> None:
    campaign_id, _ = running_campaign(session, 5, cps=0.5)
    got = [len(repo.claim_due(session, campaign_id, "w", now=NOW + timedelta(seconds=s), limit=5,
                              lease_seconds=LEASE))
           for s in (0, 1, 1.9, 2.1)]
    assert got == [1, 0, 0, 1]
