"""The shared media clock of dialer/media.py as the benchmarks rely on it: the :class:`SendStats`
hook, the clock driving real RTP sessions on loopback with and without it, its phases, and
that it returns to the event loop at every step even when behind.

    .venv/bin/python -m pytest tests/unit/test_media_clock.py
"""

from __future__ import annotations

import asyncio
import socket
import time

import numpy as np

from dialer.codecs.base import codec_by_name
from dialer.media import PTIME, MediaEngine, SendStats
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


class _StepLog(SendStats):
    """Also notes, at each clock step, how many streams it served and which turn of the event
    loop it ran in (``turns`` is advanced by a callback that runs once per loop iteration)."""

    def __init__(self, turns: list[int]) -> None:
        super().__init__()
        self.turns = turns
        self.steps: list[tuple[float, int, int]] = []  # (time, streams served, loop turn)
        self._served = 0

    def sent(self, key: int, at: float) -> None:
        super().sent(key, at)
        self._served += 1

    def ticked(self, work: float) -> None:
        super().ticked(work)
        if self.recording:
            self.steps.append((time.monotonic(), self._served, self.turns[0]))
        self._served = 0


async def _clock_with_log(streams: int, phases: int, block: float) -> _StepLog:
    loop = asyncio.get_running_loop()
    turns = [0]

    def turn() -> None:
        turns[0] += 1
        handle[0] = loop.call_soon(turn)

    handle = [loop.call_soon(turn)]
    log = _StepLog(turns)
    engine = MediaEngine("127.0.0.1", phases=phases, stats=log)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        for _ in range(streams):
            stream = await engine.open_stream()
            session = RtpSession(codec_by_name("PCMU"), payload_type=0, telephone_event_payload_type=101)
            stream.start(session, sink.getsockname(), on_events=lambda events: None)
        log.recording = True
        await asyncio.sleep(0.2)
        if block:
            time.sleep(block)  # the loop is blocked: the clock falls a few ticks behind
            await asyncio.sleep(0.2)
        log.recording = False
        await engine.close()
    handle[0].cancel()
    return log


def test_phases_spread_streams_and_keep_each_stream_on_ptime() -> None:
    log = asyncio.run(_clock_with_log(streams=8, phases=4, block=0.0))
    served = [n for _, n, _ in log.steps]
    assert served and set(served) == {2}  # 8 streams, 4 groups of 2
    gaps = np.diff([at for at, _, _ in log.steps])
    assert 0.6 * PTIME / 4 < float(np.median(gaps)) < 1.6 * PTIME / 4
    assert 0.75 * PTIME < float(np.median(log.spacing())) < 1.25 * PTIME


def test_clock_returns_to_the_loop_at_every_step_even_when_catching_up() -> None:
    log = asyncio.run(_clock_with_log(streams=2, phases=1, block=0.07))
    turns = [turn for _, _, turn in log.steps]
    assert len(turns) > 10
    assert all(later > earlier for earlier, later in zip(turns, turns[1:]))
    assert float(np.min(log.spacing())) < 0.5 * PTIME  # it did catch up (a short gap) after the block
