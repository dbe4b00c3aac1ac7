"""Simulated phones: a SIP user agent server (RFC 3261 s8.2, s12.1.1, s13.3, s15) that picks
up, rings, refuses or hangs up by the dialed number, for the demo and for tests.

Two layers, like the outbound side:

* :class:`SimulatedPhones` is sans-I/O. Datagrams and the current time go in
  (:meth:`~SimulatedPhones.receive`, :meth:`~SimulatedPhones.handle_timer`); datagrams to send,
  :data:`SimEvent` values and the next deadline come out. The number is the user part of the
  Request-URI; its :class:`Behaviour` says what the phone does. The transaction layer below
  (:class:`dialer.sip.transaction.TransactionLayer`) sends 100 Trying and retransmits non-2xx
  finals; this layer retransmits the 2xx until the ACK comes (s13.3.1.4), which RFC 3261 gives
  to the transaction user, and owns each call's state (:data:`PHONE_TRANSITIONS`).
* :class:`PhoneSimulator` runs it on asyncio: one SIP UDP socket and RTP through
  :class:`dialer.media.MediaEngine` and :class:`dialer.rtp.session.RtpSession`.

A configuration (YAML, :meth:`SimulatorConfig.load`)::

    numbers:
      "0912345678": {action: answer, press: "12", ring_seconds: 1, hangup_after: 4}
      "0911111111": {action: busy}
      "0922222222": {action: reject, status: 503}
    default: {action: no_answer}

Errors: a bad configuration raises :class:`dialer.errors.ConfigError`; nothing from the
network raises (malformed or unusable requests are answered or dropped).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import math
import secrets
import socket
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import yaml
from numpy.typing import NDArray

from dialer.codecs.base import codec_by_name
from dialer.errors import ConfigError, SipParseError, TransportError
from dialer.media import MediaEngine, MediaStream
from dialer.rtp.audio import load_wav
from dialer.rtp.dtmf import DTMF_EVENTS
from dialer.rtp.session import RtpSession
from dialer.sdp import NegotiatedMedia, SdpError, SessionDescription, build_answer, negotiate_answer
from dialer.sip.builder import build_response, local_via, new_tag
from dialer.sip.dialog import Dialog, DialogState
from dialer.sip.headers import NameAddr
from dialer.sip.message import Request, Response
from dialer.sip.timers import TimerConfig
from dialer.sip.transaction import (
    Addr,
    MessageDropped,
    Outgoing,
    RequestReceived,
    ResponseReceived,
    TransactionLayer,
    TransactionTimeout,
)
from dialer.sip.uri import SipUri

log = logging.getLogger("dialer.simphone")

SDP = "application/sdp"
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO"
NO_ANSWER_LIMIT = 120.0
"""Seconds a ``no_answer`` phone rings for a caller that never cancels before it answers 480
Temporarily Unavailable (RFC 3261 s21.4.18), as a network's no-answer timer would."""
WARN_AGENT = "simphone"  # s20.43 warn-agent of our Warning headers


# --- what a number does ---------------------------------------------------------------------------


class Action(enum.StrEnum):
    ANSWER = "answer"  # ring, 200 OK, RTP (prompt, digits), hang up or wait for BYE
    SILENT = "silent"  # like answer, but never send RTP
    BUSY = "busy"  # 486 Busy Here
    DECLINE = "decline"  # 603 Decline
    NO_ANSWER = "no_answer"  # 180 until CANCEL (487), or 480 after NO_ANSWER_LIMIT
    REJECT = "reject"  # the final response in ``status``


_FIXED_STATUS = {Action.BUSY: 486, Action.DECLINE: 603}


@dataclass(frozen=True)
class Behaviour:
    """What one simulated phone does with a call.

    The phone rings for ``ring_seconds`` (180 Ringing at once when above 0), then sends its
    final response; ``no_answer`` rings until cancelled. An answering phone plays ``prompt``
    (a WAV file), presses ``press`` (RFC 4733 events) from ``digits_after`` seconds after the
    answer, one key every ``digit_interval`` seconds, and sends BYE ``hangup_after`` seconds
    after the answer, or waits for the caller's BYE when that is None.
    """

    action: Action = Action.ANSWER
    ring_seconds: float = 1.0
    press: str = ""
    digits_after: float = 1.0
    digit_interval: float = 0.3
    hangup_after: float | None = None
    prompt: Path | None = None
    status: int | None = None

    def __post_init__(self) -> None:
        for name in ("ring_seconds", "digits_after", "digit_interval", "hangup_after"):
            value = getattr(self, name)
            if value is not None and (not math.isfinite(value) or value < 0):
                raise ConfigError(f"{name} must be a number of seconds >= 0, got {value!r}")
        if self.digit_interval <= 0:
            raise ConfigError("digit_interval must be above 0 seconds")
        bad = [c for c in self.press.upper() if c not in DTMF_EVENTS]
        if bad:
            raise ConfigError(f"press {self.press!r}: {bad[0]!r} is not a key (use {DTMF_EVENTS})")
        if self.press and self.action is not Action.ANSWER:
            raise ConfigError(f"press needs action 'answer' (a {self.action} phone sends no RTP)")
        if self.action is Action.REJECT:
            if self.status is None or not 300 <= self.status <= 699:
                raise ConfigError(f"action 'reject' needs a status between 300 and 699, got {self.status!r}")
        elif self.status is not None:
            raise ConfigError(f"status is only for action 'reject', not {self.action!r}")

    @property
    def answers(self) -> bool:
        return self.action in (Action.ANSWER, Action.SILENT)

    @property
    def final_status(self) -> int | None:
        """The non-2xx final response this phone sends, or None when it answers or rings on."""
        return _FIXED_STATUS.get(self.action, self.status)

    def describe(self) -> str:
        """A short description for tables: ``answer, press 12, BYE after 4 s``."""
        parts = [str(self.action) if self.action is not Action.REJECT else f"reject {self.status}"]
        if self.press:
            parts.append(f"press {self.press}")
        if self.answers and self.hangup_after is not None:
            parts.append(f"BYE after {self.hangup_after:g} s")
        return ", ".join(parts)

    @classmethod
    def from_mapping(cls, data: object, base_dir: Path | None = None) -> "Behaviour":
        """A behaviour from a config mapping; a relative ``prompt`` is read from ``base_dir``."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"a behaviour must be a mapping, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(str(k) for k in data if k not in known)
        if unknown:
            raise ConfigError(f"unknown behaviour key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        values: dict[str, object] = {}
        for key, value in data.items():
            if key == "action":
                try:
                    values[key] = Action(str(value))
                except ValueError:
                    choices = ", ".join(a.value for a in Action)
                    raise ConfigError(f"unknown action {value!r} (known: {choices})") from None
            elif key == "press":
                values[key] = str(value)
            elif key == "prompt":
                path = Path(str(value))
                values[key] = path if path.is_absolute() or base_dir is None else base_dir / path
            elif key == "status":
                values[key] = _integer(key, value)
            elif value is not None or key == "hangup_after":
                values[key] = _seconds(key, value)
        return cls(**values)  # type: ignore[arg-type]


def _integer(key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key} must be an integer, got {value!r}")
    return value


def _seconds(key: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{key} must be a number of seconds, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class SimulatorConfig:
    """Behaviours by number (the Request-URI user), and one for every other number (or None:
    404 Not Found)."""

    numbers: Mapping[str, Behaviour] = field(default_factory=dict)
    default: Behaviour | None = None

    def behaviour_for(self, number: str | None) -> Behaviour | None:
        if number is not None and number in self.numbers:
            return self.numbers[number]
        return self.default

    @classmethod
    def from_mapping(cls, data: object, base_dir: Path | None = None) -> "SimulatorConfig":
        if not isinstance(data, Mapping):
            raise ConfigError("the simulator config must be a mapping with 'numbers' and/or 'default'")
        unknown = sorted(str(k) for k in data if k not in ("numbers", "default"))
        if unknown:
            raise ConfigError(f"unknown config key(s) {', '.join(unknown)} (known: numbers, default)")
        raw_numbers = data.get("numbers") or {}
        if not isinstance(raw_numbers, Mapping):
            raise ConfigError("'numbers' must map phone numbers to behaviours")
        numbers: dict[str, Behaviour] = {}
        for number, behaviour in raw_numbers.items():
            if not isinstance(number, str):
                # YAML reads 0123 as the octal integer 83: only a quoted number is safe.
                raise ConfigError(f"phone number {number!r} must be a quoted string, e.g. \"0912345678\"")
            try:
                numbers[number] = Behaviour.from_mapping(behaviour, base_dir)
            except ConfigError as exc:
                raise ConfigError(f"number {number}: {exc}") from exc
        raw_default = data.get("default")
        try:
            default = None if raw_default is None else Behaviour.from_mapping(raw_default, base_dir)
        except ConfigError as exc:
            raise ConfigError(f"default: {exc}") from exc
        return cls(numbers=numbers, default=default)

    @classmethod
    def load(cls, path: Path) -> "SimulatorConfig":
        """Read a YAML config file (blocking: async callers run it in a thread)."""
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read the simulator config {path}: {exc.strerror}") from exc
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
        return cls.from_mapping(data, base_dir=path.parent)


# --- events out of the core -----------------------------------------------------------------------


class SimEndReason(enum.StrEnum):
    CALLER_BYE = "caller_bye"  # the caller hung up (BYE received)
    PHONE_BYE = "phone_bye"  # our BYE after hangup_after
    CANCELLED = "cancelled"  # CANCEL, or BYE in the early dialog (s15.1.2): 487 sent
    REFUSED = "refused"  # a non-2xx final response was the behaviour (486, 603, reject...)
    UNSUPPORTED = "unsupported"  # the INVITE could not be accepted (488, 415, 420, 400)
    RING_LIMIT = "ring_limit"  # no_answer rang NO_ANSWER_LIMIT seconds: 480
    NO_ACK = "no_ack"  # no ACK for our 2xx within 64*T1: BYE sent (s13.3.1.4)
    MEDIA_FAILED = "media_failed"  # no RTP socket could be opened: 500
    SHUTDOWN = "shutdown"  # the simulator stopped


@dataclass(frozen=True)
class IncomingCall:
    """A new INVITE for a known number. With ``needs_media`` the runner opens an RTP socket
    and calls :meth:`SimulatedPhones.media_ready` with its port (the answer waits for it)."""

    call_id: str
    number: str
    behaviour: Behaviour
    caller: str
    needs_media: bool


@dataclass(frozen=True)
class CallAnswered:
    """200 OK sent. ``media`` is our side of the negotiated stream (where to send, which
    payload types); ``send_audio`` is False for a ``silent`` phone."""

    call_id: str
    number: str
    media: NegotiatedMedia
    send_audio: bool
    prompt: Path | None


@dataclass(frozen=True)
class PressDigit:
    """Time to press ``digit`` (send it as an RFC 4733 event)."""

    call_id: str
    digit: str


@dataclass(frozen=True)
class ByeSent:
    """We hung up: BYE sent (s15.1.1); :class:`CallEnded` follows with its response."""

    call_id: str
    number: str
    reason: SimEndReason


@dataclass(frozen=True)
class CallEnded:
    call_id: str
    number: str
    status: int | None  # the final response we sent for the INVITE
    reason: SimEndReason
    talk_seconds: float


SimEvent = IncomingCall | CallAnswered | PressDigit | ByeSent | CallEnded


# --- one call, as a state machine -----------------------------------------------------------------


class PhoneState(enum.StrEnum):
    RINGING = "ringing"  # INVITE received, final response not sent yet
    ANSWERED = "answered"  # 2xx sent, retransmitted until the ACK (s13.3.1.4)
    CONFIRMED = "confirmed"  # ACK received
    HANGING_UP = "hanging_up"  # our BYE sent (s15.1.1)
    ENDED = "ended"  # kept 64*T1 so late CANCEL, ACK and requests still match it


PHONE_TRANSITIONS: dict[PhoneState, frozenset[PhoneState]] = {
    PhoneState.RINGING: frozenset({PhoneState.ANSWERED, PhoneState.ENDED}),
    PhoneState.ANSWERED: frozenset({PhoneState.CONFIRMED, PhoneState.HANGING_UP, PhoneState.ENDED}),
    PhoneState.CONFIRMED: frozenset({PhoneState.HANGING_UP, PhoneState.ENDED}),
    PhoneState.HANGING_UP: frozenset({PhoneState.ENDED}),
    PhoneState.ENDED: frozenset(),
}


class _Refused(Exception):
    """An INVITE we cannot accept: the status to answer and a Warning text (s20.43)."""

    def __init__(self, status: int, warning: str, extra: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(warning)
        self.status, self.warning, self.extra = status, warning, extra


@dataclass(eq=False)
class SimCall:
    """What the phone knows about one incoming call."""

    call_id: str
    number: str
    behaviour: Behaviour
    invite: Request
    invite_key: str
    to_tag: str
    contact: NameAddr
    remote: Addr
    offer: SessionDescription | None
    state: PhoneState = PhoneState.RINGING
    answer_due: float | None = None
    ring_limit_at: float | None = None
    media_port: int | None = None
    dialog: Dialog | None = None
    ok: Response | None = None
    ok_next: float | None = None
    ok_interval: float = 0.0
    ok_give_up: float | None = None
    answered_at: float | None = None
    digits: deque[tuple[float, str]] = field(default_factory=deque)
    hangup_at: float | None = None
    final_status: int | None = None
    end_reason: SimEndReason | None = None
    ended_at: float | None = None
    forget_at: float | None = None

    def move(self, new: PhoneState, why: str) -> None:
        if new not in PHONE_TRANSITIONS[self.state]:
            raise RuntimeError(f"call {self.call_id}: no transition {self.state} -> {new} ({why})")
        log.info("phone %s call %s: %s -> %s (%s)", self.number, self.call_id, self.state, new, why)
        self.state = new

    def deadlines(self) -> list[float]:
        due = [self.ok_next, self.ok_give_up, self.forget_at]
        if self.state is PhoneState.CONFIRMED:
            due.append(self.hangup_at)  # before the ACK our BYE waits (s15)
        if self.state is PhoneState.RINGING:
            due += [self.ring_limit_at, self.answer_due if self.media_port or not self.behaviour.answers else None]
        if self.digits:
            due.append(self.digits[0][0])
        return [d for d in due if d is not None]


# --- the sans-I/O core ----------------------------------------------------------------------------


class SimulatedPhones:
    """Every simulated phone behind one SIP address, without I/O."""

    def __init__(
        self,
        config: SimulatorConfig,
        *,
        local_host: str,
        local_port: int,
        timers: TimerConfig = TimerConfig(),
        no_answer_limit: float = NO_ANSWER_LIMIT,
        user_agent: str = "callbot-simphone/0.1",
    ) -> None:
        self.config = config
        self.local_host, self.local_port = local_host, local_port
        self.timers = timers
        self.no_answer_limit = no_answer_limit
        self.user_agent = user_agent
        self.transactions = TransactionLayer(timers, logging.getLogger("dialer.simphone.transaction"))
        self.calls: dict[str, SimCall] = {}
        self._by_invite_key: dict[str, str] = {}
        self._by_bye_key: dict[str, str] = {}
        self._events: list[SimEvent] = []

    # --- public API ---------------------------------------------------------------------------

    def receive(self, data: bytes, addr: Addr, now: float) -> list[SimEvent]:
        for event in self.transactions.receive(data, addr, now):
            self._dispatch(event, now)
        return self._drain()

    def handle_timer(self, now: float) -> list[SimEvent]:
        for event in self.transactions.handle_timer(now):
            self._dispatch(event, now)
        for call in list(self.calls.values()):
            self._drive(call, now)
        return self._drain()

    def next_deadline(self) -> float | None:
        deadlines = [d for call in self.calls.values() for d in call.deadlines()]
        txn = self.transactions.next_deadline()
        if txn is not None:
            deadlines.append(txn)
        return min(deadlines) if deadlines else None

    def datagrams_to_send(self) -> list[Outgoing]:
        return self.transactions.datagrams_to_send()

    def media_ready(self, call_id: str, port: int, now: float) -> list[SimEvent]:
        """The RTP socket of an answering call is bound on ``port``: answer when the ring
        time is over (at once if it already is)."""
        call = self.calls.get(call_id)
        if call is not None and call.state is PhoneState.RINGING:
            call.media_port = port
            self._drive(call, now)
        return self._drain()

    def media_failed(self, call_id: str, now: float, why: str) -> list[SimEvent]:
        """No RTP socket for this call: refuse it with 500 Server Internal Error."""
        call = self.calls.get(call_id)
        if call is not None and call.state is PhoneState.RINGING:
            self._final(call, 500, SimEndReason.MEDIA_FAILED, now, warning=why)
        return self._drain()

    def shutdown(self, now: float) -> list[SimEvent]:
        """End every call: 480 to those still ringing, BYE to confirmed ones (s15)."""
        for call in list(self.calls.values()):
            if call.state is PhoneState.RINGING:
                self._final(call, 480, SimEndReason.SHUTDOWN, now)
            elif call.state is PhoneState.CONFIRMED:
                self._send_bye(call, now, SimEndReason.SHUTDOWN)
            elif call.state is PhoneState.ANSWERED:
                # s15: no BYE before the ACK; the caller's own timers end its side.
                self._end(call, now, SimEndReason.SHUTDOWN)
        return self._drain()

    # --- dispatch ------------------------------------------------------------------------------

    def _drain(self) -> list[SimEvent]:
        events, self._events = self._events, []
        return events

    def _dispatch(self, event: object, now: float) -> None:
        if isinstance(event, RequestReceived):
            try:
                self._on_request(event.request, event.key, event.addr, now)
            except SipParseError as exc:  # a header we needed beyond the mandatory ones
                log.info("unusable %s from %s: %s", event.request.method, event.addr, exc)
                if event.request.method != "ACK":
                    self._respond(event.request, exc.status_hint, now, warning=str(exc))
        elif isinstance(event, ResponseReceived):
            call_id = self._by_bye_key.get(event.key)
            call = self.calls.get(call_id) if call_id else None
            if call is not None and event.response.status >= 200:
                self._end(call, now, call.end_reason or SimEndReason.PHONE_BYE)
        elif isinstance(event, TransactionTimeout):
            call_id = self._by_bye_key.get(event.key)
            call = self.calls.get(call_id) if call_id else None
            if call is not None:
                log.info("call %s: no response to our BYE (Timer F)", call.call_id)
                self._end(call, now, call.end_reason or SimEndReason.PHONE_BYE)
        elif isinstance(event, MessageDropped):
            log.info("dropped a datagram from %s: %s", event.addr, event.reason)

    def _on_request(self, request: Request, key: str, addr: Addr, now: float) -> None:
        method = request.method
        if method == "ACK":
            self._on_ack(request, now)
        elif method == "CANCEL":
            self._on_cancel(request, key, now)
        elif request.to.tag is not None:
            self._in_dialog(request, now)
        elif method == "INVITE":
            self._on_invite(request, key, addr, now)
        elif method == "OPTIONS":
            self._respond(request, 200, now, extra=(("Allow", ALLOW), ("Accept", SDP)))
        else:
            self._respond(request, 405, now, extra=(("Allow", ALLOW),))

    # --- INVITE --------------------------------------------------------------------------------

    def _on_invite(self, invite: Request, key: str, addr: Addr, now: float) -> None:
        """A new call (s8.2, s13.3.1): check it, then ring, answer or refuse per behaviour."""
        number = invite.uri.user or ""
        try:
            behaviour = self._check_invite(invite, number)
        except _Refused as refused:
            self._respond(invite, refused.status, now, warning=refused.warning, extra=refused.extra)
            return
        to_tag = new_tag()
        contact = NameAddr(uri=SipUri(scheme="sip", user=number or None, host=self.local_host, port=self.local_port))
        call = SimCall(
            call_id=invite.call_id,
            number=number,
            behaviour=behaviour,
            invite=invite,
            invite_key=key,
            to_tag=to_tag,
            contact=contact,
            remote=addr,
            offer=None,
        )
        self.calls[call.call_id] = call
        self._by_invite_key[key] = call.call_id
        log.info("phone %s: INVITE call %s from %s (%s)", number, call.call_id, invite.from_.uri, behaviour.describe())
        if behaviour.answers:
            try:
                call.offer = _read_offer(invite)
            except _Refused as refused:
                self._final(call, refused.status, SimEndReason.UNSUPPORTED, now, refused.warning, refused.extra)
                return
        self._events.append(IncomingCall(call.call_id, number, behaviour, str(invite.from_.uri), behaviour.answers))
        if behaviour.action is Action.NO_ANSWER:
            self._provisional(call, 180, now)
            call.ring_limit_at = now + self.no_answer_limit
            return
        if behaviour.ring_seconds > 0:
            self._provisional(call, 180, now)
        call.answer_due = now + behaviour.ring_seconds
        self._drive(call, now)

    def _check_invite(self, invite: Request, number: str) -> Behaviour:
        uri = invite.uri
        if uri.scheme.lower() != "sip":
            raise _Refused(416, f"only sip: Request-URIs are served, not {uri.scheme}: (s8.2.2.1)")
        earlier = self.calls.get(invite.call_id)
        if earlier is not None and earlier.state is not PhoneState.ENDED:
            # Same Call-ID, no To tag, another branch: a merged request (s8.2.2.2).
            raise _Refused(482, "this INVITE was already received through another path (s8.2.2.2)")
        if earlier is not None:
            self._forget(earlier)
        required = [v.strip() for v in invite.headers.get_all("Require") if v.strip()]
        if required:
            raise _Refused(420, "no extension is supported (s8.2.2.3)", (("Unsupported", ", ".join(required)),))
        if not invite.from_.tag:
            raise _Refused(400, "the From header has no tag (s8.1.1.3)")
        if not invite.contacts or invite.contacts[0].wildcard:
            raise _Refused(400, "an INVITE needs a Contact (s8.1.1.8)")
        behaviour = self.config.behaviour_for(number)
        if behaviour is None:
            raise _Refused(404, f"no simulated phone has the number {number!r}")
        return behaviour

    def _drive(self, call: SimCall, now: float) -> None:
        """Everything due on ``call`` at ``now``: ring limit, answer, 2xx retransmission,
        giving up on the ACK, key presses, our hangup, and forgetting an ended call."""
        if call.state is PhoneState.ENDED:
            if call.forget_at is not None and now >= call.forget_at:
                self._forget(call)
            return
        if call.state is PhoneState.RINGING:
            if call.ring_limit_at is not None and now >= call.ring_limit_at:
                self._final(call, 480, SimEndReason.RING_LIMIT, now)
            elif call.answer_due is not None and now >= call.answer_due:
                status = call.behaviour.final_status
                if status is not None:
                    self._final(call, status, SimEndReason.REFUSED, now)
                elif call.media_port is not None:
                    self._answer(call, now)
            return
        if call.state is PhoneState.ANSWERED:
            if call.ok_give_up is not None and now >= call.ok_give_up:
                log.info("call %s: no ACK for 64*T1, ending it with BYE (s13.3.1.4)", call.call_id)
                self._send_bye(call, now, SimEndReason.NO_ACK)
                return
            if call.ok_next is not None and call.ok is not None and now >= call.ok_next:
                self.transactions.send_response(call.ok, now)  # s13.3.1.4: T1, doubling up to T2
                call.ok_interval = min(2 * call.ok_interval, self.timers.t2)
                call.ok_next = now + call.ok_interval
        if call.state in (PhoneState.ANSWERED, PhoneState.CONFIRMED):
            while call.digits and call.digits[0][0] <= now:
                self._events.append(PressDigit(call.call_id, call.digits.popleft()[1]))
        if call.state is PhoneState.CONFIRMED and call.hangup_at is not None and now >= call.hangup_at:
            self._send_bye(call, now, SimEndReason.PHONE_BYE)

    def _answer(self, call: SimCall, now: float) -> None:
        """200 OK with our SDP answer (RFC 3264 s6); the UAS dialog starts (s12.1.1)."""
        assert call.offer is not None and call.media_port is not None
        answer = build_answer(call.offer, self.local_host, call.media_port, secrets.randbits(31))
        # Seen from the answerer, the offer plays the part of the answer: we send to its
        # address with its payload type numbers (RFC 3264 s6.1).
        media = negotiate_answer(answer, call.offer)
        ok = build_response(
            call.invite,
            200,
            to_tag=call.to_tag,
            contact=call.contact,
            extra=(*self._record_route(call.invite), ("Allow", ALLOW), ("Server", self.user_agent)),
            body=bytes(answer),
            content_type=SDP,
        )
        self.transactions.send_response(ok, now)
        call.dialog = _uas_dialog(call.invite, call.to_tag, call.contact)
        call.move(PhoneState.ANSWERED, "200 OK sent")
        call.final_status = 200
        call.answered_at = now
        call.ok, call.ok_interval = ok, self.timers.t1
        call.ok_next, call.ok_give_up = now + self.timers.t1, now + 64 * self.timers.t1
        behaviour = call.behaviour
        if behaviour.action is Action.ANSWER:
            start = now + behaviour.digits_after
            call.digits.extend((start + i * behaviour.digit_interval, d) for i, d in enumerate(behaviour.press))
        if behaviour.hangup_after is not None:
            call.hangup_at = now + behaviour.hangup_after
        self._events.append(
            CallAnswered(call.call_id, call.number, media, behaviour.action is Action.ANSWER, behaviour.prompt)
        )

    def _provisional(self, call: SimCall, status: int, now: float) -> None:
        """180 Ringing with our To tag (an early dialog, s12.1.1) and a Contact."""
        extra = (*self._record_route(call.invite), ("Server", self.user_agent))
        response = build_response(call.invite, status, to_tag=call.to_tag, contact=call.contact, extra=extra)
        self.transactions.send_response(response, now)

    def _final(
        self,
        call: SimCall,
        status: int,
        reason: SimEndReason,
        now: float,
        warning: str | None = None,
        extra: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """A non-2xx final response to the INVITE; the transaction layer retransmits it until
        the ACK (s17.2.1)."""
        call.final_status = status
        self._respond(call.invite, status, now, to_tag=call.to_tag, warning=warning, extra=extra)
        self._end(call, now, reason)

    # --- ACK, CANCEL, in-dialog requests --------------------------------------------------------

    def _on_ack(self, ack: Request, now: float) -> None:
        """The ACK for our 2xx stops its retransmission (s13.3.1.4); a non-2xx's ACK is
        absorbed by the transaction layer and never reaches here."""
        call = self.calls.get(ack.call_id)
        if call is None or call.state is not PhoneState.ANSWERED or ack.to.tag != call.to_tag:
            return
        if ack.cseq.seq != call.invite.cseq.seq:
            return
        call.ok_next = call.ok_give_up = None
        call.move(PhoneState.CONFIRMED, "ACK received")
        self._drive(call, now)

    def _on_cancel(self, cancel: Request, key: str, now: float) -> None:
        """s9.2: 200 to the CANCEL (with the INVITE's To tag); 487 to a still-ringing INVITE."""
        call_id = self._by_invite_key.get(key.removesuffix(":CANCEL"))
        call = self.calls.get(call_id) if call_id else None
        if call is None or call.call_id != cancel.call_id:
            self._respond(cancel, 481, now)
            return
        self._respond(cancel, 200, now, to_tag=call.to_tag)
        if call.state is PhoneState.RINGING:
            self._final(call, 487, SimEndReason.CANCELLED, now)

    def _in_dialog(self, request: Request, now: float) -> None:
        """Requests with a To tag (s12.2.2): BYE (s15.1.2), OPTIONS, INFO; 481 when the tags
        match no live call of ours."""
        call = self.calls.get(request.call_id)
        live = (
            call is not None
            and call.state is not PhoneState.ENDED
            and request.to.tag == call.to_tag
            and request.from_.tag == call.invite.from_.tag
        )
        if call is None or not live:
            self._respond(request, 481, now)
            return
        if call.dialog is not None:
            refused = call.dialog.receive_request(request)
            if refused is not None:
                self._respond(request, refused, now)
                return
        method = request.method
        if method == "BYE":
            self._respond(request, 200, now)
            if call.state is PhoneState.RINGING:
                # BYE in the early dialog: the pending INVITE gets 487 (s15.1.2).
                self._final(call, 487, SimEndReason.CANCELLED, now)
            elif call.state is PhoneState.HANGING_UP:
                self._end(call, now, call.end_reason or SimEndReason.PHONE_BYE)  # our BYEs crossed
            else:
                self._end(call, now, SimEndReason.CALLER_BYE)
        elif method == "OPTIONS":
            self._respond(request, 200, now, extra=(("Allow", ALLOW), ("Accept", SDP)))
        elif method == "INFO":
            self._respond(request, 200, now)
        elif method == "INVITE":
            # A re-INVITE we do not take up: the session stays as it was (s14.2).
            self._respond(request, 488, now, warning="session changes are not supported; the session is unchanged")
        else:
            self._respond(request, 405, now, extra=(("Allow", ALLOW),))

    # --- hanging up -----------------------------------------------------------------------------

    def _send_bye(self, call: SimCall, now: float, reason: SimEndReason) -> None:
        """BYE in the dialog (s15.1.1), through a client transaction."""
        assert call.dialog is not None
        call.end_reason = reason
        call.ok_next = call.ok_give_up = call.hangup_at = None
        call.digits.clear()
        call.move(PhoneState.HANGING_UP, f"BYE sent ({reason})")
        via = local_via(self.local_host, self.local_port)
        bye, hop = call.dialog.create_request("BYE", via, headers=(("User-Agent", self.user_agent),))
        try:
            addr = hop.address()
        except SipParseError:
            addr = call.remote
        key = self.transactions.send_request(bye, addr, now)
        self._by_bye_key[key] = call.call_id
        self._events.append(ByeSent(call.call_id, call.number, reason))

    def _end(self, call: SimCall, now: float, reason: SimEndReason) -> None:
        call.move(PhoneState.ENDED, str(reason))
        call.end_reason = reason
        call.ended_at = now
        call.ok_next = call.ok_give_up = call.hangup_at = call.answer_due = call.ring_limit_at = None
        call.digits.clear()
        call.forget_at = now + 64 * self.timers.t1
        if call.dialog is not None and call.dialog.state is not DialogState.TERMINATED:
            call.dialog.terminate(str(reason))
        talk = 0.0 if call.answered_at is None else now - call.answered_at
        self._events.append(CallEnded(call.call_id, call.number, call.final_status, reason, talk))

    def _forget(self, call: SimCall) -> None:
        self.calls.pop(call.call_id, None)
        self._by_invite_key.pop(call.invite_key, None)
        for key in [k for k, v in self._by_bye_key.items() if v == call.call_id]:
            del self._by_bye_key[key]

    # --- building responses ---------------------------------------------------------------------

    def _respond(
        self,
        request: Request,
        status: int,
        now: float,
        *,
        to_tag: str | None = None,
        warning: str | None = None,
        extra: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """A response through the request's server transaction; the To tag is ours (s8.2.6.2)."""
        headers = extra
        if warning:
            text = warning.replace("\\", "\\\\").replace('"', '\\"')
            headers = (*headers, ("Warning", f'399 {WARN_AGENT} "{text}"'))
        response = build_response(request, status, to_tag=to_tag or new_tag(), extra=headers)
        self.transactions.send_response(response, now)

    @staticmethod
    def _record_route(request: Request) -> tuple[tuple[str, str], ...]:
        """s12.1.1: a UAS copies every Record-Route of the request into its dialog responses."""
        return tuple(("Record-Route", value) for value in request.headers.get_all("Record-Route"))


def _read_offer(invite: Request) -> SessionDescription:
    """The SDP offer of an INVITE we can answer (RFC 3264 s6), or :class:`_Refused`."""
    if not invite.body:
        raise _Refused(488, "an INVITE without an SDP offer is not supported")
    if invite.content_type != SDP:
        raise _Refused(415, f"the body is {invite.content_type or 'untyped'}, not {SDP} (s8.2.3)", (("Accept", SDP),))
    try:
        offer = SessionDescription.parse(invite.body)
        build_answer(offer, "127.0.0.1", 9, 0)  # the same check as the real answer, any port
    except SdpError as exc:
        raise _Refused(488, str(exc)) from exc
    return offer


def _uas_dialog(invite: Request, to_tag: str, contact: NameAddr) -> Dialog:
    """The dialog a UAS creates with its 2xx (s12.1.1): route set = Record-Route in order,
    remote target = the INVITE's Contact, remote sequence number = its CSeq, local sequence
    number empty (0: our first request uses 1), tags from our To and the caller's From."""
    from_ = invite.from_
    to = invite.to
    return Dialog(
        call_id=invite.call_id,
        local_tag=to_tag,
        remote_tag=from_.tag or "",
        local_uri=NameAddr(uri=to.uri, display_name=to.display_name),
        remote_uri=NameAddr(uri=from_.uri, display_name=from_.display_name),
        local_seq=0,
        remote_seq=invite.cseq.seq,
        remote_target=invite.contacts[0].uri,
        route_set=tuple(invite.record_route),
        local_contact=contact,
        state=DialogState.CONFIRMED,
    )


# --- the asyncio runner ---------------------------------------------------------------------------


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
    ) -> None:
        self.config = config
        self.host, self.port = host, port
        self.advertise_host = advertise_host or (host if host not in ("0.0.0.0", "") else "127.0.0.1")
        self.timers = timers or TimerConfig()
        self.no_answer_limit = no_answer_limit
        self.on_event = on_event
        self.media = MediaEngine(host)
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
        self.summaries[event.call_id] = SimCallSummary(
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


def _ignore_media_events(events: list[object]) -> None:
    """The simulated phone does not listen to what the caller says or presses."""
