"""Concurrent answered calls, measured from inside the dialer process.

    python -m bench.concurrent --target 127.0.0.1:PORT --calls 500 --hold 30

Places ``--calls`` calls at ``--ramp`` calls/s through the :class:`dialer.phone.Softphone`
API to an answering sipp (``bench/scenarios/uas_hold_dtmf.xml``: an RFC 4733 digit every
2.5 s, eleven at most), keeps a looping prompt playing on every call (``Call.play`` again
before the queue runs dry), drains every call's events as a script would, and holds all calls for
``--hold`` seconds. During that window it records the process's CPU time and the send spacing
of every stream on the shared 20 ms clock (:class:`dialer.media.SendStats`); then it hangs up
every call and prints one JSON object (see :func:`run`). bench/dialer.py runs it as a child
process, separate from sipp.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import math
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bench.probes import GcPauses, LoopStalls
from dialer.media import PHASES, MediaEngine, SendStats
from dialer.outcome import CallResult, HangupBy
from dialer.phone import Call, Softphone
from dialer.rtp.audio import load_wav

PROMPT = Path(__file__).resolve().parent.parent / "sounds" / "hello.wav"
DIGITS_SENT = "123456789*#"  # what uas_hold_dtmf.xml sends, in order, then no more
FIRST_DIGIT_AFTER = 1.0  # seconds after the ACK (uas_hold_dtmf.xml)
DIGIT_GAP = 2.5
DIGIT_LENGTH = 0.15  # a digit counts as expected once its pcap (140 ms) has played before the end
SETTLE = 1.0  # seconds between the last answer and the start of the measuring window
HANGUP_TIMEOUT = 30.0


def prompt_pcm() -> NDArray[np.int16]:
    """``sounds/hello.wav`` at 8 kHz, or 2 s of a 440 Hz tone when the file is missing."""
    if PROMPT.exists():
        return load_wav(PROMPT)
    t = np.arange(16000) / 8000.0
    return (8000 * np.sin(2 * math.pi * 440 * t)).astype(np.int16)


@dataclass
class Tracked:
    call: Call
    dialed_at: float
    answered_at: float | None = None
    hangup_at: float | None = None
    ended_early: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


async def _keep_playing(call: Call, pcm: NDArray[np.int16], seconds: float) -> None:
    """Keep one to two prompts queued until the call ends."""
    call.play(pcm)
    while not call.result.done():
        call.play(pcm)
        await asyncio.wait([call.result], timeout=seconds)


async def _drain(call: Call) -> None:
    async for _ in call.events():
        pass


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _percentiles(values: NDArray[np.float64], scale: float = 1000.0) -> dict[str, float | None]:
    if len(values) == 0:
        return {"p50": None, "p99": None, "p999": None, "max": None}
    p50, p99, p999 = np.percentile(values, [50, 99, 99.9])
    return {"p50": p50 * scale, "p99": p99 * scale, "p999": p999 * scale, "max": float(values.max()) * scale}


def _expected_digits(talk: float) -> int:
    if talk < FIRST_DIGIT_AFTER + DIGIT_LENGTH:
        return 0
    return min(len(DIGITS_SENT), int((talk - FIRST_DIGIT_AFTER - DIGIT_LENGTH) // DIGIT_GAP) + 1)


async def run(
    target: tuple[str, int],
    calls: int,
    hold: float,
    *,
    ramp: float,
    setup_timeout: float,
    profile: Path | None,
    phases: int = PHASES,
) -> dict[str, Any]:
    """Place, hold and hang up the calls; return the measurements.

    Keys: ``calls``, ``answered``, ``lost`` (not answered, or ended before we hung up),
    ``window_s``, ``cpu_s`` (user+sys of this process in the window), ``cpu_per_call_pct``
    (of one core), ``spacing_ms`` (p50/p99/p999/max of every stream's send intervals in the
    window), ``over_25ms_pct`` (share of intervals above 25 ms), ``tick_work_ms`` (p50/p99/...
    of one clock step: sending on the streams of one phase), ``late_ticks``, ``max_lag_ms``
    (whole run), ``digits`` (received, expected from each call's talk time,
    per-call min/mean, calls whose digits are out of order), ``gc`` and ``loop_stalls`` (see
    :mod:`bench.probes`), ``setup_s``, ``max_rss_mb``."""
    pcm = prompt_pcm()
    prompt_seconds = len(pcm) / 8000.0
    stats = SendStats(capacity=int(calls * 50 * (hold + 2)) + 1000, tick_capacity=int(1000 * (hold + 2)))
    loop = asyncio.get_running_loop()
    tracked: list[Tracked] = []
    async with Softphone("127.0.0.1") as phone:
        # The media engine the Softphone made, replaced before any call by one that records.
        phone.media = MediaEngine(phone.media.host, phases=phases, stats=stats)
        uri = f"sip:bench@{target[0]}:{target[1]}"

        async def one(item: Tracked) -> None:
            await asyncio.wait([item.call.answered], timeout=setup_timeout)  # never cancels it
            if item.call.answered.done() and item.call.answered.result():
                item.answered_at = loop.time()
                item.tasks.append(asyncio.create_task(_keep_playing(item.call, pcm, prompt_seconds)))
                item.tasks.append(asyncio.create_task(_drain(item.call)))

        started = loop.time()
        waiters = []
        for index in range(calls):
            delay = started + index / ramp - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            # The inactivity check runs on every tick as in production; sipp's last digit comes
            # about 30 s after the answer, so the timeout is set beyond the whole run.
            call = await phone.dial(uri, ring_timeout=setup_timeout, media_timeout=hold + calls / ramp + 60)
            item = Tracked(call, loop.time())
            tracked.append(item)
            waiters.append(asyncio.create_task(one(item)))
        await asyncio.wait(waiters, timeout=setup_timeout + 5)
        setup_s = loop.time() - started
        await asyncio.sleep(SETTLE)
        gc.collect()

        profiler = cProfile.Profile() if profile is not None else None
        pauses, stalls = GcPauses(), LoopStalls()
        pauses.start()
        stalls.start()
        cpu0, t0 = _cpu(), time.monotonic()
        stats.recording = True
        if profiler is not None:
            profiler.enable()
        await asyncio.sleep(hold)
        if profiler is not None:
            profiler.disable()
        stats.recording = False
        cpu1, t1 = _cpu(), time.monotonic()
        pauses.stop()
        await stalls.stop()
        if profiler is not None and profile is not None:
            profiler.dump_stats(profile)

        for item in tracked:
            if item.answered_at is not None:
                item.ended_early = item.call.result.done()
                item.hangup_at = loop.time()
                if not item.ended_early:
                    item.call.hangup()
        pending = [item.call.result for item in tracked if not item.call.result.done()]
        if pending:
            await asyncio.wait(pending, timeout=HANGUP_TIMEOUT)
        tasks = [task for item in tracked for task in item.tasks]
        if tasks:
            await asyncio.wait(tasks, timeout=5.0)
        for task in tasks:
            task.cancel()
        engine = phone.media
        late_ticks, max_lag = engine.late_ticks, engine.max_lag

    window = t1 - t0
    answered = [item for item in tracked if item.answered_at is not None]
    results: list[CallResult | None] = [item.call.result.result() if item.call.result.done() else None for item in answered]
    not_ended = sum(1 for r in results if r is None)
    remote_hangup = sum(1 for r in results if r is not None and r.hangup_by == HangupBy.REMOTE)
    early = sum(1 for item in answered if item.ended_early)
    lost = (calls - len(answered)) + early
    received = expected = out_of_order = 0
    per_call: list[int] = []
    for item, result in zip(answered, results):
        digits = result.digits if result is not None else "".join(item.call.digits)
        per_call.append(len(digits))
        received += len(digits)
        assert item.answered_at is not None and item.hangup_at is not None
        talk = result.talk_ms / 1000.0 if result is not None and result.talk_ms else item.hangup_at - item.answered_at
        expected += _expected_digits(talk)
        if not DIGITS_SENT.startswith(digits):
            out_of_order += 1
    spacing = stats.spacing()
    cpu = cpu1 - cpu0
    return {
        "calls": calls,
        "answered": len(answered),
        "lost": lost,
        "ended_early": early,
        "remote_hangups": remote_hangup,
        "not_ended_after_hangup": not_ended,
        "hold_s": hold,
        "window_s": window,
        "cpu_s": cpu,
        "cpu_pct": 100.0 * cpu / window,
        "cpu_per_call_pct": 100.0 * cpu / window / max(1, len(answered)),
        "spacing_ms": _percentiles(spacing),
        "intervals": int(len(spacing)),
        "intervals_dropped": stats.dropped,
        "over_25ms_pct": float(100.0 * np.mean(spacing > 0.025)) if len(spacing) else None,
        "tick_work_ms": _percentiles(stats.work()),
        "late_ticks": late_ticks,
        "max_lag_ms": max_lag * 1000.0,
        "digits": {
            "received": received,
            "expected": expected,
            "per_call_min": min(per_call) if per_call else 0,
            "per_call_mean": received / len(per_call) if per_call else 0.0,
            "out_of_order_calls": out_of_order,
        },
        "gc": pauses.report(),
        "loop_stalls": stalls.report(),
        "setup_s": setup_s,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "prompt_s": prompt_seconds,
        "phases": phases,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.concurrent", description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", required=True, help="HOST:PORT of the answering sipp")
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--hold", type=float, default=30.0, help="seconds all calls are held and measured")
    parser.add_argument("--ramp", type=float, default=100.0, help="calls placed per second")
    parser.add_argument("--setup-timeout", type=float, default=30.0)
    parser.add_argument("--profile", type=Path, help="write a cProfile of the hold window here")
    parser.add_argument("--phases", type=int, default=PHASES, help="groups the media clock spreads the streams over")
    args = parser.parse_args(argv)
    host, _, port = args.target.rpartition(":")
    result = asyncio.run(
        run(
            (host, int(port)),
            args.calls,
            args.hold,
            ramp=args.ramp,
            setup_timeout=args.setup_timeout,
            profile=args.profile,
            phases=args.phases,
        )
    )
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
