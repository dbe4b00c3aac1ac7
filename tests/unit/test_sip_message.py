"""The SIP message layer on realistic messages: parse, typed views, serialize (RFC 3261 s7, s20)."""

from __future__ import annotations

import dataclasses

import pytest

from dialer.errors import SipParseError
from dialer.sip.headers import CSeq, NameAddr, Via, canonical_name, split_commas
from dialer.sip.message import (
    MAX_MESSAGE_SIZE,
    Headers,
    Request,
    Response,
    parse_message,
    reason_phrase,
)
from dialer.sip.uri import SipUri


def wire(text: str, body: bytes = b"") -> bytes:
    """Lines of ``text`` ended by CRLF, then the body."""
    return text.strip("\n").replace("\n", "\r\n").encode() + b"\r\n\r\n" + body


SDP_OFFER = (
    b"v=0\r\n"
    b"o=callbot 3724394400 3724394400 IN IP4 192.0.2.10\r\n"
    b"s=-\r\n"
    b"c=IN IP4 192.0.2.10\r\n"
    b"t=0 0\r\n"
    b"m=audio 40000 RTP/AVP 0 8 101\r\n"
    b"a=rtpmap:0 PCMU/8000\r\n"
    b"a=rtpmap:8 PCMA/8000\r\n"
    b"a=rtpmap:101 telephone-event/8000\r\n"
    b"a=fmtp:101 0-16\r\n"
    b"a=sendrecv\r\n"
)

INVITE = wire(
    f"""
INVITE sip:+33612345678@trunk.example.net SIP/2.0
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport
Max-Forwards: 70
From: "Callbot" <sip:+33100000000@trunk.example.net>;tag=1928301774
To: <sip:+33612345678@trunk.example.net>
Call-ID: a84b4c76e66710@192.0.2.10
CSeq: 314159 INVITE
Contact: <sip:callbot@192.0.2.10:5060>
Allow: INVITE, ACK, CANCEL, BYE, OPTIONS
Supported: timer, replaces
User-Agent: callbot/0.1
Content-Type: application/sdp
Content-Length: {len(SDP_OFFER)}
""",
    SDP_OFFER,
)

RINGING = wire(
    """
SIP/2.0 180 Ringing
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport=5060;received=192.0.2.10
Record-Route: <sip:edge2.trunk.example.net;lr>, <sip:core.trunk.example.net;lr;ftag=x1>
Record-Route: <sip:edge1.trunk.example.net;lr>
From: "Callbot" <sip:+33100000000@trunk.example.net>;tag=1928301774
To: <sip:+33612345678@trunk.example.net>;tag=a6c85cf
Call-ID: a84b4c76e66710@192.0.2.10
CSeq: 314159 INVITE
Contact: <sip:+33612345678@198.51.100.7:5060>
Content-Length: 0
"""
)

SDP_ANSWER = b"v=0\r\no=- 1 1 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\nm=audio 30000 RTP/AVP 8 101\r\n"
OK_INVITE = wire(
    f"""
SIP/2.0 200 OK
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport=5060;received=192.0.2.10
Record-Route: <sip:edge2.trunk.example.net;lr>, <sip:core.trunk.example.net;lr;ftag=x1>
Record-Route: <sip:edge1.trunk.example.net;lr>
From: "Callbot" <sip:+33100000000@trunk.example.net>;tag=1928301774
To: <sip:+33612345678@trunk.example.net>;tag=a6c85cf
Call-ID: a84b4c76e66710@192.0.2.10
CSeq: 314159 INVITE
Contact: <sip:+33612345678@198.51.100.7:5060;transport=udp>
Content-Type: application/sdp
Content-Length: {len(SDP_ANSWER)}
""",
    SDP_ANSWER,
)

UNAUTHORIZED = wire(
    """
SIP/2.0 401 Unauthorized
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKnashds7;rport=5060
From: <sip:callbot@trunk.example.net>;tag=a73kszlfl
To: <sip:callbot@trunk.example.net>;tag=1410948204
Call-ID: 1j9FpLxk3uxtm8tn@192.0.2.10
CSeq: 1 REGISTER
WWW-Authenticate: Digest realm="trunk.example.net", nonce="ea9c8e88df84f1cec4341ae6cbe5a359", opaque="", stale=FALSE, algorithm=MD5, qop="auth,auth-int"
Content-Length: 0
"""
)

PROXY_AUTH = wire(
    """
SIP/2.0 407 Proxy Authentication Required
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport=5060
From: "Callbot" <sip:+33100000000@trunk.example.net>;tag=1928301774
To: <sip:+33612345678@trunk.example.net>;tag=3flal12sf
Call-ID: a84b4c76e66710@192.0.2.10
CSeq: 314159 INVITE
Proxy-Authenticate: Digest realm="edge.example.net", nonce="b1a", algorithm=SHA-256, qop="auth"
Proxy-Authenticate: Digest realm="edge.example.net", nonce="b1b", algorithm=MD5, qop="auth"
Content-Length: 0
"""
)

REGISTER = wire(
    """
REGISTER sip:trunk.example.net SIP/2.0
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKnashds7;rport
Max-Forwards: 70
From: <sip:callbot@trunk.example.net>;tag=a73kszlfl
To: <sip:callbot@trunk.example.net>
Call-ID: 1j9FpLxk3uxtm8tn@192.0.2.10
CSeq: 2 REGISTER
Contact: <sip:callbot@192.0.2.10:5060>;expires=3600;q=0.7
Authorization: Digest username="callbot", realm="trunk.example.net", nonce="ea9c8e88df84f1cec4341ae6cbe5a359", uri="sip:trunk.example.net", response="dfe56131d1958046689d83306477ecc"
Expires: 3600
Content-Length: 0
"""
)

UNREGISTER_ALL = wire(
    """
REGISTER sip:trunk.example.net SIP/2.0
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKnashds8
Max-Forwards: 70
From: <sip:callbot@trunk.example.net>;tag=a73kszlfl
To: <sip:callbot@trunk.example.net>
Call-ID: 1j9FpLxk3uxtm8tn@192.0.2.10
CSeq: 3 REGISTER
Contact: *
Expires: 0
Content-Length: 0
"""
)

BYE = wire(
    """
BYE sip:+33612345678@198.51.100.7:5060;transport=udp SIP/2.0
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKnashds10;rport
Max-Forwards: 70
Route: <sip:edge1.trunk.example.net;lr>, <sip:core.trunk.example.net;lr;ftag=x1>
Route: <sip:edge2.trunk.example.net;lr>
From: "Callbot" <sip:+33100000000@trunk.example.net>;tag=1928301774
To: <sip:+33612345678@trunk.example.net>;tag=a6c85cf
Call-ID: a84b4c76e66710@192.0.2.10
CSeq: 314160 BYE
Content-Length: 0
"""
)

CANCEL = wire(
    """
CANCEL sip:+33612345678@trunk.example.net SIP/2.0
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport
Max-Forwards: 70
From: "Callbot" <sip:+33100000000@trunk.example.net>;tag=1928301774
To: <sip:+33612345678@trunk.example.net>
Call-ID: a84b4c76e66710@192.0.2.10
CSeq: 314159 CANCEL
Content-Length: 0
"""
)

OPTIONS = wire(
    """
OPTIONS sip:trunk.example.net SIP/2.0
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKopt1;rport
Max-Forwards: 70
From: <sip:ping@192.0.2.10>;tag=ping1
To: <sip:trunk.example.net>
Call-ID: ping-77@192.0.2.10
CSeq: 1 OPTIONS
Accept: application/sdp
Content-Length: 0
"""
)

CANONICAL_MESSAGES = {
    "invite": INVITE,
    "180": RINGING,
    "200": OK_INVITE,
    "401": UNAUTHORIZED,
    "407": PROXY_AUTH,
    "register": REGISTER,
    "unregister-all": UNREGISTER_ALL,
    "bye": BYE,
    "cancel": CANCEL,
    "options": OPTIONS,
}


# --- round trips ------------------------------------------------------------------------


@pytest.mark.parametrize("raw", CANONICAL_MESSAGES.values(), ids=CANONICAL_MESSAGES.keys())
def test_canonical_message_round_trips_byte_for_byte(raw: bytes) -> None:
    message = parse_message(raw)
    assert bytes(message) == raw
    assert parse_message(bytes(message)) == message


def test_invite_with_sdp_start_line_body_and_views() -> None:
    invite = parse_message(INVITE)
    assert isinstance(invite, Request)
    assert invite.method == "INVITE"
    assert invite.uri == SipUri(scheme="sip", user="+33612345678", host="trunk.example.net")
    assert invite.body == SDP_OFFER
    assert invite.content_type == "application/sdp"
    assert invite.call_id == "a84b4c76e66710@192.0.2.10"
    assert invite.cseq == CSeq(314159, "INVITE")
    assert invite.from_.display_name == '"Callbot"'
    assert invite.from_.display_text == "Callbot"
    assert invite.from_.tag == "1928301774"
    assert invite.to.tag is None
    assert invite.max_forwards == 70
    assert invite.top_via.branch == "z9hG4bK776asdhds"
    assert invite.top_via.param("rport") == ""
    assert invite.contacts == [NameAddr(uri=SipUri(scheme="sip", user="callbot", host="192.0.2.10", port=5060))]
    assert invite.headers.get_all("Allow") == ["INVITE", "ACK", "CANCEL", "BYE", "OPTIONS"]
    assert invite.headers.get_all("k") == ["timer", "replaces"]


def test_responses_keep_record_route_order_across_lines_and_commas() -> None:
    for raw in (RINGING, OK_INVITE):
        response = parse_message(raw)
        assert isinstance(response, Response)
        assert [str(r.uri) for r in response.record_route] == [
            "sip:edge2.trunk.example.net;lr",
            "sip:core.trunk.example.net;lr;ftag=x1",
            "sip:edge1.trunk.example.net;lr",
        ]
        assert all(r.uri.loose_route for r in response.record_route)
        assert response.to.tag == "a6c85cf"
    ringing = parse_message(RINGING)
    assert isinstance(ringing, Response)
    assert (ringing.status, ringing.reason, ringing.is_provisional, ringing.is_success) == (180, "Ringing", True, False)
    ok = parse_message(OK_INVITE)
    assert isinstance(ok, Response)
    assert ok.is_success and ok.body == SDP_ANSWER
    assert ok.contacts[0].uri.transport == "udp"
    assert ok.top_via.param("received") == "192.0.2.10"
    assert ok.top_via.param("rport") == "5060"


def test_authenticate_headers_are_not_split_at_their_commas() -> None:
    unauthorized = parse_message(UNAUTHORIZED)
    (challenge,) = unauthorized.headers.get_all("WWW-Authenticate")
    assert challenge.startswith('Digest realm="trunk.example.net", nonce=')
    assert challenge.endswith('qop="auth,auth-int"')
    proxy = parse_message(PROXY_AUTH)
    assert isinstance(proxy, Response) and proxy.status == 407
    assert [v.split("nonce=")[1][:5] for v in proxy.headers.get_all("Proxy-Authenticate")] == ['"b1a"', '"b1b"']


def test_register_contact_params_and_wildcard_contact() -> None:
    register = parse_message(REGISTER)
    (contact,) = register.contacts
    assert contact.param("expires") == "3600"
    assert contact.param("q") == "0.7"
    assert contact.uri.params == ()
    authorization = register.headers.get("Authorization")
    assert authorization is not None and authorization.startswith('Digest username="callbot"')
    unregister = parse_message(UNREGISTER_ALL)
    (star,) = unregister.contacts
    assert star.wildcard and str(star) == "*"
    assert unregister.headers.get("Expires") == "0"


def test_bye_routes_cancel_and_options() -> None:
    bye = parse_message(BYE)
    assert [r.uri.host for r in bye.routes] == ["edge1.trunk.example.net", "core.trunk.example.net", "edge2.trunk.example.net"]
    assert bye.uri.param("transport") == "udp"
    cancel = parse_message(CANCEL)
    assert cancel.cseq == CSeq(314159, "CANCEL")
    assert cancel.top_via == parse_message(INVITE).top_via
    options = parse_message(OPTIONS)
    assert isinstance(options, Request) and options.method == "OPTIONS" and options.body == b""


def test_compact_header_forms() -> None:
    raw = wire(
        """
INVITE sip:bob@biloxi.example.com SIP/2.0
v: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKkjshdyff
t: Bob <sip:bob@biloxi.example.com>
f: Alice <sip:alice@atlanta.example.com>;tag=88sja8x
i: 987asjd97y7atg
CSeq: 986759 INVITE
m: <sip:alice@pc33.atlanta.example.com>
k: 100rel
s: Lunch
c: application/sdp
l: 4
""",
        b"v=0\r\nnot part of the body",
    )
    message = parse_message(raw)
    assert message.top_via.host == "pc33.atlanta.example.com"
    assert message.to.display_name == "Bob"
    assert message.from_.tag == "88sja8x"
    assert message.call_id == "987asjd97y7atg"
    assert message.contacts[0].uri.user == "alice"
    assert message.headers.get("Supported") == "100rel"
    assert message.header("Subject") == "Lunch"
    assert message.content_type == "application/sdp"
    assert message.body == b"v=0\r"
    assert [canonical_name(n) for n, _ in message.headers][:4] == ["Via", "To", "From", "Call-ID"]
    # Names are kept as received; the length is rewritten in place under its compact name.
    assert b"\r\nl: 4\r\n\r\nv=0\r" in bytes(message)


def test_folded_header_lines_join_with_one_space() -> None:
    raw = wire(
        """
OPTIONS sip:trunk.example.net SIP/2.0
Via: SIP/2.0/UDP 192.0.2.10:5060
 ;branch=z9hG4bKfold1
Max-Forwards: 70
From: <sip:ping@192.0.2.10>
\t;tag=ping1
To:
  <sip:trunk.example.net>
Call-ID: fold@192.0.2.10
CSeq: 1
    OPTIONS
Subject: I know you're there,
         pick up the phone
         and talk to me!
Content-Length: 0
"""
    )
    message = parse_message(raw)
    assert message.top_via.branch == "z9hG4bKfold1"
    assert message.from_.tag == "ping1"
    assert message.to.uri.host == "trunk.example.net"
    assert message.cseq == CSeq(1, "OPTIONS")
    assert message.header("Subject") == "I know you're there, pick up the phone and talk to me!"
    assert b"\r\nSubject: I know you're there, pick up the phone and talk to me!\r\n" in bytes(message)


def test_vias_on_one_line_and_on_several_lines_keep_their_order() -> None:
    raw = wire(
        """
SIP/2.0 200 OK
Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bK1, SIP/2.0/TCP p2.example.com:5070;branch=z9hG4bK2
v: SIP/2.0/UDP p3.example.com;branch=z9hG4bK3
Via: SIP/2.0/TLS [2001:db8::9]:5061;branch=z9hG4bK4,SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK5;rport=5060
From: <sip:a@example.com>;tag=1
To: <sip:b@example.com>;tag=2
Call-ID: vias@example.com
CSeq: 7 OPTIONS
Content-Length: 0
"""
    )
    message = parse_message(raw)
    assert [v.branch for v in message.vias] == [f"z9hG4bK{i}" for i in range(1, 6)]
    assert [v.transport for v in message.vias] == ["UDP", "TCP", "UDP", "TLS", "UDP"]
    assert message.vias[1].port == 5070
    assert message.vias[3].host == "[2001:db8::9]"
    assert message.top_via == message.vias[0]
    # The view hands out a fresh list: mutating it does not change the message.
    message.vias.clear()
    assert len(message.vias) == 5


def test_ipv6_hosts_everywhere() -> None:
    raw = wire(
        """
INVITE sip:+33612345678@[2001:db8::1]:5060 SIP/2.0
Via: SIP/2.0/UDP [2001:db8::10]:5060;branch=z9hG4bKv6;received=2001:db8::10;rport=5060
Max-Forwards: 70
From: <sip:callbot@[2001:db8::10]>;tag=v6
To: <sip:+33612345678@[2001:db8::1]>
Call-ID: v6@2001:db8::10
CSeq: 1 INVITE
Contact: <sip:callbot@[2001:db8::10]:5060;transport=udp>
Content-Length: 0
"""
    )
    message = parse_message(raw)
    assert isinstance(message, Request)
    assert message.uri.host == "[2001:db8::1]"
    assert message.uri.host_bare == "2001:db8::1"
    assert message.uri.address() == ("2001:db8::1", 5060)
    assert message.top_via.host == "[2001:db8::10]"
    assert message.top_via.param("received") == "2001:db8::10"
    assert message.contacts[0].uri.port == 5060
    assert bytes(message) == raw


def test_unknown_headers_keep_their_value_byte_for_byte() -> None:
    odd_values = [
        "icid-value=AyretyU0dm+6O2IrT5tAFrbHLso=;icid-generated-at=192.0.2.10;orig-ioi=home1.net",
        ';;,,;;,;  "unbalanced <angle ,comma',
        "Müller, Hans <tel:+49301234567>;  x = \"y;z\"",
        "\ufeff\u5927\u505c\u96fb \x00 \x07",
        "",
    ]
    lines = "\n".join(f"X-Odd-{i}: {v}" for i, v in enumerate(odd_values))
    raw = wire(
        f"""
OPTIONS sip:trunk.example.net SIP/2.0
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKodd
From: <sip:ping@192.0.2.10>;tag=1
To: <sip:trunk.example.net>
Call-ID: odd@192.0.2.10
CSeq: 1 OPTIONS
{lines}
P-Charging-Vector: {odd_values[0]}
Content-Length: 0
"""
    )
    message = parse_message(raw)
    for i, value in enumerate(odd_values):
        assert message.headers.get(f"x-odd-{i}") == value
        assert f"X-Odd-{i}: {value}\r\n".encode() in bytes(message)
    assert message.headers.get_all("P-Charging-Vector") == [odd_values[0]]
    assert bytes(message) == raw


# --- Content-Length (s18.3, s20.14) ----------------------------------------------------


def _options(length_line: str | None) -> str:
    lines = [
        "OPTIONS sip:trunk.example.net SIP/2.0",
        "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKcl",
        "From: <sip:ping@192.0.2.10>;tag=1",
        "To: <sip:trunk.example.net>",
        "Call-ID: cl@192.0.2.10",
        "CSeq: 1 OPTIONS",
        "Content-Type: text/plain",
    ]
    if length_line is not None:
        lines.append(length_line)
    return "\n".join(lines)


def test_content_length_larger_than_the_body_is_an_error() -> None:
    with pytest.raises(SipParseError, match="exceeds") as info:
        parse_message(wire(_options("Content-Length: 11"), b"0123456789"))
    assert info.value.status_hint == 400


def test_content_length_shorter_than_the_datagram_truncates_the_body() -> None:
    message = parse_message(wire(_options("Content-Length: 4"), b"0123456789"))
    assert message.body == b"0123"
    assert bytes(message).endswith(b"\r\nContent-Length: 4\r\n\r\n0123")


def test_missing_content_length_means_the_rest_of_the_datagram() -> None:
    message = parse_message(wire(_options(None), b"0123456789\r\n\r\nmore"))
    assert message.body == b"0123456789\r\n\r\nmore"
    assert "Content-Length" not in message.headers
    # Serialization adds the header: one serialization later the bytes are a fixed point.
    once = bytes(message)
    assert once.endswith(b"\r\nContent-Length: 18\r\n\r\n0123456789\r\n\r\nmore")
    assert bytes(parse_message(once)) == once


@pytest.mark.parametrize(
    "line",
    ["Content-Length: -1", "Content-Length: five", "Content-Length: 1 2", "Content-Length: " + "9" * 5000,
     "Content-Length: \u0661", "Content-Length:"],
)
def test_bad_content_length_values_are_parse_errors(line: str) -> None:
    with pytest.raises(SipParseError):
        parse_message(wire(_options(line), b"x"))


def test_content_length_is_rewritten_from_the_body_on_serialization() -> None:
    message = parse_message(wire(_options("Content-Length: 3"), b"abc"))
    changed = dataclasses.replace(message, body=b"hello world")
    assert bytes(changed).endswith(b"\r\nContent-Length: 11\r\n\r\nhello world")
    built = Request(
        method="OPTIONS",
        uri=SipUri.parse("sip:trunk.example.net"),
        headers=Headers.of([("Content-Length", "999"), ("Content-Length", "7")]),
    )
    assert bytes(built).count(b"Content-Length") == 1
    assert b"Content-Length: 0\r\n\r\n" in bytes(built)


# --- framing and start lines -------------------------------------------------------------


def test_leading_crlf_and_bare_lf_line_ends_are_tolerated() -> None:
    lf_only = OPTIONS.replace(b"\r\n", b"\n")
    assert parse_message(b"\r\n\r\n" + OPTIONS) == parse_message(OPTIONS)
    assert parse_message(lf_only) == parse_message(OPTIONS)


def test_head_without_empty_line_is_accepted_only_when_its_last_line_is_complete() -> None:
    head_only = OPTIONS[: -len(b"\r\n")]  # the final CRLF CRLF minus one CRLF
    assert parse_message(head_only) == parse_message(OPTIONS)
    with pytest.raises(SipParseError, match="not terminated"):
        parse_message(OPTIONS[: -len(b"\r\n\r\n")])


@pytest.mark.parametrize(
    ("raw", "hint"),
    [
        (OPTIONS.replace(b"SIP/2.0\r\n", b"SIP/3.0\r\n", 1), 505),
        (RINGING.replace(b"SIP/2.0 180", b"SIP/3.0 180"), 505),
        (OPTIONS.replace(b"SIP/2.0\r\n", b"HTTP/1.1\r\n", 1), 400),
        (OPTIONS.replace(b"OPTIONS sip", b"OPT@ONS sip"), 400),
        (RINGING.replace(b"180 Ringing", b"099 Early"), 400),
        (RINGING.replace(b"180 Ringing", b"18 Ringing"), 400),
        (OPTIONS + b"x" * MAX_MESSAGE_SIZE, 513),
        (OPTIONS.replace(b"Max-Forwards: 70", b"Max-Forwards: 256"), 400),
        (OPTIONS.replace(b"Call-ID: ping-77@192.0.2.10", b"Call-ID: ping 77"), 400),
        (OPTIONS.replace(b"Accept:", b"Accept :\rX:"), 400),
        (OPTIONS.replace(b"Accept: application/sdp", b"Accept application/sdp"), 400),
        (OPTIONS.replace(b"\r\nVia:", b"\r\n Via:"), 400),
        (OPTIONS.replace(b"From: <sip:ping", "From: <sip:p\u00efng".encode("latin-1")), 400),
        (b"", 400),
        (b"\r\n\r\n", 400),
    ],
    ids=["version", "response-version", "http", "method", "code-low", "code-short", "too-large",
         "max-forwards", "call-id-space", "bare-cr", "no-colon", "leading-fold", "not-utf8", "empty",
         "keepalive"],
)
def test_malformed_messages_raise_parse_errors_with_a_status_hint(raw: bytes, hint: int) -> None:
    with pytest.raises(SipParseError) as info:
        parse_message(raw)
    assert info.value.status_hint == hint


def test_an_unsupported_version_is_reported_before_any_header_error() -> None:
    raw = OPTIONS.replace(b"SIP/2.0\r\n", b"SIP/2.1\r\n", 1).replace(b"CSeq: 1 OPTIONS", b"CSeq: x")
    with pytest.raises(SipParseError) as info:
        parse_message(raw)
    assert info.value.status_hint == 505


@pytest.mark.parametrize("name", ["Via", "From", "To", "Call-ID", "CSeq"])
def test_each_mandatory_header_is_required(name: str) -> None:
    message = parse_message(OPTIONS)
    stripped = message.with_headers(message.headers.remove(name))
    with pytest.raises(SipParseError, match="Via" if name == "Via" else name):
        parse_message(bytes(stripped))


@pytest.mark.parametrize("name", ["Call-ID", "CSeq", "From", "To", "Max-Forwards", "Content-Length"])
def test_single_valued_headers_may_not_repeat(name: str) -> None:
    message = parse_message(OPTIONS)
    value = message.headers.get(name)
    assert value is not None
    with pytest.raises(SipParseError, match="more than one"):
        parse_message(bytes(message).replace(b"\r\n\r\n", f"\r\n{name}: {value}\r\n\r\n".encode(), 1))


# --- building and serializing ------------------------------------------------------------


def test_built_request_serializes_and_parses_back() -> None:
    via = Via(transport="UDP", host="192.0.2.10", port=5060, params=(("branch", "z9hG4bKbuilt"), ("rport", None)))
    from_ = NameAddr(uri=SipUri(scheme="sip", user="callbot", host="trunk.example.net"), display_name="Müller, Hans")
    request = Request(
        method="INVITE",
        uri=SipUri(scheme="sip", user="+33612345678", host="trunk.example.net"),
        headers=Headers.of(
            [
                ("Via", str(via)),
                ("Max-Forwards", "70"),
                ("From", str(from_.with_tag("t1"))),
                ("To", str(NameAddr(uri=SipUri(scheme="sip", user="+33612345678", host="trunk.example.net")))),
                ("Call-ID", "built@192.0.2.10"),
                ("CSeq", str(CSeq(1, "INVITE"))),
                ("Content-Type", "application/sdp"),
            ]
        ),
        body=SDP_OFFER,
    )
    parsed = parse_message(bytes(request))
    assert isinstance(parsed, Request)
    assert parsed.top_via == via
    # A display name that is not a token list is quoted on the wire.
    assert parsed.from_.display_name == '"Müller, Hans"'
    assert parsed.from_.display_text == "Müller, Hans"
    assert parsed.from_.tag == "t1"
    assert parsed.body == SDP_OFFER
    assert parsed.headers.get("Content-Length") == str(len(SDP_OFFER))


def test_line_breaks_in_values_cannot_inject_headers() -> None:
    response = Response(
        status=486,
        reason="Busy\r\nX-Injected: 1",
        headers=Headers.of(
            [
                ("Via", "SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKinj"),
                ("From", "<sip:a@example.com>;tag=1"),
                ("To", "<sip:b@example.com>;tag=2"),
                ("Call-ID", "inj@example.com"),
                ("CSeq", "1 INVITE"),
                ("Warning", '399 callbot "line one\r\nX-Injected: 2"'),
            ]
        ),
    )
    parsed = parse_message(bytes(response))
    assert "X-Injected" not in parsed.headers
    assert isinstance(parsed, Response) and parsed.reason == "Busy X-Injected: 1"


def test_reason_phrases() -> None:
    assert reason_phrase(180) == "Ringing"
    assert reason_phrase(487) == "Request Terminated"
    assert reason_phrase(499) == "Unknown"


# --- headers collection ------------------------------------------------------------------


def test_headers_lookups_understand_case_and_compact_forms() -> None:
    headers = Headers.of([("v", "SIP/2.0/UDP a;branch=z9hG4bK1"), ("VIA", "SIP/2.0/UDP b"), ("x-Foo", "1")])
    assert headers.get("Via") == "SIP/2.0/UDP a;branch=z9hG4bK1"
    assert headers.get_all("via") == ["SIP/2.0/UDP a;branch=z9hG4bK1", "SIP/2.0/UDP b"]
    assert headers.count("V") == 2
    assert "X-FOO" in headers and "X-Bar" not in headers
    assert headers.remove("Via").fields == (("x-Foo", "1"),)
    assert headers.set("Via", "SIP/2.0/UDP c").fields == (("Via", "SIP/2.0/UDP c"), ("x-Foo", "1"))
    assert headers.prepend("Route", "<sip:r;lr>").get_all("Route") == ["<sip:r;lr>"]
    assert headers.add("Supported", "").get_all("Supported") == []


def test_split_commas_respects_quotes_and_angle_brackets() -> None:
    assert split_commas('"Doe, John" <sip:j@x;a=b,c>, <sip:k@y>') == ['"Doe, John" <sip:j@x;a=b,c>', "<sip:k@y>"]
    assert split_commas("") == []
    with pytest.raises(SipParseError):
        split_commas("a,,b")
    with pytest.raises(SipParseError):
        split_commas('"open, quote')


def test_views_raise_parse_errors_for_bad_optional_headers() -> None:
    message = Response(headers=Headers.of([("Max-Forwards", "x"), ("Record-Route", "<sip:a b>")]))
    with pytest.raises(SipParseError):
        message.max_forwards
    with pytest.raises(SipParseError):
        message.record_route
    with pytest.raises(SipParseError, match="missing Via"):
        message.top_via
    with pytest.raises(SipParseError, match="missing Call-ID"):
        message.call_id


def test_parsed_values_have_every_dataclass_field() -> None:
    """Parsers build values without the generated __init__; none may miss a field."""
    message = parse_message(OK_INVITE)
    values: list[object] = [message, message.headers, message.top_via, message.cseq, message.to, message.to.uri]
    for value in values:
        for f in dataclasses.fields(value):  # type: ignore[arg-type]
            getattr(value, f.name)
        assert value == dataclasses.replace(value)  # type: ignore[type-var]
        hash(value)


def test_latin1_display_name_from_a_carrier_still_parses() -> None:
    """RFC 3261 wants UTF-8, but a Latin-1 head must not cost us the call."""
    raw = (
        b"SIP/2.0 180 Ringing\r\n"
        b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKabc\r\n"
        b"From: <sip:bot@example.com>;tag=1\r\n"
        b"To: \"Jos\xe9\" <sip:0912345678@example.com>;tag=2\r\n"
        b"Call-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
    )
    message = parse_message(raw)
    assert message.to.tag == "2" and message.to.display_name == '"José"'
