"""The simulated phones on asyncio: :class:`PhoneSimulator` runs :class:`SimulatedPhones`
with one SIP UDP socket and RTP through :class:`dialer.media.MediaEngine` and
:class:`dialer.rtp.session.RtpSession`."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from dialer.codecs.base import codec_by_name
from dialer.errors import ConfigError, TransportError
from dialer.media import MediaEngine, MediaStream
from dialer.rtp.audio import load_wav
from dialer.rtp.session import RtpSession
from dialer.simphone.call import PhoneState
from dialer.simphone.config import NO_ANSWER_LIMIT, SimulatorConfig
from dialer.simphone.core import SimulatedPhones
from dialer.simphone.events import CallAnswered, CallEnded, IncomingCall, PressDigit, SimEndReason, SimEvent
from dialer.sip.timers import TimerConfig
from dialer.sip.transaction import Addr

log = logging.getLogger("dialer.simphone")

MAX_SUMMARIES = 10_000
"""Finished calls :attr:`PhoneSimulator.summaries` keeps by default; older ones are dropped,
so a long ``simulate-carrier`` run does not grow without limit."""


@dataclass(frozen=True)
class SimCallSummary:
    """One finished call as the simulator saw it."""

    call_id: str
    number: str
    behaviour: str
    status: int | None
    reason: SimEndReason
    talk_seconds: float
    pressed: str
    rtp_sent: int
    rtp_received: int


class _SipProtocol(asyncio.DatagramProtocol):
    def __init__(self, simulator: "PhoneSimulator") -> None:
        self.simulator = simulator

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.simulator._on_datagram(data, (addr[0], addr[1]))

    def error_received(self, exc: Exception) -> None:
        log.debug("simulator SIP socket error: %s", exc)


class PhoneSimulator:
    """:class:`SimulatedPhones` on asyncio: a SIP UDP socket on ``host:port`` (0: any free
    port) and one RTP socket per answered call on the :class:`MediaEngine` 20 ms clock.

        async with PhoneSimulator(config) as sim:
            ...  # call sip:NUMBER@127.0.0.1:{sim.port}
        sim.summaries["call-id"]

    ``on_event`` sees every :data:`SimEvent`; when it gets a :class:`CallEnded` the call's
    :class:`SimCallSummary` is already in :attr:`summaries`.

    :attr:`summaries` is bounded: it keeps the last ``max_summaries`` finished calls
    (:data:`MAX_SUMMARIES`, 10,000, by default) in the order they ended and drops the oldest,
    so a long ``simulate-carrier`` run does not grow without limit.
    """

    def __init__(
        self,
        config: SimulatorConfig,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        advertise_host: str | None = None,
        timers: TimerConfig | None = None,
        no_answer_limit: float = NO_ANSWER_LIMIT,
        on_event: Callable[[SimEvent], None] | None = None,
        max_summaries: int = MAX_SUMMARIES,
    ) -> None:
        if max_summaries < 1:
            raise ConfigError(f"max_summaries must be at least 1, got {max_summaries}")
        self.config = config
        self.host, self.port = host, port
        self.advertise_host = advertise_host or (host if host not in ("0.0.0.0", "") else "127.0.0.1")
        self.timers = timers or TimerConfig()
        self.no_answer_limit = no_answer_limit
        self.on_event = on_event
        self.media = MediaEngine(host)
        self.max_summaries = max_summaries
        self.summaries: dict[str, SimCallSummary] = {}
        self.core: SimulatedPhones | None = None
        self._transport: asyncio.DatagramTransport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._prompts: dict[Path, NDArray[np.int16]] = {}
        self._streams: dict[str, MediaStream] = {}
        self._sessions: dict[str, RtpSession] = {}
        self._pressed: dict[str, list[str]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._hanging_up = asyncio.Event()

    @property
    def address(self) -> Addr:
        return self.advertise_host, self.port

    @property
    def now(self) -> float:
        assert self._loop is not None
        return self._loop.time()

    async def __aenter__(self) -> "PhoneSimulator":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Load the prompts (in a thread) and bind the SIP socket. Raises ConfigError for a
        prompt that cannot be read and TransportError when the port cannot be bound."""
        self._loop = asyncio.get_running_loop()
        behaviours = [*self.config.numbers.values(), self.config.default]
        for path in {b.prompt for b in behaviours if b is not None and b.prompt is not None}:
            try:
                self._prompts[path] = await asyncio.to_thread(load_wav, path)
            except (OSError, ValueError) as exc:
                raise ConfigError(f"cannot load the prompt {path}: {exc}") from exc
        try:
            transport, _ = await self._loop.create_datagram_endpoint(
                lambda: _SipProtocol(self), local_addr=(self.host, self.port), family=socket.AF_INET
            )
        except OSError as exc:
            raise TransportError(f"cannot bind the simulator SIP socket on {self.host}:{self.port}: {exc.strerror}") from exc
        self._transport = transport
        self.port = transport.get_extra_info("sockname")[1]
        self.core = SimulatedPhones(
            self.config,
            local_host=self.advertise_host,
            local_port=self.port,
            timers=self.timers,
            no_answer_limit=self.no_answer_limit,
        )
        log.info("simulated phones listening on %s:%d", self.advertise_host, self.port)

    async def close(self, timeout: float = 2.0) -> None:
        """End every call (BYE to confirmed ones, waiting at most ``timeout`` s for their
        responses), then close every socket."""
        if self.core is not None and self._transport is not None:
            self._handle(self.core.shutdown(self.now))
            if self._any_hanging_up():
                self._hanging_up.clear()
                try:
                    await asyncio.wait_for(self._hanging_up.wait(), timeout)
                except TimeoutError:
                    log.info("simulator closing with BYEs unanswered")
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for stream in self._streams.values():
            stream.close()
        self._streams.clear()
        await self.media.close()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    # --- plumbing -------------------------------------------------------------------------------

    def _any_hanging_up(self) -> bool:
        assert self.core is not None
        return any(c.state is PhoneState.HANGING_UP for c in self.core.calls.values())

    def _on_datagram(self, data: bytes, addr: Addr) -> None:
        if self.core is not None:
            self._handle(self.core.receive(data, addr, self.now))

    def _on_timer(self) -> None:
        self._timer = None
        if self.core is not None:
            self._handle(self.core.handle_timer(self.now))

    def _handle(self, events: list[SimEvent]) -> None:
        self._flush()
        for event in events:
            self._apply(event)
            if self.on_event is not None:
                self.on_event(event)
        if not self._hanging_up.is_set() and not self._any_hanging_up():
            self._hanging_up.set()

    def _flush(self) -> None:
        """Send what the core queued and re-arm the timer at its next deadline."""
        assert self.core is not None and self._loop is not None
        for out in self.core.datagrams_to_send():
            if self._transport is None:
                break
            try:
                self._transport.sendto(out.data, out.addr)
            except OSError as exc:
                log.info("cannot send to %s: %s", out.addr, exc)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self.core.next_deadline()
        if deadline is not None and self._transport is not None:
            self._timer = self._loop.call_at(deadline, self._on_timer)

    def _apply(self, event: SimEvent) -> None:
        if isinstance(event, IncomingCall):
            self._pressed[event.call_id] = []
            if event.needs_media:
                assert self._loop is not None
                task = self._loop.create_task(self._open_media(event.call_id), name=f"rtp-open-{event.call_id}")
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        elif isinstance(event, CallAnswered):
            self._start_media(event)
        elif isinstance(event, PressDigit):
            session = self._sessions.get(event.call_id)
            if session is None or session.telephone_event_payload_type is None:
                log.info("call %s: cannot press %s: no telephone-event negotiated", event.call_id, event.digit)
                return
            session.send_digit(event.digit)
            self._pressed.setdefault(event.call_id, []).append(event.digit)
        elif isinstance(event, CallEnded):
            self._finish(event)

    async def _open_media(self, call_id: str) -> None:
        try:
            stream = await self.media.open_stream()
        except TransportError as exc:
            assert self.core is not None
            self._handle(self.core.media_failed(call_id, self.now, str(exc)))
            return
        assert self.core is not None
        call = self.core.calls.get(call_id)
        if call is None or call.state is not PhoneState.RINGING or self._transport is None:
            stream.close()  # cancelled while the socket was being opened
            return
        self._streams[call_id] = stream
        self._handle(self.core.media_ready(call_id, stream.port, self.now))

    def _start_media(self, event: CallAnswered) -> None:
        stream = self._streams.get(event.call_id)
        media = event.media
        if stream is None or not event.send_audio or not media.sends:
            return  # silent phone (or a caller on hold): the socket stays, nothing is sent
        session = RtpSession(
            codec_by_name(media.codec),
            payload_type=media.payload_type,
            telephone_event_payload_type=media.telephone_event_pt,
            inactivity_timeout=float("inf"),
        )
        self._sessions[event.call_id] = session
        stream.start(session, media.remote_address, on_events=_ignore_media_events)
        if event.prompt is not None and event.prompt in self._prompts:
            session.play(self._prompts[event.prompt])

    def _finish(self, event: CallEnded) -> None:
        stream = self._streams.pop(event.call_id, None)
        if stream is not None:
            stream.close()
        session = self._sessions.pop(event.call_id, None)
        assert self.core is not None
        call = self.core.calls.get(event.call_id)
        summary = SimCallSummary(
            call_id=event.call_id,
            number=event.number,
            behaviour=call.behaviour.describe() if call is not None else "",
            status=event.status,
            reason=event.reason,
            talk_seconds=event.talk_seconds,
            pressed="".join(self._pressed.pop(event.call_id, [])),
            rtp_sent=session.packets_sent if session is not None else 0,
            rtp_received=session.packets_received if session is not None else 0,
        )
        keep_summary(self.summaries, summary, self.max_summaries)


def keep_summary(summaries: dict[str, SimCallSummary], summary: SimCallSummary, limit: int) -> None:
    """Record ``summary`` as the newest entry of ``summaries`` (a call id seen again moves to
    the end), then drop the oldest entries until at most ``limit`` remain."""
    summaries.pop(summary.call_id, None)
    summaries[summary.call_id] = summary
    while len(summaries) > limit:
        del summaries[next(iter(summaries))]


def _ignore_media_events(events: list[object]) -> None:
    """The simulated phone does not listen to what the caller says or presses."""
