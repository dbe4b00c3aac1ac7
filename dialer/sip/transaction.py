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

import enum
import heapq
import itertools
import logging
import secrets
from dataclasses import dataclass, field

from dialer.errors import SipParseError
from dialer.sip.headers import Via, canonical_name, split_commas
from dialer.sip.message import Headers, Message, Request, Response, parse_message, reason_phrase
from dialer.sip.timers import TimerConfig

BRANCH_MAGIC = "z9hG4bK"  # RFC 3261 s8.1.1.7
DEFAULT_PORT = 5060  # RFC 3261 s18.2.2 / s19.1.2

Addr = tuple[str, int]


# --- what goes out and what the TU is told ---------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """One datagram to send."""

    data: bytes
    addr: Addr


@dataclass(frozen=True)
class ResponseReceived:
    """A 1xx or final response for a client transaction. In the client INVITE Accepted state
    (RFC 6026 s8.4) every 2xx retransmission is delivered too, so the TU can re-send its ACK."""

    key: str
    response: Response


@dataclass(frozen=True)
class TransactionTimeout:
    """Timer B or F fired (no final response, s17.1.1.2 / s17.1.2.2), or Timer H fired on a
    server INVITE transaction (no ACK for our non-2xx final, s17.2.1)."""

    key: str
    method: str


@dataclass(frozen=True)
class RequestReceived:
    """A new request (a new server transaction), or an ACK: the ACK for a 2xx is its own
    transaction (s17.1.1.3). ``request`` carries ``received``/``rport`` in its top Via."""

    key: str
    request: Request
    addr: Addr


@dataclass(frozen=True)
class StrayResponse:
    """A response that matches no client transaction (s18.1.2), e.g. a 2xx retransmitted
    after Timer M: the TU may re-ACK it."""

    response: Response
    addr: Addr


@dataclass(frozen=True)
class MessageDropped:
    """A datagram that was malformed or could not be used; ``reason`` says why."""

    reason: str
    addr: Addr


Event = ResponseReceived | TransactionTimeout | RequestReceived | StrayResponse | MessageDropped


# --- the state machines, as data ---------------------------------------------------------------


class Kind(enum.Enum):
    CLIENT_INVITE = "client INVITE"
    CLIENT_NON_INVITE = "client non-INVITE"
    SERVER_INVITE = "server INVITE"
    SERVER_NON_INVITE = "server non-INVITE"


class ClientInviteState(enum.Enum):
    """RFC 3261 Figure 5 as amended by RFC 6026 Figure 5."""

    CALLING = "Calling"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    ACCEPTED = "Accepted"
    TERMINATED = "Terminated"


class ClientNonInviteState(enum.Enum):
    """RFC 3261 Figure 6."""

    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    TERMINATED = "Terminated"


class ServerInviteState(enum.Enum):
    """RFC 3261 Figure 7 as amended by RFC 6026 Figure 7."""

    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    CONFIRMED = "Confirmed"
    ACCEPTED = "Accepted"
    TERMINATED = "Terminated"


class ServerNonInviteState(enum.Enum):
    """RFC 3261 Figure 8."""

    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    TERMINATED = "Terminated"


State = ClientInviteState | ClientNonInviteState | ServerInviteState | ServerNonInviteState


class Trigger(enum.Enum):
    """What moves a transaction: a message received or sent, or a named timer firing."""

    RECV_1XX = "1xx received"
    RECV_2XX = "2xx received"
    RECV_FINAL = "300-699 received"  # non-INVITE clients also use it for 2xx
    SEND_1XX = "1xx sent"
    SEND_2XX = "2xx sent"
    SEND_FINAL = "300-699 sent"  # non-INVITE servers also use it for 2xx
    REQUEST_AGAIN = "request retransmission received"
    ACK = "ACK received"
    TIMER_A = "Timer A"
    TIMER_B = "Timer B"
    TIMER_D = "Timer D"
    TIMER_E = "Timer E"
    TIMER_F = "Timer F"
    TIMER_G = "Timer G"
    TIMER_H = "Timer H"
    TIMER_I = "Timer I"
    TIMER_J = "Timer J"
    TIMER_K = "Timer K"
    TIMER_L = "Timer L"
    TIMER_M = "Timer M"


_CI, _CN, _SI, _SN, _T = ClientInviteState, ClientNonInviteState, ServerInviteState, ServerNonInviteState, Trigger

# (state, trigger) -> next state. A pair missing here means the input is absorbed (ignored).
TRANSITIONS: dict[tuple[State, Trigger], State] = {
    # Client INVITE, s17.1.1.2 + RFC 6026 s8.4.
    (_CI.CALLING, _T.TIMER_A): _CI.CALLING,
    (_CI.CALLING, _T.TIMER_B): _CI.TERMINATED,
    (_CI.CALLING, _T.RECV_1XX): _CI.PROCEEDING,
    (_CI.CALLING, _T.RECV_2XX): _CI.ACCEPTED,
    (_CI.CALLING, _T.RECV_FINAL): _CI.COMPLETED,
    (_CI.PROCEEDING, _T.RECV_1XX): _CI.PROCEEDING,
    (_CI.PROCEEDING, _T.RECV_2XX): _CI.ACCEPTED,
    (_CI.PROCEEDING, _T.RECV_FINAL): _CI.COMPLETED,
    (_CI.COMPLETED, _T.RECV_FINAL): _CI.COMPLETED,  # re-send the ACK
    (_CI.COMPLETED, _T.TIMER_D): _CI.TERMINATED,
    (_CI.ACCEPTED, _T.RECV_2XX): _CI.ACCEPTED,  # delivered to the TU, which re-ACKs
    (_CI.ACCEPTED, _T.TIMER_M): _CI.TERMINATED,
    # Client non-INVITE, s17.1.2.2.
    (_CN.TRYING, _T.TIMER_E): _CN.TRYING,
    (_CN.TRYING, _T.TIMER_F): _CN.TERMINATED,
    (_CN.TRYING, _T.RECV_1XX): _CN.PROCEEDING,
    (_CN.TRYING, _T.RECV_FINAL): _CN.COMPLETED,
    (_CN.PROCEEDING, _T.TIMER_E): _CN.PROCEEDING,
    (_CN.PROCEEDING, _T.TIMER_F): _CN.TERMINATED,
    (_CN.PROCEEDING, _T.RECV_1XX): _CN.PROCEEDING,
    (_CN.PROCEEDING, _T.RECV_FINAL): _CN.COMPLETED,
    (_CN.COMPLETED, _T.TIMER_K): _CN.TERMINATED,
    # Server INVITE, s17.2.1 + RFC 6026 s8.5-8.7.
    (_SI.PROCEEDING, _T.REQUEST_AGAIN): _SI.PROCEEDING,  # re-send the last provisional
    (_SI.PROCEEDING, _T.SEND_1XX): _SI.PROCEEDING,
    (_SI.PROCEEDING, _T.SEND_2XX): _SI.ACCEPTED,
    (_SI.PROCEEDING, _T.SEND_FINAL): _SI.COMPLETED,
    (_SI.COMPLETED, _T.REQUEST_AGAIN): _SI.COMPLETED,  # re-send the final
    (_SI.COMPLETED, _T.TIMER_G): _SI.COMPLETED,
    (_SI.COMPLETED, _T.TIMER_H): _SI.TERMINATED,
    (_SI.COMPLETED, _T.ACK): _SI.CONFIRMED,
    (_SI.CONFIRMED, _T.TIMER_I): _SI.TERMINATED,
    (_SI.ACCEPTED, _T.SEND_2XX): _SI.ACCEPTED,  # the TU's 2xx retransmissions pass through
    (_SI.ACCEPTED, _T.ACK): _SI.ACCEPTED,  # passed to the TU (RFC 6026 s8.7)
    (_SI.ACCEPTED, _T.TIMER_L): _SI.TERMINATED,
    # Server non-INVITE, s17.2.2.
    (_SN.TRYING, _T.SEND_1XX): _SN.PROCEEDING,
    (_SN.TRYING, _T.SEND_FINAL): _SN.COMPLETED,
    (_SN.PROCEEDING, _T.SEND_1XX): _SN.PROCEEDING,
    (_SN.PROCEEDING, _T.REQUEST_AGAIN): _SN.PROCEEDING,  # re-send the last provisional
    (_SN.PROCEEDING, _T.SEND_FINAL): _SN.COMPLETED,
    (_SN.COMPLETED, _T.REQUEST_AGAIN): _SN.COMPLETED,  # re-send the final
    (_SN.COMPLETED, _T.TIMER_J): _SN.TERMINATED,
}

# Timers that run in each state; entering a state starts those not yet running and cancels
# all others (so Timer E keeps running from Trying into Proceeding, s17.1.2.2).
STATE_TIMERS: dict[State, frozenset[Trigger]] = {
    _CI.CALLING: frozenset({_T.TIMER_A, _T.TIMER_B}),
    _CI.PROCEEDING: frozenset(),
    _CI.COMPLETED: frozenset({_T.TIMER_D}),
    _CI.ACCEPTED: frozenset({_T.TIMER_M}),
    _CI.TERMINATED: frozenset(),
    _CN.TRYING: frozenset({_T.TIMER_E, _T.TIMER_F}),
    _CN.PROCEEDING: frozenset({_T.TIMER_E, _T.TIMER_F}),
    _CN.COMPLETED: frozenset({_T.TIMER_K}),
    _CN.TERMINATED: frozenset(),
    _SI.PROCEEDING: frozenset(),
    _SI.COMPLETED: frozenset({_T.TIMER_G, _T.TIMER_H}),
    _SI.CONFIRMED: frozenset({_T.TIMER_I}),
    _SI.ACCEPTED: frozenset({_T.TIMER_L}),
    _SI.TERMINATED: frozenset(),
    _SN.TRYING: frozenset(),
    _SN.PROCEEDING: frozenset(),
    _SN.COMPLETED: frozenset({_T.TIMER_J}),
    _SN.TERMINATED: frozenset(),
}

INITIAL_STATE: dict[Kind, State] = {
    Kind.CLIENT_INVITE: _CI.CALLING,
    Kind.CLIENT_NON_INVITE: _CN.TRYING,
    Kind.SERVER_INVITE: _SI.PROCEEDING,
    Kind.SERVER_NON_INVITE: _SN.TRYING,
}

TERMINAL_STATE: dict[Kind, State] = {
    Kind.CLIENT_INVITE: _CI.TERMINATED,
    Kind.CLIENT_NON_INVITE: _CN.TERMINATED,
    Kind.SERVER_INVITE: _SI.TERMINATED,
    Kind.SERVER_NON_INVITE: _SN.TERMINATED,
}
_TERMINATED = frozenset(TERMINAL_STATE.values())


def _timer_duration(timer: Trigger, timers: TimerConfig) -> float:
    return {
        _T.TIMER_A: timers.timer_a,
        _T.TIMER_B: timers.timer_b,
        _T.TIMER_D: timers.timer_d,
        _T.TIMER_E: timers.timer_e,
        _T.TIMER_F: timers.timer_f,
        _T.TIMER_G: timers.timer_g,
        _T.TIMER_H: timers.timer_h,
        _T.TIMER_I: timers.timer_i,
        _T.TIMER_J: timers.timer_j,
        _T.TIMER_K: timers.timer_k,
        _T.TIMER_L: timers.timer_l,
        _T.TIMER_M: timers.timer_m,
    }[timer]


# --- helpers other layers use too --------------------------------------------------------------


def response_destination(via: Via) -> Addr:
    """Where a response goes (RFC 3261 s18.2.2, RFC 3581 s4): ``maddr`` if present, else
    ``received`` or the sent-by host; the ``rport`` value or the sent-by port or 5060."""
    host = via.param("maddr") or via.param("received") or via.host
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    rport = via.param("rport")
    if rport and rport.isdigit() and 0 < int(rport) < 65536:
        return host, int(rport)
    return host, via.port or DEFAULT_PORT


def build_ack_for_failure(invite: Request, response: Response) -> Request:
    """The ACK a client INVITE transaction sends for a 300-699 response (s17.1.1.3).

    Same Request-URI, Call-ID, From and CSeq number as the INVITE (method ACK), the To of
    the response (with its tag), one Via equal to the INVITE's top Via (same branch), the
    INVITE's Route headers, Max-Forwards 70.
    """
    h = invite.headers
    fields: list[tuple[str, str]] = [("Via", h.get_all("Via")[0]), ("Max-Forwards", "70")]
    fields.extend(("Route", r) for r in h.get_all("Route"))
    fields.extend(
        [
            ("From", invite._required("From")),
            ("To", response._required("To")),
            ("Call-ID", invite.call_id),
            ("CSeq", f"{invite.cseq.seq} ACK"),
        ]
    )
    return Request(method="ACK", uri=invite.uri, headers=Headers(tuple(fields)))


def replace_top_via(headers: Headers, via: Via) -> Headers:
    """``headers`` with the first Via value replaced, even inside a comma-joined Via line."""
    out: list[tuple[str, str]] = []
    done = False
    for name, value in headers:
        if not done and canonical_name(name).lower() == "via":
            parts = split_commas(value)
            parts[0] = str(via)
            value = ", ".join(parts)
            done = True
        out.append((name, value))
    return Headers(tuple(out))


def _mark_received(request: Request, addr: Addr) -> Request:
    """Add ``received`` (s18.2.1) and fill an empty ``rport`` (RFC 3581 s4) in the top Via."""
    via = request.top_via
    rport = via.param("rport")
    if rport == "":
        via = via.with_param("received", addr[0]).with_param("rport", str(addr[1]))
    elif via.host.strip("[]") != addr[0]:
        via = via.with_param("received", addr[0])
    else:
        return request
    return request.with_headers(replace_top_via(request.headers, via))


def _branch_of(message: Message) -> str:
    """The branch identifying the transaction; RFC 2543 peers without the magic cookie get a
    key built from the fields s17.2.3 compares instead."""
    branch = message.top_via.branch
    if branch and branch.startswith(BRANCH_MAGIC):
        return branch
    return f"rfc2543:{message.call_id}:{message.cseq.seq}:{message.from_.tag or ''}"


def _key(branch: str, method: str) -> str:
    return f"{branch}:CANCEL" if method == "CANCEL" else branch


def _match_method(method: str) -> str:
    """s17.1.3 / s17.2.3: an ACK matches the INVITE transaction."""
    return "INVITE" if method == "ACK" else method


# --- one transaction ----------------------------------------------------------------------------


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
        key = _key(branch, request.method)
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
        txn = self._txns.get(self._server_match(_branch_of(response), via, method))
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
        txn = self._txns.get(("c", _key(branch, method)))
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
        request = _mark_received(request, addr)
        via = request.top_via
        branch = _branch_of(request)
        txn = self._txns.get(self._server_match(branch, via, request.method))
        if request.method == "ACK":
            if txn is None or txn.kind is not Kind.SERVER_INVITE:
                # The ACK for a 2xx is a transaction of its own (s17.1.1.3, s17.2.3).
                return [RequestReceived(_key(branch, "ACK"), request, addr)]
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
        txn = _Transaction(kind, _key(branch, request.method), match, request, addr, INITIAL_STATE[kind])
        self._txns[match] = txn
        self.log.debug("%s %s created call-id=%s", kind.value, txn.key, txn.call_id)
        self._enter(txn, now)
        if kind is Kind.SERVER_INVITE and self.auto_trying:
            self.send_response(_trying(request), now)
        return [RequestReceived(txn.key, request, addr)]

    def _reject_malformed(self, data: bytes, addr: Addr, exc: SipParseError) -> None:
        """Answer a malformed request statelessly with its status hint when the head still
        holds what a response needs (s8.2.6.1, s21.4.1); never answer an ACK or a response."""
        reply = _stateless_error(data, addr, exc)
        if reply is not None:
            self.log.info("answering malformed request from %s with %s: %s", addr, reply[0].status, exc)
            self._send(bytes(reply[0]), reply[1])

    # --- the machine ---------------------------------------------------------------------------

    @staticmethod
    def _server_match(branch: str, via: Via, method: str) -> tuple[str, ...]:
        """s17.2.3: branch, sent-by and method (ACK matching INVITE)."""
        sent_by = f"{via.host.lower()}:{via.port or DEFAULT_PORT}"
        return ("s", branch, sent_by, _match_method(method))

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
            if new not in _TERMINATED:
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
        if new in _TERMINATED:
            txn.timers.clear()
            self._txns.pop(txn.match, None)

    def _enter(self, txn: _Transaction, now: float) -> None:
        wanted = STATE_TIMERS[txn.state]
        for timer in list(txn.timers):
            if timer not in wanted:
                del txn.timers[timer]
        for timer in wanted:
            if timer not in txn.timers:
                duration = _timer_duration(timer, self.timers)
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


def _trying(request: Request) -> Response:
    """100 Trying (s8.2.6.1): Via, From, To, Call-ID, CSeq and Timestamp copied, no To tag."""
    names = ("Via", "From", "To", "Call-ID", "CSeq", "Timestamp")
    fields = [(n, v) for n, v in request.headers if canonical_name(n) in names]
    return Response(status=100, reason="Trying", headers=Headers(tuple(fields)))


def _stateless_error(data: bytes, addr: Addr, exc: SipParseError) -> tuple[Response, Addr] | None:
    """Build the error response for a malformed request from whatever header lines are
    readable, or None when a response is impossible (no usable Via, Call-ID, From, To, CSeq)."""
    head = data.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0].decode("utf-8", "replace")
    lines = head.replace("\r\n", "\n").split("\n")
    start = lines[0].strip() if lines else ""
    if not start or start.startswith("SIP/") or start.split(" ", 1)[0].upper() == "ACK":
        return None
    found: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            found.setdefault(canonical_name(name.strip()), []).append(value.strip())
    needed = ("Via", "From", "To", "Call-ID", "CSeq")
    if any(len(found.get(n, [])) == 0 for n in needed):
        return None
    cseq = found["CSeq"][0].split()
    if len(cseq) != 2 or cseq[1].upper() == "ACK":
        return None
    try:
        vias = [part for value in found["Via"] for part in split_commas(value)]
        via = Via.parse(vias[0])
    except SipParseError:
        return None
    if via.param("rport") == "":
        via = via.with_param("received", addr[0]).with_param("rport", str(addr[1]))
    elif via.host.strip("[]") != addr[0]:
        via = via.with_param("received", addr[0])
    to = found["To"][0]
    if ";tag=" not in to.replace(" ", "").lower():
        to = f"{to};tag={secrets.token_hex(6)}"  # s8.2.6.2
    fields = [("Via", str(via)), *(("Via", v) for v in vias[1:])]
    fields += [("From", found["From"][0]), ("To", to), ("Call-ID", found["Call-ID"][0])]
    fields.append(("CSeq", found["CSeq"][0]))
    status = exc.status_hint
    reply = Response(status=status, reason=reason_phrase(status), headers=Headers(tuple(fields)))
    try:
        # What we echo must itself be sendable; a response we can't serialize is not sent.
        parse_message(bytes(reply))
    except ValueError:
        return None
    return reply, response_destination(via)
