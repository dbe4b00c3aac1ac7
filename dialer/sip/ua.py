"""A sans-I/O SIP user agent for outbound calls (RFC 3261 s8, s9, s12-s15, s22).

Datagrams and the current time go in (:meth:`UserAgent.receive`, :meth:`UserAgent.handle_timer`);
datagrams to send (:meth:`UserAgent.datagrams_to_send`), call events and the next deadline
(:meth:`UserAgent.next_deadline`) come out. The transaction layer below does retransmissions;
this layer owns calls, their dialogs, authentication retries, CANCEL on ring timeout, BYE,
answers to requests inside a dialog, and registration.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from dialer.errors import SipParseError
from dialer.outcome import CallOutcome, EndReason, HangupBy, explain_status, outcome_for_status
from dialer.sip.auth import Credentials, DigestClient
from dialer.sip.authorize import ChallengeRefused, answer_challenge
from dialer.sip.builder import (
    ALLOW,
    build_cancel,
    build_request,
    build_response,
    local_via,
    new_call_id,
    new_tag,
)
from dialer.sip.call import CallState, OutboundCall
from dialer.sip.dialog import Dialog
from dialer.sip.headers import NameAddr
from dialer.sip.message import Request, Response
from dialer.sip.register import Registration, RegistrationChanged
from dialer.sip.timers import TimerConfig
from dialer.sip.transaction import (
    MessageDropped,
    Outgoing,
    RequestReceived,
    ResponseReceived,
    StrayResponse,
    TransactionLayer,
    TransactionTimeout,
    response_destination,
)
from dialer.sip.uri import SipUri

log = logging.getLogger("dialer.sip.ua")

SDP = "application/sdp"


@dataclass(frozen=True)
class Trunk:
    """A carrier: where INVITEs go, how we authenticate, what our caller ID is."""

    host: str
    port: int = 5060
    username: str | None = None
    password: str | None = None
    register: bool = False
    caller_id: str | None = None
    domain: str | None = None
    register_expires: int = 3600

    @property
    def credentials(self) -> Credentials | None:
        if self.username is None or self.password is None:
            return None
        return Credentials(self.username, self.password)

    @property
    def sip_domain(self) -> str:
        return self.domain or self.host

    def uri_for(self, number: str) -> SipUri:
        return SipUri(scheme="sip", user=number, host=self.sip_domain, port=None if self.domain else self.port)


@dataclass(frozen=True)
class UaConfig:
    local_host: str
    local_port: int
    user_agent: str = "callbot/0.1"
    timers: TimerConfig = field(default_factory=TimerConfig)


# Events the user agent reports to the layer above.
@dataclass(frozen=True)
class CallRinging:
    call_id: str
    status: int
    sdp: bytes


@dataclass(frozen=True)
class CallAnswered:
    call_id: str
    sdp: bytes


@dataclass(frozen=True)
class CallEnded:
    call_id: str
    outcome: CallOutcome
    sip_status: int | None
    hangup_by: HangupBy | None
    reason: EndReason
    message: str
    ring_ms: int
    talk_ms: int


@dataclass(frozen=True)
class DtmfInfo:
    """A keypress carried by SIP INFO (application/dtmf-relay or application/dtmf)."""

    call_id: str
    digit: str


UaEvent = CallRinging | CallAnswered | CallEnded | DtmfInfo | RegistrationChanged


class UserAgent:
    def __init__(self, config: UaConfig) -> None:
        self.config = config
        self.transactions = TransactionLayer(config.timers)
        self.calls: dict[str, OutboundCall] = {}
        self.registrations: list[Registration] = []
        self._auth: dict[str, DigestClient] = {}
        self._events: list[UaEvent] = []

    # ------------------------------------------------------------------ outbound calls
    def place_call(
        self,
        target: SipUri,
        *,
        local_sdp: bytes,
        now: float,
        trunk: Trunk | None = None,
        from_user: str | None = None,
        ring_timeout: float | None = 30.0,
        max_duration: float | None = None,
        credentials: Credentials | None = None,
        call_id: str | None = None,
    ) -> str:
        """Send an INVITE to ``target`` (through ``trunk`` as outbound proxy, if given)."""
        cfg = self.config
        user = from_user or (trunk.caller_id if trunk else None) or (trunk.username if trunk else None) or "callbot"
        from_host = trunk.sip_domain if trunk else cfg.local_host
        routes: tuple[NameAddr, ...] = ()
        if trunk is not None:
            next_hop = (trunk.host, trunk.port)
            if target.host_bare not in (trunk.host, trunk.sip_domain):
                # Outbound proxy (s8.1.2): a loose route through the trunk to the target URI.
                routes = (NameAddr(uri=SipUri(scheme="sip", host=trunk.host, port=trunk.port, params=(("lr", None),))),)
        else:
            next_hop = target.address()
        call = OutboundCall(
            call_id=call_id or new_call_id(cfg.local_host),
            request_uri=target,
            next_hop=next_hop,
            local_from=NameAddr(uri=SipUri(scheme="sip", user=user, host=from_host), params=(("tag", new_tag()),)),
            remote_to=NameAddr(uri=target.without_params() if target.is_sip else target),
            local_contact=NameAddr(uri=SipUri(scheme="sip", user=user, host=cfg.local_host, port=cfg.local_port)),
            local_sdp=local_sdp,
            started_at=now,
            ring_deadline=None if ring_timeout is None else now + ring_timeout,
            max_duration=max_duration,
            routes=routes,
            credentials=credentials or (trunk.credentials if trunk else None),
        )
        if call.call_id in self.calls:
            raise ValueError(f"a call with Call-ID {call.call_id} exists already")
        self.calls[call.call_id] = call
        self._send_invite(call, now, auth_headers=())
        return call.call_id

    def hangup(
        self,
        call_id: str,
        now: float,
        *,
        reason: EndReason = EndReason.LOCAL_BYE,
        outcome: CallOutcome | None = None,
        message: str = "",
    ) -> None:
        """End a call from our side: CANCEL before an answer, BYE after (s9.1, s15.1.1)."""
        call = self.calls.get(call_id)
        if call is None or call.state in (CallState.TERMINATING, CallState.TERMINATED, CallState.CANCELLING):
            return
        call.end_reason = reason
        call.end_outcome = outcome
        call.end_message = message
        call.hangup_by = HangupBy.US
        if call.state is CallState.CONFIRMED:
            self._send_bye(call, now, auth_headers=())
        elif call.state is CallState.PROCEEDING:
            self._send_cancel(call, now)
        else:
            # s9.1: no CANCEL before a provisional response; send it when one arrives.
            call.pending_cancel = True

    # ------------------------------------------------------------------ registration
    def register(self, trunk: Trunk, now: float) -> Registration:
        cfg = self.config
        reg = Registration(
            trunk=trunk,
            local_host=cfg.local_host,
            local_port=cfg.local_port,
            user_agent=cfg.user_agent,
            transactions=self.transactions,
            auth=self._auth_client(trunk.credentials) if trunk.credentials else None,
        )
        self.registrations.append(reg)
        reg.start(now)
        return reg

    def unregister_all(self, now: float) -> None:
        for reg in self.registrations:
            reg.stop(now)

    # ------------------------------------------------------------------ sans-I/O plumbing
    def receive(self, data: bytes, addr: tuple[str, int], now: float) -> list[UaEvent]:
        for event in self.transactions.receive(data, addr, now):
            self._dispatch(event, now)
        return self._drain()

    def handle_timer(self, now: float) -> list[UaEvent]:
        for event in self.transactions.handle_timer(now):
            self._dispatch(event, now)
        for call in list(self.calls.values()):
            self._check_call_timers(call, now)
        for reg in self.registrations:
            reg.handle_timer(now)
        return self._drain()

    def next_deadline(self) -> float | None:
        deadlines = [self.transactions.next_deadline()]
        for call in self.calls.values():
            if call.state in (CallState.CALLING, CallState.PROCEEDING) and call.ring_deadline is not None:
                deadlines.append(call.ring_deadline)
            if call.state is CallState.CONFIRMED and call.max_duration is not None and call.answered_at is not None:
                deadlines.append(call.answered_at + call.max_duration)
            if call.give_up_at is not None:
                deadlines.append(call.give_up_at)
            if call.unacked_2xx is not None:
                deadlines.append(call.unacked_2xx_next)
        deadlines.extend(reg.next_deadline() for reg in self.registrations)
        present = [d for d in deadlines if d is not None]
        return min(present) if present else None

    def datagrams_to_send(self) -> list[Outgoing]:
        return self.transactions.datagrams_to_send()

    def forget(self, call_id: str) -> None:
        """Drop a terminated call's record (the layer above has read its result)."""
        call = self.calls.get(call_id)
        if call is not None and call.ended:
            del self.calls[call_id]

    def _drain(self) -> list[UaEvent]:
        for reg in self.registrations:
            self._events.extend(reg.drain_events())
        events, self._events = self._events, []
        return events

    # ------------------------------------------------------------------ dispatch
    def _dispatch(self, event: object, now: float) -> None:
        if isinstance(event, (ResponseReceived, StrayResponse)):
            response = event.response
            for reg in self.registrations:
                if reg.owns(response):
                    reg.on_response(response, now)
                    return
            call = self.calls.get(response.call_id)
            if call is not None:
                self._on_response(call, response, now, stray=isinstance(event, StrayResponse))
        elif isinstance(event, TransactionTimeout):
            self._on_timeout(event, now)
        elif isinstance(event, RequestReceived):
            self._on_request(event.request, now)
        elif isinstance(event, MessageDropped):
            log.warning("dropped a message from %s: %s", event.addr, event.reason)

    def _on_timeout(self, event: TransactionTimeout, now: float) -> None:
        for reg in self.registrations:
            if reg.owns_key(event.key):
                reg.on_timeout(now)
                return
        for call in self.calls.values():
            if event.key in call.transaction_keys:
                if event.method == "INVITE" and call.state in (CallState.CALLING, CallState.PROCEEDING, CallState.CANCELLING):
                    cancelled = call.state is CallState.CANCELLING
                    self._end(
                        call,
                        now,
                        outcome=(call.end_outcome or CallOutcome.NO_ANSWER) if cancelled else CallOutcome.FAILED,
                        reason=call.end_reason if cancelled and call.end_reason else EndReason.NO_RESPONSE,
                        message="" if cancelled else "No response from the carrier: check the trunk address and that it is reachable.",
                        status=None,
                    )
                elif event.method == "BYE" and call.state is CallState.TERMINATING:
                    self._end_after_bye(call, now)
                return

    def _on_response(self, call: OutboundCall, response: Response, now: float, stray: bool) -> None:
        method = response.cseq.method
        if method == "INVITE":
            self._on_invite_response(call, response, now)
        elif method == "BYE" and call.state is CallState.TERMINATING and response.status >= 200:
            if response.status in (401, 407) and not call.bye_auth_tried and self._auth_for(call):
                call.bye_auth_tried = True
                headers = self._answer_challenge(call, response, "BYE", call.dialog.remote_target if call.dialog else call.request_uri)
                if headers:
                    self._send_bye(call, now, auth_headers=headers)
                    return
            self._end_after_bye(call, now)
        elif method == "CANCEL":
            # 200 to CANCEL: the 487 for the INVITE follows; a 481 means the INVITE already ended.
            return

    def _on_invite_response(self, call: OutboundCall, response: Response, now: float) -> None:
        status = response.status
        if call.invite is None or response.cseq.seq != call.invite.cseq.seq:
            if 200 <= status < 300 and call.ack is not None:
                self._resend_ack(call)
            return
        if status < 200:
            if status == 100:
                if call.state is CallState.CALLING:
                    call.move(CallState.PROCEEDING, "100 Trying")
            else:
                if call.provisional_at is None:
                    call.provisional_at = now
                if call.state is CallState.CALLING:
                    call.move(CallState.PROCEEDING, f"{status} {response.reason}")
                if call.state is CallState.PROCEEDING:
                    self._events.append(CallRinging(call.call_id, status, response.body))
            if call.pending_cancel and call.state is CallState.PROCEEDING:
                self._send_cancel(call, now)
            return
        if 200 <= status < 300:
            self._on_invite_success(call, response, now)
            return
        # 3xx-6xx: the transaction layer has sent the ACK (s17.1.1.3).
        if call.state in (CallState.CONFIRMED, CallState.TERMINATING, CallState.TERMINATED):
            return
        if status in (401, 407) and call.state is not CallState.CANCELLING and not call.pending_cancel:
            if self._auth_for(call) is None:
                self._end(call, now, outcome=CallOutcome.REJECTED, reason=EndReason.AUTH_FAILED, status=status,
                          message=f"The carrier asks for authentication ({status}): set the trunk username and password.")
                return
            headers = self._answer_challenge(call, response, "INVITE", call.request_uri)
            if headers:
                call.move(CallState.CALLING, f"{status} challenge answered")
                self._send_invite(call, now, auth_headers=headers)
                return
            self._end(call, now, outcome=CallOutcome.REJECTED, reason=EndReason.AUTH_FAILED, status=status,
                      message=explain_status(status, response.reason))
            return
        if call.state is CallState.CANCELLING or call.pending_cancel:
            self._end(call, now, outcome=call.end_outcome or self._cancel_outcome(call),
                      reason=call.end_reason or EndReason.CANCELLED, status=status, message=call.end_message)
            return
        outcome = outcome_for_status(status)
        self._end(
            call,
            now,
            outcome=outcome,
            reason=EndReason.FINAL_RESPONSE,
            status=status,
            message=explain_status(status, response.reason),
            hangup_by=HangupBy.REMOTE,
        )

    def _on_invite_success(self, call: OutboundCall, response: Response, now: float) -> None:
        if call.dialog is not None:
            tag = response.to.tag
            if tag == call.dialog.remote_tag:
                self._resend_ack(call)  # a retransmitted 2xx: our ACK was lost (s13.2.2.4)
            else:
                self._ack_and_bye_fork(call, response, now)
            return
        try:
            dialog = Dialog.from_uac_response(call.invite, response, call.local_contact)  # type: ignore[arg-type]
        except SipParseError as exc:
            log.warning("call %s: unusable 2xx: %s", call.call_id, exc)
            self._end(call, now, outcome=CallOutcome.FAILED, reason=EndReason.BAD_ANSWER, status=response.status,
                      message=f"The far end answered with a malformed 200 OK ({exc}).")
            return
        call.dialog = dialog
        call.final_status = response.status
        self._send_ack(call, now)
        if call.state is CallState.CANCELLING or call.pending_cancel:
            # Our CANCEL crossed the 200 OK (s9.1): the call is up, so end it with BYE.
            call.answered_at = now
            self._send_bye(call, now, auth_headers=())
            return
        call.answered_at = now
        call.move(CallState.CONFIRMED, f"{response.status} {response.reason}")
        self._events.append(CallAnswered(call.call_id, response.body))

    def _ack_and_bye_fork(self, call: OutboundCall, response: Response, now: float) -> None:
        """A second 2xx from another fork (s13.2.2.4): acknowledge it, then end that dialog."""
        try:
            fork = Dialog.from_uac_response(call.invite, response, call.local_contact)  # type: ignore[arg-type]
        except SipParseError:
            return
        for method in ("ACK", "BYE"):
            via = local_via(self.config.local_host, self.config.local_port)
            request, hop = fork.create_request(method, via, cseq=call.invite.cseq.seq if method == "ACK" else None)  # type: ignore[union-attr]
            if method == "ACK":
                self.transactions.send_stateless(request, hop.address(), now)
            else:
                self.transactions.send_request(request, hop.address(), now)

    # ------------------------------------------------------------------ requests from the network
    def _on_request(self, request: Request, now: float) -> None:
        method = request.method
        call = self.calls.get(request.call_id)
        if method == "ACK":
            # The ACK for our 2xx to a re-INVITE: stop retransmitting it (s13.3.1.4).
            if call is not None and call.unacked_2xx is not None and request.cseq.seq == call.unacked_2xx[2]:
                call.unacked_2xx = None
            return
        dialog = call.dialog if call is not None else None
        matches = (
            dialog is not None
            and request.to.tag == dialog.local_tag
            and request.from_.tag == dialog.remote_tag
        )
        if method == "CANCEL":
            # We never have a pending server INVITE (no incoming calls): s9.2 says 481.
            self._respond(request, 481, now)
            return
        if not matches or call is None or dialog is None:
            if method == "OPTIONS" and request.to.tag is None:
                self._respond(request, 200, now, extra=(("Allow", ALLOW), ("Accept", SDP)))
            elif method == "INVITE" and request.to.tag is None:
                self._respond(request, 480, now, reason="Temporarily Unavailable (outbound only)")
            else:
                self._respond(request, 481, now)
            return
        refused = dialog.receive_request(request)
        if refused is not None:
            self._respond(request, refused, now)
            return
        if method == "BYE":
            self._respond(request, 200, now, to_tag=dialog.local_tag)
            if call.state in (CallState.CONFIRMED, CallState.TERMINATING):
                self._end(call, now, outcome=CallOutcome.ANSWERED, reason=EndReason.REMOTE_BYE,
                          status=call.final_status, message="", hangup_by=HangupBy.REMOTE)
        elif method in ("INVITE", "UPDATE"):
            # Session refresh or hold: we keep our session as it is and answer with it (RFC 3264 s8).
            response = build_response(request, 200, to_tag=dialog.local_tag, contact=call.local_contact,
                                      body=call.local_sdp, content_type=SDP)
            self.transactions.send_response(response, now)
            if method == "INVITE":
                t = self.config.timers
                call.unacked_2xx = (bytes(response), response_destination(response.top_via), request.cseq.seq)
                call.unacked_2xx_interval = t.t1
                call.unacked_2xx_next = now + t.t1
                call.unacked_2xx_until = now + t.timer_h
        elif method == "INFO":
            digit = _dtmf_from_info(request)
            self._respond(request, 200, now, to_tag=dialog.local_tag)
            if digit is not None:
                self._events.append(DtmfInfo(call.call_id, digit))
        elif method == "OPTIONS":
            self._respond(request, 200, now, to_tag=dialog.local_tag, extra=(("Allow", ALLOW), ("Accept", SDP)))
        elif method == "NOTIFY":
            self._respond(request, 200, now, to_tag=dialog.local_tag)
        else:
            self._respond(request, 405, now, to_tag=dialog.local_tag, extra=(("Allow", ALLOW),))

    def _respond(self, request: Request, status: int, now: float, **kwargs: object) -> None:
        self.transactions.send_response(build_response(request, status, **kwargs), now)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ timers
    def _check_call_timers(self, call: OutboundCall, now: float) -> None:
        if call.state in (CallState.CALLING, CallState.PROCEEDING) and call.ring_deadline is not None and now >= call.ring_deadline:
            call.ring_deadline = None
            log.info("call %s: ring timeout", call.call_id)
            self.hangup(call.call_id, now, reason=EndReason.RING_TIMEOUT, outcome=CallOutcome.NO_ANSWER)
        if (
            call.state is CallState.CONFIRMED
            and call.max_duration is not None
            and call.answered_at is not None
            and now >= call.answered_at + call.max_duration
        ):
            self.hangup(call.call_id, now, reason=EndReason.MAX_DURATION)
        if call.unacked_2xx is not None and now >= call.unacked_2xx_next:
            if now >= call.unacked_2xx_until:
                # s13.3.1.4: no ACK for 64*T1: the dialog stands but the session SHOULD end (BYE).
                call.unacked_2xx = None
                self.hangup(call.call_id, now, reason=EndReason.NO_RESPONSE,
                            message="The far end never acknowledged our answer to its re-INVITE.")
            else:
                self.transactions.send_stateless(call.unacked_2xx[0], call.unacked_2xx[1], now)
                call.unacked_2xx_interval = min(2 * call.unacked_2xx_interval, self.config.timers.t2)
                call.unacked_2xx_next = min(now + call.unacked_2xx_interval, call.unacked_2xx_until)
        if call.give_up_at is not None and now >= call.give_up_at:
            if call.state is CallState.TERMINATING:
                self._end_after_bye(call, now)
            elif call.state is CallState.CANCELLING:
                # s9.1: no final response 64*T1 after our CANCEL: consider the INVITE over.
                if call.invite_key is not None:
                    self.transactions.terminate(call.invite_key)
                self._end(call, now, outcome=call.end_outcome or self._cancel_outcome(call),
                          reason=call.end_reason or EndReason.CANCELLED, status=None, message=call.end_message)

    # ------------------------------------------------------------------ sending
    def _send_invite(self, call: OutboundCall, now: float, auth_headers: tuple[tuple[str, str], ...]) -> None:
        cfg = self.config
        call.cseq += 1
        via = local_via(cfg.local_host, cfg.local_port)
        invite = build_request(
            "INVITE",
            call.request_uri,
            via=via,
            from_=call.local_from,
            to=call.remote_to,
            call_id=call.call_id,
            cseq=call.cseq,
            contact=call.local_contact,
            routes=call.routes,
            extra=(("Supported", "replaces"), *auth_headers),
            body=call.local_sdp,
            content_type=SDP,
            user_agent=cfg.user_agent,
        )
        call.invite = invite
        key = self.transactions.send_request(invite, call.next_hop, now)
        call.invite_key = key
        self._remember_key(call, key)

    def _send_cancel(self, call: OutboundCall, now: float) -> None:
        assert call.invite is not None
        call.pending_cancel = False
        call.move(CallState.CANCELLING, str(call.end_reason or "cancel"))
        key = self.transactions.send_request(build_cancel(call.invite), call.next_hop, now)
        self._remember_key(call, key)
        call.give_up_at = now + self.config.timers.timer_b

    def _send_ack(self, call: OutboundCall, now: float) -> None:
        assert call.dialog is not None and call.invite is not None
        via = local_via(self.config.local_host, self.config.local_port)
        ack, hop = call.dialog.create_request("ACK", via, cseq=call.invite.cseq.seq)
        call.ack = (bytes(ack), self._resolve(call, hop))
        self.transactions.send_stateless(call.ack[0], call.ack[1], now)

    def _resend_ack(self, call: OutboundCall) -> None:
        if call.ack is not None:
            self.transactions.send_stateless(call.ack[0], call.ack[1], 0.0)

    def _send_bye(self, call: OutboundCall, now: float, auth_headers: tuple[tuple[str, str], ...]) -> None:
        assert call.dialog is not None
        if call.state is not CallState.TERMINATING:
            call.move(CallState.TERMINATING, str(call.end_reason or "bye"))
        via = local_via(self.config.local_host, self.config.local_port)
        bye, hop = call.dialog.create_request("BYE", via, headers=list(auth_headers))
        key = self.transactions.send_request(bye, self._resolve(call, hop), now)
        self._remember_key(call, key)
        call.give_up_at = now + self.config.timers.timer_f + 1.0

    def _resolve(self, call: OutboundCall, hop: SipUri) -> tuple[str, int]:
        """Where a request inside the dialog goes: the next hop's address (s12.2.1.1, RFC 3263
        without DNS SRV: host and port of the URI)."""
        try:
            return hop.address()
        except SipParseError:
            return call.next_hop

    @staticmethod
    def _remember_key(call: OutboundCall, key: str) -> None:
        call.transaction_keys.add(key)

    # ------------------------------------------------------------------ authentication
    def _auth_client(self, credentials: Credentials) -> DigestClient:
        key = f"{credentials.username}:{credentials.password}"
        if key not in self._auth:
            self._auth[key] = DigestClient(credentials)
        return self._auth[key]

    def _auth_for(self, call: OutboundCall) -> DigestClient | None:
        return self._auth_client(call.credentials) if call.credentials is not None else None

    def _answer_challenge(
        self, call: OutboundCall, response: Response, method: str, uri: SipUri
    ) -> tuple[tuple[str, str], ...]:
        """Authorization headers answering a 401/407, or () when we must not retry."""
        client = self._auth_for(call)
        if client is None:
            return ()
        try:
            return answer_challenge(client, response, method, str(uri), call.answered_realms)
        except ChallengeRefused as exc:
            log.info("call %s: not answering %s: %s", call.call_id, response.status, exc)
            return ()

    # ------------------------------------------------------------------ endings
    def _cancel_outcome(self, call: OutboundCall) -> CallOutcome:
        return CallOutcome.NO_ANSWER if call.end_reason is EndReason.RING_TIMEOUT else CallOutcome.CANCELLED

    def _end_after_bye(self, call: OutboundCall, now: float) -> None:
        answered = call.end_reason not in (EndReason.RING_TIMEOUT, EndReason.CANCELLED)
        outcome = call.end_outcome or (CallOutcome.ANSWERED if answered else self._cancel_outcome(call))
        self._end(call, now, outcome=outcome, reason=call.end_reason or EndReason.LOCAL_BYE,
                  status=call.final_status, message=call.end_message, hangup_by=HangupBy.US)

    def _end(
        self,
        call: OutboundCall,
        now: float,
        *,
        outcome: CallOutcome,
        reason: EndReason,
        status: int | None,
        message: str,
        hangup_by: HangupBy | None = None,
    ) -> None:
        if call.ended:
            return
        call.move(CallState.TERMINATED, f"{outcome.value}: {reason.value}")
        call.ended_at = now
        call.give_up_at = None
        call.final_status = status
        end_of_ringing = call.answered_at if call.answered_at is not None else now
        ring_ms = int(round((end_of_ringing - call.started_at) * 1000))
        talk_ms = int(round((now - call.answered_at) * 1000)) if call.answered_at is not None else 0
        by = hangup_by or call.hangup_by
        if call.answered_at is None and by is None and outcome is not CallOutcome.ANSWERED:
            by = HangupBy.REMOTE if status is not None and status != 487 else HangupBy.US
        self._events.append(
            CallEnded(call.call_id, outcome, status, by, reason, message, ring_ms, talk_ms)
        )


def _dtmf_from_info(request: Request) -> str | None:
    """The digit in an INFO body: ``Signal=5`` (application/dtmf-relay) or ``5`` (application/dtmf)."""
    ctype = request.content_type
    text = request.body.decode("ascii", "replace").strip()
    if ctype == "application/dtmf-relay":
        for line in text.splitlines():
            key, _, value = line.partition("=")
            if key.strip().lower() == "signal" and value.strip():
                digit = value.strip()[:1].upper()
                return digit if digit in "0123456789*#ABCD" else None
        return None
    if ctype == "application/dtmf" and text[:1].upper() in tuple("0123456789*#ABCD"):
        return text[:1].upper()
    return None
