"""RFC 4475 torture messages through :func:`parse_message`.

s3.1.1 valid messages must parse, with their key fields right; s3.1.2 invalid messages must
raise :class:`SipParseError` with the status the RFC names. Where RFC 4475 lets an element
either reject or be liberal, the choice made (and why) is written next to the message.
s3.2 to s3.4 are transaction- and application-layer cases: the parser's job there is only
to parse them (or to reject the ones whose framing or mandatory headers are unusable).
"""

from __future__ import annotations

import pytest
import sip_torture as T

from dialer.errors import SipParseError
from dialer.sip.headers import CSeq
from dialer.sip.message import Message, Request, Response, parse_message


def _request(t: T.Torture) -> Request:
    message = parse_message(t.data)
    assert isinstance(message, Request)
    return message


def _response(t: T.Torture) -> Response:
    message = parse_message(t.data)
    assert isinstance(message, Response)
    return message


@pytest.mark.parametrize("torture", T.VALID, ids=lambda t: f"{t.section}-{t.name}")
def test_valid_messages_parse_and_reach_a_fixed_point(torture: T.Torture) -> None:
    message = parse_message(torture.data)
    once = bytes(message)
    again = parse_message(once)
    assert bytes(again) == once
    assert again.body == message.body
    assert again.headers.remove("Content-Length") == message.headers.remove("Content-Length")


def test_wsinv_short_tortuous_invite() -> None:
    """3.1.1.1: folding everywhere, LWS around separators, mixed long/compact names."""
    m = _request(T.WSINV)
    assert m.method == "INVITE"
    assert str(m.uri) == "sip:vivekg@chair-dnrc.example.com;unknownparam"
    assert m.uri.param("unknownparam") == ""
    assert m.to.uri.user == "vivekg" and m.to.tag == "1918181833n"
    assert m.from_.display_name == '"J Rosenberg \\\\\\""'
    assert m.from_.display_text == 'J Rosenberg \\"'
    assert m.from_.tag == "98asjd8"
    assert m.max_forwards == 68
    assert m.call_id == "wsinv.ndaksdj@192.0.2.1"
    assert m.cseq == CSeq(9, "INVITE")
    assert [(v.transport, v.host, v.branch) for v in m.vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    assert m.header("Subject") == ""
    assert m.header("NewFangledHeader") == "newfangled value continued newfangled value"
    # Unknown, so never split or interpreted: forwarded unchanged.
    assert m.header("UnknownHeaderWithUnusualValue") == ";;,,;;,;"
    assert [str(r.uri) for r in m.routes] == ["sip:services.example.com;lr;unknownwith=value;unknown-no-value"]
    (contact,) = m.contacts
    assert contact.display_text == 'Quoted string ""'
    assert contact.params == (("newparam", "newvalue"), ("secondparam", None), ("q", "0.33"))
    assert m.content_type == "application/sdp"
    assert len(m.body) == 150 and m.body.startswith(b"v=0\r\n")
    assert len(m.headers) == 14


def test_intmeth_wide_range_of_valid_characters() -> None:
    """3.1.1.2: unusual but legal characters in method, URI, tokens, quoted pairs, UTF-8."""
    m = _request(T.INTMETH)
    assert m.method == "!interesting-Method0123456789_*+`.%indeed'~"
    assert m.cseq.method == m.method  # % is not an escape in a method
    assert m.uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert m.uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert m.uri.host == "example.com" and m.uri.params == ()
    assert m.top_via.branch == "z9hG4bK-.!%66*_+`'~"
    assert m.to.display_text == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert m.to.uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert m.from_.display_name == "token1~` token2'+_ token3*%!.-"
    assert m.from_.param("fromParam''~+*_!.-%") == '"работающий"'
    assert m.from_.tag == "_token~1'+`*%!-."
    assert m.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    assert m.cseq.seq == 139122385
    assert m.max_forwards == 255
    assert m.header("extensionHeader-!.%*+_`'~") == "\ufeff大停電"


def test_esc01_percent_escapes_are_kept_and_can_be_expanded() -> None:
    """3.1.1.3: escapes stay as received; expansions are one level deep."""
    m = _request(T.ESC01)
    assert m.uri.user == "sips%3Auser%40example.com"
    assert m.uri.unescaped_user == "sips:user@example.com"
    assert m.uri.host == "example.net"
    assert m.to.uri.unescaped_user == "user"
    assert m.from_.uri.unescaped_user == "I have spaces"
    (contact,) = m.contacts
    assert contact.uri.unescaped_user == "caller"
    assert contact.uri.params == (("%6C%72", None), ("n%61me", "v%61lue%25%34%31"))
    assert m.content_type == "application/sdp"  # "C" is the compact Content-Type
    assert m.call_id == "esc01.239409asdfakjkn23onasd0-3234"


def test_escnull_escaped_nulls_do_not_shorten_user_names() -> None:
    """3.1.1.4: two distinct contacts whose users are one and two NULs."""
    m = _request(T.ESCNULL)
    assert m.to.uri.unescaped_user == "null-\x00-null"
    assert [c.uri.unescaped_user for c in m.contacts] == ["\x00", "\x00\x00"]
    assert m.headers.get("Content-Length") == "0"  # "L:0", compact and without SP


def test_esc02_percent_that_is_not_an_escape() -> None:
    """3.1.1.5: RE%47IST%45R is an unknown method, not REGISTER; C%6Fntact is not Contact."""
    m = _request(T.ESC02)
    assert m.method == "RE%47IST%45R" and m.method != "REGISTER"
    assert m.to.display_text == "%Z%45"
    assert m.top_via.branch == "z9hG4bK209%fzsnel234"
    assert [c.uri.host for c in m.contacts] == ["host1.example.com", "host3.example.com"]
    assert m.header("C%6Fntact") == "<sip:alias2@host2.example.com>"


def test_lwsdisp_no_space_between_display_name_and_bracket() -> None:
    m = _request(T.LWSDISP)
    assert m.from_.display_name == "caller"
    assert m.from_.uri.user == "caller" and m.from_.tag == "323"


def test_longreq_long_values_and_34_vias() -> None:
    m = _request(T.LONGREQ)
    assert m.to.display_text == "I have a user name of " + "extreme" * 10 + " proportion"
    assert m.to.uri.port == 6000
    assert m.to.uri.param("unknownparam1") == "very" + "long" * 20 + "value"
    assert m.to.uri.param("very" + "long" * 25 + "ParameterNameWithNoValue") == ""
    assert m.from_.tag == "12" + "982" * 50 + "424"
    assert m.from_.uri.user == "amazinglylongcallername" * 5
    assert len(m.vias) == 34
    assert [v.host for v in m.vias[:3]] == ["sip33.example.com", "sip32.example.com", "sip31.example.com"]
    assert m.vias[-1].branch == "very" + "long" * 50 + "branchvalue"
    assert m.call_id == "longreq.one" + "really" * 20 + "longcallid"
    assert len(m.body) == 150


def test_dblreq_content_length_zero_discards_the_second_request() -> None:
    """3.1.1.8: the INVITE after the REGISTER is trailing garbage in the datagram."""
    m = _request(T.DBLREQ)
    assert m.method == "REGISTER"
    assert m.body == b""
    assert m.call_id == "dblreq.0ha0isndaksdj99sdfafnl3lk233412"  # "I:", upper-case compact
    assert b"INVITE" not in bytes(m)


def test_semiuri_semicolon_in_the_user_part() -> None:
    m = _request(T.SEMIURI)
    assert m.uri.user == "user;par=u%40example.net"
    assert m.uri.host == "example.com" and m.uri.params == ()
    assert m.headers.get_all("Accept") == [
        "application/sdp", "application/pkcs7-mime", "multipart/mixed", "multipart/signed",
        "message/sip", "message/sipfrag",
    ]


def test_transports_varied_and_unknown_via_transports() -> None:
    m = _request(T.TRANSPORTS)
    assert [v.transport for v in m.vias] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]
    assert m.call_id == "transports.kijh4akdnaqjkwendsasfdj"


def test_mpart01_binary_body_with_nul_cr_lf_is_framed_by_content_length() -> None:
    m = _request(T.MPART01)
    assert m.body == T.MPART01_BODY
    assert len(m.body) == 553
    assert b"\x00" in m.body and T.MPART01_DER in m.body
    assert m.content_type == "multipart/mixed"
    assert m.top_via.param("rport") == ""
    assert [str(r.uri) for r in m.routes] == ["sip:127.0.0.1:5080"]
    assert bytes(m) == T.MPART01.data


def test_unreason_utf8_reason_phrase() -> None:
    m = _response(T.UNREASON)
    assert m.status == 200
    assert m.reason == T.UNREASON_PHRASE
    assert bytes(m) == T.UNREASON.data


def test_noreason_empty_reason_phrase() -> None:
    m = _response(T.NOREASON)
    assert (m.status, m.reason) == (100, "")
    assert bytes(m) == T.NOREASON.data  # the SP after the code is written back


def test_noreason_without_the_space_is_accepted_liberally() -> None:
    """RFC 4475 s3.1.1.13: without the SP the message "could be rejected"; we accept it,
    and write the SP back when serializing."""
    data = T.NOREASON.data.replace(b"SIP/2.0 100 \r\n", b"SIP/2.0 100\r\n")
    m = _response(T.Torture("noreason-nosp", "3.1.1.13", "", data))
    assert m.reason == ""
    assert bytes(m) == T.NOREASON.data


# --- 3.1.2 invalid messages --------------------------------------------------------------

# name -> (status hint, words of the error message, why)
REJECTED = {
    "badinv01": (400, "empty", "MUST: extra ';' and ',' in Via and Contact"),
    "clerr": (400, "exceeds", "MUST over UDP: Content-Length beyond the datagram"),
    "ncl": (400, "Content-Length", "MUST: negative Content-Length"),
    "scalar02": (400, "CSeq", "MUST: CSeq over 2**31 (also Max-Forwards > 255)"),
    "scalarlg": (400, "CSeq", "a response with an overlarge CSeq is discarded"),
    "quotbal": (400, "unterminated", "SHOULD: no guessing where the quote ends"),
    "ltgtruri": (400, "scheme", "reasonable to reject: <> around the Request-URI"),
    "lwsruri": (400, "request line", "SHOULD: LWS inside the Request-URI"),
    "lwsstart": (400, "request line", "may reject: we do, a UAS need not be liberal"),
    "trws": (400, "request line", "may reject: trailing SP after the version"),
    "escruri": (400, "headers", "may reject: escaped headers in a Request-URI"),
    "regbadct": (400, "<>", "reasonable to reject: addr-spec with '?' needs <>"),
    "badaspec": (400, "spaces", "reasonable to reject: LWS inside <>"),
    "baddn": (400, "display name", "reasonable to reject: unquoted ',' in a display name"),
    "badvers": (505, "version", "SIP/7.0 gets 505 Version Not Supported"),
    "mismatch01": (400, "does not match", "CSeq method differs from a known method"),
    "mismatch02": (501, "does not match", "unknown method: 501 is preferred to 400"),
    "bigcode": (400, "status code", "code > 699: the response is dropped"),
}


@pytest.mark.parametrize(
    "torture", [t for t in T.INVALID if t.name in REJECTED], ids=lambda t: f"{t.section}-{t.name}"
)
def test_invalid_messages_are_rejected_with_the_right_status(torture: T.Torture) -> None:
    hint, words, _why = REJECTED[torture.name]
    with pytest.raises(SipParseError) as info:
        parse_message(torture.data)
    assert info.value.status_hint == hint
    assert words.lower() in str(info.value).lower()


def test_every_invalid_message_has_a_decision() -> None:
    assert {t.name for t in T.INVALID} == set(REJECTED) | {"baddate"}


def test_baddate_is_accepted_because_the_dialer_never_reads_date() -> None:
    """3.1.2.12: rejecting is allowed "only if Date were important to processing"; it is
    not for the dialer, so the value is kept raw and forwarded as is."""
    m = _request(T.BADDATE)
    assert m.header("Date") == "Fri, 01 Jan 2010 16:00:00 EST"


def test_clerr_would_parse_if_the_body_were_all_there() -> None:
    data = T.CLERR.data.replace(b"Content-Length: 9999", b"Content-Length: 154")
    assert len(_request(T.Torture("clerr-fixed", "", "", data)).body) == 154


# --- 3.2 - 3.4: parsed here, judged by the transaction user ------------------------------


def test_badbranch_magic_cookie_alone_still_parses() -> None:
    """3.2.1: whether ``z9hG4bK`` alone is a usable branch is the transaction layer's call."""
    assert _request(T.BADBRANCH).top_via.branch == "z9hG4bK"


def test_insuf_missing_required_headers_is_a_400() -> None:
    with pytest.raises(SipParseError, match="Call-ID") as info:
        parse_message(T.INSUF.data)
    assert info.value.status_hint == 400


@pytest.mark.parametrize("torture", [T.UNKSCM, T.NOVELSC], ids=lambda t: t.name)
def test_unknown_request_uri_schemes_parse_for_the_tu_to_answer_416(torture: T.Torture) -> None:
    """3.3.2/3.3.3: the parser keeps the URI opaque; 416 is the transaction user's answer."""
    m = _request(torture)
    assert not m.uri.is_sip
    assert str(m.uri) in ("nobodyKnowsThisScheme:totallyopaquecontent", "soap.beep://192.0.2.103:3002")


def test_unksm2_unknown_schemes_in_headers() -> None:
    m = _request(T.UNKSM2)
    assert str(m.to.uri) == "isbn:2983792873"
    assert str(m.from_.uri) == "http://www.example.com" and m.from_.tag == "3234233"
    assert str(m.contacts[0].uri) == "name:John_Smith"


def test_bext01_require_and_proxy_require_are_lists() -> None:
    m = _request(T.BEXT01)
    assert m.headers.get_all("Require") == ["nothingSupportsThis", "nothingSupportsThisEither"]
    assert m.headers.get_all("Proxy-Require") == ["noProxiesSupportThis", "norDoAnyProxiesSupportThis"]
    assert m.top_via.transport == "TLS"


def test_invut_unknown_content_type_keeps_the_body() -> None:
    m = _request(T.INVUT)
    assert m.content_type == "application/unknownformat"
    assert m.body == b'<audio>\r\n <pcmu port="443"/>\r\n</audio>\r\n'


def test_regaut01_unknown_authorization_scheme_is_raw_text() -> None:
    m = _request(T.REGAUT01)
    assert m.header("Authorization") == "NoOneKnowsThisScheme opaque-data=here"


@pytest.mark.parametrize("torture", [T.MULTI01, T.MCL01], ids=lambda t: t.name)
def test_repeated_single_value_headers_are_rejected(torture: T.Torture) -> None:
    """3.3.8/3.3.9: two Call-IDs, CSeqs, Froms, Tos or Content-Lengths cannot be trusted."""
    with pytest.raises(SipParseError, match="more than one") as info:
        parse_message(torture.data)
    assert info.value.status_hint == 400


def test_bcast_response_parses_and_its_second_via_is_visible() -> None:
    """3.3.10: dropping a response whose top Via is not ours is the transaction layer's job."""
    m = _response(T.BCAST)
    assert [v.host for v in m.vias] == ["192.0.2.198", "255.255.255.255"]


def test_cparam01_and_cparam02_header_versus_uri_parameters() -> None:
    """3.3.12/3.3.13: without <> the parameter belongs to the header, inside <> to the URI."""
    (c1,) = _request(T.CPARAM01).contacts
    assert c1.params == (("unknownparam", None),) and c1.uri.params == ()
    (c2,) = _request(T.CPARAM02).contacts
    assert c2.params == () and c2.uri.params == (("unknownparam", None),)


def test_regescrt_escaped_headers_in_a_contact_uri_are_kept() -> None:
    (contact,) = _request(T.REGESCRT).contacts
    assert contact.uri.headers == "Route=%3Csip:sip.example.com%3E"
    assert contact.uri.without_params().headers == ""


def test_sdp01_accept_is_left_to_the_tu() -> None:
    assert _request(T.SDP01).header("Accept") == "text/nobodyKnowsThis"


def test_inv2543_rfc2543_syntax_is_accepted() -> None:
    """3.4.1: no Max-Forwards, no branch, no From tag, no Content-Length: still parses; the
    body is the rest of the datagram (s18.3)."""
    m = _request(T.INV2543)
    assert m.max_forwards is None
    assert m.top_via.branch is None
    assert m.from_.tag is None
    assert m.from_.uri.param("user") == "phone"
    assert m.to.param("user") == "phone"  # addr-spec: the parameter is the header's
    assert m.record_route[0].uri.param("maddr") == "ss1.example.com"
    assert m.body.endswith(b"m=audio 49217 RTP/AVP 0\r\n")


@pytest.mark.parametrize("torture", T.ALL, ids=lambda t: f"{t.section}-{t.name}")
def test_truncated_torture_messages_only_raise_parse_errors(torture: T.Torture) -> None:
    """Every prefix either parses or raises SipParseError; nothing else escapes."""
    data = torture.data
    step = max(1, len(data) // 97)
    for end in range(0, len(data), step):
        try:
            message: Message = parse_message(data[:end])
        except SipParseError:
            continue
        parse_message(bytes(message))
