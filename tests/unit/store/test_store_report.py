"""Campaign reports: exact numbers on a known dataset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from callbot.store import repo
from callbot.store.errors import NotFound
from callbot.store.models import StatusSource
from callbot.store.report import HourCount
from dialer.outcome import CallOutcome, HangupBy
from scripts_dsl.status import CustomerStatus
from store_helpers import NOW, result, running_campaign

R, C, J, X = (CustomerStatus.REGISTERED, CustomerStatus.CONFIRMED, CustomerStatus.JOINED,
              CustomerStatus.CANCELLED)


def _known_campaign(session: Session) -> int:
    """10 customers: statuses R4 C2 J3 X1; seven attempts over two hours."""
    campaign_id, ids = running_campaign(session, 10)
    for cc_id, path in zip(ids, [[C], [C], [J], [C, J], [J], [C, X]], strict=False):
        for status in path:
            repo.change_status(session, cc_id, status, StatusSource.MANAGER, "m", now=NOW)
    claims = repo.claim_due(session, campaign_id, "w1", now=NOW, limit=7, lease_seconds=600)
    hour2 = NOW + timedelta(hours=1, minutes=5)
    outcomes = [
        (result(CallOutcome.ANSWERED, talk_ms=30_000), NOW + timedelta(minutes=1)),
        (result(CallOutcome.ANSWERED, talk_ms=20_000, hangup_by=HangupBy.US),
         NOW + timedelta(minutes=2)),
        (result(CallOutcome.BUSY), NOW + timedelta(minutes=3)),
        (result(CallOutcome.NO_ANSWER), hour2),
        (result(CallOutcome.NO_ANSWER), hour2),
        (result(CallOutcome.FAILED), hour2),
    ]
    for claim, (res, when) in zip(claims, outcomes, strict=False):
        repo.finish_attempt(session, claim.attempt_id, res, now=when)
    # claims[6] stays in progress; one more claimed by a worker that dies.
    repo.recover_expired(session, now=NOW + timedelta(seconds=600))
    repo.claim_due(session, campaign_id, "w2", now=NOW + timedelta(hours=3), limit=1,
                   lease_seconds=600)
    return campaign_id


def test_report_numbers_are_exact(session: Session) -> None:
    campaign_id = _known_campaign(session)
    report = repo.report(session, campaign_id)
    assert report.customers == 10
    assert report.by_status == {R: 4, C: 2, J: 3, X: 1}
    assert report.totals == {R: 10, C: 5, J: 3, X: 1}
    assert report.by_outcome == {CallOutcome.ANSWERED: 2, CallOutcome.BUSY: 1,
                                 CallOutcome.NO_ANSWER: 2, CallOutcome.FAILED: 1}
    assert report.answer_rate == pytest.approx(2 / 6)
    assert report.avg_talk_s == pytest.approx(25.0)
    # 6 finished, claims[6] abandoned at recovery, then one new pending claim.
    assert (report.attempts, report.abandoned, report.in_progress) == (8, 1, 1)
    hour = NOW.replace(minute=0)
    assert report.calls_per_hour == (HourCount(hour, 3), HourCount(hour + timedelta(hours=1), 3))
    assert report.called == 8
    assert report.done == 2  # the two answered customers
    assert report.remaining == 8
    data = report.to_json()
    assert data["totals"] == {"Registered": 10, "Confirmed": 5, "Joined": 3, "Cancelled": 1}
    assert data["calls_per_hour"][0] == {"hour": "2025-03-03T02:00:00+00:00", "attempts": 3}


def test_rebuilt_stats_match_the_running_counts(session: Session) -> None:
    campaign_id = _known_campaign(session)
    before = repo.report(session, campaign_id)
    repo.rebuild_stats(session, campaign_id)
    assert repo.report(session, campaign_id) == before


def test_empty_campaign_reports_zeroes_and_no_rates(session: Session) -> None:
    campaign_id, _ = running_campaign(session, 0)
    report = repo.report(session, campaign_id)
    assert report.totals == {R: 0, C: 0, J: 0, X: 0}
    assert (report.attempts, report.answer_rate, report.avg_talk_s) == (0, None, None)
    assert report.calls_per_hour == ()
    with pytest.raises(NotFound):
        repo.report(session, 12345)


def test_hours_are_utc_whatever_zone_the_times_came_in(session: Session) -> None:
    campaign_id, _ = running_campaign(session, 1)
    (claim,) = repo.claim_due(session, campaign_id, "w", now=NOW, limit=1, lease_seconds=60)
    local = datetime(2025, 3, 3, 9, 59, 59, tzinfo=UTC).astimezone()
    repo.finish_attempt(session, claim.attempt_id, result(CallOutcome.BUSY), now=local)
    (hour,) = repo.report(session, campaign_id).calls_per_hour
    assert hour == HourCount(datetime(2025, 3, 3, 9, tzinfo=UTC), 1)
