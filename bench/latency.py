"""Callbot runtime latency on real calls against a SIP peer on loopback.

    .venv/bin/python -m bench.latency [--quick] [--no-write]

The far end is :class:`dialer.simphone.PhoneSimulator` in a child process (its own event loop
and 20 ms clock, like a real peer). Our side is the runtime as ``callbot call --script`` runs
it (:mod:`callbot.scriptcall`): one :class:`dialer.phone.Softphone` placing the calls, static
prompts rendered before the first call and customer prompts while the phone rings (a
:class:`callbot.prompts.PromptRenderer` on a temporary cache directory), then a
:class:`callbot.engine.CallEngine` per answered call. Three figures, each against the goal of
the issue (callbot runtime, "Benchmarks and accuracy"):

* **answer -> first prompt packet** (goal p99 < 20 ms): from the arrival of the 200 OK
  datagram (the endpoint's ``datagram_received``, which processes the answer synchronously)
  to the return of the ``sendto`` that put the first RTP packet carrying prompt audio on the
  socket. Script ``bench/scripts/latency_menu.yaml``.
* **end of keypress -> first packet of the next prompt** (goal p99 < 50 ms): from the
  arrival of the first RFC 4733 end packet of the digit (``DigitReceived.at``; the receiver
  reports a digit at its first end packet) to the ``sendto`` of the first packet of the
  prompt of the block the key leads to. The simulated phone presses 1 while the menu prompt
  plays (barge-in).
* **end of speech -> branch decision** (goal p50 < 400 ms): from the arrival of the last
  audio frame of the caller's speech (:attr:`SpeechResult.ended_at` is audio time since the
  first sample fed to the recognizer; the frame ending there is found among the frames the
  engine fed, and its ``AudioFrame.at`` is the wall time) to the moment the engine logs the
  ``branch`` out of the listen block. Script ``bench/scripts/latency_listen.yaml`` with the
  packaged Korean Vosk model; the simulated phone plays "네" (espeak-ng, 8 kHz) padded with
  silence.

Instrumentation is in this module only, by wrapping attributes of the objects of one call:
the SIP endpoint's datagram handler (arrival time), the media stream's ``start`` (answer
processed), the RTP session's ``tick`` (is this packet prompt audio?), the transport's
``sendto`` (when it left), ``Call.play``, the engine's log (``_record``) and the listener (the
frames it is fed, the decision it returns). Times are ``time.monotonic`` seconds, the event
loop's clock. No production code is changed.

Prints rich tables (the three goals, then where the time goes); unless ``--no-write``, the
figures replace (or are appended as) the section "Callbot runtime latency" of BENCHMARKS.md,
re-read right before the one write. The simulator process is stopped by its handle with a
bounded wait; every call has a time bound.
"""

from __future__ import annotations

from bench import sections

import argparse
import asyncio
import gc
import multiprocessing
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rich.console import Console
from rich.table import Table

from bench.probes import LoopStalls
from callbot.engine import CallEngine, KeywordListener, ListenerFactory
from callbot.prerender import customer_texts, static_texts
from callbot.prompts import AudioFileCache, Prompt, PromptRenderer
from callbot.scriptcall import ScriptCallOptions, load_script
from callbot.speech.events import NoInput, NoMatch, SpeechResult
from dialer.errors import ConfigError
from dialer.outcome import CallOutcome, EndReason
from dialer.phone import Call, Softphone
from dialer.rtp.audio import load_wav
from dialer.rtp.session import AudioFrame, DigitReceived, RtpSession
from dialer.sip.ua import Trunk
from scripts_dsl import CustomerStatus, ScriptRun

BENCH_DIR = Path(__file__).resolve().parent
SCRIPTS = BENCH_DIR / "scripts"
MENU_SCRIPT = SCRIPTS / "latency_menu.yaml"
LISTEN_SCRIPT = SCRIPTS / "latency_listen.yaml"
BENCHMARKS = BENCH_DIR.parent / "BENCHMARKS.md"
SECTION = "## Callbot runtime latency (issue: callbot runtime)"

MENU_NUMBER = "1001"  # answers, presses 1 while our menu prompt plays
LISTEN_NUMBER = "1002"  # answers and says "네" (yes)
RING_SECONDS = 2.0  # customer prompts are rendered while the phone rings
PRESS_AFTER = 1.5  # seconds after the answer; the menu prompt is longer than that
SPEECH_LEAD = 1.0  # seconds of silence before "네"
SPEECH_TAIL = 1.5  # and after it
PHONE_HANGUP_AFTER = 20.0  # backstop: our script hangs up long before
CALL_BOUND = 40.0  # seconds one call may take, ringing included
RATE = 8000
FRAME = 0.020
CUSTOMER_NAMES = ("Anna", "Minh", "Lee", "Sara", "Tom")
VOICE_RATE = 175

GOAL_ANSWER_P99 = 20.0  # ms
GOAL_KEY_P99 = 50.0
GOAL_SPEECH_P50 = 400.0


class BenchError(RuntimeError):
    """The benchmark could not run (missing program, simulator that did not start...)."""


# --- the far end ------------------------------------------------------------------------------------


def synthesize_yes(folder: Path) -> Path:
    """Korean "네" from espeak-ng, at 8 kHz, with silence before and after, as a WAV file."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise BenchError("espeak-ng is not installed (Debian package espeak-ng)")
    raw = folder / "ne-raw.wav"
    subprocess.run([espeak, "-v", "ko", "-w", str(raw), "네"], check=True, capture_output=True, timeout=30)
    speech = load_wav(raw, rate=RATE)
    pcm = np.concatenate([
        np.zeros(int(SPEECH_LEAD * RATE), dtype=np.int16), speech, np.zeros(int(SPEECH_TAIL * RATE), dtype=np.int16),
    ])
    out = folder / "ne.wav"
    with wave.open(str(out), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(RATE)
        writer.writeframes(pcm.astype("<i2").tobytes())
    return out


def simulator_config(prompt: Path) -> dict[str, Any]:
    common: dict[str, Any] = {"action": "answer", "ring_seconds": RING_SECONDS, "hangup_after": PHONE_HANGUP_AFTER}
    return {
        "numbers": {
            MENU_NUMBER: {**common, "press": "1", "digits_after": PRESS_AFTER},
            LISTEN_NUMBER: {**common, "prompt": str(prompt)},
        }
    }


def _serve_simulator(config: dict[str, Any], conn: Connection, lifetime: float) -> None:
    """Child process: run the simulated phones until the parent writes to ``conn``."""
    asyncio.run(_simulate(config, conn, lifetime))


async def _simulate(config: dict[str, Any], conn: Connection, lifetime: float) -> None:
    from dialer.simphone import PhoneSimulator, SimulatorConfig

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_reader(conn.fileno(), stop.set)
    try:
        async with PhoneSimulator(SimulatorConfig.from_mapping(config)) as sim:
            conn.send(sim.port)
            try:
                await asyncio.wait_for(stop.wait(), lifetime)
            except TimeoutError:
                pass
    finally:
        loop.remove_reader(conn.fileno())


class SimulatorProcess:
    """The simulated phones in a child process, started and stopped by this handle."""

    def __init__(self, config: dict[str, Any], lifetime: float) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve_simulator, args=(config, child, lifetime), name="phone-simulator", daemon=True
        )
        self.port = 0

    def start(self, timeout: float = 60.0) -> int:
        self._process.start()
        try:
            if not self._conn.poll(timeout):
                raise BenchError(f"the phone simulator did not start within {timeout:g} s")
            self.port = int(self._conn.recv())
        except (EOFError, OSError) as exc:
            self.stop()
            raise BenchError(f"the phone simulator process exited before it listened: {exc!r}") from exc
        except BenchError:
            self.stop()
            raise
        return self.port

    def stop(self, timeout: float = 10.0) -> None:
        if self._process.is_alive():
            try:
                self._conn.send("stop")
            except OSError:
                pass
            self._process.join(timeout)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(5.0)


# --- probes on one call -----------------------------------------------------------------------------


class ArrivalClock:
    """When the SIP datagram being processed right now arrived (wraps the endpoint's handler,
    which handles a datagram, and so an answer, synchronously)."""

    def __init__(self, phone: Softphone) -> None:
        self.current: float | None = None
        endpoint = phone.endpoint
        original = endpoint._on_datagram

        def on_datagram(data: bytes, addr: tuple[str, int]) -> None:
            self.current = time.monotonic()
            try:
                original(data, addr)
            finally:
                self.current = None

        endpoint._on_datagram = on_datagram  # type: ignore[method-assign]


@dataclass
class PlayMark:
    """One ``Call.play`` of the engine and when its first packet left."""

    called_at: float
    packets_before: int  # RTP packets of the call sent before (0: sent at once by Call.play)
    first_packet_at: float | None = None


@dataclass
class CallProbe:
    """What one call's instrumentation saw (``time.monotonic`` seconds)."""

    ok_at: float | None = None  # the 200 OK datagram arrived
    media_at: float | None = None  # the answer was processed (media stream started)
    resumed_at: float | None = None  # the call's task got the answer (wait_answered returned)
    renders: list[tuple[float, float]] = field(default_factory=list)  # engine's prompt renders
    ringing_done_at_answer: bool | None = None
    plays: list[PlayMark] = field(default_factory=list)
    digits: list[DigitReceived] = field(default_factory=list)
    branches: list[tuple[str, str, float]] = field(default_factory=list)
    frames: dict[int, tuple[NDArray[np.int16], float]] = field(default_factory=dict)
    track_frames: bool = False
    fed: list[tuple[int, float]] = field(default_factory=list)  # (cumulative samples, arrival)
    decisions: list[tuple[object, float]] = field(default_factory=list)
    _awaiting: PlayMark | None = None
    _prompt_packet: bool = False

    def arrival_of_sample(self, samples: float) -> float | None:
        """Arrival time of the fed frame that ends at (or just after) ``samples``."""
        for end, at in self.fed:
            if end >= samples - 0.5:
                return at
        return None


def instrument_call(call: Call, clock: ArrivalClock, probe: CallProbe) -> None:
    """Wrap the objects of ``call`` (before its answer) so ``probe`` records what happens."""
    stream = call.stream
    start = stream.start

    def started(session: Any, remote: tuple[str, int], *, on_events: Callable[[list[object]], None],
                on_inactive: Callable[[], None] | None = None) -> None:
        probe.media_at = time.monotonic()
        probe.ok_at = clock.current if clock.current is not None else probe.media_at
        assert isinstance(session, RtpSession)
        _wrap_session(session, stream.transport, probe)

        def events(items: list[object]) -> None:
            for item in items:
                if isinstance(item, DigitReceived):
                    probe.digits.append(item)
                elif probe.track_frames and isinstance(item, AudioFrame):
                    probe.frames[id(item.pcm)] = (item.pcm, item.at)
            on_events(items)

        start(session, remote, on_events=events, on_inactive=on_inactive)

    stream.start = started  # type: ignore[method-assign]
    play = call.play

    def played(pcm: NDArray[np.int16]) -> int:
        session = call.session
        if session is not None:
            mark = PlayMark(time.monotonic(), session.packets_sent)
            probe.plays.append(mark)
            # Only a prompt queued behind nothing has its first packet next; one queued behind
            # another prompt is not timed.
            probe._awaiting = None if session.playing else mark
        return play(pcm)

    call.play = played  # type: ignore[method-assign]


def _wrap_session(session: RtpSession, transport: Any, probe: CallProbe) -> None:
    tick = session.tick

    def ticked(now: float) -> bytes:
        probe._prompt_packet = session.playing  # we send no digits: a playing tick is audio
        return tick(now)

    session.tick = ticked  # type: ignore[method-assign]
    sendto = transport.sendto

    def sent(data: bytes, addr: Any = None) -> None:
        sendto(data, addr)
        if probe._prompt_packet:
            probe._prompt_packet = False
            mark = probe._awaiting
            if mark is not None:
                mark.first_packet_at = time.monotonic()
                probe._awaiting = None

    transport.sendto = sent


def instrument_engine(engine: CallEngine, probe: CallProbe, prompts: PromptRenderer) -> None:
    record = engine._record
    render = prompts.render

    async def rendered(text: str, voice: str, rate: int = VOICE_RATE) -> NDArray[np.int16]:
        began = time.monotonic()
        try:
            return await render(text, voice, rate)
        finally:
            probe.renders.append((began, time.monotonic()))

    engine.prompts = _TimedRenderer(prompts, rendered)  # type: ignore[assignment]

    def recorded(kind: str, **data: Any) -> None:
        if kind == "branch":
            probe.branches.append((str(data.get("block")), str(data.get("to")), time.monotonic()))
        record(kind, **data)

    engine._record = recorded  # type: ignore[method-assign]


class _TimedRenderer:
    """The shared renderer seen by one engine, its ``render`` timed for that call."""

    def __init__(self, inner: PromptRenderer, render: Callable[..., Any]) -> None:
        self._inner, self.render = inner, render

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class ProbedListener:
    """A listener that notes the arrival of every frame it is fed and its decision."""

    def __init__(self, inner: KeywordListener, probe: CallProbe) -> None:
        self.inner, self.probe = inner, probe
        self._samples = 0

    def feed(self, pcm: NDArray[np.int16]) -> None:
        entry = self.probe.frames.pop(id(pcm), None)
        self._samples += len(pcm)
        self.probe.fed.append((self._samples, entry[1] if entry is not None else time.monotonic()))
        self.inner.feed(pcm)

    async def events(self) -> AsyncIterator[object]:
        async for event in self.inner.events():
            if isinstance(event, SpeechResult | NoMatch | NoInput):
                self.probe.decisions.append((event, time.monotonic()))
            yield event

    def close(self) -> None:
        self.inner.close()


class ProbedListeners:
    """The shared factory, with each listener it makes probed for one call."""

    def __init__(self, inner: ListenerFactory, probe: CallProbe) -> None:
        self.inner, self.probe = inner, probe

    def create(self, intents: Mapping[str, tuple[str, ...]], *, no_input_timeout: float) -> KeywordListener:
        self.probe.fed.clear()
        return ProbedListener(self.inner.create(intents, no_input_timeout=no_input_timeout), self.probe)


# --- running calls ----------------------------------------------------------------------------------


@dataclass
class Setup:
    """One script, ready for calls (compiled, static prompts rendered)."""

    compiled: Any
    voice: str
    prompts: PromptRenderer
    audio_files: AudioFileCache
    listeners: ListenerFactory | None
    prerender_s: float


async def prepare(script: Path, cache: Path, speech_model: Path | None = None,
                  listeners: ListenerFactory | None = None) -> Setup:
    """Validate and compile as ``callbot call --script`` does, and render the static prompts."""
    compiled = await asyncio.to_thread(load_script, ScriptCallOptions(script=script, speech_model=speech_model))
    voice = compiled.voice or compiled.language
    prompts = PromptRenderer(cache / "prompts")
    began = time.monotonic()
    await prompts.prerender(Prompt(text, voice, VOICE_RATE) for text in static_texts(compiled))
    return Setup(compiled, voice, prompts, AudioFileCache(cache / "audio"), listeners, time.monotonic() - began)


@dataclass
class CallRecord:
    probe: CallProbe
    answered: bool
    outcome: str
    final_status: str = ""
    error: str = ""


async def one_call(phone: Softphone, clock: ArrivalClock, port: int, number: str, setup: Setup,
                   customer: dict[str, str]) -> CallRecord:
    """One call as :func:`callbot.scriptcall.run_script_call` runs it, instrumented."""
    run = ScriptRun(setup.compiled, customer, CustomerStatus.REGISTERED)
    probe = CallProbe(track_frames=setup.listeners is not None)
    call = await phone.dial(number, trunk=Trunk("127.0.0.1", port), ring_timeout=10.0,
                            max_duration=CALL_BOUND - 10.0, media_timeout=10.0)
    instrument_call(call, clock, probe)  # before any await: the answer cannot come earlier
    run.call_id = call.call_id
    ringing = asyncio.create_task(
        setup.prompts.prerender(Prompt(t, setup.voice, VOICE_RATE) for t in customer_texts(setup.compiled, run.customer))
    )
    try:
        async with asyncio.timeout(CALL_BOUND):
            answered = await call.wait_answered()
            probe.resumed_at = time.monotonic()
            probe.ringing_done_at_answer = ringing.done()
            # No wait for the customer prompts, as in callbot.scriptcall: the engine's render()
            # joins a render still in flight when that prompt comes up.
            final = ""
            if answered:
                listeners = ProbedListeners(setup.listeners, probe) if setup.listeners is not None else None
                engine = CallEngine(call, run, prompts=setup.prompts, audio_files=setup.audio_files,
                                    voice=setup.voice, rate=VOICE_RATE, listeners=listeners)
                instrument_engine(engine, probe, setup.prompts)
                final = str((await engine.execute()).final_status.value)
            result = await call.wait_ended()
            return CallRecord(probe, answered, str(result.outcome), final)
    except TimeoutError:
        call.hangup(EndReason.NO_RESPONSE, CallOutcome.FAILED, "The bench call did not finish in time.")
        return CallRecord(probe, probe.media_at is not None, "timeout", error="call bound exceeded")
    finally:
        if not ringing.done():
            ringing.cancel()
        await asyncio.gather(ringing, return_exceptions=True)


async def run_calls(phone: Softphone, clock: ArrivalClock, port: int, number: str, setup: Setup, count: int,
                    concurrency: int, ramp: float, console: Console, label: str) -> list[CallRecord]:
    """``count`` calls, ``concurrency`` at a time, dials started at most ``ramp`` per second."""
    slots = asyncio.Semaphore(concurrency)
    records: list[CallRecord] = []
    loop = asyncio.get_running_loop()
    began = loop.time()

    async def call(index: int) -> None:
        async with slots:
            delay = began + index / ramp - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            customer = {"name": CUSTOMER_NAMES[index % len(CUSTOMER_NAMES)]}
            records.append(await one_call(phone, clock, port, number, setup, customer))
            if len(records) % max(1, count // 5) == 0:
                console.print(f"  {label}: {len(records)}/{count} calls done")

    async with asyncio.TaskGroup() as group:
        for index in range(count):
            group.create_task(call(index))
    return records


# --- figures ----------------------------------------------------------------------------------------


@dataclass
class Series:
    """One latency, in milliseconds, over calls."""

    name: str
    values: list[float]
    goal: str = ""
    check: Callable[[dict[str, float]], bool] | None = None

    def stats(self) -> dict[str, float]:
        if not self.values:
            return {}
        data = np.asarray(self.values)
        p50, p95, p99 = np.percentile(data, [50, 95, 99])
        return {"n": float(len(data)), "p50": float(p50), "p95": float(p95), "p99": float(p99),
                "max": float(data.max()), "min": float(data.min())}

    def verdict(self) -> str:
        stats = self.stats()
        if self.check is None:
            return ""
        if not stats:
            return "no data"
        return "pass" if self.check(stats) else "FAIL"


def _ms(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else (b - a) * 1000.0


def menu_series(records: list[CallRecord]) -> tuple[Series, Series, list[Series], dict[str, int]]:
    answer = Series("answer (200 OK arrival) -> first prompt packet", [], f"p99 < {GOAL_ANSWER_P99:g} ms",
                    lambda s: s["p99"] < GOAL_ANSWER_P99)
    key = Series("end of keypress (first RFC 4733 end packet) -> first packet of next prompt", [],
                 f"p99 < {GOAL_KEY_P99:g} ms", lambda s: s["p99"] < GOAL_KEY_P99)
    parts = {name: Series(name, []) for name in (
        "200 OK arrival -> answer processed (media started)",
        "answer processed -> call task resumed (wait_answered)",
        "call task resumed -> engine's Call.play",
        "  of which: first prompt render() (in-memory cache)",
        "Call.play -> first prompt packet sent (answer)",
        "  of which on the clock (silence already sent): Call.play -> first prompt packet",
        "keypress -> branch logged",
        "branch logged -> next prompt's Call.play",
        "  of which: next prompt render() (in-memory cache)",
        "Call.play -> first packet sent (next prompt)",
    )}
    counts = {"calls": len(records), "answered": 0, "first packet sent at once": 0,
              "first packet on the clock": 0, "customer prompt not ready at answer": 0, "errors": 0}
    for record in records:
        probe = record.probe
        counts["answered"] += record.answered
        counts["errors"] += bool(record.error)
        if probe.ringing_done_at_answer is False:
            counts["customer prompt not ready at answer"] += 1
        if not probe.plays:
            continue
        first = probe.plays[0]
        if first.first_packet_at is not None:
            answer.values.append(_ms(probe.ok_at, first.first_packet_at) or 0.0)
            counts["first packet sent at once" if first.packets_before == 0 else "first packet on the clock"] += 1
            for name, value in (
                ("200 OK arrival -> answer processed (media started)", _ms(probe.ok_at, probe.media_at)),
                ("answer processed -> call task resumed (wait_answered)", _ms(probe.media_at, probe.resumed_at)),
                ("call task resumed -> engine's Call.play", _ms(probe.resumed_at, first.called_at)),
                ("  of which: first prompt render() (in-memory cache)",
                 _ms(*probe.renders[0]) if probe.renders else None),
                ("Call.play -> first prompt packet sent (answer)", _ms(first.called_at, first.first_packet_at)),
                ("  of which on the clock (silence already sent): Call.play -> first prompt packet",
                 _ms(first.called_at, first.first_packet_at) if first.packets_before else None),
            ):
                if value is not None:
                    parts[name].values.append(value)
        digit = next((d for d in probe.digits if d.digit == "1"), None)
        if digit is None:
            continue
        following = next((p for p in probe.plays[1:] if p.called_at >= digit.at), None)
        branch = next((b for b in probe.branches if b[2] >= digit.at), None)
        if following is None or following.first_packet_at is None:
            continue
        key.values.append((following.first_packet_at - digit.at) * 1000.0)
        if branch is not None:
            parts["keypress -> branch logged"].values.append((branch[2] - digit.at) * 1000.0)
            parts["branch logged -> next prompt's Call.play"].values.append((following.called_at - branch[2]) * 1000.0)
            render = next((r for r in probe.renders if r[0] >= branch[2]), None)
            if render is not None:
                parts["  of which: next prompt render() (in-memory cache)"].values.append(_ms(*render) or 0.0)
        parts["Call.play -> first packet sent (next prompt)"].values.append(
            (following.first_packet_at - following.called_at) * 1000.0)
    return answer, key, list(parts.values()), counts


def speech_series(records: list[CallRecord]) -> tuple[Series, list[Series], dict[str, int]]:
    speech = Series("end of speech (last speech frame's arrival) -> branch decision", [],
                    f"p50 < {GOAL_SPEECH_P50:g} ms", lambda s: s["p50"] < GOAL_SPEECH_P50)
    parts = {name: Series(name, []) for name in (
        "endpointing wait (audio time: decision frame - end of speech)",
        "decision frame arrival -> decision out of the recognizer",
        "decision out of the recognizer -> branch logged",
    )}
    counts = {"calls": len(records), "said yes (matched)": 0, "no match": 0, "no input": 0, "errors": 0}
    for record in records:
        probe = record.probe
        counts["errors"] += bool(record.error)
        if not probe.decisions:
            continue
        decision, decided_at = probe.decisions[0]
        if isinstance(decision, NoInput):
            counts["no input"] += 1
            continue
        assert isinstance(decision, SpeechResult | NoMatch)
        if isinstance(decision, SpeechResult) and decision.intent == "yes":
            counts["said yes (matched)"] += 1
        else:
            counts["no match"] += 1
        branch = next((b for b in probe.branches if b[0] == "ask"), None)
        ended = probe.arrival_of_sample(decision.ended_at * RATE)
        frame = probe.arrival_of_sample(decision.at * RATE)
        if branch is None or ended is None:
            continue
        speech.values.append((branch[2] - ended) * 1000.0)
        parts["endpointing wait (audio time: decision frame - end of speech)"].values.append(
            (decision.at - decision.ended_at) * 1000.0)
        if frame is not None:
            parts["decision frame arrival -> decision out of the recognizer"].values.append((decided_at - frame) * 1000.0)
        parts["decision out of the recognizer -> branch logged"].values.append((branch[2] - decided_at) * 1000.0)
    return speech, list(parts.values()), counts


def _stat(series: list[Series], name: str, key: str) -> float | None:
    found = next((item for item in series if item.name.endswith(name)), None)
    return None if found is None else found.stats().get(key)


def diagnosis(menu_parts: list[Series], menu_counts: dict[str, int], speech_parts: list[Series]) -> list[str]:
    """Where each figure's time went, in words, from the measured parts."""
    notes = []
    clock, at_once = menu_counts["first packet on the clock"], menu_counts["first packet sent at once"]
    render = "first prompt render() (in-memory cache)"
    resumed = "call task resumed -> engine's Call.play"
    on_clock = "on the clock (silence already sent): Call.play -> first prompt packet"
    notes.append(
        f"- Answer: {at_once} first prompt packets left at once (`Call.play` before the stream's first tick), "
        f"{clock} waited for the shared 20 ms clock because the clock had already sent silence; the engine's "
        f"`Call.play` came p50 {_fmt(_stat(menu_parts, resumed, 'p50'))} / p95 {_fmt(_stat(menu_parts, resumed, 'p95'))} "
        f"ms after the call's task resumed, including `PromptRenderer.render` of the already rendered prompt (p50 "
        f"{_fmt(_stat(menu_parts, render, 'p50'))} / p95 {_fmt(_stat(menu_parts, render, 'p95'))} ms: served from the "
        f"renderer's memory, no thread hop); a first packet that waited for the clock waited p50 "
        f"{_fmt(_stat(menu_parts, on_clock, 'p50'))} / p95 {_fmt(_stat(menu_parts, on_clock, 'p95'))} ms. Calls whose "
        f"customer prompts were still rendering at the answer (the engine does not wait for them, as in "
        f"`callbot.scriptcall`): {menu_counts['customer prompt not ready at answer']}.")
    notes.append(
        f"- Keypress: the digit is reported at its first end packet and the branch is logged p50 "
        f"{_fmt(_stat(menu_parts, 'keypress -> branch logged', 'p50'))} ms later; the next prompt's render() takes p50 "
        f"{_fmt(_stat(menu_parts, 'next prompt render() (in-memory cache)', 'p50'))} / p95 "
        f"{_fmt(_stat(menu_parts, 'next prompt render() (in-memory cache)', 'p95'))} ms, then its first packet "
        f"waits for the next tick of the shared clock (p50 "
        f"{_fmt(_stat(menu_parts, 'Call.play -> first packet sent (next prompt)', 'p50'))}, at most one ptime).")
    notes.append(
        f"- Speech: the decision waits for the trailing silence of the energy endpointer (audio time: "
        f"{_fmt(_stat(speech_parts, 'endpointing wait (audio time: decision frame - end of speech)', 'p50'))} ms), "
        f"then recognition off the loop and Vosk's final result take p50 "
        f"{_fmt(_stat(speech_parts, 'decision frame arrival -> decision out of the recognizer', 'p50'))} / p95 "
        f"{_fmt(_stat(speech_parts, 'decision frame arrival -> decision out of the recognizer', 'p95'))} ms after the "
        f"decision frame arrived; the engine logs the branch p50 "
        f"{_fmt(_stat(speech_parts, 'decision out of the recognizer -> branch logged', 'p50'))} ms after that.")
    return notes


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


COLUMNS = ["metric", "N calls", "p50 ms", "p95 ms", "p99 ms", "max ms", "goal", "result"]


def rows(series: list[Series]) -> list[list[str]]:
    out = []
    for item in series:
        s = item.stats()
        out.append([item.name, str(int(s["n"])) if s else "0", _fmt(s.get("p50")), _fmt(s.get("p95")),
                    _fmt(s.get("p99")), _fmt(s.get("max")), item.goal, item.verdict()])
    return out


def rich_table(title: str, table_rows: list[list[str]]) -> Table:
    table = Table(title=title)
    for column in COLUMNS:
        table.add_column(column, justify="left" if column in ("metric", "goal") else "right")
    for row in table_rows:
        style = "red" if row[-1] == "FAIL" else ("green" if row[-1] == "pass" else None)
        table.add_row(*row, style=style)
    return table


def to_markdown(header: str, blocks: list[tuple[str, list[list[str]]]], notes: list[str]) -> str:
    lines = [SECTION, "", header, ""]
    for title, table_rows in blocks:
        lines += [f"**{title}**", "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        lines += ["| " + " | ".join(row) + " |" for row in table_rows]
        lines.append("")
    lines += notes
    return "\n".join(lines).rstrip("\n") + "\n"


def write_section(path: Path, section: str) -> None:
    """This benchmark's section of BENCHMARKS.md (see :mod:`bench.sections`)."""
    sections.write_section(path, SECTION, section)


# --- main -------------------------------------------------------------------------------------------


@dataclass
class Options:
    calls: int
    speech_calls: int
    concurrency: int
    speech_concurrency: int
    ramp: float


async def bench(options: Options, workdir: Path, console: Console) -> dict[str, Any]:
    from callbot.listening import VoskListenerFactory
    from callbot.speech import find_packaged_model

    model_path = find_packaged_model("ko")
    console.print("loading the Korean speech model and rendering the scripts' static prompts ...")
    vosk_factory = await asyncio.to_thread(VoskListenerFactory, model_path)
    menu = await prepare(MENU_SCRIPT, workdir / "cache")
    listen = await prepare(LISTEN_SCRIPT, workdir / "cache", model_path, vosk_factory)
    yes_wav = await asyncio.to_thread(synthesize_yes, workdir)
    lifetime = 600.0 + 10.0 * (options.calls + options.speech_calls)
    simulator = SimulatorProcess(simulator_config(yes_wav), lifetime)
    port = await asyncio.to_thread(simulator.start)
    stalls = LoopStalls()
    try:
        async with Softphone("127.0.0.1") as phone:
            clock = ArrivalClock(phone)
            gc.collect()
            stalls.start()
            console.print(f"{options.calls} menu calls, {options.concurrency} at a time ...")
            began = time.monotonic()
            menu_records = await run_calls(phone, clock, port, MENU_NUMBER, menu, options.calls, options.concurrency,
                                           options.ramp, console, "menu")
            menu_wall = time.monotonic() - began
            console.print(f"{options.speech_calls} speech calls, {options.speech_concurrency} at a time ...")
            began = time.monotonic()
            listen_records = await run_calls(phone, clock, port, LISTEN_NUMBER, listen, options.speech_calls,
                                             options.speech_concurrency, options.ramp, console, "speech")
            listen_wall = time.monotonic() - began
            await stalls.stop()
    finally:
        await asyncio.to_thread(simulator.stop)
    return {"menu": menu_records, "listen": listen_records, "menu_wall": menu_wall, "listen_wall": listen_wall,
            "prerender_s": menu.prerender_s + listen.prerender_s, "stalls": stalls.report()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.latency", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="20 menu calls and 10 speech calls")
    parser.add_argument("--calls", type=int, help="menu calls (default 200, quick 20)")
    parser.add_argument("--speech-calls", type=int, help="speech calls (default 50, quick 10)")
    parser.add_argument("--concurrency", type=int, default=20, help="menu calls at a time (default 20)")
    parser.add_argument("--speech-concurrency", type=int, default=10, help="speech calls at a time (default 10)")
    parser.add_argument("--ramp", type=float, default=10.0, help="dials started per second at most (default 10)")
    parser.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    parser.add_argument("--markdown", type=Path, default=BENCHMARKS, help="the file to update (default BENCHMARKS.md)")
    args = parser.parse_args(argv)
    options = Options(
        calls=args.calls if args.calls is not None else (20 if args.quick else 200),
        speech_calls=args.speech_calls if args.speech_calls is not None else (10 if args.quick else 50),
        concurrency=max(1, args.concurrency), speech_concurrency=max(1, args.speech_concurrency),
        ramp=max(0.1, args.ramp),
    )
    console = Console(width=max(150, Console().width))
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        try:
            raw = asyncio.run(bench(options, Path(tmp), console))
        except (BenchError, ConfigError) as exc:
            console.print(f"[red]error:[/red] {exc}")
            return 2
    load_after = os.getloadavg()
    answer, key, menu_parts, menu_counts = menu_series(raw["menu"])
    speech, speech_parts, speech_counts = speech_series(raw["listen"])
    goals = rows([answer, key, speech])
    parts = rows(menu_parts + speech_parts)
    console.print(rich_table("Callbot runtime latency (goals)", goals))
    console.print(rich_table("Where the time goes", parts))
    counts = (f"menu calls: {', '.join(f'{k} {v}' for k, v in menu_counts.items())}; "
              f"speech calls: {', '.join(f'{k} {v}' for k, v in speech_counts.items())}")
    context = (f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, "
               f"load average {load_before[0]:.1f} before / {load_after[0]:.1f} after (machine shared); "
               f"{options.calls} menu calls {options.concurrency} at a time in {raw['menu_wall']:.0f} s, "
               f"{options.speech_calls} speech calls {options.speech_concurrency} at a time in "
               f"{raw['listen_wall']:.0f} s; static prompts rendered in {raw['prerender_s']:.1f} s before the calls; "
               f"longest event-loop stall {raw['stalls']['longest_ms']:.0f} ms")
    notes = diagnosis(menu_parts, menu_counts, speech_parts)
    console.print(counts)
    console.print(context)
    for note in notes:
        console.print(note)
    if not args.no_write:
        header = ("`python -m bench.latency" + (" --quick" if args.quick else "") + "`: real calls from a "
                  "Softphone running CallEngine to dialer.simphone.PhoneSimulator (child process) on loopback; "
                  "times from our side (200 OK datagram arrival, RFC 4733 end packet arrival, speech frame "
                  "arrival, to the sendto of the prompt packet or the engine's branch log entry). " + context + ".")
        notes = [counts + ".", "", *notes]
        write_section(args.markdown, to_markdown(header, [("Goals", goals), ("Where the time goes", parts)], notes))
        console.print(f"updated {args.markdown}")
    failed = any(row[-1] in ("FAIL", "no data") for row in goals)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
