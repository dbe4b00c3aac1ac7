"""Two ``callbot campaign work`` processes split one campaign on a real PostgreSQL
(127.0.0.1:5432) without calling anybody twice: claims take row locks with
``FOR UPDATE SKIP LOCKED`` (:func:`callbot.store.dialing.claim_due`).

The test works in a database of its own, created for it and dropped after it
(``tests/integration/pg_store_support.fresh_database``). If the server cannot be reached the
test fails, it is not skipped: CI starts the cluster.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from callbot.store.db import make_engine, upgrade
from callbot.store.models import AttemptState, CampaignState
from dialer.simphone import SimulatorConfig
from integration.pg_store_support import fresh_database
from scripts_dsl.status import CustomerStatus

from .test_campaign_run import (
    CampaignProcesses,
    SimulatedCarrier,
    answer_and_press,
    attempts_of,
    campaign_state,
    check_report_totals,
    customers_of,
    e164,
    new_campaign,
    processes,  # noqa: F401 - the fixture
    report_json,
)

pytestmark = [pytest.mark.interop, pytest.mark.timeout(240)]

CUSTOMERS = 60
MAX_CONCURRENT = 8
WORKERS = ("worker-a", "worker-b")


def _max_overlap(spans: list[tuple[datetime, datetime]]) -> int:
    """The most intervals open at one moment (an end and a start at the same instant do
    not overlap)."""
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    most = current = 0
    for _, step in edges:
        current += step
        most = max(most, current)
    return most


def test_two_workers_split_a_campaign_without_double_calls(
    tmp_path: Path, processes: CampaignProcesses,  # noqa: F811 - the fixture
) -> None:
    config = SimulatorConfig(numbers={}, default=answer_and_press("1"))
    with fresh_database() as db_url:
        upgrade(db_url)
        engine = make_engine(db_url)
        try:
            with SimulatedCarrier(config) as carrier:
                campaign_id = new_campaign(db_url, tmp_path, carrier.port, CUSTOMERS,
                                           max_concurrent=MAX_CONCURRENT, cps=10)
                workers = [processes.worker(campaign_id, db_url, name, prompt_cache=tmp_path / f"prompts-{name}")
                           for name in WORKERS]
                deadline = time.monotonic() + 150
                for worker in workers:  # they run at the same time: one deadline for both
                    assert worker.wait(max(deadline - time.monotonic(), 1.0)) == 0, worker.describe()
                invites = carrier.invites()

            # Each customer called exactly once: every phone answers, nobody is retried.
            per_number = Counter(call.number for _, call in invites)
            assert per_number == Counter({e164(i): 1 for i in range(CUSTOMERS)}), [
                n for n, c in per_number.items() if c > 1]

            attempts = attempts_of(engine, campaign_id)
            assert len(attempts) == CUSTOMERS
            assert all(a.state is AttemptState.FINISHED and a.outcome is not None for a in attempts)
            assert {a.call_id for a in attempts} == {call.call_id for _, call in invites}
            by_worker = Counter(a.worker_id for a in attempts)
            assert set(by_worker) == set(WORKERS), by_worker  # both made calls
            for name in WORKERS:  # each held the campaign's concurrency on its own
                spans = [(a.started_at, a.ended_at) for a in attempts
                         if a.worker_id == name and a.started_at is not None and a.ended_at is not None]
                assert len(spans) == by_worker[name]
                assert _max_overlap(spans) <= MAX_CONCURRENT

            customers = customers_of(engine, campaign_id)
            assert all(cc.attempts == 1 and cc.done for cc in customers.values())
            assert {cc.status for cc in customers.values()} == {CustomerStatus.CONFIRMED}
            assert campaign_state(engine, campaign_id) is CampaignState.COMPLETED

            report = report_json(processes, campaign_id, db_url)
            check_report_totals(report, CUSTOMERS)
            assert report["attempts"] == CUSTOMERS and report["by_outcome"] == {"answered": CUSTOMERS}
            assert report["totals"] == {"Registered": CUSTOMERS, "Confirmed": CUSTOMERS, "Joined": 0, "Cancelled": 0}
            every = [(a.started_at, a.ended_at) for a in attempts if a.started_at and a.ended_at]
            print(f"calls per worker: {dict(by_worker)}; most calls at once, both workers: {_max_overlap(every)}")
        finally:
            engine.dispose()
