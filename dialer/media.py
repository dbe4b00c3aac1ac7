"""RTP media on asyncio: one UDP socket per call, and ONE shared 20 ms clock for every call.

The clock keeps fixed deadlines (``start + n * ptime``), so packet spacing does not drift with
load; at each deadline every active stream's sans-I/O :class:`dialer.rtp.session.RtpSession`
produces exactly one packet (audio, DTMF or silence). If the loop falls more than
``MAX_CATCH_UP`` ticks behind, the schedule is moved forward instead of bursting.

The streams are spread over ``PHASES`` groups that tick ``ptime / PHASES`` apart (each stream
keeps its own phase, so its packets stay exactly ``ptime`` apart): the event loop serves
sockets and timers between groups instead of waiting behind one long burst, and a stall (the
process descheduled, a collection) delays only the streams of one group. The clock yields to
the loop at every step, even when behind, so SIP and received RTP are never starved.

An optional :class:`SendStats` given to the engine records, per stream, the time between two
successive sends (the packet spacing the far end sees, ideally ``ptime``), and how long each step
took; ``bench/`` reads it. Without it the clock does exactly the same work and nothing more.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from time import monotonic
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from dialer.errors import TransportError

log = logging.getLogger("dialer.media")

PTIME = 0.020
MAX_CATCH_UP = 5
PHASES = 4


class MediaSession(Protocol):
    """What the clock drives: :class:`dialer.rtp.session.RtpSession`."""

    packets_sent: int
    packets_received: int

    def tick(self, now: float) -> bytes: ...

    def receive(self, data: bytes, now: float) -> list[object]: ...

    def pop_events(self) -> list[object]: ...

    def handle_timer(self, now: float) -> list[object]: ...

    def next_deadline(self) -> float | None: ...

    def is_inactive(self, now: float) -> bool: ...


class SendStats:
    """Send-time recorder for the shared clock (measurement only, off by default).

    While :attr:`recording` is true, each send of each stream appends the time since that
    stream's previous send to :attr:`intervals`, and each clock step appends how long sending to
    the streams of its phase took to :attr:`tick_work`. Both are preallocated (``capacity`` and ``tick_capacity``
    entries) so recording costs a clock read and two stores per packet; what does not fit is
    counted in :attr:`dropped`. Times are ``time.monotonic`` seconds, the loop's clock.
    """

    def __init__(self, capacity: int = 1_000_000, tick_capacity: int = 100_000) -> None:
        self.intervals: NDArray[np.float64] = np.zeros(capacity, dtype=np.float64)
        self.tick_work: NDArray[np.float64] = np.zeros(tick_capacity, dtype=np.float64)
        self.count = 0
        self.tick_count = 0
        self.dropped = 0
        self.recording = False
        self._last: dict[int, float] = {}

    def sent(self, key: int, at: float) -> None:
        """Stream ``key`` sent a packet at ``at``."""
        last = self._last.get(key)
        self._last[key] = at
        if last is None or not self.recording:
            return
        if self.count < len(self.intervals):
            self.intervals[self.count] = at - last
            self.count += 1
        else:
            self.dropped += 1

    def ticked(self, work: float) -> None:
        """One clock step took ``work`` seconds to send to the streams of its phase."""
        if self.recording and self.tick_count < len(self.tick_work):
            self.tick_work[self.tick_count] = work
            self.tick_count += 1

    def forget(self, key: int) -> None:
        """Stream ``key`` stopped: its next packet (if the key is reused) starts afresh."""
        self._last.pop(key, None)

    def spacing(self) -> NDArray[np.float64]:
        """The recorded send intervals, in seconds."""
        return self.intervals[: self.count]

    def work(self) -> NDArray[np.float64]:
        """The recorded per-tick send durations, in seconds."""
        return self.tick_work[: self.tick_count]


class _RtpProtocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.stream: MediaStream | None = None

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.stream is not None:
            self.stream._on_datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("RTP socket error: %s", exc)


class MediaStream:
    """One call's RTP socket, bound before the offer is sent so its port can go in the SDP."""

    def __init__(self, engine: "MediaEngine", transport: asyncio.DatagramTransport, port: int) -> None:
        self.engine = engine
        self.transport = transport
        self.port = port
        self.session: MediaSession | None = None
        self.remote: tuple[str, int] | None = None
        self.on_events: Callable[[list[object]], None] | None = None
        self.on_inactive: Callable[[], None] | None = None
        self.closed = False
        # The session's receive-side deadline, asked after each input that can move it
        # (receive, handle_timer) instead of on every tick: tick() only sends.
        self._deadline: float | None = None

    def start(
        self,
        session: MediaSession,
        remote: tuple[str, int],
        *,
        on_events: Callable[[list[object]], None],
        on_inactive: Callable[[], None] | None = None,
    ) -> None:
        """Start sending to ``remote`` on the shared clock and delivering what arrives;
        ``on_inactive`` is called once when the session reports no RTP for too long."""
        self.session, self.remote = session, remote
        self.on_events, self.on_inactive = on_events, on_inactive
        self.engine._activate(self)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.engine._deactivate(self)
            self.transport.close()

    def _on_datagram(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.session is None or self.closed:
            return
        events = self.session.receive(data, self.engine.now)
        self._deadline = self.session.next_deadline()
        if events and self.on_events is not None:
            self.on_events(events)

    def send_now(self) -> None:
        """Send this stream's next packet at once, outside the clock (only before the first
        tick: a prompt queued at answer need not wait up to one ptime)."""
        if self.session is not None and not self.closed and self.session.packets_sent == 0:
            self._tick(self.engine.now)

    def _tick(self, now: float) -> None:
        assert self.session is not None and self.remote is not None
        session = self.session
        try:
            self.transport.sendto(session.tick(now), self.remote)
        except OSError as exc:
            log.debug("RTP send to %s failed: %s", self.remote, exc)
        events = session.pop_events()
        deadline = self._deadline
        if deadline is not None and now >= deadline:
            events += session.handle_timer(now)
            self._deadline = session.next_deadline()
        if events and self.on_events is not None:
            self.on_events(events)
        if self.on_inactive is not None and session.is_inactive(now):
            callback, self.on_inactive = self.on_inactive, None  # report once
            callback()


class MediaEngine:
    """Owns the shared packet clock and opens RTP sockets on ``host``."""

    def __init__(
        self, host: str = "127.0.0.1", ptime: float = PTIME, *, phases: int = PHASES, stats: SendStats | None = None
    ) -> None:
        self.host = host
        self.ptime = ptime
        self.stats = stats
        self._active: dict[int, MediaStream] = {}
        self._phases: list[dict[int, MediaStream]] = [{} for _ in range(max(1, phases))]
        self._phase_of: dict[int, int] = {}
        self._clock: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.late_ticks = 0
        self.max_lag = 0.0

    @property
    def now(self) -> float:
        assert self._loop is not None
        return self._loop.time()

    async def open_stream(self) -> MediaStream:
        """Bind a UDP socket for RTP on an even free port (RFC 3550 s11)."""
        self._loop = asyncio.get_running_loop()
        for _ in range(50):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                sock.bind((self.host, 0))
            except OSError as exc:
                sock.close()
                raise TransportError(f"cannot bind an RTP socket on {self.host}: {exc.strerror}") from exc
            if sock.getsockname()[1] % 2 == 0:
                break
            sock.close()
        else:  # no even port after many tries: any port works with every peer we know
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((self.host, 0))
        protocol = _RtpProtocol()
        port = sock.getsockname()[1]
        transport, _ = await self._loop.create_datagram_endpoint(lambda: protocol, sock=sock)
        stream = MediaStream(self, transport, port)
        protocol.stream = stream
        return stream

    async def close(self) -> None:
        for stream in list(self._active.values()):
            stream.close()
        if self._clock is not None:
            self._clock.cancel()
            try:
                await self._clock
            except asyncio.CancelledError:
                pass
            self._clock = None

    def _activate(self, stream: MediaStream) -> None:
        key = id(stream)
        phase = min(range(len(self._phases)), key=lambda p: len(self._phases[p]))
        self._active[key] = stream
        self._phases[phase][key] = stream
        self._phase_of[key] = phase
        if self._clock is None or self._clock.done():
            self._clock = asyncio.get_running_loop().create_task(self._run(), name="rtp-clock")

    def _deactivate(self, stream: MediaStream) -> None:
        key = id(stream)
        self._active.pop(key, None)
        phase = self._phase_of.pop(key, None)
        if phase is not None:
            self._phases[phase].pop(key, None)
        if self.stats is not None:
            self.stats.forget(id(stream))

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        step = self.ptime / len(self._phases)
        deadline = loop.time()
        phase = -1
        while self._active:
            deadline += step
            phase = (phase + 1) % len(self._phases)
            if not self._phases[phase]:
                continue  # nobody in this phase: no wake-up
            delay = deadline - loop.time()
            await asyncio.sleep(delay if delay > 0 else 0)  # behind or not, let I/O in
            now = loop.time()
            lag = now - deadline
            self.max_lag = max(self.max_lag, lag)
            if lag > self.ptime * MAX_CATCH_UP:
                self.late_ticks += 1
                deadline = now  # fell far behind: move the schedule rather than burst
            streams = list(self._phases[phase].values())
            stats = self.stats
            if stats is None:
                for stream in streams:
                    stream._tick(now)
            else:
                for stream in streams:
                    stream._tick(now)
                    stats.sent(id(stream), monotonic())
                stats.ticked(monotonic() - now)
        self._clock = None
