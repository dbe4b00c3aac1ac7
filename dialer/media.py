"""RTP media on asyncio: one UDP socket per call, and ONE shared 20 ms clock for every call.

The clock keeps fixed deadlines (``start + n * ptime``), so packet spacing does not drift with
load; at each deadline every active stream's sans-I/O :class:`dialer.rtp.session.RtpSession`
produces exactly one packet (audio, DTMF or silence). If the loop falls more than
``MAX_CATCH_UP`` ticks behind, the schedule is moved forward instead of bursting.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from typing import Protocol

from dialer.errors import TransportError

log = logging.getLogger("dialer.media")

PTIME = 0.020
MAX_CATCH_UP = 5


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
        if events and self.on_events is not None:
            self.on_events(events)

    def _tick(self, now: float) -> None:
        assert self.session is not None and self.remote is not None
        session = self.session
        try:
            self.transport.sendto(session.tick(now), self.remote)
        except OSError as exc:
            log.debug("RTP send to %s failed: %s", self.remote, exc)
        events = session.pop_events()
        deadline = session.next_deadline()
        if deadline is not None and now >= deadline:
            events += session.handle_timer(now)
        if events and self.on_events is not None:
            self.on_events(events)
        if self.on_inactive is not None and session.is_inactive(now):
            callback, self.on_inactive = self.on_inactive, None  # report once
            callback()


class MediaEngine:
    """Owns the shared packet clock and opens RTP sockets on ``host``."""

    def __init__(self, host: str = "127.0.0.1", ptime: float = PTIME) -> None:
        self.host = host
        self.ptime = ptime
        self._active: dict[int, MediaStream] = {}
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
        self._active[id(stream)] = stream
        if self._clock is None or self._clock.done():
            self._clock = asyncio.get_running_loop().create_task(self._run(), name="rtp-clock")

    def _deactivate(self, stream: MediaStream) -> None:
        self._active.pop(id(stream), None)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        while self._active:
            deadline += self.ptime
            delay = deadline - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            now = loop.time()
            lag = now - deadline
            self.max_lag = max(self.max_lag, lag)
            if lag > self.ptime * MAX_CATCH_UP:
                self.late_ticks += 1
                deadline = now  # fell far behind: move the schedule rather than burst
            for stream in list(self._active.values()):
                stream._tick(now)
        self._clock = None
