"""RFC 4733 telephone-events: payload, sender sequence, and a receiver that reports each key
press exactly once under loss, duplication, reordering and missing marker bits."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.rtp.dtmf import (
    DTMF_END_TIMEOUT,
    DigitEvent,
    DtmfError,
    DtmfReceiver,
    DtmfSender,
    TelephoneEvent,
    TelephoneEventError,
)
from dialer.rtp.packet import RtpPacket

PT = 101
SSRC = 0x11223344
PTIME = 0.020


def sent_packets(
    digits: str, duration_ms: int = 100, *, start_timestamp: int = 8000, gap_ms: int = 40
) -> list[tuple[RtpPacket, float]]:
    """What a sender puts on the wire for ``digits``: (packet, send time) per DTMF tick."""
    sender = DtmfSender(payload_type=PT, inter_digit_gap_ms=gap_ms)
    sender.send(digits, duration_ms)
    out: list[tuple[RtpPacket, float]] = []
    for tick in range(1000):
        if not sender.pending:
            break
        dtmf = sender.next_packet(
            sequence_number=tick % 65536,
            timestamp=(start_timestamp + 160 * tick) % (1 << 32),
            ssrc=SSRC,
        )
        if dtmf is not None:
            out.append((dtmf.packet, 1.0 + tick * PTIME))
    return out


def feed(
    receiver: DtmfReceiver, packets: list[tuple[RtpPacket, float]], *, settle: bool = True
) -> list[DigitEvent]:
    """Deliver packets at their times, running the receiver's timer like a media loop would."""
    events: list[DigitEvent] = []
    for packet, at in packets:
        deadline = receiver.next_deadline()
        if deadline is not None and deadline <= at:
            events += receiver.handle_timer(deadline)
        events += receiver.receive(packet, at)
    if settle:
        deadline = receiver.next_deadline()
        if deadline is not None:
            events += receiver.handle_timer(deadline)
    return events


def end_flags(packets: list[tuple[RtpPacket, float]]) -> list[bool]:
    return [TelephoneEvent.parse(p.payload).end for p, _ in packets]


# ---------------------------------------------------------------- payload


def test_payload_parse_and_serialize() -> None:
    event = TelephoneEvent.parse(bytes.fromhex("010a00a0"))
    assert event == TelephoneEvent(1, end=False, volume=10, duration=160)
    assert event.digit == "1"
    assert bytes(event) == bytes.fromhex("010a00a0")
    end = TelephoneEvent.parse(bytes.fromhex("0b8a0320"))
    assert (end.digit, end.end, end.volume, end.duration) == ("#", True, 10, 800)


def test_reserved_bit_is_ignored() -> None:
    assert TelephoneEvent.parse(bytes.fromhex("054a0140")) == TelephoneEvent.parse(
        bytes.fromhex("050a0140")
    )


@pytest.mark.parametrize(("code", "digit"), list(enumerate("0123456789*#ABCD")))
def test_event_codes_map_to_keys(code: int, digit: str) -> None:
    assert TelephoneEvent(code).digit == digit
    assert TelephoneEvent.for_digit(digit.lower()).event == code


def test_non_dtmf_event_has_no_digit() -> None:
    assert TelephoneEvent(16).digit is None  # flash


@pytest.mark.parametrize("payload", [b"", b"\x01\x0a\x00", b"\x01\x0a\x00\xa0\x00"])
def test_payload_length_must_be_four(payload: bytes) -> None:
    with pytest.raises(TelephoneEventError, match=f"is {len(payload)} bytes, expected 4"):
        TelephoneEvent.parse(payload)


def test_invalid_values() -> None:
    with pytest.raises(DtmfError, match="not a DTMF key"):
        TelephoneEvent.for_digit("E")
    with pytest.raises(DtmfError, match="volume 64"):
        TelephoneEvent(1, volume=64)
    with pytest.raises(DtmfError, match="duration 65536"):
        TelephoneEvent(1, duration=65536)


@given(st.binary(max_size=6))
def test_payload_parse_raises_only_its_error(data: bytes) -> None:
    try:
        event = TelephoneEvent.parse(data)
    except TelephoneEventError:
        return
    assert TelephoneEvent.parse(bytes(event)) == event


@given(st.integers(0, 255), st.booleans(), st.integers(0, 63), st.integers(0, 0xFFFF))
def test_payload_round_trip(event: int, end: bool, volume: int, duration: int) -> None:
    value = TelephoneEvent(event, end=end, volume=volume, duration=duration)
    assert TelephoneEvent.parse(bytes(value)) == value


# ---------------------------------------------------------------- sender


def test_sender_sequence_for_one_digit() -> None:
    packets = sent_packets("5", 100)
    events = [TelephoneEvent.parse(p.payload) for p, _ in packets]
    assert [e.duration for e in events] == [160, 320, 480, 640, 800, 800, 800]
    assert [e.end for e in events] == [False] * 4 + [True] * 3
    assert {e.event for e in events} == {5} and {e.volume for e in events} == {10}
    assert [p.marker for p, _ in packets] == [True] + [False] * 6
    assert {p.timestamp for p, _ in packets} == {8000}
    assert [p.sequence_number for p, _ in packets] == list(range(7))
    assert {p.payload_type for p, _ in packets} == {PT}


def test_sender_duration_not_a_multiple_of_ptime() -> None:
    events = [TelephoneEvent.parse(p.payload) for p, _ in sent_packets("#", 130)]
    assert [e.duration for e in events] == [160, 320, 480, 640, 800, 960, 1040, 1040, 1040]


def test_sender_short_digit_is_only_end_packets() -> None:
    packets = sent_packets("1", 20)
    assert end_flags(packets) == [True, True, True]
    assert [p.marker for p, _ in packets] == [True, False, False]


def test_sender_digits_get_new_timestamps_and_a_gap() -> None:
    sender = DtmfSender(payload_type=PT)
    sender.send("12")
    produced = [
        sender.next_packet(sequence_number=i, timestamp=160 * i, ssrc=SSRC) for i in range(16)
    ]
    first = [p for p in produced[:7]]
    assert all(p is not None and p.digit == "1" for p in first)
    assert produced[6] is not None and produced[6].last
    assert produced[7] is None and produced[8] is None  # 40 ms of audio between digits
    second = produced[9]
    assert second is not None and second.digit == "2" and second.packet.marker
    assert second.packet.timestamp == 160 * 9
    assert produced[15] is not None and produced[15].last
    assert not sender.active and sender.pending == 0


def test_sender_rejects_bad_input() -> None:
    sender = DtmfSender(payload_type=PT)
    with pytest.raises(DtmfError, match="'x' is not a DTMF key"):
        sender.send("1x")
    assert sender.pending == 0  # nothing queued from a rejected string
    with pytest.raises(DtmfError, match="duration 9000 ms"):
        sender.send("1", 9000)
    with pytest.raises(DtmfError, match="volume"):
        DtmfSender(payload_type=PT, volume=70)


def test_sender_cancel_finishes_the_current_digit() -> None:
    sender = DtmfSender(payload_type=PT)
    sender.send("123")
    assert sender.next_packet(sequence_number=0, timestamp=0, ssrc=SSRC) is not None
    sender.cancel()
    produced = [sender.next_packet(sequence_number=i, timestamp=0, ssrc=SSRC) for i in range(20)]
    sent = [p for p in produced if p is not None]
    assert len(sent) == 6 and sent[-1].last and {p.digit for p in sent} == {"1"}


# ---------------------------------------------------------------- receiver


def test_every_key_round_trips_once() -> None:
    events = feed(DtmfReceiver(), sent_packets("0123456789*#ABCD"))
    assert "".join(e.digit for e in events) == "0123456789*#ABCD"
    assert all(e.end_seen and e.duration_ms == 100 for e in events)


def test_digit_is_reported_at_the_first_end_packet() -> None:
    packets = sent_packets("7")
    receiver = DtmfReceiver()
    reports = [receiver.receive(p, at) for p, at in packets]
    first_end = end_flags(packets).index(True)
    assert [len(r) for r in reports] == [0] * first_end + [1] + [0] * (len(packets) - first_end - 1)
    event = reports[first_end][0]
    assert event == DigitEvent("7", 8000, 100.0, packets[first_end][1], end_seen=True)
    assert receiver.next_deadline() is None


def test_without_marker_bit() -> None:
    packets = [(replace(p, marker=False), at) for p, at in sent_packets("42")]
    assert [e.digit for e in feed(DtmfReceiver(), packets)] == ["4", "2"]


def test_first_packet_lost() -> None:
    packets = sent_packets("9")[1:]
    events = feed(DtmfReceiver(), packets)
    assert [(e.digit, e.start_timestamp, e.duration_ms) for e in events] == [("9", 8000, 100.0)]


def test_duplicated_packets_report_once() -> None:
    packets = [item for item in sent_packets("3") for _ in range(2)]
    assert [e.digit for e in feed(DtmfReceiver(), packets)] == ["3"]


def test_all_end_packets_lost_reported_after_timeout() -> None:
    packets = [item for item in sent_packets("8") if not TelephoneEvent.parse(item[0].payload).end]
    receiver = DtmfReceiver()
    assert feed(receiver, packets, settle=False) == []
    last_at = packets[-1][1]
    assert receiver.next_deadline() == pytest.approx(last_at + DTMF_END_TIMEOUT)
    assert receiver.handle_timer(last_at + DTMF_END_TIMEOUT - 0.001) == []
    events = receiver.handle_timer(last_at + DTMF_END_TIMEOUT)
    assert events == [DigitEvent("8", 8000, 80.0, last_at + DTMF_END_TIMEOUT, end_seen=False)]
    assert receiver.next_deadline() is None
    assert receiver.handle_timer(last_at + 5) == []
    # A very late end packet of the same event must not report the digit again.
    late_end = RtpPacket(PT, 99, 8000, SSRC, bytes(TelephoneEvent(8, end=True, duration=800)))
    assert receiver.receive(late_end, last_at + 1) == []


def test_all_end_packets_lost_reported_when_next_event_starts() -> None:
    first = [item for item in sent_packets("1") if not TelephoneEvent.parse(item[0].payload).end]
    second = sent_packets("2", start_timestamp=8000 + 160 * 9)
    second = [(p, at + 9 * PTIME) for p, at in second]
    receiver = DtmfReceiver()
    reports = [receiver.receive(p, at) for p, at in first + second]
    flat = [e for r in reports for e in r]
    assert [(e.digit, e.end_seen) for e in flat] == [("1", False), ("2", True)]
    # "1" was reported on arrival of the first packet of "2", before any timer.
    assert reports[len(first)] == [flat[0]] and flat[0].at == second[0][1]
    assert flat[0].at - first[-1][1] < DTMF_END_TIMEOUT


def test_repeated_key_is_two_digits() -> None:
    events = feed(DtmfReceiver(), sent_packets("55"))
    assert [e.digit for e in events] == ["5", "5"]
    assert events[0].start_timestamp != events[1].start_timestamp


def test_repeated_key_with_all_end_packets_lost() -> None:
    packets = [item for item in sent_packets("55") if not TelephoneEvent.parse(item[0].payload).end]
    events = feed(DtmfReceiver(), packets)
    assert [(e.digit, e.end_seen) for e in events] == [("5", False), ("5", False)]


def test_reordered_end_before_updates() -> None:
    packets = sent_packets("6")
    reordered = [packets[0], packets[4], packets[1], packets[3], packets[2], packets[6], packets[5]]
    events = feed(DtmfReceiver(), reordered)
    assert [(e.digit, e.duration_ms) for e in events] == [("6", 100.0)]


def test_stale_packets_of_an_earlier_event_are_dropped() -> None:
    packets = sent_packets("12")
    receiver = DtmfReceiver()
    events = feed(receiver, packets)
    assert [e.digit for e in events] == ["1", "2"]
    # A packet of "1" delayed past the whole of "2": already reported, silently dropped.
    assert receiver.receive(packets[2][0], 9.0) == []
    # An event older than the latest one that was never seen is dropped, not reported late.
    older = RtpPacket(PT, 1, 100, SSRC, bytes(TelephoneEvent(3, end=True, duration=800)))
    assert receiver.receive(older, 9.1) == []
    assert receiver.stale_packets == 1


def test_stale_packet_while_an_event_is_pending() -> None:
    packets = sent_packets("12")
    receiver = DtmfReceiver()
    second_start = next(i for i, (p, _) in enumerate(packets) if p.timestamp != 8000)
    feed(receiver, packets[: second_start + 1], settle=False)
    old = RtpPacket(PT, 1, 100, SSRC, bytes(TelephoneEvent(3, duration=160)))
    assert receiver.receive(old, 5.0) == []
    assert receiver.stale_packets == 1
    assert [e.digit for e in feed(receiver, packets[second_start + 1 :])] == ["2"]


def test_timestamp_wraparound_between_events() -> None:
    start = (1 << 32) - 160 * 3
    events = feed(DtmfReceiver(), sent_packets("19", start_timestamp=start))
    assert [e.digit for e in events] == ["1", "9"]
    assert events[0].start_timestamp == start
    assert events[1].start_timestamp == (start + 160 * 9) % (1 << 32)


def test_long_event_segments_are_one_digit() -> None:
    # RFC 4733 s2.5.1.3: a 10 s press is reported as a segment of 0xFFFF, then a new segment
    # whose timestamp is where the first ended, without marker, duration restarting.
    ts = 1000
    segment_1 = [
        RtpPacket(
            PT, i, ts, SSRC, bytes(TelephoneEvent(0, duration=min(160 * (i + 1), 0xFFFF))),
            marker=i == 0,
        )
        for i in range(410)
    ]
    ts2 = ts + 0xFFFF
    segment_2 = [
        RtpPacket(
            PT, 410 + i, ts2, SSRC,
            bytes(TelephoneEvent(0, end=i >= 88, duration=160 * min(i + 1, 89))),
        )
        for i in range(91)
    ]
    packets = [(p, i * PTIME) for i, p in enumerate(segment_1 + segment_2)]
    events = feed(DtmfReceiver(), packets)
    assert len(events) == 1
    assert events[0].start_timestamp == ts and events[0].end_seen
    assert events[0].duration_ms == pytest.approx((0xFFFF + 160 * 89) / 8)


def test_non_dtmf_and_malformed_payloads_are_counted() -> None:
    receiver = DtmfReceiver()
    flash = RtpPacket(PT, 1, 160, SSRC, bytes(TelephoneEvent(16, end=True, duration=800)))
    broken = RtpPacket(PT, 2, 320, SSRC, b"\x01\x0a")
    assert receiver.receive(flash, 0.0) == [] and receiver.receive(broken, 0.0) == []
    assert (receiver.ignored_events, receiver.malformed_packets) == (1, 1)


def test_flush_reports_pending_and_forgets_history() -> None:
    receiver = DtmfReceiver()
    packets = sent_packets("4")
    for p, at in packets[:2]:
        receiver.receive(p, at)
    assert [e.digit for e in receiver.flush(2.0)] == ["4"]
    # A new source may reuse any timestamp, even an older one.
    assert [e.digit for e in feed(receiver, sent_packets("5", start_timestamp=10))] == ["5"]


# ---------------------------------------------------------------- properties

DIGITS = st.text(alphabet="0123456789*#ABCD", min_size=1, max_size=6)


@given(DIGITS, st.data())
def test_any_loss_pattern_reports_each_surviving_digit_once_in_order(
    digits: str, data: st.DataObject
) -> None:
    packets = sent_packets(digits)
    keep = data.draw(st.lists(st.booleans(), min_size=len(packets), max_size=len(packets)))
    copies = data.draw(st.lists(st.integers(1, 3), min_size=len(packets), max_size=len(packets)))
    delivered = [item for item, k, n in zip(packets, keep, copies) if k for _ in range(n)]
    events = feed(DtmfReceiver(), delivered)
    surviving = sorted({p.timestamp for p, _ in delivered}, key=lambda ts: (ts - 8000) % (1 << 32))
    assert [e.start_timestamp for e in events] == surviving
    by_timestamp = {p.timestamp: TelephoneEvent.parse(p.payload).digit for p, _ in packets}
    assert [e.digit for e in events] == [by_timestamp[ts] for ts in surviving]


@given(DIGITS, st.data())
def test_any_reordering_never_reports_a_timestamp_twice(digits: str, data: st.DataObject) -> None:
    packets = sent_packets(digits)
    order = data.draw(st.permutations(range(len(packets))))
    delivered = [(packets[i][0], 1.0 + n * PTIME) for n, i in enumerate(order)]
    events = feed(DtmfReceiver(), delivered)
    starts = [e.start_timestamp for e in events]
    assert len(starts) == len(set(starts))
    assert starts == sorted(starts)
    assert len(events) >= 1
