"""SIP transactions (RFC 3261 s17, with the INVITE fixes of RFC 6026), sans-I/O.

:class:`TransactionLayer` takes datagrams and the current time in (:meth:`receive`,
:meth:`handle_timer`) and gives events, datagrams to send (:meth:`datagrams_to_send`) and the
next deadline (:meth:`next_deadline`) out. It never touches a socket or a clock.

The four state machines (client/server x INVITE/non-INVITE) are the data in
:data:`TRANSITIONS`; the timers each state runs are in :data:`STATE_TIMERS`. Entering a state
starts its timers and cancels the others; entering ``TERMINATED`` removes the transaction.

Transaction keys are the top Via branch (s17.1.3, s17.2.3). A CANCEL carries the branch of the
INVITE it cancels (s9.1) yet is its own transaction, so its key is ``"<branch>:CANCEL"``.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from dataclasses import dataclass, field

from dialer.errors import SipParseError
from dialer.sip.headers import Via
from dialer.sip.message import Request, Response, parse_message
from dialer.sip.timers import TimerConfig
from dialer.sip.transaction.events import (
    Addr,
    Event,
    MessageDropped,
    Outgoing,
    RequestReceived,
    ResponseReceived,
    StrayResponse,
    TransactionTimeout,
)
from dialer.sip.transaction.helpers import (
    BRANCH_MAGIC,
    DEFAULT_PORT,
    branch_of,
    build_ack_for_failure,
    mark_received,
    match_method,
    response_destination,
    stateless_error,
    transaction_key,
    trying,
)
from dialer.sip.transaction.states import (
    INITIAL_STATE,
    STATE_TIMERS,
    TERMINAL_STATE,
    TERMINATED_STATES,
    TRANSITIONS,
    ClientInviteState,
    ClientNonInviteState,
    Kind,
    ServerInviteState,
    State,
    Trigger,
    timer_duration,
)

_CI, _CN, _SI, _T = ClientInviteState, ClientNonInviteState, ServerInviteState, Trigger


@dataclass(eq=False)
class _Transaction:
    kind: Kind
    key: str
    match: tuple[str, ...]
    request: Request
    addr: Addr  # client: where the request goes; server: where it came from
    state: State
    request_bytes: bytes = b""
    last_response: bytes | None = None
    response_addr: Addr | None = None
    ack_bytes: bytes | None = None
    timers: dict[Trigger, float] = field(default_factory=dict)
    intervals: dict[Trigger, float] = field(default_factory=dict)

    @property
    def call_id(self) -> str:
        return self.request.call_id

    @property
    def method(self) -> str:
        return self.request.method


class TransactionLayer:
    """Client and server transactions of one user agent (RFC 3261 s17), without I/O."""

    def __init__(
        self,
        timers: TimerConfig = TimerConfig(),
        logger: logging.Logger | None = None,
        *,
        auto_trying: bool = True,
    ) -> None:
        """``auto_trying``: a server INVITE transaction answers 100 Trying at once (s17.2.1
        MUST, unless the TU is known to respond within 200 ms)."""
        self.timers = timers
        self.log = logger or logging.getLogger("dialer.sip.transaction")
        self.auto_trying = auto_trying
        self._txns: dict[tuple[str, ...], _Transaction] = {}
        self._heap: list[tuple[float, int, tuple[str, ...], Trigger]] = []
        self._seq = itertools.count()
        self._outgoing: list[Outgoing] = []

    # --- public API ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._txns)

    def datagrams_to_send(self) -> list[Outgoing]:
        out, self._outgoing = self._outgoing, []
        return out

    def next_deadline(self) -> float | None:
        while self._heap and not self._heap_top_live():
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def send_request(self, request: Request, addr: Addr, now: float) -> str:
        """Start a client transaction (s17.1) and queue the first transmission."""
        if request.method == "ACK":
            raise ValueError("ACK is not a transaction: use send_stateless (s17.1.1.3)")
        branch = request.top_via.branch
        if not branch or not branch.startswith(BRANCH_MAGIC):
            raise ValueError(f"top Via branch {branch!r} lacks the {BRANCH_MAGIC} cookie (s8.1.1.7)")
        key = transaction_key(branch, request.method)
        match = ("c", key)
        if match in self._txns:
            raise ValueError(f"a client transaction with branch {branch!r} already exists")
        kind = Kind.CLIENT_INVITE if request.method == "INVITE" else Kind.CLIENT_NON_INVITE
        txn = _Transaction(kind, key, match, request, addr, INITIAL_STATE[kind], request_bytes=bytes(request))
        self._txns[match] = txn
        self.log.debug("%s %s created call-id=%s", kind.value, key, txn.call_id)
        self._enter(txn, now)
        self._send(txn.request_bytes, addr)
        return key

    def send_stateless(self, data: bytes | Request | Response, addr: Addr, now: float) -> None:
        """Queue a datagram outside any transaction (the ACK for a 2xx, s13.2.2.4)."""
        self._send(data if isinstance(data, bytes) else bytes(data), addr)

    def send_response(self, response: Response, now: float) -> None:
        """Send ``response`` through its server transaction (s17.2.3 matching); a response
        matching none is sent statelessly (s8.2.7). Destination per s18.2.2 / RFC 3581."""
        via = response.top_via
        addr = response_destination(via)
        method = response.cseq.method
        txn = self._txns.get(self._server_match(branch_of(response), via, method))
        data = bytes(response)
        if txn is None:
            self.log.debug("no server transaction for %s %s; sending statelessly", response.status, method)
            self._send(data, addr)
            return
        if response.status < 200:
            trigger = _T.SEND_1XX
        elif response.status < 300 and txn.kind is Kind.SERVER_INVITE:
            trigger = _T.SEND_2XX
        else:
            trigger = _T.SEND_FINAL
        if not self._step(txn, trigger, f"{response.status} sent", now):
            return
        txn.last_response, txn.response_addr = data, addr
        self._send(data, addr)

    def terminate(self, key: str) -> None:
        """Forget a client transaction the TU gives up on, e.g. an INVITE still ringing 64*T1
        after its CANCEL (s9.1)."""
        txn = self._txns.get(("c", key))
        if txn is not None:
            self._move(txn, TERMINAL_STATE[txn.kind], "abandoned by the TU")

    def receive(self, data: bytes, addr: Addr, now: float) -> list[Event]:
        """Handle one datagram from ``addr`` (s17.1.3, s17.2.3, s18.1.2, s18.2.1)."""
        try:
            message = parse_message(data)
        except ValueError as exc:  # SipParseError; plain ValueError guards against parser slips
            error = exc if isinstance(exc, SipParseError) else SipParseError(str(exc))
            self._reject_malformed(data, addr, error)
            return [MessageDropped(f"malformed: {exc}", addr)]
        try:
            if isinstance(message, Response):
                return self._receive_response(message, addr, now)
            return self._receive_request(message, addr, now)
        except SipParseError as exc:
            return [MessageDropped(f"unusable: {exc}", addr)]

    def handle_timer(self, now: float) -> list[Event]:
        """Fire every timer due at ``now``."""
        events: list[Event] = []
        while self._heap and self._heap[0][0] <= now:
            live = self._heap_top_live()
            _, _, match, timer = heapq.heappop(self._heap)
            if live:
                events.extend(self._fire(self._txns[match], timer, now))
        return events

    # --- receiving -----------------------------------------------------------------------------

    def _receive_response(self, response: Response, addr: Addr, now: float) -> list[Event]:
        if len(response.vias) != 1:
            # s18.1.2: a response with more than one Via is not for us.
            return [MessageDropped(f"response with {len(response.vias)} Via values", addr)]
        method = response.cseq.method
        branch = response.top_via.branch or ""
        txn = self._txns.get(("c", transaction_key(branch, method)))
        if txn is None or txn.method != method:
            return [StrayResponse(response, addr)]
        status = response.status
        if status < 200:
            trigger = _T.RECV_1XX
        elif status < 300 and txn.kind is Kind.CLIENT_INVITE:
            trigger = _T.RECV_2XX
        else:
            trigger = _T.RECV_FINAL
        before = txn.state
        if not self._step(txn, trigger, f"{status} received", now):
            # A 2xx after a non-2xx final (another fork): the TU may ACK and BYE it.
            return [StrayResponse(response, addr)] if trigger is _T.RECV_2XX else []
        if before is _CI.COMPLETED:
            # A retransmitted final: re-send the ACK, don't tell the TU again (s17.1.1.2).
            if txn.ack_bytes is not None:
                self._send(txn.ack_bytes, txn.addr)
            return []
        if trigger is _T.RECV_FINAL and txn.kind is Kind.CLIENT_INVITE:
            ack = build_ack_for_failure(txn.request, response)
            txn.ack_bytes = bytes(ack)
            self._send(txn.ack_bytes, txn.addr)
        return [ResponseReceived(txn.key, response)]

    def _receive_request(self, request: Request, addr: Addr, now: float) -> list[Event]:
        request = mark_received(request, addr)
        via = request.top_via
        branch = branch_of(request)
        txn = self._txns.get(self._server_match(branch, via, request.method))
        if request.method == "ACK":
            if txn is None or txn.kind is not Kind.SERVER_INVITE:
                # The ACK for a 2xx is a transaction of its own (s17.1.1.3, s17.2.3).
                return [RequestReceived(transaction_key(branch, "ACK"), request, addr)]
            before = txn.state
            if not self._step(txn, _T.ACK, "ACK received", now):
                return []
            return [RequestReceived(txn.key, request, addr)] if before is _SI.ACCEPTED else []
        if txn is not None:
            if self._step(txn, _T.REQUEST_AGAIN, f"{request.method} retransmission", now):
                if txn.last_response is not None and txn.response_addr is not None:
                    self._send(txn.last_response, txn.response_addr)
            return []
        kind = Kind.SERVER_INVITE if request.method == "INVITE" else Kind.SERVER_NON_INVITE
        match = self._server_match(branch, via, request.method)
        txn = _Transaction(kind, transaction_key(branch, request.method), match, request, addr, INITIAL_STATE[kind])
        self._txns[match] = txn
        self.log.debug("%s %s created call-id=%s", kind.value, txn.key, txn.call_id)
        self._enter(txn, now)
        if kind is Kind.SERVER_INVITE and self.auto_trying:
            self.send_response(trying(request), now)
        return [RequestReceived(txn.key, request, addr)]

    def _reject_malformed(self, data: bytes, addr: Addr, exc: SipParseError) -> None:
        """Answer a malformed request statelessly with its status hint when the head still
        holds what a response needs (s8.2.6.1, s21.4.1); never answer an ACK or a response."""
        reply = stateless_error(data, addr, exc)
        if reply is not None:
            self.log.info("answering malformed request from %s with %s: %s", addr, reply[0].status, exc)
            self._send(bytes(reply[0]), reply[1])

    # --- the machine ---------------------------------------------------------------------------

    @staticmethod
    def _server_match(branch: str, via: Via, method: str) -> tuple[str, ...]:
        """s17.2.3: branch, sent-by and method (ACK matching INVITE)."""
        sent_by = f"{via.host.lower()}:{via.port or DEFAULT_PORT}"
        return ("s", branch, sent_by, match_method(method))

    def _step(self, txn: _Transaction, trigger: Trigger, reason: str, now: float) -> bool:
        """Apply ``trigger``; False when the table has no entry (the input is absorbed)."""
        new = TRANSITIONS.get((txn.state, trigger))
        if new is None:
            self.log.debug(
                "%s %s: %s absorbed in %s call-id=%s", txn.kind.value, txn.key, reason, txn.state.value, txn.call_id
            )
            return False
        if new is not txn.state:
            self._move(txn, new, reason)
            if new not in TERMINATED_STATES:
                self._enter(txn, now)
        return True

    def _move(self, txn: _Transaction, new: State, reason: str) -> None:
        self.log.debug(
            "%s %s: %s -> %s (%s) call-id=%s",
            txn.kind.value,
            txn.key,
            txn.state.value,
            new.value,
            reason,
            txn.call_id,
        )
        txn.state = new
        if new in TERMINATED_STATES:
            txn.timers.clear()
            self._txns.pop(txn.match, None)

    def _enter(self, txn: _Transaction, now: float) -> None:
        wanted = STATE_TIMERS[txn.state]
        for timer in list(txn.timers):
            if timer not in wanted:
                del txn.timers[timer]
        for timer in wanted:
            if timer not in txn.timers:
                duration = timer_duration(timer, self.timers)
                txn.intervals[timer] = duration
                self._arm(txn, timer, now + duration)

    def _arm(self, txn: _Transaction, timer: Trigger, deadline: float) -> None:
        txn.timers[timer] = deadline
        heapq.heappush(self._heap, (deadline, next(self._seq), txn.match, timer))

    def _heap_top_live(self) -> bool:
        deadline, _, match, timer = self._heap[0]
        txn = self._txns.get(match)
        return txn is not None and txn.timers.get(timer) == deadline

    def _fire(self, txn: _Transaction, timer: Trigger, now: float) -> list[Event]:
        del txn.timers[timer]
        if not self._step(txn, timer, f"{timer.value} fired", now):
            return []
        if timer in (_T.TIMER_B, _T.TIMER_F, _T.TIMER_H):
            return [TransactionTimeout(txn.key, txn.method)]
        interval = txn.intervals[timer]
        if timer is _T.TIMER_A:  # s17.1.1.2: double each time, no cap
            self._send(txn.request_bytes, txn.addr)
            self._rearm(txn, timer, 2 * interval, now)
        elif timer is _T.TIMER_E:  # s17.1.2.2: double up to T2; every T2 once Proceeding
            self._send(txn.request_bytes, txn.addr)
            nxt = self.timers.t2 if txn.state is _CN.PROCEEDING else min(2 * interval, self.timers.t2)
            self._rearm(txn, timer, nxt, now)
        elif timer is _T.TIMER_G and txn.last_response is not None and txn.response_addr is not None:
            self._send(txn.last_response, txn.response_addr)  # s17.2.1: double up to T2
            self._rearm(txn, timer, min(2 * interval, self.timers.t2), now)
        return []

    def _rearm(self, txn: _Transaction, timer: Trigger, interval: float, now: float) -> None:
        txn.intervals[timer] = interval
        self._arm(txn, timer, now + interval)

    def _send(self, data: bytes, addr: Addr) -> None:
        self._outgoing.append(Outgoing(data, addr))
