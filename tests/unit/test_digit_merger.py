"""One digit stream per call: RFC 4733 and in-band reports of the same key press count once."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.dsp.digits import DUPLICATE_WINDOW, CallDigit, DigitMerger, DigitSource
from dialer.dsp.tones import KEYPAD, SignalError

RFC = DigitSource.RFC4733
INBAND = DigitSource.INBAND


def test_one_source_passes_through_including_repeated_keys() -> None:
    merger = DigitMerger()
    out = merger.feed(RFC, "5", 1.00, 1.10)
    out += merger.feed(RFC, "5", 1.16, 1.26)
    out += merger.feed(RFC, "#", 1.40, 1.50)
    assert out == [
        CallDigit("5", 1.00, 1.10, RFC),
        CallDigit("5", 1.16, 1.26, RFC),
        CallDigit("#", 1.40, 1.50, RFC),
    ]
    assert merger.duplicates == 0


@pytest.mark.parametrize(("first", "second"), [(RFC, INBAND), (INBAND, RFC)])
def test_the_same_press_from_both_sources_counts_once(
    first: DigitSource, second: DigitSource
) -> None:
    merger = DigitMerger()
    assert merger.feed(first, "7", 2.000, 2.100) == [CallDigit("7", 2.000, 2.100, first)]
    assert merger.feed(second, "7", 2.002, 2.098) == []
    assert merger.duplicates == 1


def test_reports_up_to_the_window_apart_are_one_press_and_beyond_are_two() -> None:
    merger = DigitMerger()
    merger.feed(RFC, "1", 0.25, 0.5)
    assert merger.feed(INBAND, "1", 0.5 + DUPLICATE_WINDOW, 0.8) == []
    merger.feed(RFC, "2", 5.25, 5.5)
    assert merger.feed(INBAND, "2", 5.5 + DUPLICATE_WINDOW + 0.001, 5.8) != []
    assert merger.duplicates == 1


def test_different_keys_at_the_same_time_are_both_reported() -> None:
    merger = DigitMerger()
    assert merger.feed(RFC, "1", 0.0, 0.1) != []
    assert merger.feed(INBAND, "4", 0.0, 0.1) != []


def test_a_repeated_key_from_both_sources_is_two_presses_in_any_arrival_order() -> None:
    presses = [(1.00, 1.08), (1.14, 1.22)]  # "55" with a 60 ms pause
    reports = [(source, start, end) for source in (RFC, INBAND) for start, end in presses]
    orders = [[0, 1, 2, 3], [2, 3, 0, 1], [0, 2, 1, 3], [3, 0, 2, 1], [1, 3, 2, 0]]
    for order in orders:
        merger = DigitMerger()
        out = []
        for index in order:
            source, start, end = reports[index]
            out += merger.feed(source, "5", start, end)
        assert len(out) == 2, order
        assert merger.duplicates == 2


def test_each_report_pairs_with_the_closest_twin() -> None:
    merger = DigitMerger()
    merger.feed(RFC, "5", 1.00, 1.08)
    merger.feed(RFC, "5", 1.14, 1.22)
    assert merger.feed(INBAND, "5", 1.141, 1.219) == []  # pairs with the second press
    assert merger.feed(INBAND, "5", 1.001, 1.079) == []  # the first is still free


def test_keys_are_normalised_and_checked() -> None:
    merger = DigitMerger()
    assert merger.feed("inband", "a", 0.0, 0.1) == [CallDigit("A", 0.0, 0.1, INBAND)]
    assert merger.feed(RFC, "A", 0.0, 0.1) == []
    assert merger.feed(RFC, "A", 0.0, 0.1)[0].duration_ms == pytest.approx(100)
    with pytest.raises(SignalError, match="not a DTMF key"):
        merger.feed(RFC, "E", 0.0, 0.1)
    with pytest.raises(SignalError, match="before it starts"):
        merger.feed(RFC, "1", 0.2, 0.1)
    with pytest.raises(ValueError):
        merger.feed("sip-info", "1", 0.0, 0.1)
    with pytest.raises(SignalError):
        DigitMerger(window=-1.0)


presses = st.lists(
    st.tuples(
        st.sampled_from("".join(KEYPAD)),
        st.floats(0.06, 0.6),  # pause before the press
        st.floats(0.04, 0.3),  # press duration
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(presses=presses, seed=st.integers(0, 2**32 - 1), both=st.booleans())
def test_every_press_is_reported_exactly_once(
    presses: list[tuple[str, float, float]], seed: int, both: bool
) -> None:
    """Each press reported by one source or by both, with a few ms of disagreement on its
    times; each report arrives after its press ended, up to 250 ms late (an RFC 4733 digit
    whose end packets were lost waits 200 ms), so reports of nearby presses interleave. The
    stream has one digit per press."""
    rng = random.Random(seed)
    reports: list[tuple[float, DigitSource, str, float, float]] = []
    sources = [RFC, INBAND] if both else [rng.choice([RFC, INBAND])]
    clock = 0.0
    for key, pause, duration in presses:
        start, clock = clock + pause, clock + pause + duration
        for source in sources:
            jitter = rng.uniform(-0.004, 0.004)
            arrival = clock + rng.uniform(0.0, 0.25)
            reports.append((arrival, source, key, start + jitter, clock + jitter))
    merger = DigitMerger()
    out: list[CallDigit] = []
    for _, source, key, start, end in sorted(reports):
        out += merger.feed(source, key, start, end)
    assert sorted(d.digit for d in out) == sorted(key for key, _, _ in presses)
    assert merger.duplicates == (len(presses) if both else 0)
