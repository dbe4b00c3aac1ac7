"""The thin asyncio layer under the sans-I/O user agent: one UDP socket and one timer.

Every datagram and every timer expiry is handed to :class:`dialer.sip.ua.UserAgent` with the
loop's monotonic time; what it returns is sent, and its events go to the subscriber of the
call (or registration) they concern.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable

from dialer.errors import TransportError
from dialer.sip.timers import TimerConfig
from dialer.sip.ua import UaConfig, UaEvent, UserAgent

log = logging.getLogger("dialer.endpoint")

SIP_RECEIVE_BUFFER = 4 * 1024 * 1024  # bytes asked of the kernel (it may cap them: net.core.rmem_max)


class _SipProtocol(asyncio.DatagramProtocol):
    def __init__(self, endpoint: "SipEndpoint") -> None:
        self.endpoint = endpoint

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.endpoint._on_datagram(data, addr[:2])

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable and the like: the transaction timers handle the silence.
        log.debug("SIP socket error: %s", exc)


class SipEndpoint:
    """Binds ``host:port`` (port 0: any free port) and runs a user agent on it."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        advertise_host: str | None = None,
        user_agent: str = "callbot/0.1",
        timers: TimerConfig | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.advertise_host = advertise_host
        self.user_agent_name = user_agent
        self.timers = timers or TimerConfig()
        self.ua: UserAgent | None = None
        self._transport: asyncio.DatagramTransport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._subscribers: dict[str, Callable[[UaEvent], None]] = {}
        self._fallback: list[Callable[[UaEvent], None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        try:
            transport, _ = await self._loop.create_datagram_endpoint(
                lambda: _SipProtocol(self), local_addr=(self.host, self.port), family=socket.AF_INET
            )
        except OSError as exc:
            raise TransportError(f"cannot bind the SIP socket on {self.host}:{self.port}: {exc.strerror}") from exc
        self._transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # A burst of call setups during a pause of the process (e.g. a garbage collection)
            # must not overflow the default ~200 KB buffer: measured at 400 setups/s, 1,560
            # datagrams were dropped, and their retransmissions then collapsed the rate.
            _enlarge_receive_buffer(sock)
        bound = transport.get_extra_info("sockname")
        self.port = bound[1]
        advertised = self.advertise_host or (self.host if self.host not in ("0.0.0.0", "") else "127.0.0.1")
        self.ua = UserAgent(UaConfig(local_host=advertised, local_port=self.port, user_agent=self.user_agent_name, timers=self.timers))

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    @property
    def now(self) -> float:
        assert self._loop is not None
        return self._loop.time()

    def subscribe(self, key: str, callback: Callable[[UaEvent], None]) -> None:
        """Deliver the events of call ``key`` (a Call-ID) to ``callback``."""
        self._subscribers[key] = callback

    def unsubscribe(self, key: str) -> None:
        self._subscribers.pop(key, None)

    def subscribe_other(self, callback: Callable[[UaEvent], None]) -> None:
        """Events with no call (registration changes)."""
        self._fallback.append(callback)

    def poke(self) -> None:
        """Flush what the user agent wants sent and re-arm the timer (after any API call)."""
        assert self.ua is not None and self._loop is not None
        transport = self._transport
        for out in self.ua.datagrams_to_send():
            if transport is None:
                break
            try:
                transport.sendto(out.data, out.addr)
            except OSError as exc:
                log.warning("cannot send to %s: %s", out.addr, exc)
        deadline = self.ua.next_deadline()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if deadline is not None:
            self._timer = self._loop.call_at(deadline, self._on_timer)

    def _on_datagram(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.ua is not None
        try:
            events = self.ua.receive(data, addr, self.now)
        except Exception:  # noqa: BLE001 - the boundary: one bad datagram must not stop the dialer
            log.exception("internal error handling a datagram from %s:%s (%d bytes); dropped", addr[0], addr[1], len(data))
            events = []
        self._deliver(events)

    def _on_timer(self) -> None:
        assert self.ua is not None
        self._timer = None
        self._deliver(self.ua.handle_timer(self.now))

    def _deliver(self, events: list[UaEvent]) -> None:
        self.poke()
        for event in events:
            key = getattr(event, "call_id", None)
            callback = self._subscribers.get(key) if key else None
            targets = [callback] if callback else self._fallback
            for target in targets:
                target(event)
        if events:
            self.poke()


def _enlarge_receive_buffer(sock: socket.socket) -> None:
    """Ask for :data:`SIP_RECEIVE_BUFFER`; past the kernel's cap (``net.core.rmem_max``) try
    ``SO_RCVBUFFORCE`` (allowed with CAP_NET_ADMIN), else say how to raise the cap."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SIP_RECEIVE_BUFFER)
        if sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) >= SIP_RECEIVE_BUFFER:
            return
        force = getattr(socket, "SO_RCVBUFFORCE", None)
        if force is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, force, SIP_RECEIVE_BUFFER)
                return
            except OSError:
                pass
        log.info("the SIP receive buffer is %d bytes (kernel cap); for bursts of call setups raise "
                 "net.core.rmem_max to %d", sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF), SIP_RECEIVE_BUFFER)
    except OSError as exc:
        log.warning("cannot enlarge the SIP receive buffer: %s", exc)
