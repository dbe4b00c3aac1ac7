"""The benchmark's measuring hook in dialer/media.py: :class:`SendStats`, and the shared clock
driving real RTP sessions on loopback with and without it.

    .venv/bin/python -m pytest bench/test_media_stats.py
"""

from __future__ import annotations

import asyncio
import socket

import numpy as np

from dialer.codecs.base import codec_by_name
from dialer.media import MediaEngine, SendStats
from dialer.rtp.packet import RtpPacket
from dialer.rtp.session import DigitReceived, RtpSession


def test_records_intervals_per_stream_only_while_recording() -> None:
    stats = SendStats(capacity=4)
    stats.sent(1, 10.000)  # first send of stream 1: nothing to measure yet
    stats.sent(1, 10.020)  # not recording: remembered, not recorded
    stats.recording = True
    stats.sent(2, 10.025)
    stats.sent(1, 10.041)
    stats.sent(2, 10.046)
    assert np.allclose(stats.spacing(), [0.021, 0.021])


def test_forgotten_stream_starts_afresh() -> None:
    stats = SendStats()
    stats.recording = True
    stats.sent(7, 1.0)
    stats.forget(7)
    stats.sent(7, 5.0)  # a new stream that reuses the key: no 4 s interval
    assert stats.count == 0


def test_full_buffers_count_what_they_drop() -> None:
    stats = SendStats(capacity=2, tick_capacity=1)
    stats.recording = True
    for n in range(5):
        stats.sent(1, n * 0.02)
        stats.ticked(0.001)
    assert stats.count == 2 and stats.dropped == 2
    assert len(stats.work()) == 1


def _dtmf_start(sequence_number: int, duration: int) -> bytes:
    """An RFC 4733 event packet for digit 5, end bit clear (section 2.3)."""
    payload = bytes([5, 10]) + duration.to_bytes(2, "big")
    return bytes(RtpPacket(payload_type=101, sequence_number=sequence_number, timestamp=8000, ssrc=99, payload=payload, marker=sequence_number == 1))


async def _run_clock(stats: SendStats | None, seconds: float) -> tuple[list[object], int]:
    """One stream on the clock for ``seconds``; a digit arrives whose end packets are lost."""
    engine = MediaEngine("127.0.0.1", stats=stats)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as far:
        sink.bind(("127.0.0.1", 0))
        sink.setblocking(False)
        stream = await engine.open_stream()
        session = RtpSession(codec_by_name("PCMU"), payload_type=0, telephone_event_payload_type=101)
        events: list[object] = []
        stream.start(session, sink.getsockname(), on_events=events.extend)
        if stats is not None:
            stats.recording = True
        far.sendto(_dtmf_start(1, 160), ("127.0.0.1", stream.port))
        far.sendto(_dtmf_start(2, 320), ("127.0.0.1", stream.port))
        await asyncio.sleep(seconds)
        if stats is not None:
            stats.recording = False
        await engine.close()
        received = 0
        while True:
            try:
                sink.recv(2048)
            except BlockingIOError:
                break
            received += 1
    return events, received


def test_clock_with_stats_measures_20ms_spacing_and_still_reports_lost_end_digits() -> None:
    stats = SendStats()
    events, received = asyncio.run(_run_clock(stats, 0.6))
    spacing = stats.spacing()
    assert len(spacing) >= 10 and len(stats.work()) >= 10
    assert 0.015 < float(np.median(spacing)) < 0.025
    assert received >= len(spacing)
    digits = [e for e in events if isinstance(e, DigitReceived)]
    assert [(d.digit, d.end_seen) for d in digits] == [("5", False)]  # via handle_timer


def test_clock_without_stats_sends_and_reports_the_same() -> None:
    events, received = asyncio.run(_run_clock(None, 0.6))
    assert received >= 10
    digits = [e for e in events if isinstance(e, DigitReceived)]
    assert [(d.digit, d.end_seen) for d in digits] == [("5", False)]
