"""Status changes obey the one status definition; report totals stay cumulative."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, col, select

from callbot.store import repo
from callbot.store.db import make_engine, upgrade
from callbot.store.models import CampaignCustomer, StatusChange, StatusSource
from callbot.store.retry import RetryDecision
from dialer.outcome import CallOutcome
from scripts_dsl.errors import StatusChangeRefused
from scripts_dsl.status import CustomerStatus, can_move
from store_helpers import NOW, result, running_campaign

R, C, J, X = (CustomerStatus.REGISTERED, CustomerStatus.CONFIRMED, CustomerStatus.JOINED,
              CustomerStatus.CANCELLED)


def test_manager_change_is_applied_and_audited(session: Session) -> None:
    _, ids = running_campaign(session, 1)
    change = repo.change_status(session, ids[0], J, StatusSource.MANAGER, "lan@example.com",
                                now=NOW)
    assert (change.from_status, change.to_status, change.source, change.actor, change.applied) \
        == (R, J, StatusSource.MANAGER, "lan@example.com", True)
    session.expire_all()
    cc = session.get(CampaignCustomer, ids[0])
    assert cc is not None and (cc.status, cc.status_changed_at) == (J, NOW)


def test_refused_manual_change_names_the_allowed_moves_and_writes_nothing(
        session: Session) -> None:
    _, ids = running_campaign(session, 1)
    repo.change_status(session, ids[0], C, StatusSource.AGENT, "agent-7", now=NOW)
    with pytest.raises(StatusChangeRefused) as refused:
        repo.change_status(session, ids[0], R, StatusSource.MANAGER, "lan",
                           now=NOW + timedelta(minutes=1))
    assert str(refused.value) == ("Status change refused: Confirmed -> Registered is not an "
                                  "allowed change; from Confirmed the status can only move to: "
                                  "Joined, Cancelled.")
    repo.change_status(session, ids[0], X, StatusSource.MANAGER, "lan", now=NOW)
    with pytest.raises(StatusChangeRefused, match="Cancelled is final"):
        repo.change_status(session, ids[0], J, StatusSource.MANAGER, "lan", now=NOW)
    assert len(session.exec(select(StatusChange)).all()) == 2


def test_refused_change_during_a_call_is_recorded_as_not_applied(session: Session) -> None:
    campaign_id, ids = running_campaign(session, 1)
    repo.change_status(session, ids[0], J, StatusSource.MANAGER, "lan", now=NOW)
    (claim,) = repo.claim_due(session, campaign_id, "w1", now=NOW, limit=1, lease_seconds=60)
    report = repo.finish_attempt(
        session, claim.attempt_id, result(CallOutcome.ANSWERED, talk_ms=10_000), now=NOW,
        status_changes=[repo.StatusChangeRequest(C, StatusSource.KEYPRESS, "confirm_block"),
                        repo.StatusChangeRequest(X, StatusSource.KEYPRESS, "cancel_block")])
    assert report.status is X
    assert report.refused == ("Status change refused: Joined -> Confirmed is not an allowed "
                              "change; from Joined the status can only move to: Cancelled.",)
    rows = session.exec(select(StatusChange).where(StatusChange.attempt_id == claim.attempt_id)
                        .order_by(col(StatusChange.id))).all()
    assert [(r.from_status, r.to_status, r.applied, r.actor) for r in rows] == [
        (J, C, False, "confirm_block"), (J, X, True, "cancel_block")]
    assert rows[0].message == report.refused[0]


# --- the cumulative totals stay invariant under any sequence of changes ---------------------

CUSTOMERS = 6
_names = itertools.count()


@pytest.fixture(scope="module")
def shared_engine() -> Iterator[Engine]:
    engine = make_engine("sqlite://", poolclass=StaticPool)
    upgrade(engine)
    yield engine
    engine.dispose()


_moves = st.lists(st.tuples(st.integers(0, CUSTOMERS - 1), st.sampled_from(list(CustomerStatus)),
                            st.booleans()), max_size=15)


@settings(max_examples=25, deadline=None)
@given(moves=_moves)
def test_totals_stay_cumulative_under_random_changes(
        shared_engine: Engine, moves: list[tuple[int, CustomerStatus, bool]]) -> None:
    """Allowed moves apply, refused ones change nothing, and whatever happens the
    Registered total counts every customer and every total follows the manual. Moves come
    from managers or from keypresses during calls."""
    with Session(shared_engine) as session:
        campaign_id, ids = running_campaign(session, CUSTOMERS, max_attempts=100,
                                            name=f"p{next(_names)}")
        # Everyone is in a call; a keypress move finishes that call and starts the next one.
        calls = {c.campaign_customer_id: c.attempt_id for c in repo.claim_due(
            session, campaign_id, "w", now=NOW, limit=CUSTOMERS, lease_seconds=60)}
        model = {i: R for i in range(CUSTOMERS)}
        for index, wanted, during_call in moves:
            allowed = can_move(model[index], wanted)
            if during_call:
                report = repo.finish_attempt(
                    session, calls[ids[index]], result(CallOutcome.ANSWERED, talk_ms=9000),
                    now=NOW, status_changes=[repo.StatusChangeRequest(wanted,
                                                                      StatusSource.KEYPRESS)],
                    retry=RetryDecision.retry_at(NOW))
                assert bool(report.refused) == (not allowed)
                (claim,) = repo.claim_due(session, campaign_id, "w", now=NOW, limit=CUSTOMERS,
                                          lease_seconds=60)
                calls[claim.campaign_customer_id] = claim.attempt_id
            else:
                try:
                    repo.change_status(session, ids[index], wanted, StatusSource.MANAGER, "m",
                                       now=NOW)
                except StatusChangeRefused:
                    assert not allowed
                else:
                    assert allowed
            if allowed:
                model[index] = wanted
            totals = repo.report(session, campaign_id).totals
            counts = {s: sum(1 for v in model.values() if v is s) for s in CustomerStatus}
            assert totals[R] == CUSTOMERS
            assert totals == {R: CUSTOMERS, C: counts[C] + counts[J], J: counts[J],
                              X: counts[X]}
