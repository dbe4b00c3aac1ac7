"""Crash safety of the campaign dialer, with real processes: a ``callbot campaign work``
process is killed with SIGKILL in the middle of a busy campaign and a new one finishes it.

What must hold (issue 5, "Crash safety"):

* nobody is called twice within the retry interval: the dead worker's customers wait for
  their leases to expire and then the retry interval (:func:`callbot.store.dialing.recover_expired`);
* no answered call's result is lost: a keypress's status change is written while the call
  is still up, so a customer who pressed 1 before the kill is Confirmed even though the call's
  attempt was never finished;
* the dead worker's unfinished attempts end ``abandoned``; every INVITE the phones received
  has its attempt row (recorded before the INVITE left); the report adds up.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from callbot.store.db import make_engine
from callbot.store.models import AttemptState, CallAttempt, CampaignState, StatusSource
from dialer.simphone import SimulatorConfig
from scripts_dsl.status import CustomerStatus

from .test_campaign_run import (
    BUSY,
    NO_ANSWER,
    CampaignProcesses,
    SimulatedCarrier,
    answer_and_press,
    attempts_of,
    campaign_state,
    check_report_totals,
    customers_of,
    e164,
    local_number,
    new_campaign,
    processes,  # noqa: F401 - the fixture
    report_json,
    sqlite_url,
    status_changes,
    wait_for,
)

pytestmark = [pytest.mark.interop, pytest.mark.timeout(240)]

CUSTOMERS = 40
BUSY_AT = frozenset({3, 13, 23, 33})
NO_ANSWER_AT = frozenset({8, 18, 28, 38})
ANSWERING = frozenset(range(CUSTOMERS)) - BUSY_AT - NO_ANSWER_AT
MAX_ATTEMPTS = 3
RETRY_S = 8
"""Every retry rule's interval, hence also the wait after an abandoned attempt."""
LEASE_S = 5.0
WRITE_MARGIN_S = 1.0
"""A keypress this long before the kill has certainly reached the dead worker and been acted
on (the worker turns a key into a status write within milliseconds on loopback)."""


def _config() -> SimulatorConfig:
    numbers = {}
    for i in range(CUSTOMERS):
        numbers[local_number(i)] = BUSY if i in BUSY_AT else NO_ANSWER if i in NO_ANSWER_AT else answer_and_press("1")
    return SimulatorConfig(numbers=numbers)


def _finished_attempts(engine: sa.Engine, campaign_id: int) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(CallAttempt).where(
            CallAttempt.campaign_id == campaign_id, col(CallAttempt.state) == AttemptState.FINISHED)).one()


def _confirmed_in_call(carrier: SimulatedCarrier, before: float) -> set[str]:
    """Call-IDs of calls still up in which the phone pressed 1 before ``before``."""
    pressed = {s.event.call_id for s in carrier.seen()
               if s.at <= before and getattr(s.event, "digit", None) == "1"}
    return pressed - set(carrier.ended())


def test_sigkill_mid_campaign_loses_no_result_and_calls_nobody_twice_within_the_interval(
    tmp_path: Path, processes: CampaignProcesses,  # noqa: F811 - the fixture
) -> None:
    db_url = sqlite_url(tmp_path)
    engine = make_engine(db_url)
    prompts = tmp_path / "prompts"
    try:
        with SimulatedCarrier(_config()) as carrier:
            campaign_id = new_campaign(db_url, tmp_path, carrier.port, CUSTOMERS, max_concurrent=8, cps=10,
                                       retry_after_s=RETRY_S, max_attempts=MAX_ATTEMPTS)
            first = processes.worker(campaign_id, db_url, "worker-1", lease=LEASE_S, prompt_cache=prompts)

            def busy_moment() -> bool:
                """Results recorded, calls up, and a customer who confirmed still on the line."""
                now = time.monotonic()
                up = carrier.call_ids() - set(carrier.ended())
                return (len(up) >= 2 and bool(_confirmed_in_call(carrier, now - WRITE_MARGIN_S))
                        and _finished_attempts(engine, campaign_id) >= 4)

            wait_for(busy_moment, "moment with results recorded and confirmed customers on the line", 90, [first])
            processes.kill(first)
            killed_at = time.monotonic()

            # --- right after the kill, before anyone recovers anything
            in_flight = {a.id: a for a in attempts_of(engine, campaign_id)
                         if a.state in (AttemptState.PENDING, AttemptState.DIALING)}
            assert in_flight and all(a.worker_id == "worker-1" for a in in_flight.values())
            at_kill = customers_of(engine, campaign_id)
            numbers_by_call = {call.call_id: call.number for _, call in carrier.invites()}
            pressed_before = {numbers_by_call[s.event.call_id]: s.event.call_id for s in carrier.seen()
                              if s.at <= killed_at - WRITE_MARGIN_S and getattr(s.event, "digit", None) == "1"}
            in_call = _confirmed_in_call(carrier, killed_at - WRITE_MARGIN_S)
            assert in_call, "the kill was meant to catch a confirmed customer still on the line"
            not_confirmed = sorted(n for n in pressed_before if at_kill[n].status is not CustomerStatus.CONFIRMED)
            assert not_confirmed == [], f"pressed 1 before the kill but not Confirmed: {not_confirmed}"
            dialing_call_ids = {a.call_id for a in in_flight.values() if a.state is AttemptState.DIALING}
            assert in_call <= dialing_call_ids  # those calls' attempts were never finished

            second = processes.worker(campaign_id, db_url, "worker-2", lease=LEASE_S, prompt_cache=prompts)
            assert second.wait(150) == 0, second.describe()
            invites = carrier.invites()
            invite_times = carrier.invite_times()

        # --- nobody called twice within the retry interval; the dead worker's customers
        # not before its leases expired and the interval passed
        for number, times in invite_times.items():
            gaps = [b - a for a, b in zip(times, times[1:])]
            assert all(gap >= RETRY_S for gap in gaps), f"{number}: INVITEs {gaps} s apart"
        cc_by_id = {cc.id: phone for phone, cc in customers_of(engine, campaign_id).items()}
        for attempt in in_flight.values():
            later = [t for t in invite_times.get(cc_by_id[attempt.campaign_customer_id], []) if t > killed_at]
            assert all(t >= killed_at + RETRY_S for t in later), (attempt.id, [t - killed_at for t in later])

        # --- every attempt ended: the dead worker's unfinished ones abandoned, all others finished
        attempts = attempts_of(engine, campaign_id)
        abandoned = {a.id for a in attempts if a.state is AttemptState.ABANDONED}
        assert abandoned == set(in_flight)
        assert all(a.state is AttemptState.FINISHED for a in attempts if a.id not in abandoned)
        assert all(a.outcome is None and "worker-1" in a.message for a in attempts if a.id in abandoned)
        assert {a.worker_id for a in attempts} == {"worker-1", "worker-2"}

        # --- every INVITE the phones got was recorded first; every finished attempt was a call
        db_call_ids = {a.call_id for a in attempts if a.call_id}
        sim_call_ids = {call.call_id for _, call in invites}
        assert sim_call_ids <= db_call_ids
        assert {a.call_id for a in attempts if a.state is AttemptState.FINISHED} <= sim_call_ids
        assert len(invites) == len(sim_call_ids)  # one IncomingCall per Call-ID

        # --- no answered call's result lost: final statuses, one status change each
        final = customers_of(engine, campaign_id)
        assert {phone for phone, cc in final.items() if cc.status is CustomerStatus.CONFIRMED} == {
            e164(i) for i in ANSWERING}
        assert all(final[e164(i)].status is CustomerStatus.REGISTERED for i in BUSY_AT | NO_ANSWER_AT)
        assert all(cc.done for cc in final.values())
        attempt_counts = Counter(a.campaign_customer_id for a in attempts)
        assert all(attempt_counts[cc.id] == cc.attempts <= MAX_ATTEMPTS for cc in final.values())
        assert all(final[e164(i)].attempts == MAX_ATTEMPTS for i in BUSY_AT | NO_ANSWER_AT)
        changes = status_changes(engine, campaign_id)
        assert all(c.applied and c.source is StatusSource.KEYPRESS for c in changes)
        assert Counter(c.campaign_customer_id for c in changes) == Counter(final[e164(i)].id for i in ANSWERING)
        by_call_id = {a.call_id: a.id for a in attempts}
        change_attempts = {c.attempt_id for c in changes}
        for number, call_id in pressed_before.items():
            assert by_call_id[call_id] in change_attempts, f"{number}: its keypress's change names another call"
        assert {by_call_id[c] for c in in_call} <= change_attempts & abandoned
        assert campaign_state(engine, campaign_id) is CampaignState.COMPLETED

        # --- the report adds up, and matches the attempt rows
        report = report_json(processes, campaign_id, db_url)
        check_report_totals(report, CUSTOMERS)
        assert report["by_status"] == {"Registered": len(BUSY_AT | NO_ANSWER_AT), "Confirmed": len(ANSWERING),
                                       "Joined": 0, "Cancelled": 0}
        assert report["attempts"] == len(attempts)
        assert report["abandoned"] == len(in_flight) and report["in_progress"] == 0
        assert report["by_outcome"] == dict(Counter(a.outcome.value for a in attempts if a.outcome is not None))
        assert (report["called"], report["done"], report["remaining"]) == (CUSTOMERS, CUSTOMERS, 0)
        print(f"killed with {len(in_flight)} attempts in flight ({len(in_call)} confirmed customers on the line), "
              f"{len(pressed_before)} keypresses before the kill; {len(invites)} INVITEs, "
              f"{len(attempts)} attempts; report {report['by_outcome']}")
    finally:
        engine.dispose()
