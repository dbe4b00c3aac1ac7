"""The simulated phones (dialer.simphone) on a fake clock, without sockets.

Most tests pair the sans-I/O core with our own outbound user agent (dialer.sip.ua) through an
in-memory network that can drop datagrams; a few send hand-built requests.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.errors import ConfigError
from dialer.outcome import CallOutcome, HangupBy
from dialer.sdp import build_offer
from dialer.simphone import (
    MAX_SUMMARIES,
    Action,
    Behaviour,
    ByeSent,
    CallAnswered,
    CallEnded,
    IncomingCall,
    PhoneSimulator,
    PhoneState,
    PressDigit,
    SimCallSummary,
    SimEndReason,
    SimEvent,
    SimulatedPhones,
    SimulatorConfig,
)
from dialer.simphone.runner import keep_summary
from dialer.sip.builder import build_request, local_via, new_call_id, new_tag
from dialer.sip.headers import NameAddr
from dialer.sip.message import Message, Request, Response, parse_message
from dialer.sip.timers import TimerConfig
from dialer.sip.ua import CallAnswered as UaAnswered
from dialer.sip.ua import CallEnded as UaEnded
from dialer.sip.ua import UaConfig, UaEvent, UserAgent
from dialer.sip.uri import SipUri

UAC: tuple[str, int] = ("127.0.0.1", 5060)
PHONE: tuple[str, int] = ("127.0.0.1", 5070)
TIMERS = TimerConfig()  # T1 0.5 s, T2 4 s (RFC 3261 Table 4)
START = 1000.0
RTP_PORT = 40000

ANSWER = Behaviour(Action.ANSWER, ring_seconds=1.0, press="12", digits_after=1.0, digit_interval=0.3)
CONFIG = SimulatorConfig(
    numbers={
        "100": ANSWER,
        "101": Behaviour(Action.ANSWER, ring_seconds=0.5, hangup_after=2.0),
        "200": Behaviour(Action.BUSY, ring_seconds=0.0),
        "300": Behaviour(Action.DECLINE, ring_seconds=1.0),
        "400": Behaviour(Action.NO_ANSWER),
        "500": Behaviour(Action.REJECT, status=503, ring_seconds=0.0),
        "600": Behaviour(Action.SILENT, ring_seconds=0.0),
    }
)

Drop = Callable[[str, Message], bool]


class Pair:
    """Our UAC and the simulated phones, joined by a lossless or lossy in-memory network on a
    fake clock. ``drop(direction, message)`` decides which datagrams are lost."""

    def __init__(self, config: SimulatorConfig = CONFIG, *, drop: Drop | None = None, auto_media: bool = True,
                 no_answer_limit: float = 120.0) -> None:
        self.now = START
        self.ua = UserAgent(UaConfig(local_host=UAC[0], local_port=UAC[1], timers=TIMERS))
        self.phones = SimulatedPhones(config, local_host=PHONE[0], local_port=PHONE[1], timers=TIMERS,
                                      no_answer_limit=no_answer_limit)
        self.drop = drop or (lambda direction, message: False)
        self.auto_media = auto_media
        self.wire: list[tuple[float, str, Message]] = []  # every datagram sent, lost or not
        self.ua_events: list[UaEvent] = []
        self.phone_events: list[SimEvent] = []

    def call(self, number: str, *, ring_timeout: float | None = 30.0, sdp: bytes | None = None) -> str:
        offer = sdp if sdp is not None else str(build_offer(UAC[0], 30000, 1)).encode()
        target = SipUri(scheme="sip", user=number, host=PHONE[0], port=PHONE[1])
        call_id = self.ua.place_call(target, local_sdp=offer, now=self.now, ring_timeout=ring_timeout)
        self.flush()
        return call_id

    def inject(self, request: Request) -> None:
        """A hand-built request from the UAC's address."""
        self.wire.append((self.now, "uac->phone", request))
        self._phone(self.phones.receive(bytes(request), UAC, self.now))
        self.flush()

    def _phone(self, events: list[SimEvent]) -> None:
        self.phone_events += events
        for event in events:
            if isinstance(event, IncomingCall) and event.needs_media and self.auto_media:
                self.phone_events += self.phones.media_ready(event.call_id, RTP_PORT, self.now)

    def flush(self) -> None:
        for _ in range(1000):
            moved = False
            for out in self.ua.datagrams_to_send():
                moved = True
                message = parse_message(out.data)
                self.wire.append((self.now, "uac->phone", message))
                if not self.drop("uac->phone", message):
                    self._phone(self.phones.receive(out.data, UAC, self.now))
            for out in self.phones.datagrams_to_send():
                moved = True
                message = parse_message(out.data)
                self.wire.append((self.now, "phone->uac", message))
                if not self.drop("phone->uac", message):
                    self.ua_events += self.ua.receive(out.data, PHONE, self.now)
            if not moved:
                return
        raise AssertionError("the two sides never stopped talking")

    def run_until(self, until: float) -> None:
        """Advance the clock to ``until``, firing every deadline on the way in order."""
        self.flush()
        for _ in range(10_000):
            deadlines = [d for d in (self.ua.next_deadline(), self.phones.next_deadline()) if d is not None]
            due = min(deadlines, default=None)
            if due is None or due > until:
                self.now = until
                return
            assert due >= self.now - 1e-9, "a deadline in the past was not consumed"
            self.now = max(self.now, due)
            self.ua_events += self.ua.handle_timer(self.now)
            self._phone(self.phones.handle_timer(self.now))
            self.flush()
        raise AssertionError("timers kept firing without the clock moving on")

    def run_for(self, seconds: float) -> None:
        self.run_until(self.now + seconds)

    # --- what went over the wire
    def from_phone(self, method: str | None = None) -> list[tuple[float, Message]]:
        out = [(t, m) for t, d, m in self.wire if d == "phone->uac"]
        return [(t, m) for t, m in out if method is None or m.cseq.method == method]

    def statuses(self, method: str = "INVITE") -> list[int]:
        return [m.status for _, m in self.from_phone(method) if isinstance(m, Response)]

    def ua_ended(self) -> UaEnded:
        ended = [e for e in self.ua_events if isinstance(e, UaEnded)]
        assert len(ended) == 1, self.ua_events
        return ended[0]

    def phone_ended(self) -> CallEnded:
        ended = [e for e in self.phone_events if isinstance(e, CallEnded)]
        assert len(ended) == 1, self.phone_events
        return ended[0]


# --- answering -----------------------------------------------------------------------------------


def test_answer_sends_100_180_then_200_with_sdp_to_tag_and_contact() -> None:
    pair = Pair()
    call_id = pair.call("100")
    assert pair.statuses() == [100, 180]
    trying, ringing = (m for _, m in pair.from_phone("INVITE"))
    assert trying.to.tag is None  # s8.2.6.1: no tag on 100 Trying
    assert ringing.to.tag and ringing.contacts[0].uri.user == "100"
    pair.run_for(1.0)  # ring_seconds
    assert pair.statuses() == [100, 180, 200]
    ok_time, ok = pair.from_phone("INVITE")[-1]
    assert ok_time == pytest.approx(START + 1.0)
    assert isinstance(ok, Response)
    assert ok.to.tag == ringing.to.tag  # one dialog from 180 to 200 (s12.1.1)
    assert ok.contacts[0].uri == SipUri(scheme="sip", user="100", host=PHONE[0], port=PHONE[1])
    assert ok.content_type == "application/sdp"
    assert b"m=audio 40000 RTP/AVP 0 101" in ok.body
    answered = [e for e in pair.ua_events if isinstance(e, UaAnswered)]
    assert [e.call_id for e in answered] == [call_id]
    phone_answer = next(e for e in pair.phone_events if isinstance(e, CallAnswered))
    assert phone_answer.media.remote_address == (UAC[0], 30000)
    assert (phone_answer.media.codec, phone_answer.media.telephone_event_pt) == ("PCMU", 101)
    assert pair.phones.calls[call_id].state is PhoneState.CONFIRMED  # our UA sent the ACK


def test_digits_are_pressed_on_schedule_after_the_answer() -> None:
    pair = Pair()
    pair.call("100")
    pair.run_for(5.0)
    presses = [e.digit for e in pair.phone_events if isinstance(e, PressDigit)]
    assert presses == ["1", "2"]


def test_answer_waits_for_the_rtp_socket() -> None:
    pair = Pair(auto_media=False)
    call_id = pair.call("100")
    pair.run_for(3.0)  # past ring_seconds: no socket yet, so no answer
    assert pair.statuses() == [100, 180]
    pair._phone(pair.phones.media_ready(call_id, RTP_PORT, pair.now))
    pair.flush()
    assert pair.statuses() == [100, 180, 200]


def test_2xx_is_retransmitted_t1_doubling_capped_at_t2_until_the_ack() -> None:
    """s13.3.1.4: the 2xx goes out again at T1, 2*T1, 4*T1... capped at T2, until the ACK."""

    def drop(direction: str, message: Message) -> bool:
        return isinstance(message, Request) and message.method == "ACK" and pair.now < START + 10.0

    pair = Pair(drop=drop)
    call_id = pair.call("100", ring_timeout=None)
    pair.run_for(20.0)
    oks = [t - START for t, m in pair.from_phone("INVITE") if isinstance(m, Response) and m.status == 200]
    gaps = [round(b - a, 6) for a, b in zip(oks, oks[1:])]
    # answered at 1.0, then T1=0.5, 1, 2, 4, 4: the ACK to the 200 at 12.5 is the first one kept.
    assert oks[0] == pytest.approx(1.0)
    assert gaps == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert oks[-1] == pytest.approx(12.5)
    assert pair.phones.calls[call_id].state is PhoneState.CONFIRMED
    assert [e.digit for e in pair.phone_events if isinstance(e, PressDigit)] == ["1", "2"]


def test_no_ack_within_64_t1_ends_the_call_with_bye() -> None:
    pair = Pair(drop=lambda direction, message: isinstance(message, Request) and message.method == "ACK")
    pair.call("100", ring_timeout=None)
    pair.run_for(40.0)
    oks = [t - START for t, m in pair.from_phone("INVITE") if isinstance(m, Response) and m.status == 200]
    assert max(oks) < 1.0 + 64 * TIMERS.t1
    assert all(b - a <= TIMERS.t2 + 1e-9 for a, b in zip(oks, oks[1:]))
    byes = [(t, m) for t, d, m in pair.wire if d == "phone->uac" and isinstance(m, Request) and m.method == "BYE"]
    assert len(byes) == 1
    assert byes[0][0] == pytest.approx(START + 1.0 + 64 * TIMERS.t1)
    assert any(isinstance(e, ByeSent) and e.reason is SimEndReason.NO_ACK for e in pair.phone_events)
    ended = pair.phone_ended()
    assert (ended.status, ended.reason) == (200, SimEndReason.NO_ACK)
    assert pair.ua_ended().hangup_by is HangupBy.REMOTE


def test_phone_hangs_up_after_hangup_after_and_caller_sees_remote_bye() -> None:
    pair = Pair()
    pair.call("101")
    pair.run_for(5.0)
    bye = next(m for _, d, m in pair.wire if d == "phone->uac" and isinstance(m, Request) and m.method == "BYE")
    assert isinstance(bye, Request)
    assert bye.uri.user == "callbot" and bye.uri.port == UAC[1]  # the caller's Contact (s12.1.1)
    assert bye.cseq.seq == 1
    ended = pair.ua_ended()
    assert (ended.outcome, ended.hangup_by, ended.talk_ms) == (CallOutcome.ANSWERED, HangupBy.REMOTE, 2000)
    phone = pair.phone_ended()
    assert (phone.reason, phone.talk_seconds) == (SimEndReason.PHONE_BYE, pytest.approx(2.0))


def test_caller_bye_is_answered_200_and_ends_the_call() -> None:
    pair = Pair()
    call_id = pair.call("100")
    pair.run_for(2.0)
    pair.ua.hangup(call_id, pair.now)
    pair.flush()
    assert pair.statuses("BYE") == [200]
    assert pair.phone_ended().reason is SimEndReason.CALLER_BYE
    assert pair.ua_ended().hangup_by is HangupBy.US


def test_silent_phone_answers_without_asking_for_audio() -> None:
    pair = Pair()
    pair.call("600")
    answered = next(e for e in pair.phone_events if isinstance(e, CallAnswered))
    assert answered.send_audio is False
    assert pair.statuses() == [100, 200]  # ring_seconds 0: no 180


# --- refusing and ringing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "statuses", "outcome", "at"),
    [
        ("200", [100, 486], CallOutcome.BUSY, 0.0),
        ("300", [100, 180, 603], CallOutcome.DECLINED, 1.0),
        ("500", [100, 503], CallOutcome.FAILED, 0.0),
        ("999", [100, 404], CallOutcome.REJECTED, 0.0),
    ],
)
def test_refusals(number: str, statuses: list[int], outcome: CallOutcome, at: float) -> None:
    pair = Pair()
    pair.call(number)
    pair.run_for(5.0)
    assert pair.statuses() == statuses
    final_time = pair.from_phone("INVITE")[-1][0]
    assert final_time == pytest.approx(START + at)
    assert pair.ua_ended().outcome is outcome
    # The transaction layer got the ACK for the non-2xx: nothing is retransmitted.
    pair.run_for(40.0)
    assert pair.statuses() == statuses


def test_cancel_gets_200_and_the_invite_487() -> None:
    pair = Pair()
    pair.call("400", ring_timeout=3.0)
    pair.run_for(10.0)
    ringing = pair.from_phone("INVITE")[1][1]
    assert pair.statuses() == [100, 180, 487]
    cancel_ok = [m for _, m in pair.from_phone("CANCEL")]
    assert [m.status for m in cancel_ok if isinstance(m, Response)] == [200]
    assert cancel_ok[0].to.tag == ringing.to.tag  # s9.2: the To tag of the INVITE's responses
    ended = pair.ua_ended()
    assert (ended.outcome, ended.sip_status) == (CallOutcome.NO_ANSWER, 487)
    phone = pair.phone_ended()
    assert (phone.status, phone.reason) == (487, SimEndReason.CANCELLED)


def test_no_answer_without_cancel_gives_up_with_480() -> None:
    pair = Pair(no_answer_limit=120.0)
    pair.call("400", ring_timeout=None)
    pair.run_for(119.0)
    assert pair.statuses() == [100, 180]
    pair.run_for(2.0)
    assert pair.statuses() == [100, 180, 480]
    assert pair.ua_ended().outcome is CallOutcome.NO_ANSWER
    assert pair.phone_ended().reason is SimEndReason.RING_LIMIT


def test_cancel_for_an_unknown_invite_is_481() -> None:
    pair = Pair()
    cancel = _request("CANCEL", "100")
    pair.inject(cancel)
    assert [m.status for _, m in pair.from_phone("CANCEL") if isinstance(m, Response)] == [481]


def test_bye_in_the_early_dialog_gets_200_and_the_invite_487() -> None:
    pair = Pair()
    call_id = pair.call("400", ring_timeout=None)
    ringing = pair.from_phone("INVITE")[1][1]
    invite = pair.phones.calls[call_id].invite
    bye = _request("BYE", "400", call_id=call_id, from_=invite.from_, to=ringing.to, cseq=2)
    pair.inject(bye)
    assert pair.statuses("BYE") == [200]
    assert pair.statuses() == [100, 180, 487]


# --- what the phone cannot take ------------------------------------------------------------------


def test_offer_without_a_common_codec_is_488() -> None:
    pair = Pair()
    g729 = (
        b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        b"m=audio 30000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n"
    )
    pair.call("100", sdp=g729)
    assert pair.statuses() == [100, 488]
    final = pair.from_phone("INVITE")[-1][1]
    assert "G729" in (final.headers.get("Warning") or "")
    assert pair.ua_ended().sip_status == 488
    assert pair.phone_ended().reason is SimEndReason.UNSUPPORTED


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [(b"", None, 488), (b"hello", "text/plain", 415), (b"v=1\r\n", "application/sdp", 488)],
)
def test_unusable_bodies(body: bytes, content_type: str | None, status: int) -> None:
    pair = Pair()
    pair.inject(_request("INVITE", "100", body=body, content_type=content_type))
    assert pair.statuses() == [100, status]


def test_require_is_answered_420_with_unsupported() -> None:
    pair = Pair()
    pair.inject(_request("INVITE", "100", extra=(("Require", "100rel"),)))
    final = pair.from_phone("INVITE")[-1][1]
    assert (final.status, final.headers.get("Unsupported")) == (420, "100rel")


def test_options_and_unknown_methods() -> None:
    pair = Pair()
    pair.inject(_request("OPTIONS", "100"))
    pair.inject(_request("SUBSCRIBE", "100"))
    options = pair.from_phone("OPTIONS")[0][1]
    assert options.status == 200 and "INVITE" in (options.headers.get("Allow") or "")
    assert pair.statuses("SUBSCRIBE") == [405]


def test_in_dialog_options_and_unknown_dialog_bye() -> None:
    pair = Pair()
    call_id = pair.call("100")
    pair.run_for(2.0)
    ok = pair.from_phone("INVITE")[-1][1]
    invite = pair.phones.calls[call_id].invite
    pair.inject(_request("OPTIONS", "100", call_id=call_id, from_=invite.from_, to=ok.to, cseq=5))
    assert pair.statuses("OPTIONS") == [200]
    pair.inject(_request("BYE", "100", call_id="nope@x", to=ok.to, cseq=6))
    assert pair.statuses("BYE") == [481]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_garbage_never_raises(data: bytes) -> None:
    phones = SimulatedPhones(CONFIG, local_host=PHONE[0], local_port=PHONE[1])
    phones.receive(b"INVITE sip:100@127.0.0.1 SIP/2.0\r\n" + data, UAC, START)
    phones.receive(data, UAC, START)
    phones.handle_timer(START + 100)


# --- configuration -------------------------------------------------------------------------------


def test_config_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "phones.yaml"
    path.write_text(
        'numbers:\n'
        '  "0912345678": {action: answer, press: "1", ring_seconds: 1, prompt: hello.wav}\n'
        '  "0911111111": {action: reject, status: 503}\n'
        'default: {action: no_answer}\n'
    )
    config = SimulatorConfig.load(path)
    answer = config.behaviour_for("0912345678")
    assert answer == Behaviour(Action.ANSWER, ring_seconds=1.0, press="1", prompt=tmp_path / "hello.wav")
    assert config.behaviour_for("0911111111") == Behaviour(Action.REJECT, status=503)
    assert config.behaviour_for("42") == Behaviour(Action.NO_ANSWER)
    assert SimulatorConfig.from_mapping({"numbers": {}}).behaviour_for("42") is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"numbers": {912345678: {"action": "answer"}}}, "quoted string"),
        ({"numbers": {"1": {"action": "ring"}}}, "unknown action"),
        ({"numbers": {"1": {"action": "busy", "press": "1"}}}, "press needs action 'answer'"),
        ({"numbers": {"1": {"action": "reject"}}}, "needs a status"),
        ({"numbers": {"1": {"action": "answer", "press": "1x"}}}, "is not a key"),
        ({"numbers": {"1": {"action": "answer", "ring_seconds": -1}}}, "ring_seconds"),
        ({"numbers": {"1": {"colour": "red"}}}, "unknown behaviour key"),
        ({"phones": {}}, "unknown config key"),
        (["not", "a", "mapping"], "must be a mapping"),
    ],
)
def test_config_errors(data: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SimulatorConfig.from_mapping(data)


# --- the runner's call summaries ------------------------------------------------------------------


def _summary(call_id: str) -> SimCallSummary:
    return SimCallSummary(call_id, "200", "busy", 486, SimEndReason.REFUSED, 0.0, "", 0, 0)


def test_summaries_keep_the_last_calls_and_drop_the_oldest() -> None:
    summaries: dict[str, SimCallSummary] = {}
    for n in range(7):
        keep_summary(summaries, _summary(f"call-{n}"), limit=3)
        assert len(summaries) == min(n + 1, 3)
    assert list(summaries) == ["call-4", "call-5", "call-6"]
    keep_summary(summaries, _summary("call-4"), limit=3)  # seen again: now the newest
    keep_summary(summaries, _summary("call-7"), limit=3)
    assert list(summaries) == ["call-6", "call-4", "call-7"]
    assert summaries["call-7"] == _summary("call-7")


def test_phone_simulator_keeps_at_most_10000_summaries() -> None:
    sim = PhoneSimulator(CONFIG)
    assert sim.max_summaries == MAX_SUMMARIES == 10_000
    for n in range(MAX_SUMMARIES + 5):
        keep_summary(sim.summaries, _summary(f"call-{n}"), sim.max_summaries)
    assert len(sim.summaries) == 10_000
    assert next(iter(sim.summaries)) == "call-5"  # the five oldest were dropped
    assert f"call-{MAX_SUMMARIES + 4}" in sim.summaries
    with pytest.raises(ConfigError, match="max_summaries"):
        PhoneSimulator(CONFIG, max_summaries=0)


# --- helpers -------------------------------------------------------------------------------------


def _request(
    method: str,
    number: str,
    *,
    call_id: str | None = None,
    from_: NameAddr | None = None,
    to: NameAddr | None = None,
    cseq: int = 1,
    body: bytes = b"",
    content_type: str | None = None,
    extra: tuple[tuple[str, str], ...] = (),
) -> Request:
    uri = SipUri(scheme="sip", user=number, host=PHONE[0], port=PHONE[1])
    caller = SipUri(scheme="sip", user="callbot", host=UAC[0], port=UAC[1])
    return build_request(
        method,
        uri,
        via=local_via(*UAC),
        from_=from_ or NameAddr(uri=caller, params=(("tag", new_tag()),)),
        to=to or NameAddr(uri=uri),
        call_id=call_id or new_call_id(UAC[0]),
        cseq=cseq,
        contact=NameAddr(uri=caller),
        extra=extra,
        body=body,
        content_type=content_type,
    )
