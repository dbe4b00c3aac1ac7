"""The simulated phones, sans-I/O: a SIP user agent server (RFC 3261 s8.2, s12.1.1, s13.3,
s15) that picks up, rings, refuses or hangs up by the dialed number.

Datagrams and the current time go in (:meth:`~SimulatedPhones.receive`,
:meth:`~SimulatedPhones.handle_timer`); datagrams to send, :data:`SimEvent` values and the
next deadline come out. The number is the user part of the Request-URI; its
:class:`Behaviour` says what the phone does. The transaction layer below
(:class:`dialer.sip.transaction.TransactionLayer`) sends 100 Trying and retransmits non-2xx
finals; this layer retransmits the 2xx until the ACK comes (s13.3.1.4), which RFC 3261 gives
to the transaction user, and owns each call's state (:data:`PHONE_TRANSITIONS`).

Nothing from the network raises: malformed or unusable requests are answered or dropped.
"""

from __future__ import annotations

import logging
import secrets

from dialer.errors import SipParseError
from dialer.sdp import build_answer, negotiate_answer
from dialer.simphone.call import PhoneState, SimCall
from dialer.simphone.config import NO_ANSWER_LIMIT, Action, Behaviour, SimulatorConfig
from dialer.simphone.events import (
    ByeSent,
    CallAnswered,
    CallEnded,
    IncomingCall,
    PressDigit,
    SimEndReason,
    SimEvent,
)
from dialer.simphone.uas import ALLOW, SDP, WARN_AGENT, Refused, read_offer, uas_dialog
from dialer.sip.builder import build_response, local_via, new_tag
from dialer.sip.dialog import DialogState
from dialer.sip.headers import NameAddr
from dialer.sip.message import Request
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
        except Refused as refused:
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
                call.offer = read_offer(invite)
            except Refused as refused:
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
            raise Refused(416, f"only sip: Request-URIs are served, not {uri.scheme}: (s8.2.2.1)")
        earlier = self.calls.get(invite.call_id)
        if earlier is not None and earlier.state is not PhoneState.ENDED:
            # Same Call-ID, no To tag, another branch: a merged request (s8.2.2.2).
            raise Refused(482, "this INVITE was already received through another path (s8.2.2.2)")
        if earlier is not None:
            self._forget(earlier)
        required = [v.strip() for v in invite.headers.get_all("Require") if v.strip()]
        if required:
            raise Refused(420, "no extension is supported (s8.2.2.3)", (("Unsupported", ", ".join(required)),))
        if not invite.from_.tag:
            raise Refused(400, "the From header has no tag (s8.1.1.3)")
        if not invite.contacts or invite.contacts[0].wildcard:
            raise Refused(400, "an INVITE needs a Contact (s8.1.1.8)")
        behaviour = self.config.behaviour_for(number)
        if behaviour is None:
            raise Refused(404, f"no simulated phone has the number {number!r}")
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
        call.dialog = uas_dialog(call.invite, call.to_tag, call.contact)
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
