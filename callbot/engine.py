"""Running a compiled call script on a live call.

The engine is one consumer loop per call. Its inputs, in one queue: the call's events
(digits, audio frames, playback finished, hang-up), speech results from the recognizer, and
block timers. Each input becomes a script event (:mod:`scripts_dsl.events`); the actions the
script returns are carried out in order (:mod:`scripts_dsl.actions`). Leaving a block cancels
its timers and its recognizer (a generation counter makes late timers harmless). Every step is
appended to the call's ordered event log.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from callbot.prompts import AudioFileCache, PromptRenderer, stock_sound
from dialer.outcome import EndReason
from dialer.phone import Call, CallEndedEvent
from callbot.speech.events import NoInput as SpeechNoInput
from callbot.speech.events import NoMatch as SpeechNoMatch
from callbot.speech.events import SpeechResult, SpeechStarted
from dialer.rtp.session import AudioFrame, DigitReceived, PlaybackDone
from scripts_dsl import actions as act
from scripts_dsl import events as ev
from scripts_dsl.run import ScriptRun
from scripts_dsl.status import CustomerStatus

log = logging.getLogger("callbot.engine")

SAMPLE_RATE = 8000


class KeywordListener(Protocol):
    """One listen block's recognizer on one call (see :mod:`callbot.listening`)."""

    def feed(self, pcm: np.ndarray) -> None: ...

    def events(self) -> AsyncIterator[object]: ...

    def close(self) -> None: ...


class ListenerFactory(Protocol):
    def create(self, intents: Mapping[str, tuple[str, ...]], *, no_input_timeout: float) -> KeywordListener: ...


@dataclass
class _Timer:
    generation: int
    handle: asyncio.TimerHandle


@dataclass(frozen=True)
class _Tick:
    """A block timer fired (``kind``: no_input)."""

    generation: int
    kind: str


@dataclass(frozen=True)
class _SpeechIn:
    generation: int
    event: object


@dataclass
class EngineResult:
    final_status: CustomerStatus
    status_changes: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    transcripts: list[dict[str, Any]] = field(default_factory=list)
    end_reason: str = ""


StatusHook = Callable[[act.SetStatus], None]


class CallEngine:
    """Runs ``run`` (a fresh :class:`ScriptRun`) on ``call`` (answered)."""

    def __init__(
        self,
        call: Call,
        run: ScriptRun,
        *,
        prompts: PromptRenderer,
        audio_files: AudioFileCache,
        voice: str,
        rate: int = 175,
        listeners: ListenerFactory | None = None,
        on_status: StatusHook | None = None,
        recordings_dir: str | None = None,
    ) -> None:
        self.call = call
        self.run = run
        self.prompts = prompts
        self.audio_files = audio_files
        self.voice = voice
        self.rate = rate
        self.listeners = listeners
        self.on_status = on_status
        self.recordings_dir = recordings_dir
        self.log: list[dict[str, Any]] = []
        self.transcripts: list[dict[str, Any]] = []
        self.status_changes: list[dict[str, Any]] = []
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._generation = 0
        self._timers: list[_Timer] = []
        self._listener: KeywordListener | None = None
        self._listener_task: asyncio.Task[None] | None = None
        self._collecting: act.CollectDigits | None = None
        self._listening: act.Listen | None = None
        self._prompt_playback: dict[int, int] = {}  # playback id -> script prompt id
        self._barge_in = False
        self._current_prompt: int | None = None
        self._pending_timeout: float | None = None
        self._hangup_after_playback: int | None = None
        self._started = time.monotonic()
        self._ended = False

    # ------------------------------------------------------------------ public
    async def execute(self) -> EngineResult:
        pump = asyncio.create_task(self._pump_call_events(), name=f"call-events-{self.call.call_id}")
        try:
            await self._apply(self.run.start())
            while not self._ended:
                item = await self._queue.get()
                await self._handle(item)
        finally:
            self._leave_block()
            pump.cancel()
            try:
                await pump
            except asyncio.CancelledError:
                pass
        return EngineResult(
            final_status=self.run.status,
            status_changes=self.status_changes,
            events=self.log,
            transcripts=self.transcripts,
            end_reason=self.run.end_reason or "",
        )

    # ------------------------------------------------------------------ inputs
    async def _pump_call_events(self) -> None:
        async for event in self.call.events():
            self._queue.put_nowait(event)

    async def _handle(self, item: object) -> None:
        if isinstance(item, CallEndedEvent):
            self._record("hangup", by=str(item.result.hangup_by), reason=str(item.result.reason))
            if not self.run.finished:
                await self._feed(ev.CallerHangup())
            self._ended = True
        elif isinstance(item, DigitReceived):
            await self._on_digit(item.digit)
        elif isinstance(item, AudioFrame):
            if self._listener is not None:
                self._listener.feed(item.pcm)
        elif isinstance(item, PlaybackDone):
            await self._on_playback_done(item.playback_id)
        elif isinstance(item, _Tick):
            if item.generation == self._generation:
                self._record("no_input", block=self.run.current_block)
                await self._feed(ev.NoInput())
        elif isinstance(item, _SpeechIn):
            if item.generation == self._generation:
                await self._on_speech(item.event)

    async def _on_digit(self, digit: str) -> None:
        self._record("digit", digit=digit, block=self.run.current_block)
        if self._collecting is None:
            return
        if self._barge_in and self.call.session is not None and self.call.session.playing:
            self._interrupt_prompt("keypress")
        await self._feed(ev.Digit(digit))

    async def _on_speech(self, event: object) -> None:
        if isinstance(event, SpeechStarted):
            self._record("speech_started", block=self.run.current_block)
            if self._barge_in and self.call.session is not None and self.call.session.playing:
                self._interrupt_prompt("speech")
            self._cancel_timers()  # the caller is answering: no-input no longer applies
        elif isinstance(event, SpeechResult):
            self.transcripts.append(
                {"block": self.run.current_block, "text": event.text, "intent": event.intent,
                 "confidence": event.confidence, "t_ms": self._t()}
            )
            self._record("transcript", text=event.text, intent=event.intent, confidence=event.confidence)
            await self._feed(ev.Speech(event.text, event.intent, event.confidence))
        elif isinstance(event, SpeechNoMatch):
            self._record("no_match", text=event.text, block=self.run.current_block)
            await self._feed(ev.NoMatch())
        elif isinstance(event, SpeechNoInput):
            self._record("no_input", block=self.run.current_block)
            await self._feed(ev.NoInput())

    async def _on_playback_done(self, playback_id: int) -> None:
        if playback_id == self._hangup_after_playback:
            self._hangup_after_playback = None
            self._record("prompt_finished", playback=playback_id)
            self.call.hangup(EndReason.LOCAL_BYE)
            return
        prompt_id = self._prompt_playback.pop(playback_id, None)
        if prompt_id is None:
            return
        self._record("prompt_finished", prompt=prompt_id, block=self.run.current_block)
        if prompt_id == self._current_prompt:
            self._current_prompt = None
            self._arm_no_input()
        await self._feed(ev.PromptFinished(prompt_id))

    async def _feed(self, event: ev.Event) -> None:
        before = self.run.current_block
        actions = self.run.handle(event)
        if actions and self.run.current_block != before:
            self._leave_block()
        await self._apply(actions)
        if self.run.finished and self._hangup_after_playback is None and not self._ended:
            if not any(isinstance(a, act.Hangup) for a in actions):
                self.call.hangup(EndReason.LOCAL_BYE)

    # ------------------------------------------------------------------ actions
    async def _apply(self, actions: list[act.Action]) -> None:
        for action in actions:
            match action:
                case act.Play():
                    await self._play(action)
                case act.CollectDigits():
                    self._collecting = action
                    self._pending_timeout = action.timeout
                    self._maybe_arm_now()
                case act.Listen():
                    self._start_listening(action)
                    self._pending_timeout = action.timeout
                    self._maybe_arm_now()
                case act.SetStatus():
                    change = {"block": action.block_id, "from": action.from_status.value,
                              "to": action.to_status.value, "source": action.source, "t_ms": self._t()}
                    self.status_changes.append(change)
                    self._record("status_change", **change)
                    if self.on_status is not None:
                        self.on_status(action)
                case act.StatusKept():
                    self._record("status_kept", block=action.block_id, status=action.status.value,
                                 wanted=action.wanted.value, reason=action.reason)
                case act.SetVariable():
                    self._record("set_variable", block=action.block_id, name=action.name, value=action.value)
                case act.Branch():
                    self._record("branch", block=action.block_id, to=action.to_block, why=action.why)
                case act.Transfer():
                    await self._transfer(action)
                case act.Record():
                    await self._record_caller(action)
                case act.Hangup():
                    await self._hangup(action)

    async def _pcm_for(self, text: str | None, audio: str | None) -> np.ndarray:
        if audio:
            return await self.audio_files.load(audio)
        assert text is not None
        return await self.prompts.render(text, self.voice, self.rate)

    async def _play(self, action: act.Play) -> None:
        pcm = await self._pcm_for(action.text, action.audio)
        self._barge_in = action.barge_in
        self._current_prompt = action.prompt_id
        playback = self.call.play(pcm)
        self._prompt_playback[playback] = action.prompt_id
        self._record("prompt_started", block=action.block_id, prompt=action.prompt_id,
                     text=action.text, audio=action.audio, barge_in=action.barge_in)

    def _interrupt_prompt(self, why: str) -> None:
        interrupted = self.call.clear_playback()
        for playback in interrupted:
            prompt = self._prompt_playback.pop(playback, None)
            self._record("prompt_interrupted", prompt=prompt, by=why)
        self._current_prompt = None

    async def _transfer(self, action: act.Transfer) -> None:
        # No agent queue or SIP transfer is wired into this runtime yet: nobody can take the
        # call, which the script handles through the transfer block's "no agent" branch.
        reason = "no agent is available" if action.queue else "transfer to a SIP address is not available on this trunk"
        self._record("transfer", block=action.block_id, queue=action.queue, address=action.address, ok=False, reason=reason)
        await self._feed(ev.TransferResult(False, reason))

    async def _record_caller(self, action: act.Record) -> None:
        if action.beep:
            self.call.play(await self.audio_files.load(str(stock_sound("beep"))))
        frames: list[np.ndarray] = []
        deadline = asyncio.get_running_loop().time() + action.max_length
        self._record("record_started", block=action.block_id, max_length=action.max_length)
        while not self._ended:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            try:
                item = await asyncio.wait_for(self._queue.get(), timeout=remaining)
            except TimeoutError:
                break
            if isinstance(item, AudioFrame):
                frames.append(item.pcm)
            elif isinstance(item, CallEndedEvent):
                self._queue.put_nowait(item)
                break
        duration = sum(len(f) for f in frames) / SAMPLE_RATE
        path = await asyncio.to_thread(self._save_recording, action.block_id, frames)
        self._record("record_finished", block=action.block_id, duration=round(duration, 3), recording=path)
        await self._feed(ev.RecordFinished(path, duration))

    def _save_recording(self, block_id: str, frames: list[np.ndarray]) -> str:
        """Write the caller's audio as a WAV in ``recordings_dir``; returns its file name
        (the API serves it from the same folder), or "" when recordings are not kept."""
        if not self.recordings_dir or not frames:
            return ""
        import wave
        from pathlib import Path

        folder = Path(self.recordings_dir)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.call.call_id.split('@')[0]}-{block_id}.wav"
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            out.writeframes(np.concatenate(frames).astype("<i2").tobytes())
        return path.name

    async def _hangup(self, action: act.Hangup) -> None:
        self._leave_block()
        self._record("script_hangup", block=action.block_id, reason=action.reason)
        if action.text or action.audio:
            pcm = await self._pcm_for(action.text, action.audio)
            self._hangup_after_playback = self.call.play(pcm)
            self._record("prompt_started", block=action.block_id, text=action.text, audio=action.audio, barge_in=False)
        else:
            self.call.hangup(EndReason.LOCAL_BYE)

    # ------------------------------------------------------------------ block state
    def _maybe_arm_now(self) -> None:
        """Arm the no-input timer at once when no prompt of this block is playing."""
        if self._current_prompt is None:
            self._arm_no_input()

    def _arm_no_input(self) -> None:
        if self._pending_timeout is None or self._ended:
            return
        generation = self._generation
        loop = asyncio.get_running_loop()
        handle = loop.call_later(self._pending_timeout, self._queue.put_nowait, _Tick(generation, "no_input"))
        self._timers.append(_Timer(generation, handle))
        self._pending_timeout = None

    def _start_listening(self, action: act.Listen) -> None:
        self._listening = action
        if self.listeners is None:
            self._record("listen_unavailable", block=action.block_id, reason="no speech model configured")
            return
        generation = self._generation
        listener = self.listeners.create(action.intents, no_input_timeout=action.timeout)
        self._listener = listener

        async def forward() -> None:
            async for event in listener.events():
                self._queue.put_nowait(_SpeechIn(generation, event))

        self._listener_task = asyncio.create_task(forward(), name=f"listen-{self.call.call_id}")

    def _cancel_timers(self) -> None:
        for timer in self._timers:
            timer.handle.cancel()
        self._timers.clear()

    def _leave_block(self) -> None:
        """Cancel everything the block armed: timers, recognizer, digit collection."""
        self._generation += 1
        self._cancel_timers()
        self._collecting = None
        self._listening = None
        self._pending_timeout = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self._listener_task is not None:
            self._listener_task.cancel()
            self._listener_task = None

    # ------------------------------------------------------------------ log
    def _t(self) -> int:
        return int((time.monotonic() - self._started) * 1000)

    def _record(self, kind: str, **data: Any) -> None:
        entry = {"t_ms": self._t(), "kind": kind, **{k: v for k, v in data.items() if v is not None}}
        self.log.append(entry)
        log.debug("call %s: %s", self.call.call_id, entry)
