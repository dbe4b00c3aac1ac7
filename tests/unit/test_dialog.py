"""RFC 3261 s12 dialogs: creation from the UAC side, in-dialog requests, CSeq rules."""

from __future__ import annotations

import pytest

from dialer.errors import SipParseError
from dialer.sip.dialog import Dialog, DialogState, dialog_id_for_request, dialog_id_for_response
from dialer.sip.headers import NameAddr, Via
from dialer.sip.message import Headers, Request, Response, parse_message
from dialer.sip.uri import SipUri

INVITE = (
    b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b"From: \"Alice\" <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    b"To: Bob <sip:bob@biloxi.example.com>\r\n"
    b"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Contact: <sip:alice@pc33.atlanta.example.com>\r\n"
    b"Content-Length: 0\r\n\r\n"
)
LOCAL_CONTACT = NameAddr.parse("<sip:alice@pc33.atlanta.example.com>")
VIA = Via.parse("SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnew1;rport")


def invite() -> Request:
    message = parse_message(INVITE)
    assert isinstance(message, Request)
    return message


def response(
    status: int,
    *,
    tag: str | None = "a6c85cf",
    contact: str | None = "<sip:bob@192.0.2.4:5062>",
    record_route: tuple[str, ...] = (),
    method: str = "INVITE",
    seq: int = 314159,
) -> Response:
    to = "Bob <sip:bob@biloxi.example.com>" + (f";tag={tag}" if tag else "")
    fields = [
        ("Via", "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;rport=5060;received=192.0.2.1"),
        *(("Record-Route", rr) for rr in record_route),
        ("From", "\"Alice\" <sip:alice@atlanta.example.com>;tag=1928301774"),
        ("To", to),
        ("Call-ID", "a84b4c76e66710@pc33.atlanta.example.com"),
        ("CSeq", f"{seq} {method}"),
    ]
    if contact:
        fields.append(("Contact", contact))
    message = parse_message(bytes(Response(status=status, reason="X", headers=Headers(tuple(fields)))))
    assert isinstance(message, Response)
    return message


LOOSE_RR = ("<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>")


def confirmed(record_route: tuple[str, ...] = LOOSE_RR) -> Dialog:
    return Dialog.from_uac_response(invite(), response(200, record_route=record_route), LOCAL_CONTACT)


def test_dialog_from_2xx_reverses_record_route() -> None:
    d = confirmed()
    assert d.state == DialogState.CONFIRMED == "confirmed"
    assert d.call_id == "a84b4c76e66710@pc33.atlanta.example.com"
    assert (d.local_tag, d.remote_tag) == ("1928301774", "a6c85cf")
    assert d.local_uri.tag is None and d.remote_uri.tag is None
    assert d.local_uri.uri == SipUri.parse("sip:alice@atlanta.example.com")
    assert str(d.remote_target) == "sip:bob@192.0.2.4:5062"
    assert [r.uri.host for r in d.route_set] == ["p1.example.com", "p2.example.com"]  # s12.1.2
    assert (d.local_seq, d.remote_seq) == (314159, None)


def test_dialog_from_1xx_is_early_and_confirmed_by_2xx() -> None:
    d = Dialog.from_uac_response(invite(), response(180, contact="<sip:bob@198.51.100.1>"), LOCAL_CONTACT)
    assert d.state == "early" and d.route_set == ()
    ok = response(200, record_route=LOOSE_RR)
    assert d.matches(ok)
    d.update_from_response(ok)
    assert d.state == "confirmed"
    assert str(d.remote_target) == "sip:bob@192.0.2.4:5062"  # target refresh from the 2xx Contact
    assert [r.uri.host for r in d.route_set] == ["p1.example.com", "p2.example.com"]  # s13.2.2.4


def test_no_dialog_without_tag_or_2xx_contact() -> None:
    with pytest.raises(SipParseError):
        Dialog.from_uac_response(invite(), response(200, contact=None), LOCAL_CONTACT)
    with pytest.raises(SipParseError):
        Dialog.from_uac_response(invite(), response(180, tag=None), LOCAL_CONTACT)
    with pytest.raises(ValueError):
        Dialog.from_uac_response(invite(), response(486), LOCAL_CONTACT)


def test_loose_routing_request() -> None:
    d = confirmed()
    bye, next_hop = d.create_request("BYE", VIA)
    assert bye.uri == d.remote_target
    assert [str(r) for r in bye.routes] == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    assert next_hop == SipUri.parse("sip:p1.example.com;lr")
    assert bye.to.tag == "a6c85cf" and bye.from_.tag == "1928301774"
    assert bye.from_.display_name == '"Alice"'
    assert bye.header("Max-Forwards") == "70" and bye.header("Contact") is None
    assert parse_message(bytes(bye)) == parse_message(bytes(bye))


def test_strict_routing_request() -> None:
    # Record-Route reversed gives [strict1;method=INVITE;transport=udp, p2;lr].
    d = confirmed(record_route=("<sip:p2.example.com;lr>", "<sip:strict1.example.com;method=INVITE;transport=udp>"))
    assert not d.route_set[0].uri.loose_route
    bye, next_hop = d.create_request("BYE", VIA)
    assert str(bye.uri) == "sip:strict1.example.com;transport=udp"  # method param stripped
    assert [str(r) for r in bye.routes] == ["<sip:p2.example.com;lr>", "<sip:bob@192.0.2.4:5062>"]
    assert next_hop == bye.uri  # a strict router is reached through the Request-URI (s8.1.2)


def test_no_route_set_request_goes_to_remote_target() -> None:
    d = confirmed(record_route=())
    bye, next_hop = d.create_request("BYE", VIA)
    assert bye.uri == next_hop == d.remote_target and bye.routes == []


def test_cseq_increments_and_ack_reuses_invite_number() -> None:
    d = confirmed()
    reinvite, _ = d.create_request("INVITE", VIA, body=b"v=0\r\n", content_type="application/sdp")
    assert reinvite.cseq.seq == 314160 and reinvite.header("Contact") == str(LOCAL_CONTACT)
    assert reinvite.content_type == "application/sdp" and reinvite.body == b"v=0\r\n"
    ack, _ = d.create_request("ACK", VIA, cseq=314160)
    assert (ack.cseq.seq, ack.cseq.method) == (314160, "ACK") and d.local_seq == 314160
    bye, _ = d.create_request("BYE", VIA, headers=[("Reason", "SIP;cause=200")])
    assert bye.cseq.seq == 314161 and bye.header("Reason") == "SIP;cause=200"


def _incoming(method: str, seq: int, contact: str | None = None) -> Request:
    fields = [
        ("Via", "SIP/2.0/UDP 192.0.2.4:5062;branch=z9hG4bKin1"),
        ("From", "Bob <sip:bob@biloxi.example.com>;tag=a6c85cf"),
        ("To", "\"Alice\" <sip:alice@atlanta.example.com>;tag=1928301774"),
        ("Call-ID", "a84b4c76e66710@pc33.atlanta.example.com"),
        ("CSeq", f"{seq} {method}"),
    ]
    if contact:
        fields.append(("Contact", contact))
    return Request(method=method, uri=SipUri.parse("sip:alice@pc33.atlanta.example.com"), headers=Headers(tuple(fields)))


def test_remote_cseq_order() -> None:
    d = confirmed()
    assert d.receive_request(_incoming("INFO", 10)) is None and d.remote_seq == 10
    assert d.receive_request(_incoming("INFO", 12)) is None and d.remote_seq == 12
    assert d.receive_request(_incoming("BYE", 11)) == 500  # out of order (s12.2.2)
    assert d.remote_seq == 12
    assert d.receive_request(_incoming("ACK", 1)) is None  # never answered


def test_remote_reinvite_refreshes_target() -> None:
    d = confirmed()
    assert d.receive_request(_incoming("INVITE", 5, contact="<sip:bob@203.0.113.9:5070>")) is None
    assert str(d.remote_target) == "sip:bob@203.0.113.9:5070"


def test_matching_and_dialog_ids() -> None:
    d = confirmed()
    incoming = _incoming("BYE", 3)
    assert d.matches(incoming)
    assert dialog_id_for_request(incoming) == d.id
    assert dialog_id_for_response(response(200)) == d.id
    assert not d.matches(response(200, tag="other-fork"))
    assert not d.matches(invite())  # our own request: From tag is ours, not the remote's


def test_state_transitions_are_checked() -> None:
    d = confirmed()
    d.terminate("BYE sent")
    assert d.state == "terminated"
    with pytest.raises(RuntimeError):
        d.move(DialogState.CONFIRMED, "resurrection")
