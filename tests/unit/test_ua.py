"""The outbound user agent against a scripted far end, both sans-I/O, on a fake clock.

The far end is a real :class:`TransactionLayer` whose requests the test answers by hand, so
every exchange crosses the full parse/serialize path in both directions.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dialer.outcome import CallOutcome, EndReason, HangupBy
from dialer.sip.auth import Challenge, DigestResponse, verify
from dialer.sip.builder import build_request, build_response, local_via, new_tag
from dialer.sip.headers import NameAddr
from dialer.sip.message import Request, parse_message
from dialer.sip.register import RegistrationChanged
from dialer.sip.transaction import RequestReceived, ResponseReceived, TransactionLayer
from dialer.sip.ua import CallAnswered, CallEnded, CallRinging, DtmfInfo, Trunk, UaConfig, UserAgent
from dialer.sip.uri import SipUri

UA_ADDR = ("127.0.0.1", 5070)
FAR_ADDR = ("127.0.0.1", 5060)
SDP_ANSWER = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0 101\r\n"

Handler = Callable[[Request, "Network"], None]


class Network:
    """Our UA and a far end joined by a lossless in-memory wire and one fake clock."""

    def __init__(self, handler: Handler, drop: Callable[[bytes], bool] = lambda data: False, auto_trying: bool = True) -> None:
        self.now = 1000.0
        self.ua = UserAgent(UaConfig(local_host=UA_ADDR[0], local_port=UA_ADDR[1]))
        self.far = TransactionLayer(auto_trying=auto_trying)
        self.handler = handler
        self.drop = drop
        self.events: list[object] = []
        self.seen_by_far: list[bytes] = []
        self.responses_to_far: list[tuple[str, int, bytes]] = []
        self.to_tag = new_tag()

    def flush(self) -> None:
        for _ in range(100):
            moved = False
            for out in self.ua.datagrams_to_send():
                moved = True
                if self.drop(out.data):
                    continue
                self.seen_by_far.append(out.data)
                for event in self.far.receive(out.data, UA_ADDR, self.now):
                    if isinstance(event, RequestReceived):
                        self.handler(event.request, self)
                    elif isinstance(event, ResponseReceived):
                        r = event.response
                        self.responses_to_far.append((r.cseq.method, r.status, r.body))
            for out in self.far.datagrams_to_send():
                moved = True
                self.events.extend(self.ua.receive(out.data, FAR_ADDR, self.now))
            if not moved:
                return
        raise AssertionError("the two sides never went quiet")

    def respond(self, request: Request, status: int, **kwargs: object) -> None:
        kwargs.setdefault("to_tag", self.to_tag)
        self.far.send_response(build_response(request, status, **kwargs), self.now)  # type: ignore[arg-type]

    def request_from_far(self, method: str, invite: Request, *, body: bytes = b"", content_type: str | None = None, cseq: int = 1) -> None:
        """A request from the far end inside the dialog of ``invite``'s call."""
        request = build_request(
            method,
            invite.contact_uri if hasattr(invite, "contact_uri") else invite.contacts[0].uri,
            via=local_via(*FAR_ADDR),
            from_=invite.to.with_tag(self.to_tag),
            to=invite.from_,
            call_id=invite.call_id,
            cseq=cseq,
            body=body,
            content_type=content_type,
        )
        self.far.send_request(request, UA_ADDR, self.now)
        self.flush()

    def advance(self, seconds: float, step: float = 0.05) -> None:
        end = self.now + seconds
        while self.now < end:
            deadlines = [d for d in (self.ua.next_deadline(), self.far.next_deadline()) if d is not None]
            self.now = min([end, self.now + step, *deadlines])
            self.events.extend(self.ua.handle_timer(self.now))
            self.far.handle_timer(self.now)
            self.flush()

    def ended(self) -> CallEnded:
        ends = [e for e in self.events if isinstance(e, CallEnded)]
        assert len(ends) == 1, self.events
        return ends[0]

    def sent(self, method: str) -> list[Request]:
        out = []
        for data in self.seen_by_far:
            message = parse_message(data)
            if isinstance(message, Request) and message.method == method:
                out.append(message)
        return out


def place(net: Network, **kwargs: object) -> str:
    kwargs.setdefault("local_sdp", b"v=0\r\n")
    call_id = net.ua.place_call(SipUri.parse("sip:0912345678@127.0.0.1:5060"), now=net.now, **kwargs)  # type: ignore[arg-type]
    net.flush()
    return call_id


def answering(request: Request, net: Network) -> None:
    if request.method == "INVITE":
        net.respond(request, 180)
        net.respond(request, 200, contact=NameAddr(SipUri.parse("sip:far@127.0.0.1:5060")), body=SDP_ANSWER, content_type="application/sdp")
    elif request.method in ("BYE", "CANCEL"):
        net.respond(request, 200)


def test_answered_call_hung_up_by_us() -> None:
    net = Network(answering)
    call_id = place(net)
    assert any(isinstance(e, CallRinging) for e in net.events)
    answered = [e for e in net.events if isinstance(e, CallAnswered)]
    assert answered and answered[0].sdp == SDP_ANSWER
    acks = net.sent("ACK")
    assert len(acks) == 1 and acks[0].cseq.seq == 1 and acks[0].to.tag == net.to_tag
    assert acks[0].uri == SipUri.parse("sip:far@127.0.0.1:5060")  # remote target from Contact (s12.1.2)
    net.advance(3.0)
    net.ua.hangup(call_id, net.now)
    net.flush()
    end = net.ended()
    assert (end.outcome, end.sip_status, end.hangup_by, end.reason) == (CallOutcome.ANSWERED, 200, HangupBy.US, EndReason.LOCAL_BYE)
    assert 2900 <= end.talk_ms <= 3100
    bye = net.sent("BYE")[0]
    assert bye.cseq.seq == 2 and bye.from_.tag == acks[0].from_.tag


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(486, CallOutcome.BUSY), (600, CallOutcome.BUSY), (603, CallOutcome.DECLINED), (480, CallOutcome.NO_ANSWER),
     (404, CallOutcome.REJECTED), (503, CallOutcome.FAILED), (488, CallOutcome.REJECTED)],
)
def test_final_responses_map_to_one_outcome(status: int, outcome: CallOutcome) -> None:
    net = Network(lambda req, n: n.respond(req, status) if req.method == "INVITE" else None)
    place(net)
    end = net.ended()
    assert (end.outcome, end.sip_status, end.hangup_by) == (outcome, status, HangupBy.REMOTE)
    assert end.message
    assert len(net.sent("ACK")) == 1  # hop-by-hop ACK from the transaction layer


def test_remote_bye_ends_the_call() -> None:
    net = Network(answering)
    call_id = place(net)
    invite = net.sent("INVITE")[0]
    net.advance(1.0)
    net.request_from_far("BYE", invite)
    end = net.ended()
    assert (end.outcome, end.hangup_by, end.reason) == (CallOutcome.ANSWERED, HangupBy.REMOTE, EndReason.REMOTE_BYE)
    assert call_id == end.call_id


def test_ring_timeout_sends_cancel_and_ends_on_487() -> None:
    def ringing(request: Request, net: Network) -> None:
        if request.method == "INVITE":
            net.respond(request, 180)
            net._invite = request  # type: ignore[attr-defined]
        elif request.method == "CANCEL":
            net.respond(request, 200)
            net.respond(net._invite, 487)  # type: ignore[attr-defined]

    net = Network(ringing)
    place(net, ring_timeout=5.0)
    net.advance(4.9)
    assert not net.sent("CANCEL")
    net.advance(0.2)
    cancel = net.sent("CANCEL")[0]
    invite = net.sent("INVITE")[0]
    assert cancel.top_via.branch == invite.top_via.branch and cancel.cseq.seq == invite.cseq.seq
    end = net.ended()
    assert (end.outcome, end.sip_status, end.reason, end.hangup_by) == (CallOutcome.NO_ANSWER, 487, EndReason.RING_TIMEOUT, HangupBy.US)
    assert 4900 <= end.ring_ms <= 5200


def test_cancel_waits_for_a_provisional_response() -> None:
    """s9.1: no CANCEL before a provisional response; it goes out once one arrives."""
    pending: list[Request] = []
    net = Network(lambda req, n: pending.append(req) if req.method == "INVITE" else (
        n.respond(req, 200), n.respond(pending[0], 487)) if req.method == "CANCEL" else None,
        auto_trying=False)
    call_id = place(net)
    net.ua.hangup(call_id, net.now, reason=EndReason.CANCELLED)
    net.flush()
    assert not net.sent("CANCEL")
    net.respond(pending[0], 100)
    net.flush()
    assert len(net.sent("CANCEL")) == 1
    assert net.ended().outcome is CallOutcome.CANCELLED


def test_answer_crossing_our_cancel_is_acked_and_byed() -> None:
    held: list[Request] = []

    def far(request: Request, net: Network) -> None:
        if request.method == "INVITE":
            held.append(request)
            net.respond(request, 180)
        elif request.method == "CANCEL":
            # The 200 OK to the INVITE was already on its way: answer the CANCEL too late.
            net.respond(request, 200)
        elif request.method == "BYE":
            net.respond(request, 200)

    net = Network(far)
    call_id = place(net)
    net.ua.hangup(call_id, net.now, reason=EndReason.RING_TIMEOUT)
    net.respond(held[0], 200, contact=NameAddr(SipUri.parse("sip:far@127.0.0.1:5060")), body=SDP_ANSWER, content_type="application/sdp")
    net.flush()
    assert len(net.sent("ACK")) == 1 and len(net.sent("BYE")) == 1
    assert net.ended().outcome is CallOutcome.NO_ANSWER
    assert not any(isinstance(e, CallAnswered) for e in net.events)


def test_no_response_fails_after_timer_b() -> None:
    net = Network(lambda req, n: None, drop=lambda data: True)
    place(net)
    net.advance(31.9)
    assert not [e for e in net.events if isinstance(e, CallEnded)]
    net.advance(0.2)
    end = net.ended()
    assert end.outcome is CallOutcome.FAILED and end.reason is EndReason.NO_RESPONSE and end.sip_status is None
    assert "No response" in end.message
    assert len(net.sent("INVITE")) == 0  # every datagram was dropped before the far end


def test_invite_retransmitted_while_lost() -> None:
    lost = {"n": 0}

    def drop_first_two(data: bytes) -> bool:
        if data.startswith(b"INVITE") and lost["n"] < 2:
            lost["n"] += 1
            return True
        return False

    net = Network(answering, drop=drop_first_two)
    place(net)
    net.advance(2.0)
    assert any(isinstance(e, CallAnswered) for e in net.events)  # third copy at T1 + 2*T1 = 1.5 s


def _challenging(password: str, status: int = 407, stale_first: bool = False) -> Handler:
    state = {"challenges": 0}
    header = "Proxy-Authenticate" if status == 407 else "WWW-Authenticate"
    auth_header = "Proxy-Authorization" if status == 407 else "Authorization"

    def far(request: Request, net: Network) -> None:
        if request.method != "INVITE":
            if request.method == "BYE":
                net.respond(request, 200)
            return
        value = request.headers.get(auth_header)
        if value is not None:
            response = DigestResponse.parse(value)
            if verify(response, password, "INVITE") and not (stale_first and state["challenges"] == 1):
                answering(request, net)
                return
        state["challenges"] += 1
        challenge = Challenge(realm="carrier.example", nonce=f"nonce{state['challenges']}", qop=("auth",), algorithm="SHA-256",
                              stale=stale_first and state["challenges"] == 2)
        net.respond(request, status, extra=((header, str(challenge)),))

    return far


@pytest.mark.parametrize("status", [401, 407])
def test_digest_challenge_is_answered(status: int) -> None:
    net = Network(_challenging("s3cret", status))
    place(net, credentials=Trunk("x", username="alice", password="s3cret").credentials)
    invites = net.sent("INVITE")
    assert len(invites) == 2 and invites[1].cseq.seq == invites[0].cseq.seq + 1
    assert invites[1].call_id == invites[0].call_id and invites[1].from_.tag == invites[0].from_.tag
    assert invites[1].top_via.branch != invites[0].top_via.branch
    assert any(isinstance(e, CallAnswered) for e in net.events)


def test_stale_nonce_is_retried_not_treated_as_refusal() -> None:
    net = Network(_challenging("s3cret", stale_first=True))
    place(net, credentials=Trunk("x", username="alice", password="s3cret").credentials)
    assert len(net.sent("INVITE")) == 3
    assert any(isinstance(e, CallAnswered) for e in net.events)


def test_wrong_password_is_reported_in_words() -> None:
    net = Network(_challenging("right"))
    place(net, credentials=Trunk("x", username="alice", password="wrong").credentials)
    end = net.ended()
    assert (end.outcome, end.sip_status, end.reason) == (CallOutcome.REJECTED, 407, EndReason.AUTH_FAILED)
    assert "credentials" in end.message and "password" in end.message
    assert len(net.sent("INVITE")) == 2  # never retried with refused credentials


def test_challenge_without_credentials_says_what_to_configure() -> None:
    net = Network(_challenging("right"))
    place(net)
    end = net.ended()
    assert end.outcome is CallOutcome.REJECTED and "username and password" in end.message


def test_requests_inside_the_dialog() -> None:
    net = Network(answering)
    place(net, local_sdp=b"v=0\r\nours\r\n")
    invite = net.sent("INVITE")[0]
    net.far.datagrams_to_send()
    net.request_from_far("INFO", invite, body=b"Signal=5\r\nDuration=160\r\n", content_type="application/dtmf-relay", cseq=1)
    assert [e.digit for e in net.events if isinstance(e, DtmfInfo)] == ["5"]
    net.request_from_far("INVITE", invite, body=SDP_ANSWER, content_type="application/sdp", cseq=2)
    net.request_from_far("OPTIONS", invite, cseq=3)
    net.request_from_far("MESSAGE", invite, cseq=4)
    net.request_from_far("INFO", invite, cseq=3)  # CSeq lower than the last: 500 (s12.2.2)
    assert [(m, st) for m, st, _ in net.responses_to_far] == [
        ("INFO", 200), ("INVITE", 100), ("INVITE", 200), ("OPTIONS", 200), ("MESSAGE", 405), ("INFO", 500)]
    assert net.responses_to_far[2][2] == b"v=0\r\nours\r\n"  # re-INVITE answered with our session
    assert not [e for e in net.events if isinstance(e, CallEnded)]


def test_out_of_dialog_requests_are_answered() -> None:
    net = Network(answering)
    far = net.far
    got: list[int] = []
    for method, to_tag in (("OPTIONS", None), ("BYE", "nosuchtag"), ("INVITE", None)):
        to = NameAddr(SipUri.parse("sip:bot@127.0.0.1"))
        request = build_request(method, SipUri.parse("sip:bot@127.0.0.1:5070"), via=local_via(*FAR_ADDR),
                                from_=NameAddr(SipUri.parse("sip:x@127.0.0.1"), params=(("tag", "abc"),)),
                                to=to.with_tag(to_tag) if to_tag else to, call_id=f"c-{method}", cseq=1)
        far.send_request(request, UA_ADDR, net.now)
        for out in far.datagrams_to_send():
            net.ua.receive(out.data, FAR_ADDR, net.now)
        for out in net.ua.datagrams_to_send():
            message = parse_message(out.data)
            got.append(message.status)  # type: ignore[union-attr]
    assert got == [200, 481, 100, 480]  # an INVITE gets 100 Trying first (s17.2.1)


def test_registration_answers_challenge_and_refreshes() -> None:
    registers: list[Request] = []

    def registrar(request: Request, net: Network) -> None:
        if request.method != "REGISTER":
            return
        registers.append(request)
        if request.headers.get("Authorization") is None:
            net.respond(request, 401, extra=(("WWW-Authenticate", str(Challenge(realm="r", nonce=f"n{len(registers)}", qop=("auth",)))),))
        else:
            net.respond(request, 200, contact=NameAddr(request.contacts[0].uri, params=(("expires", "120"),)))

    net = Network(registrar)
    net.ua.register(Trunk("127.0.0.1", 5060, username="alice", password="pw", register=True), net.now)
    net.flush()
    changes = [e for e in net.events if isinstance(e, RegistrationChanged)]
    assert [c.registered for c in changes] == [True] and changes[0].expires == 120
    assert len(registers) == 2
    net.advance(89.0)
    assert len(registers) == 2
    net.advance(2.0)  # refreshed 30 s before expiry
    assert len(registers) == 4
    assert len({r.call_id for r in registers}) == 1
    assert [r.cseq.seq for r in registers] == [1, 2, 3, 4]


def test_registration_refused_is_reported() -> None:
    def registrar(request: Request, net: Network) -> None:
        net.respond(request, 403)

    net = Network(registrar)
    net.ua.register(Trunk("127.0.0.1", 5060, username="alice", password="pw"), net.now)
    net.flush()
    change = [e for e in net.events if isinstance(e, RegistrationChanged)][0]
    assert not change.registered and change.status == 403 and "refused" in change.message


def test_our_2xx_to_a_reinvite_is_retransmitted_until_acked() -> None:
    """s13.3.1.4: the UAS core retransmits its 2xx (T1 doubling up to T2) until the ACK."""
    net = Network(answering)
    place(net)
    invite = net.sent("INVITE")[0]
    net.request_from_far("INVITE", invite, body=SDP_ANSWER, content_type="application/sdp", cseq=7)
    net.advance(1.6)  # retransmissions at +0.5 s and +1.5 s
    oks = [r for r in net.responses_to_far if r[:2] == ("INVITE", 200)]
    assert len(oks) == 3
    ack = build_request("ACK", invite.contacts[0].uri, via=local_via(*FAR_ADDR), from_=invite.to.with_tag(net.to_tag),
                        to=invite.from_, call_id=invite.call_id, cseq=7)
    net.far.send_stateless(ack, UA_ADDR, net.now)
    net.flush()
    net.advance(10.0)
    assert len([r for r in net.responses_to_far if r[:2] == ("INVITE", 200)]) == 3


def test_unacknowledged_2xx_to_a_reinvite_ends_the_session() -> None:
    net = Network(answering)
    place(net)
    invite = net.sent("INVITE")[0]
    net.request_from_far("INVITE", invite, body=SDP_ANSWER, content_type="application/sdp", cseq=7)
    net.advance(31.0)
    assert not net.sent("BYE")
    net.advance(2.0)
    assert len(net.sent("BYE")) == 1
    end = net.ended()
    assert end.outcome is CallOutcome.ANSWERED and end.reason is EndReason.NO_RESPONSE and end.hangup_by is HangupBy.US
