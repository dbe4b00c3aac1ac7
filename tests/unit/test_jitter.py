"""Receive reorder buffer: ordering, late packets, loss, duplicates, 16-bit wraparound."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.rtp.jitter import JitterBuffer, JitterStats
from dialer.rtp.packet import RtpPacket


def pkt(seq: int) -> RtpPacket:
    seq %= 65536
    return RtpPacket(payload_type=0, sequence_number=seq, timestamp=160 * seq, ssrc=7)


def seqs(packets: list[RtpPacket]) -> list[int]:
    return [p.sequence_number for p in packets]


def run(buffer: JitterBuffer, arrivals: list[tuple[int, float]], end: float) -> list[int]:
    """Push (seq, time) arrivals, popping at each arrival and each deadline, until ``end``."""
    out: list[int] = []
    for seq, at in arrivals:
        deadline = buffer.next_deadline()
        while deadline is not None and deadline <= at:
            out += seqs(buffer.pop_ready(deadline))
            deadline = buffer.next_deadline()
        buffer.push(pkt(seq), at)
        out += seqs(buffer.pop_ready(at))
    deadline = buffer.next_deadline()
    while deadline is not None and deadline <= end:
        out += seqs(buffer.pop_ready(deadline))
        deadline = buffer.next_deadline()
    return out


def test_in_order_packets_are_released_at_once() -> None:
    buffer = JitterBuffer()
    for n in range(5):
        buffer.push(pkt(100 + n), n * 0.02)
        assert seqs(buffer.pop_ready(n * 0.02)) == [100 + n]
    assert buffer.next_deadline() is None
    assert buffer.stats == JitterStats(5, 5, 0, 0, 0, 0, 0, 0)


def test_late_packet_within_window_is_put_back_in_order() -> None:
    buffer = JitterBuffer()
    buffer.push(pkt(1), 0.00)
    assert seqs(buffer.pop_ready(0.00)) == [1]
    buffer.push(pkt(3), 0.04)
    buffer.push(pkt(4), 0.06)
    assert buffer.pop_ready(0.06) == []
    assert buffer.next_deadline() == pytest.approx(0.10)  # 60 ms after 3 arrived
    buffer.push(pkt(2), 0.07)
    assert seqs(buffer.pop_ready(0.07)) == [2, 3, 4]
    stats = buffer.stats
    assert (stats.reordered, stats.lost, stats.late) == (1, 0, 0)


def test_gap_is_declared_lost_after_max_delay() -> None:
    buffer = JitterBuffer(max_delay=0.06)
    buffer.push(pkt(10), 0.0)
    buffer.pop_ready(0.0)
    buffer.push(pkt(12), 0.04)
    assert buffer.pop_ready(0.099) == []
    assert seqs(buffer.pop_ready(0.10)) == [12]
    assert buffer.stats.lost == 1
    # The missing packet turns up after its slot was skipped: dropped as late.
    buffer.push(pkt(11), 0.2)
    assert buffer.pop_ready(0.2) == []
    assert buffer.stats.late == 1


def test_gap_is_declared_lost_when_window_overflows() -> None:
    buffer = JitterBuffer(window=3, max_delay=10.0)
    buffer.push(pkt(0), 0.0)
    buffer.pop_ready(0.0)
    for n, seq in enumerate([2, 3, 4]):
        buffer.push(pkt(seq), 0.02 * (n + 1))
        assert buffer.pop_ready(0.02 * (n + 1)) == []
    buffer.push(pkt(5), 0.08)  # a fourth packet waits behind the gap
    assert seqs(buffer.pop_ready(0.08)) == [2, 3, 4, 5]
    assert buffer.stats.lost == 1


def test_packets_older_than_released_are_dropped_and_counted() -> None:
    buffer = JitterBuffer()
    out = run(buffer, [(5, 0.0), (6, 0.02), (7, 0.04), (4, 0.05)], end=1.0)
    assert out == [5, 6, 7]
    assert buffer.stats.late == 1


def test_duplicates_are_dropped() -> None:
    buffer = JitterBuffer()
    out = run(buffer, [(1, 0.0), (1, 0.01), (3, 0.04), (3, 0.05), (2, 0.06), (2, 0.07)], 1.0)
    assert out == [1, 2, 3]
    assert buffer.stats.duplicate == 3
    assert buffer.stats.received == 6 and buffer.stats.released == 3


def test_sequence_wraparound_in_order() -> None:
    buffer = JitterBuffer()
    arrivals = [(65533 + n, 0.02 * n) for n in range(6)]
    assert run(buffer, arrivals, end=1.0) == [65533, 65534, 65535, 0, 1, 2]
    assert buffer.stats.lost == 0


def test_sequence_wraparound_with_reordering() -> None:
    buffer = JitterBuffer()
    arrivals = [(65534, 0.0), (0, 0.02), (65535, 0.03), (2, 0.05), (1, 0.06), (3, 0.08)]
    assert run(buffer, arrivals, end=1.0) == [65534, 65535, 0, 1, 2, 3]
    assert buffer.stats.reordered == 2 and buffer.stats.lost == 0


def test_loss_across_wraparound() -> None:
    buffer = JitterBuffer()
    arrivals = [(65534, 0.0), (1, 0.04), (2, 0.06)]
    assert run(buffer, arrivals, end=1.0) == [65534, 1, 2]
    assert buffer.stats.lost == 2  # 65535 and 0


def test_duplicate_across_wraparound() -> None:
    buffer = JitterBuffer()
    arrivals = [(65535, 0.0), (0, 0.02), (65535, 0.03)]
    assert run(buffer, arrivals, end=1.0) == [65535, 0]
    assert buffer.stats.duplicate == 1


def test_large_jump_needs_confirmation() -> None:
    buffer = JitterBuffer()
    assert run(buffer, [(100, 0.0), (101, 0.02)], end=0.02) == [100, 101]
    # A stray packet far away is discarded ...
    assert run(buffer, [(40000, 0.04), (102, 0.06)], end=0.06) == [102]
    assert buffer.stats.discarded == 1
    # ... but two sequential packets after a jump mean the source restarted (RFC 3550 A.1).
    assert run(buffer, [(20000, 0.08), (20001, 0.10), (20002, 0.12)], end=0.12) == [20001, 20002]
    assert buffer.stats.resyncs == 1


def test_resync_hands_out_waiting_packets_first() -> None:
    buffer = JitterBuffer(max_delay=1.0)
    buffer.push(pkt(1), 0.0)
    buffer.pop_ready(0.0)
    buffer.push(pkt(3), 0.02)  # waits for 2
    buffer.push(pkt(30000), 0.04)
    buffer.push(pkt(30001), 0.06)
    assert buffer.next_deadline() == 0.06
    assert seqs(buffer.pop_ready(0.06)) == [3, 30001]


def test_next_deadline() -> None:
    buffer = JitterBuffer(max_delay=0.06)
    assert buffer.next_deadline() is None
    buffer.push(pkt(1), 1.0)
    assert buffer.next_deadline() == 1.0  # ready now
    buffer.pop_ready(1.0)
    buffer.push(pkt(3), 1.04)
    assert buffer.next_deadline() == pytest.approx(1.10)
    assert len(buffer) == 1


@given(
    st.integers(0, 65535),
    st.lists(st.tuples(st.integers(0, 30), st.booleans(), st.integers(0, 3)), max_size=60),
)
def test_output_is_increasing_and_unique(
    start: int, script: list[tuple[int, bool, int]]
) -> None:
    """Whatever arrives (loss, duplicates, bounded reordering), what comes out is in sequence
    order without repeats, and every packet is accounted for by a counter."""
    buffer = JitterBuffer()
    arrivals: list[tuple[int, float]] = []
    for n, (jitter_slots, keep, copies) in enumerate(script):
        if keep:
            arrivals += [((start + n) % 65536, 0.02 * n + 0.02 * jitter_slots / 10)] * copies
    arrivals.sort(key=lambda a: a[1])
    out = run(buffer, arrivals, end=100.0)
    unwrapped = [(s - start) % 65536 for s in out]
    assert unwrapped == sorted(set(unwrapped))
    stats = buffer.stats
    assert stats.received == len(arrivals)
    assert stats.released + stats.late + stats.duplicate + stats.discarded == stats.received
    assert len(buffer) == 0
