"""The store on a real PostgreSQL (127.0.0.1:5432): migrations, claims with
``FOR UPDATE SKIP LOCKED`` shared by threads and by processes, recovery, reports.

Each run works in a database of its own, dropped at the end. If the server cannot be
reached the tests fail (they are not skipped): CI starts the cluster in .ci/run.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from callbot.store import repo
from callbot.store.db import alembic_config, make_engine, upgrade
from callbot.store.errors import LeaseLost
from callbot.store.models import (
    AttemptState,
    CallAttempt,
    CallEvent,
    CampaignCustomer,
    StatusChange,
    StatusSource,
    metadata,
)
from callbot.store.retry import DoneReason, RetryDecision
from dialer.outcome import CallOutcome, CallResult, EndReason
from pg_store_support import NOW, answered, claim_worker, fresh_database, phone, running_campaign
from scripts_dsl.errors import StatusChangeRefused
from scripts_dsl.status import CustomerStatus

R, C, J, X = (CustomerStatus.REGISTERED, CustomerStatus.CONFIRMED, CustomerStatus.JOINED,
              CustomerStatus.CANCELLED)
STORE_TABLES = {"trunk", "script", "script_version", "campaign", "customer",
                "campaign_customer", "call_attempt", "call_event", "call_stat",
                "status_change", "do_not_contact"}


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with fresh_database() as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="module")
def engine(pg_url: str) -> Iterator[Engine]:
    # A claim that waits on a lock instead of skipping it fails within 5 s, not never.
    engine = make_engine(pg_url, connect_args={"options": "-c lock_timeout=5000"})
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


_names = iter(range(10_000))


def _campaign(session: Session, customers: int, **kwargs: int) -> tuple[int, list[int]]:
    return running_campaign(session, customers, f"pg-{next(_names)}", **kwargs)


def _busy() -> CallResult:
    return CallResult(outcome=CallOutcome.BUSY, sip_status=486, hangup_by=None, ring_ms=1500,
                      talk_ms=0, reason=EndReason.FINAL_RESPONSE)


def test_migrations_build_the_models_schema_and_go_down_again() -> None:
    with fresh_database() as url:
        upgrade(url)
        engine = make_engine(url)
        try:
            with engine.connect() as connection:
                context = MigrationContext.configure(connection, opts={"compare_type": True})
                diffs = [d for d in compare_metadata(context, metadata)
                         if any(getattr(p, "name", p) in STORE_TABLES
                                or getattr(getattr(p, "table", None), "name", None)
                                in STORE_TABLES for p in (d[0] if isinstance(d, list) else d))]
                assert diffs == []
                command.downgrade(alembic_config(connection), "base")
                connection.commit()
            assert not STORE_TABLES & set(sa.inspect(engine).get_table_names())
            upgrade(engine)
            assert STORE_TABLES <= set(sa.inspect(engine).get_table_names())
        finally:
            engine.dispose()


def test_bulk_add_returns_ids_in_order(session: Session) -> None:
    campaign_id, ids = _campaign(session, 6000)
    assert len(set(ids)) == 6000
    rows = session.execute(
        sa.text("select cc.id, c.extra from campaign_customer cc join customer c "
                "on c.id = cc.customer_id where cc.campaign_id = :c"), {"c": campaign_id}).all()
    by_id = {row[0]: row[1] for row in rows}
    assert [by_id[i]["row"] for i in ids] == list(range(6000))


def test_claim_dial_finish_flow(session: Session) -> None:
    campaign_id, ids = _campaign(session, 3)
    claims = repo.claim_due(session, campaign_id, "w1", now=NOW, limit=2, lease_seconds=60)
    assert [c.campaign_customer_id for c in claims] == ids[:2]
    first = claims[0]
    repo.mark_dialing(session, first.attempt_id, "call-a", now=NOW)
    report = repo.finish_attempt(
        session, first.attempt_id, answered(30_000), now=NOW + timedelta(seconds=45),
        status_changes=[repo.StatusChangeRequest(C, StatusSource.KEYPRESS, "menu"),
                        repo.StatusChangeRequest(R, StatusSource.KEYPRESS, "oops")],
        events=[repo.EventRecord(0, "answered"), repo.EventRecord(900, "dtmf", {"digit": "1"})])
    assert report.recorded and report.status is C and len(report.refused) == 1
    again = repo.finish_attempt(session, first.attempt_id, _busy(), now=NOW)
    assert not again.recorded
    attempt = session.get(CallAttempt, first.attempt_id)
    assert attempt is not None
    assert (attempt.state, attempt.outcome, attempt.call_id, attempt.final_status) == (
        AttemptState.FINISHED, CallOutcome.ANSWERED, "call-a", C)
    assert len(session.exec(select(CallEvent).where(
        CallEvent.attempt_id == first.attempt_id)).all()) == 2
    changes = session.exec(select(StatusChange).where(
        StatusChange.attempt_id == first.attempt_id).order_by(col(StatusChange.id))).all()
    assert [(c.to_status, c.applied) for c in changes] == [(C, True), (R, False)]
    repo.finish_attempt(session, claims[1].attempt_id, _busy(), now=NOW + timedelta(minutes=1))
    result = repo.report(session, campaign_id)
    assert result.totals == {R: 3, C: 1, J: 0, X: 0}
    assert result.by_outcome == {CallOutcome.ANSWERED: 1, CallOutcome.BUSY: 1}
    assert result.answer_rate == 0.5 and result.avg_talk_s == 30.0
    assert [h.attempts for h in result.calls_per_hour] == [2]
    assert result.calls_per_hour[0].hour == NOW


def test_claims_skip_rows_locked_by_another_transaction(engine: Engine) -> None:
    with Session(engine) as session:
        campaign_id, ids = _campaign(session, 3)
    with engine.connect() as other:
        other.execute(sa.select(col(CampaignCustomer.id)).where(col(CampaignCustomer.id) == ids[0])
                      .with_for_update())
        with Session(engine) as session:
            claims = repo.claim_due(session, campaign_id, "w1", now=NOW, limit=1,
                                    lease_seconds=60)
        assert [c.campaign_customer_id for c in claims] == [ids[1]]
        other.rollback()


def test_two_threads_never_claim_the_same_customer(engine: Engine) -> None:
    with Session(engine) as session:
        campaign_id, ids = _campaign(session, 120)
    barrier = threading.Barrier(2, timeout=30)
    claimed: dict[str, list[int]] = {}

    def work(worker: str) -> None:
        mine: list[int] = []
        with Session(engine) as session:
            barrier.wait()
            for _ in range(500):
                claims = repo.claim_due(session, campaign_id, worker, now=NOW, limit=3,
                                        lease_seconds=60)
                if not claims:
                    break
                mine.extend(c.campaign_customer_id for c in claims)
        claimed[worker] = mine

    threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    both = claimed["t0"] + claimed["t1"]
    assert len(both) == len(set(both)) and sorted(both) == sorted(ids)


def test_two_worker_processes_split_a_campaign_without_double_calls(
        pg_url: str, session: Session) -> None:
    campaign_id, ids = _campaign(session, 200)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results = context.Queue()
    workers = [context.Process(target=claim_worker,
                               args=(pg_url, campaign_id, f"proc{i}", barrier, results))
               for i in range(2)]
    for worker in workers:
        worker.start()
    try:
        outcome = dict(results.get(timeout=180) for _ in workers)
    except queue.Empty:
        pytest.fail("a worker process did not report within 180 s")
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()
    assert all(worker.exitcode == 0 for worker in workers)
    first, second = outcome["proc0"], outcome["proc1"]
    assert first and second, "both processes should have taken part"
    assert not set(first) & set(second)
    assert sorted(first + second) == sorted(ids)
    report = repo.report(session, campaign_id)
    assert report.by_outcome == {CallOutcome.ANSWERED: 200}
    assert (report.attempts, report.done, report.remaining) == (200, 200, 0)


def test_dead_worker_leases_are_recovered_after_the_retry_interval(session: Session) -> None:
    campaign_id, ids = _campaign(session, 2)
    claims = repo.claim_due(session, campaign_id, "dead", now=NOW, limit=2, lease_seconds=30)
    repo.mark_dialing(session, claims[0].attempt_id, "call-x", now=NOW)
    expiry = NOW + timedelta(seconds=30)
    assert repo.claim_due(session, campaign_id, "w2", now=expiry, limit=5,
                          lease_seconds=30) == []
    session.expire_all()
    attempts = session.exec(select(CallAttempt).where(
        col(CallAttempt.id).in_([c.attempt_id for c in claims]))).all()
    assert {a.state for a in attempts} == {AttemptState.ABANDONED}
    longest = session.exec(select(CampaignCustomer).where(
        CampaignCustomer.id == ids[0])).one().next_attempt_at
    assert longest is not None and longest > expiry
    assert repo.claim_due(session, campaign_id, "w2", now=longest - timedelta(seconds=1),
                          limit=5, lease_seconds=30) == []
    again = repo.claim_due(session, campaign_id, "w2", now=longest, limit=5, lease_seconds=30)
    assert sorted((c.campaign_customer_id, c.attempt_no) for c in again) == [(i, 2) for i in ids]
    with pytest.raises(LeaseLost):
        repo.mark_dialing(session, claims[1].attempt_id, "late", now=longest)


def test_status_rules_and_do_not_contact(session: Session) -> None:
    campaign_id, ids = _campaign(session, 3)
    repo.change_status(session, ids[0], J, StatusSource.AGENT, "agent-1", now=NOW)
    with pytest.raises(StatusChangeRefused, match="can only move to: Cancelled"):
        repo.change_status(session, ids[0], C, StatusSource.MANAGER, "m", now=NOW)
    repo.add_dnc(session, phone(1), "complained", now=NOW)
    claims = repo.claim_due(session, campaign_id, "w", now=NOW, limit=5, lease_seconds=60)
    assert [c.campaign_customer_id for c in claims] == [ids[0], ids[2]]
    decision = repo.finish_attempt(session, claims[0].attempt_id, _busy(), now=NOW).decision
    assert decision == RetryDecision.retry_at(NOW + timedelta(seconds=600),
                                              decision.retry_class if decision else None)
    report = repo.report(session, campaign_id)
    assert report.totals == {R: 3, C: 1, J: 1, X: 0}
    dnc = session.get(CampaignCustomer, ids[1])
    assert dnc is not None and dnc.done_reason is DoneReason.DO_NOT_CONTACT


def test_campaign_limits_hold_for_concurrent_claimers_on_postgresql(session: Session) -> None:
    """Two connections claiming at once still keep the campaign's max_concurrent."""
    import threading

    from sqlmodel import Session as SqlSession

    campaign_id, _ = running_campaign(session, 40, "pg-limits", max_concurrent=5)
    engine = session.get_bind()
    got: list[int] = []
    barrier = threading.Barrier(4)

    def claim(worker: str) -> None:
        with SqlSession(engine) as own:
            barrier.wait(timeout=10)
            got.append(len(repo.claim_due(own, campaign_id, worker, now=NOW, limit=5, lease_seconds=60)))

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sum(got) == 5
