"""Pacing and calling hours of the campaign dialer, on explicit times (no clock is read)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.campaign.hours import CallingHours, CallingHoursError, customer_zone, parse_days
from dialer.campaign.pacing import Limit, Pacer, TokenBucket

UTC = timezone.utc


def test_bucket_allows_rate_per_second_after_the_first_burst() -> None:
    bucket = TokenBucket(rate=5)
    assert bucket.available(0.0) == 5
    bucket.take(0.0, 5)
    assert bucket.available(0.0) == 0
    assert bucket.next_available(0.0) == pytest.approx(0.2)
    assert bucket.available(0.2) == 1
    assert bucket.available(10.0) == 5  # never more than one burst saved up


def test_bucket_refuses_to_overdraw() -> None:
    bucket = TokenBucket(rate=1)
    bucket.take(0.0)
    with pytest.raises(ValueError, match="available"):
        bucket.take(0.5)


@given(st.lists(st.floats(min_value=0, max_value=0.5), min_size=1, max_size=200), st.floats(min_value=0.5, max_value=50))
def test_bucket_never_exceeds_rate_over_any_run(gaps: list[float], rate: float) -> None:
    bucket = TokenBucket(rate=rate)
    now = 0.0
    started = 0
    for gap in gaps:
        now += gap
        n = bucket.available(now)
        bucket.take(now, n)
        started += n
    assert started <= bucket.burst + rate * now + 1e-6  # type: ignore[operator]


def test_pacer_takes_the_tightest_scope() -> None:
    campaign = Limit(max_concurrent=10, calls_per_second=100)
    trunk = Limit(max_concurrent=3, calls_per_second=100)
    pacer = Pacer(campaign, trunk)
    assert pacer.room(0.0) == 3
    pacer.started(0.0, 3)
    assert pacer.room(0.0) == 0 and pacer.next_start(0.0) is None
    pacer.finished()
    assert pacer.room(0.0) == 1 and pacer.next_start(0.0) == 0.0
    assert campaign.active == 2 and trunk.active == 2


def test_limits_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Limit(max_concurrent=0, calls_per_second=1)
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(rate=0)


def test_calling_hours_in_the_customers_zone() -> None:
    hours = CallingHours.parse("08:00", "20:00", "mon-fri", "Asia/Ho_Chi_Minh")
    # Tuesday 2026-12-01 00:30 UTC is 07:30 in Ho Chi Minh City: closed; opens at 01:00 UTC.
    now = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)
    assert not hours.is_open(now)
    assert hours.next_open(now) == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    # The same instant in Tokyo (09:30) is open.
    assert hours.is_open(now, "Asia/Tokyo")


def test_weekend_waits_for_monday() -> None:
    hours = CallingHours.parse("09:00", "17:00", "mon-fri", "UTC")
    saturday_noon = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    assert not hours.is_open(saturday_noon)
    assert hours.next_open(saturday_noon) == datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def test_window_past_midnight_belongs_to_the_day_it_started() -> None:
    hours = CallingHours.parse("22:00", "02:00", "fri", "UTC")
    assert hours.is_open(datetime(2026, 12, 4, 23, 0, tzinfo=UTC))  # Friday night
    assert hours.is_open(datetime(2026, 12, 5, 1, 0, tzinfo=UTC))  # early Saturday, Friday's window
    assert not hours.is_open(datetime(2026, 12, 6, 1, 0, tzinfo=UTC))  # early Sunday: Saturday has none


def test_always_open() -> None:
    assert CallingHours.always().is_open(datetime(2026, 12, 6, 3, 0, tzinfo=UTC))


@pytest.mark.parametrize("bad", ["8:xx", "25:00", "0800"])
def test_bad_times_are_named(bad: str) -> None:
    with pytest.raises(CallingHoursError, match="HH:MM"):
        CallingHours.parse(bad, "20:00")


def test_bad_days_and_zones_are_named() -> None:
    with pytest.raises(CallingHoursError, match="mon-fri"):
        parse_days("monday-friday")
    with pytest.raises(CallingHoursError, match="IANA"):
        CallingHours.parse("08:00", "20:00", default_zone="Mars/Olympus")
    assert parse_days("sat-mon") == frozenset({5, 6, 0})


def test_customer_zone_from_field_number_or_default() -> None:
    assert customer_zone("+84912345678", None, "UTC") == "Asia/Ho_Chi_Minh"
    assert customer_zone("+84912345678", "Asia/Tokyo", "UTC") == "Asia/Tokyo"
    assert customer_zone("+12125550123", None, "America/New_York") == "America/New_York"
    assert customer_zone("not a number", None, "Asia/Bangkok") == "Asia/Bangkok"
