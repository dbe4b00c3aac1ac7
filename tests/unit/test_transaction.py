"""RFC 3261 s17 transactions on a fake clock, over an in-memory network that can drop,
duplicate and reorder datagrams (seeded random)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.errors import ConfigError
from dialer.sip.headers import Via
from dialer.sip.message import Headers, Request, Response, parse_message, reason_phrase
from dialer.sip.timers import TimerConfig
from dialer.sip.transaction import (
    MessageDropped,
    Outgoing,
    RequestReceived,
    ResponseReceived,
    StrayResponse,
    TransactionLayer,
    TransactionTimeout,
    build_ack_for_failure,
    response_destination,
)

UAC = ("10.0.0.1", 5060)
UAS = ("10.0.0.2", 5080)
T = TimerConfig()


def make_request(
    method: str = "INVITE",
    branch: str = "z9hG4bKaaa1",
    *,
    cseq: int = 1,
    call_id: str = "call-1@10.0.0.1",
    via_host: str = "10.0.0.1:5060",
    rport: bool = False,
    routes: tuple[str, ...] = (),
    to_tag: str | None = None,
) -> Request:
    via = f"SIP/2.0/UDP {via_host};branch={branch}" + (";rport" if rport else "")
    fields = [("Via", via), ("Max-Forwards", "70")]
    fields += [("Route", r) for r in routes]
    fields += [
        ("From", "\"Alice\" <sip:alice@example.com>;tag=fromtag1"),
        ("To", "<sip:bob@example.org>" + (f";tag={to_tag}" if to_tag else "")),
        ("Call-ID", call_id),
        ("CSeq", f"{cseq} {method}"),
        ("Contact", "<sip:alice@10.0.0.1:5060>"),
    ]
    return Request(method=method, uri=parse_message(_bare(method)).uri, headers=Headers(tuple(fields)))


def _bare(method: str) -> bytes:
    return (
        f"{method} sip:bob@10.0.0.2:5080 SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n"
        f"From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: x\r\nCSeq: 1 {method}\r\n\r\n"
    ).encode()


def make_response(request: Request, status: int, to_tag: str | None = "totag9") -> Response:
    """A UAS response (s8.2.6): Via, From, Call-ID, CSeq copied, To tagged above 100."""
    h = request.headers
    to = request.to
    if to_tag and status > 100 and to.tag is None:
        to = to.with_tag(to_tag)
    fields = [("Via", v) for v in h.get_all("Via")]
    fields += [("From", h.get("From") or ""), ("To", str(to)), ("Call-ID", request.call_id), ("CSeq", h.get("CSeq") or "")]
    if 200 <= status < 300 and request.method == "INVITE":
        fields.append(("Contact", "<sip:bob@10.0.0.2:5080>"))
    return Response(status=status, reason=reason_phrase(status), headers=Headers(tuple(fields)))


# --- an in-memory network on a fake clock -------------------------------------------------------


@dataclass(order=True)
class _InFlight:
    at: float
    seq: int
    dst: tuple[str, int] = field(compare=False)
    src: tuple[str, int] = field(compare=False)
    data: bytes = field(compare=False)


Handler = Callable[["Network", tuple[str, int], object], None]


class Network:
    """Endpoints exchanging datagrams with a latency; ``loss``, ``dup`` and ``jitter`` are
    drawn from a seeded generator, ``drop`` decides deterministically per datagram."""

    def __init__(
        self,
        seed: int = 0,
        *,
        latency: float = 0.02,
        loss: float = 0.0,
        dup: float = 0.0,
        jitter: float = 0.0,
        drop: Callable[[Outgoing, tuple[str, int]], bool] | None = None,
    ) -> None:
        self.rng = random.Random(seed)
        self.latency, self.loss, self.dup, self.jitter, self.drop = latency, loss, dup, jitter, drop
        self.now = 0.0
        self.layers: dict[tuple[str, int], TransactionLayer] = {}
        self.handlers: dict[tuple[str, int], Handler] = {}
        self.events: dict[tuple[str, int], list[tuple[float, object]]] = {}
        self.sent: list[tuple[float, tuple[str, int], Outgoing]] = []
        self._flight: list[_InFlight] = []
        self._actions: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = 0

    def later(self, at: float, action: Callable[[], None]) -> None:
        """Run ``action`` (a TU doing something) at time ``at``."""
        self._seq += 1
        self._actions.append((at, self._seq, action))
        self._actions.sort(key=lambda a: (a[0], a[1]))

    def add(self, addr: tuple[str, int], layer: TransactionLayer, handler: Handler | None = None) -> None:
        self.layers[addr] = layer
        self.events[addr] = []
        if handler is not None:
            self.handlers[addr] = handler

    def _collect(self) -> None:
        for src, layer in self.layers.items():
            for out in layer.datagrams_to_send():
                self.sent.append((self.now, src, out))
                if self.drop is not None and self.drop(out, src):
                    continue
                if self.rng.random() < self.loss:
                    continue
                copies = 2 if self.rng.random() < self.dup else 1
                for _ in range(copies):
                    delay = self.latency + self.rng.uniform(0, self.jitter)
                    self._seq += 1
                    self._flight.append(_InFlight(self.now + delay, self._seq, out.addr, src, out.data))
        self._flight.sort()

    def _dispatch(self, addr: tuple[str, int], events: list[object]) -> None:
        for event in events:
            self.events[addr].append((self.now, event))
            handler = self.handlers.get(addr)
            if handler is not None:
                handler(self, addr, event)

    def run(self, until: float, max_steps: int = 20_000) -> None:
        for _ in range(max_steps):
            self._collect()
            deadlines = [d for d in (layer.next_deadline() for layer in self.layers.values()) if d is not None]
            times = deadlines + ([self._flight[0].at] if self._flight else [])
            times += [self._actions[0][0]] if self._actions else []
            if not times or min(times) > until:
                self.now = until
                return
            self.now = max(self.now, min(times))
            while self._flight and self._flight[0].at <= self.now:
                item = self._flight.pop(0)
                layer = self.layers.get(item.dst)
                if layer is not None:
                    self._dispatch(item.dst, layer.receive(item.data, item.src, self.now))
                self._collect()
            while self._actions and self._actions[0][0] <= self.now:
                self._actions.pop(0)[2]()
                self._collect()
            for addr, layer in self.layers.items():
                self._dispatch(addr, layer.handle_timer(self.now))
        raise AssertionError("network simulation did not settle")

    def of(self, addr: tuple[str, int], kind: type) -> list:
        return [e for _, e in self.events[addr] if isinstance(e, kind)]


def _is(data: bytes, start: bytes) -> bool:
    return data.startswith(start)


def answer_with(status: int, *, retransmit_2xx: bool = False) -> Handler:
    """A UAS TU: answers every INVITE with ``status`` (and 200 to anything else). With
    ``retransmit_2xx`` it re-sends its 2xx at T1, 2T1, 4T1... as s13.3.1.4 asks of the TU."""

    def handle(net: Network, addr: tuple[str, int], event: object) -> None:
        if not isinstance(event, RequestReceived) or event.request.method == "ACK":
            return
        layer = net.layers[addr]
        code = status if event.request.method == "INVITE" else 200
        response = make_response(event.request, code)
        layer.send_response(response, net.now)
        if retransmit_2xx and 200 <= code < 300:
            for k in range(1, 4):
                # The TU's own 2xx retransmissions at T1, 3*T1, 7*T1 (s13.3.1.4).
                at = net.now + T.t1 * (2**k - 1)
                net.later(at, lambda at=at: layer.send_response(response, at))

    return handle


# --- timer values ------------------------------------------------------------------------------


def test_timer_config_follows_table_4() -> None:
    assert (T.timer_b, T.timer_f, T.timer_h, T.timer_j, T.timer_l, T.timer_m) == (32.0,) * 6
    assert (T.timer_d, T.timer_k, T.timer_i) == (32.0, 5.0, 5.0)
    fast = TimerConfig(t1=0.1, t2=1.0, t4=2.0)
    assert fast.timer_b == pytest.approx(6.4) and fast.timer_k == 2.0
    with pytest.raises(ConfigError):
        TimerConfig(t1=0)


# --- client INVITE -------------------------------------------------------------------------------


def _timeline(layer: TransactionLayer, horizon: float) -> tuple[list[float], list[tuple[float, object]]]:
    """Drive ``layer`` alone on a fake clock: times of retransmissions, and events."""
    sends: list[float] = []
    events: list[tuple[float, object]] = []
    layer.datagrams_to_send()
    for _ in range(1000):
        deadline = layer.next_deadline()
        if deadline is None or deadline > horizon:
            break
        events.extend((deadline, e) for e in layer.handle_timer(deadline))
        sends.extend(deadline for _ in layer.datagrams_to_send())
    return sends, events


def test_timer_a_doubles_and_timer_b_fires_at_64_t1() -> None:
    layer = TransactionLayer()
    key = layer.send_request(make_request(), UAS, now=0.0)
    assert key == "z9hG4bKaaa1"
    assert layer.next_deadline() == 0.5
    assert layer.handle_timer(0.499) == []
    sends, events = _timeline(layer, horizon=100)
    # Retransmissions after intervals 0.5, 1, 2, 4, 8, 16 s (s17.1.1.2), then Timer B at 32 s.
    assert sends == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert events == [(32.0, TransactionTimeout(key, "INVITE"))]
    assert len(layer) == 0 and layer.next_deadline() is None


def test_timer_b_not_before_its_deadline() -> None:
    layer = TransactionLayer()
    key = layer.send_request(make_request(), UAS, now=10.0)
    assert all(not isinstance(e, TransactionTimeout) for e in layer.handle_timer(10.0 + 31.999))
    assert layer.handle_timer(42.0) == [TransactionTimeout(key, "INVITE")]


def test_provisional_stops_timer_a_and_b() -> None:
    layer = TransactionLayer()
    request = make_request()
    key = layer.send_request(request, UAS, now=0.0)
    layer.datagrams_to_send()
    events = layer.receive(bytes(make_response(request, 180)), UAS, now=0.2)
    assert [type(e) for e in events] == [ResponseReceived]
    assert layer.next_deadline() is None  # Proceeding runs no timer (s17.1.1.2)
    assert layer.handle_timer(100.0) == [] and layer.datagrams_to_send() == []
    assert len(layer) == 1
    layer.terminate(key)
    assert len(layer) == 0


def test_invite_486_ack_over_the_network() -> None:
    net = Network()
    uac, uas = TransactionLayer(), TransactionLayer()
    net.add(UAC, uac)
    net.add(UAS, uas, answer_with(486))
    request = make_request()
    key = uac.send_request(request, UAS, now=0.0)
    net.run(until=1.0)
    statuses = [e.response.status for e in net.of(UAC, ResponseReceived)]
    assert statuses == [100, 486]
    assert [e.request.method for e in net.of(UAS, RequestReceived)] == ["INVITE"]  # ACK absorbed
    acks = [o for _, src, o in net.sent if src == UAC and _is(o.data, b"ACK")]
    assert len(acks) == 1 and acks[0].addr == UAS
    ack = parse_message(acks[0].data)
    assert ack.top_via.branch == key
    net.run(until=100.0)
    assert len(uac) == 0 and len(uas) == 0  # Timer D, Timer I
    assert net.of(UAC, TransactionTimeout) == [] and net.of(UAS, TransactionTimeout) == []


def test_ack_for_non_2xx_is_built_per_17_1_1_3() -> None:
    routes = ("<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>")
    invite = make_request(routes=routes, cseq=7)
    response = make_response(invite, 486, to_tag="busy-tag")
    ack = build_ack_for_failure(invite, response)
    assert ack.method == "ACK" and ack.uri == invite.uri
    assert [str(v) for v in ack.vias] == [str(invite.top_via)]
    assert ack.to.tag == "busy-tag"
    assert ack.from_ == invite.from_ and ack.call_id == invite.call_id
    assert (ack.cseq.seq, ack.cseq.method) == (7, "ACK")
    assert [str(r) for r in ack.routes] == list(routes)
    assert ack.header("Max-Forwards") == "70"
    assert parse_message(bytes(ack)) == parse_message(bytes(ack))  # serializes to a valid message


def test_retransmitted_final_resends_ack_without_redelivery() -> None:
    layer = TransactionLayer()
    invite = make_request()
    key = layer.send_request(invite, UAS, now=0.0)
    layer.datagrams_to_send()
    final = bytes(make_response(invite, 603))
    assert [e.response.status for e in layer.receive(final, UAS, 0.1)] == [603]  # type: ignore[union-attr]
    first_ack = layer.datagrams_to_send()
    assert len(first_ack) == 1
    assert layer.receive(final, UAS, 0.6) == []
    assert layer.datagrams_to_send() == first_ack
    assert layer.handle_timer(0.1 + 31.99) == [] and len(layer) == 1
    assert layer.handle_timer(0.1 + 32.0) == [] and len(layer) == 0  # Timer D
    assert key not in repr(layer.datagrams_to_send())


def test_invite_200_with_2xx_retransmissions_and_stray_after_timer_m() -> None:
    layer = TransactionLayer()
    invite = make_request()
    key = layer.send_request(invite, UAS, now=0.0)
    layer.datagrams_to_send()
    ok = bytes(make_response(invite, 200))
    for t in (0.1, 0.6, 1.6):
        events = layer.receive(ok, UAS, t)
        assert events == [ResponseReceived(key, parse_message(ok))]  # type: ignore[arg-type]
    assert layer.datagrams_to_send() == []  # the TU ACKs a 2xx, not the transaction
    assert layer.next_deadline() == pytest.approx(0.1 + 32.0)  # Timer M
    assert layer.handle_timer(0.1 + 32.0) == [] and len(layer) == 0
    assert [type(e) for e in layer.receive(ok, UAS, 40.0)] == [StrayResponse]


def test_2xx_before_1xx_reordered() -> None:
    layer = TransactionLayer()
    invite = make_request()
    key = layer.send_request(invite, UAS, now=0.0)
    ok, ringing = make_response(invite, 200), make_response(invite, 180)
    assert layer.receive(bytes(ok), UAS, 0.1) == [ResponseReceived(key, parse_message(bytes(ok)))]  # type: ignore[arg-type]
    assert layer.receive(bytes(ringing), UAS, 0.11) == []  # absorbed in Accepted
    assert layer.receive(bytes(make_response(invite, 486)), UAS, 0.12) == []


def test_invite_200_over_lossy_reordering_network_with_tu_retransmissions() -> None:
    net = Network(seed=3, loss=0.3, jitter=0.3)
    uac, uas = TransactionLayer(), TransactionLayer()
    net.add(UAC, uac)
    net.add(UAS, uas, answer_with(200, retransmit_2xx=True))
    key = uac.send_request(make_request(), UAS, now=0.0)
    net.run(until=100.0)
    oks = [e for e in net.of(UAC, ResponseReceived) if e.response.status == 200]
    assert oks and all(e.key == key for e in oks)
    assert len(uac) == 0 and len(uas) == 0


# --- client non-INVITE -----------------------------------------------------------------------------


def test_timer_e_doubles_up_to_t2_and_timer_f_fires_at_64_t1() -> None:
    layer = TransactionLayer()
    key = layer.send_request(make_request("OPTIONS"), UAS, now=0.0)
    sends, events = _timeline(layer, horizon=100)
    intervals = [b - a for a, b in zip([0.0, *sends], sends)]
    assert intervals[:5] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert max(intervals) == T.t2
    assert events == [(32.0, TransactionTimeout(key, "OPTIONS"))]
    assert len(layer) == 0


def test_timer_e_every_t2_in_proceeding() -> None:
    layer = TransactionLayer()
    request = make_request("BYE", to_tag="t")
    layer.send_request(request, UAS, now=0.0)
    layer.datagrams_to_send()
    layer.receive(bytes(make_response(request, 100)), UAS, 0.1)
    sends, events = _timeline(layer, horizon=12.0)
    # Timer E armed in Trying (0.5) fires once, then every T2 in Proceeding.
    assert sends == [0.5, 4.5, 8.5]


def test_non_invite_loss_recovers_through_timer_e() -> None:
    lost = {"n": 0}

    def drop_first_two_requests(out: Outgoing, src: tuple[str, int]) -> bool:
        if src == UAC and _is(out.data, b"OPTIONS") and lost["n"] < 2:
            lost["n"] += 1
            return True
        return False

    net = Network(drop=drop_first_two_requests)
    uac, uas = TransactionLayer(), TransactionLayer()
    net.add(UAC, uac)
    net.add(UAS, uas, answer_with(200))
    key = uac.send_request(make_request("OPTIONS"), UAS, now=0.0)
    net.run(until=10.0)
    got = net.of(UAC, ResponseReceived)
    assert [(e.key, e.response.status) for e in got] == [(key, 200)]
    assert got and net.events[UAC][0][0] == pytest.approx(1.5 + 2 * 0.02)  # third transmission
    net.run(until=100.0)
    assert len(uac) == 0 and len(uas) == 0  # Timer K, Timer J


def test_completed_non_invite_absorbs_retransmitted_finals() -> None:
    layer = TransactionLayer()
    request = make_request("REGISTER")
    key = layer.send_request(request, UAS, now=0.0)
    ok = bytes(make_response(request, 200))
    assert [type(e) for e in layer.receive(ok, UAS, 0.1)] == [ResponseReceived]
    assert layer.receive(ok, UAS, 0.2) == []
    assert layer.next_deadline() == pytest.approx(0.1 + T.t4)  # Timer K
    layer.handle_timer(5.1)
    assert len(layer) == 0
    assert key


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("method,status", [("INVITE", 486), ("OPTIONS", 200)])
def test_lossy_duplicating_reordering_network_converges(seed: int, method: str, status: int) -> None:
    net = Network(seed=seed, loss=0.2, dup=0.2, jitter=0.5)
    uac, uas = TransactionLayer(), TransactionLayer()
    net.add(UAC, uac)
    net.add(UAS, uas, answer_with(status))
    key = uac.send_request(make_request(method), UAS, now=0.0)
    net.run(until=200.0)
    finals = [e.response.status for e in net.of(UAC, ResponseReceived) if e.response.status >= 200]
    assert finals == [status] and all(e.key == key for e in net.of(UAC, ResponseReceived))
    assert [e.request.method for e in net.of(UAS, RequestReceived)] == [method]
    assert len(uac) == 0 and len(uas) == 0


# --- server transactions --------------------------------------------------------------------------


def test_server_invite_absorbs_retransmission_and_resends_last_response() -> None:
    layer = TransactionLayer()
    invite = make_request()
    events = layer.receive(bytes(invite), UAC, 0.0)
    assert [type(e) for e in events] == [RequestReceived]
    trying = layer.datagrams_to_send()
    assert len(trying) == 1 and _is(trying[0].data, b"SIP/2.0 100 Trying")
    layer.send_response(make_response(events[0].request, 180), 0.1)  # type: ignore[union-attr]
    ringing = layer.datagrams_to_send()
    assert layer.receive(bytes(invite), UAC, 0.5) == []
    assert layer.datagrams_to_send() == ringing


def test_server_non_invite_retransmissions() -> None:
    layer = TransactionLayer()
    bye = make_request("BYE", to_tag="x")
    [event] = layer.receive(bytes(bye), UAC, 0.0)
    assert layer.receive(bytes(bye), UAC, 0.1) == [] and layer.datagrams_to_send() == []  # Trying
    layer.send_response(make_response(event.request, 200), 0.2)  # type: ignore[union-attr]
    ok = layer.datagrams_to_send()
    assert layer.receive(bytes(bye), UAC, 1.0) == []
    assert layer.datagrams_to_send() == ok
    assert layer.next_deadline() == pytest.approx(0.2 + 32.0)  # Timer J
    layer.handle_timer(32.2)
    assert len(layer) == 0


def test_timer_g_capped_at_t2_and_timer_h_timeout() -> None:
    layer = TransactionLayer()
    [event] = layer.receive(bytes(make_request()), UAC, 0.0)
    layer.send_response(make_response(event.request, 486), 0.0)  # type: ignore[union-attr]
    layer.datagrams_to_send()
    sends, events = _timeline(layer, horizon=100)
    intervals = [b - a for a, b in zip([0.0, *sends], sends)]
    assert intervals[:5] == [0.5, 1.0, 2.0, 4.0, 4.0] and max(intervals) == T.t2
    assert events == [(32.0, TransactionTimeout(event.key, "INVITE"))]  # type: ignore[union-attr]
    assert len(layer) == 0


def test_server_invite_2xx_accepted_then_ack_is_a_new_request() -> None:
    layer = TransactionLayer()
    [event] = layer.receive(bytes(make_request()), UAC, 0.0)
    ok = make_response(event.request, 200)  # type: ignore[union-attr]
    layer.send_response(ok, 0.1)
    layer.send_response(ok, 0.6)  # TU retransmission passes through (RFC 6026 s8.5)
    assert len([o for o in layer.datagrams_to_send() if _is(o.data, b"SIP/2.0 200")]) == 2
    assert layer.receive(bytes(make_request()), UAC, 0.7) == []  # absorbed in Accepted
    assert layer.datagrams_to_send() == []
    ack = make_request("ACK", branch="z9hG4bKack2", to_tag="totag9")
    [got] = layer.receive(bytes(ack), UAC, 0.8)
    assert isinstance(got, RequestReceived) and got.request.method == "ACK"
    layer.handle_timer(0.1 + 32.0)  # Timer L
    assert len(layer) == 0


def test_cancel_is_its_own_transaction() -> None:
    net = Network()
    uac, uas = TransactionLayer(), TransactionLayer()

    def tu(net: Network, addr: tuple[str, int], event: object) -> None:
        if isinstance(event, RequestReceived) and event.request.method == "CANCEL":
            layer = net.layers[addr]
            layer.send_response(make_response(event.request, 200), net.now)
            invite = [e.request for e in net.of(addr, RequestReceived) if e.request.method == "INVITE"][0]
            layer.send_response(make_response(invite, 487), net.now)

    net.add(UAC, uac)
    net.add(UAS, uas, tu)
    invite = make_request()
    inv_key = uac.send_request(invite, UAS, now=0.0)
    net.run(until=0.1)
    cancel = make_request("CANCEL")
    cancel_key = uac.send_request(cancel, UAS, now=net.now)
    assert cancel_key != inv_key
    net.run(until=1.0)
    got = {(e.key, e.response.status) for e in net.of(UAC, ResponseReceived)}
    assert got == {(inv_key, 100), (cancel_key, 200), (inv_key, 487)}
    net.run(until=100.0)
    assert len(uac) == 0 and len(uas) == 0


def test_received_and_rport_added_and_used_for_responses() -> None:
    layer = TransactionLayer()
    nat = ("203.0.113.7", 40000)
    [event] = layer.receive(bytes(make_request("OPTIONS", via_host="192.168.1.5:5060", rport=True)), nat, 0.0)
    via = event.request.top_via  # type: ignore[union-attr]
    assert via.param("received") == "203.0.113.7" and via.param("rport") == "40000"
    layer.send_response(make_response(event.request, 200), 0.0)  # type: ignore[union-attr]
    [out] = layer.datagrams_to_send()
    assert out.addr == nat
    [plain] = TransactionLayer().receive(bytes(make_request("OPTIONS", via_host="192.168.1.5")), nat, 0.0)
    via = plain.request.top_via  # type: ignore[union-attr]
    assert via.param("received") == "203.0.113.7" and via.param("rport") is None
    assert response_destination(via) == ("203.0.113.7", 5060)
    assert response_destination(Via.parse("SIP/2.0/UDP h.example:5070;branch=z9hG4bK1")) == ("h.example", 5070)


def test_same_host_gets_no_received() -> None:
    [event] = TransactionLayer().receive(bytes(make_request("OPTIONS")), UAC, 0.0)
    assert event.request.top_via.param("received") is None  # type: ignore[union-attr]


# --- bad input --------------------------------------------------------------------------------------


def test_send_request_needs_a_magic_cookie_branch() -> None:
    layer = TransactionLayer()
    with pytest.raises(ValueError):
        layer.send_request(make_request(branch="1234"), UAS, 0.0)
    with pytest.raises(ValueError):
        layer.send_request(make_request("ACK"), UAS, 0.0)
    layer.send_request(make_request(), UAS, 0.0)
    with pytest.raises(ValueError):
        layer.send_request(make_request(), UAS, 0.0)


def test_malformed_request_answered_statelessly() -> None:
    layer = TransactionLayer()
    bad = bytes(make_request("OPTIONS")).replace(b"Max-Forwards: 70", b"Max-Forwards: many")
    [event] = layer.receive(bad, UAC, 0.0)
    assert isinstance(event, MessageDropped)
    [out] = layer.datagrams_to_send()
    reply = parse_message(out.data)
    assert isinstance(reply, Response) and reply.status == 400 and reply.to.tag
    assert out.addr == UAC and len(layer) == 0
    version = bytes(make_request("OPTIONS")).replace(b"SIP/2.0\r\n", b"SIP/3.0\r\n", 1)
    layer.receive(version, UAC, 0.0)
    assert [parse_message(o.data).status for o in layer.datagrams_to_send()] == [505]  # type: ignore[union-attr]


def test_malformed_ack_and_headless_garbage_not_answered() -> None:
    layer = TransactionLayer()
    bad_ack = bytes(make_request("ACK")).replace(b"Max-Forwards: 70", b"Max-Forwards: x")
    assert [type(e) for e in layer.receive(bad_ack, UAC, 0.0)] == [MessageDropped]
    assert [type(e) for e in layer.receive(b"INVITE sip:x SIP/2.0\r\n\r\n", UAC, 0.0)] == [MessageDropped]
    assert layer.datagrams_to_send() == []


@pytest.mark.parametrize("header", [b"Content-Length: \xc2\xb2", b"Max-Forwards: \xc2\xb2"])
def test_non_ascii_digits_dropped_not_raised(header: bytes) -> None:
    layer = TransactionLayer()
    data = bytes(make_request("OPTIONS")).replace(b"Max-Forwards: 70", header)
    assert [type(e) for e in layer.receive(data, UAC, 0.0)] == [MessageDropped]
    for out in layer.datagrams_to_send():
        assert parse_message(out.data).status == 400  # type: ignore[union-attr]


def test_response_with_two_vias_dropped() -> None:
    layer = TransactionLayer()
    request = make_request("OPTIONS")
    layer.send_request(request, UAS, 0.0)
    two = make_response(request, 200)
    two = two.with_headers(two.headers.prepend("Via", "SIP/2.0/UDP proxy;branch=z9hG4bKp"))
    assert [type(e) for e in layer.receive(bytes(two), UAS, 0.1)] == [MessageDropped]


def test_many_transactions_leave_nothing_behind() -> None:
    net = Network(seed=7, loss=0.1, jitter=0.05)
    uac, uas = TransactionLayer(), TransactionLayer()
    net.add(UAC, uac)
    net.add(UAS, uas, answer_with(480))
    for i in range(150):
        method = "INVITE" if i % 2 else "OPTIONS"
        uac.send_request(make_request(method, branch=f"z9hG4bKmany{i}", call_id=f"c{i}"), UAS, now=net.now)
        net.run(until=net.now + 0.01)
    assert len(uac) > 0
    net.run(until=net.now + 100.0)
    assert len(uac) == 0 and len(uas) == 0
    assert uac.next_deadline() is None and uas.next_deadline() is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_receive_random_bytes_never_raises(data: bytes) -> None:
    layer = TransactionLayer()
    events = layer.receive(data, UAC, 0.0)
    assert all(isinstance(e, (MessageDropped, RequestReceived, StrayResponse)) for e in events)


_VALID = bytes(make_request("INVITE", rport=True))


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(_VALID) - 1), st.binary(min_size=1, max_size=8))
def test_receive_mutated_messages_never_raises(pos: int, junk: bytes) -> None:
    layer = TransactionLayer()
    layer.receive(_VALID[:pos] + junk + _VALID[pos + len(junk) :], ("10.9.9.9", 5060), 0.0)
    for out in layer.datagrams_to_send():
        parse_message(out.data)  # whatever we answer is itself well formed
