"""Properties of the SIP message layer (RFC 3261 s7, s19.1, s20, s25), checked with hypothesis.

1. ``parse_message`` on any bytes raises :class:`SipParseError` and nothing else.
2. Generated valid messages survive parse -> bytes -> parse: the bytes are a fixed point
   after one serialization and the parsed values equal the generated ones.
3. ``SipUri``, ``NameAddr``, ``Via`` and ``CSeq`` round-trip through ``str``/``parse``.
4. Valid messages with flipped, inserted or deleted bytes, or truncated, still raise only
   :class:`SipParseError`; when they parse, they also reach a fixed point.
"""

from __future__ import annotations

import string
from dataclasses import replace

import sip_torture as T
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dialer.errors import SipParseError
from dialer.sip.headers import CSeq, NameAddr, Via, header_key, quote_display
from dialer.sip.message import Headers, Message, Request, Response, parse_message
from dialer.sip.uri import Params, SipUri

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Whole messages cost more to generate; fewer examples keep the suite quick on shared CI.
MESSAGE_SETTINGS = settings(SETTINGS, max_examples=100)

ALNUM = string.ascii_letters + string.digits
TOKEN = ALNUM + "-.!%*_+`'~"
UNRESERVED = ALNUM + "-_.!~*'()"

# --- strategies for the pieces (s25.1) ---------------------------------------------------

tokens = st.text(TOKEN, min_size=1, max_size=10)
escapes = st.integers(0, 255).map(lambda b: f"%{b:02X}")


def _escaped_text(alphabet: str, min_size: int = 1) -> st.SearchStrategy[str]:
    return st.lists(st.one_of(st.sampled_from(alphabet), escapes), min_size=min_size, max_size=10).map("".join)


labels = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9\-]{0,6}[A-Za-z0-9])?", fullmatch=True)
hostnames = st.lists(labels, min_size=1, max_size=4).map(".".join)
hosts = st.one_of(
    hostnames,
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda a: f"[{a}]"),
)
ports = st.one_of(st.none(), st.integers(1, 65535))
users = _escaped_text(UNRESERVED + "&=+$,;?/")
passwords = _escaped_text(UNRESERVED + "&=+$,", min_size=0)
uri_params = st.lists(
    st.tuples(_escaped_text(UNRESERVED + "[]/:&+$"), st.one_of(st.none(), _escaped_text(UNRESERVED + "[]/:&+$", 0))),
    max_size=4,
).map(tuple)
uri_headers = st.lists(
    st.tuples(_escaped_text(UNRESERVED + "[]/?:+$"), _escaped_text(UNRESERVED + "[]/?:+$", 0)).map("=".join),
    max_size=3,
).map("&".join)


@st.composite
def sip_uris(draw: st.DrawFn, with_headers: bool = True) -> SipUri:
    user = draw(st.one_of(st.none(), users))
    return SipUri(
        scheme=draw(st.sampled_from(["sip", "sips", "SIP"])),
        host=draw(hosts),
        user=user,
        password=None if user is None else draw(st.one_of(st.none(), passwords)),
        port=draw(ports),
        params=draw(uri_params),
        headers=draw(uri_headers) if with_headers else "",
    )


opaque_schemes = st.from_regex(r"[A-Za-z][A-Za-z0-9+.\-]{0,8}", fullmatch=True).filter(
    lambda s: s.lower() not in ("sip", "sips")
)
opaque_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters='<>"\x7f', min_codepoint=0x21),
    min_size=1,
    max_size=20,
)
opaque_uris = st.builds(lambda s, o: SipUri(scheme=s, opaque=o), opaque_schemes, opaque_text)
any_uris = st.one_of(sip_uris(), sip_uris(with_headers=False), opaque_uris)

# Header parameter values: token, host, or quoted-string with UTF-8 and quoted-pairs.
qd_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n")


@st.composite
def quoted_strings(draw: st.DrawFn) -> str:
    parts = []
    for ch in draw(st.lists(qd_chars, max_size=12)):
        escape = ch in '"\\' or draw(st.booleans()) and ord(ch) < 0x80
        parts.append("\\" + ch if escape else ch)
    return '"' + "".join(parts) + '"'


param_values = st.one_of(st.none(), tokens, hosts, quoted_strings())
header_params = st.lists(st.tuples(tokens, param_values), max_size=4).map(tuple)
display_names = st.one_of(
    st.none(),
    quoted_strings(),
    st.lists(tokens, min_size=1, max_size=3).flatmap(
        lambda ts: st.lists(st.sampled_from([" ", "  ", "\t"]), min_size=len(ts) - 1, max_size=len(ts) - 1).map(
            lambda seps: ts[0] + "".join(s + t for s, t in zip(seps, ts[1:]))
        )
    ),
)
name_addrs = st.builds(
    lambda uri, display, params: NameAddr(uri=uri, display_name=display, params=params),
    any_uris,
    display_names,
    header_params,
)
vias = st.builds(
    lambda proto, transport, host, port, params: Via(
        transport=transport, host=host, port=port, params=params, protocol=proto
    ),
    st.one_of(st.just("SIP/2.0"), st.tuples(tokens, tokens).map("/".join)),
    tokens,
    hosts,
    ports,
    header_params,
)
cseqs = st.builds(CSeq, st.integers(0, 2**31 - 1), tokens)
call_ids = st.text(ALNUM + "-.!%*_+`'~()<>:\\\"/[]?{}@", min_size=1, max_size=30)
# Extension header values: anything on one line, ends without LWS (parsing strips it).
ext_values = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=40).map(
    lambda v: v.strip(" \t")
)
ext_names = tokens.map(lambda t: f"X-{t}")
reasons = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=30)


@st.composite
def messages(draw: st.DrawFn) -> tuple[Message, dict[str, object]]:
    """A valid request or response and the typed values it was built from."""
    via_list = draw(st.lists(vias, min_size=1, max_size=3))
    from_ = draw(name_addrs).with_tag(draw(tokens))
    to = draw(name_addrs)
    contacts = draw(st.lists(name_addrs, max_size=2))
    record_route = draw(st.lists(name_addrs, max_size=3))
    call_id = draw(call_ids)
    is_request = draw(st.booleans())
    method = draw(tokens)
    cseq = CSeq(draw(st.integers(0, 2**31 - 1)), method)
    fields: list[tuple[str, str]] = []
    if draw(st.booleans()):
        fields.append(("Via", ", ".join(str(v) for v in via_list)))
    else:
        fields.extend((draw(st.sampled_from(["Via", "v", "VIA"])), str(v)) for v in via_list)
    fields += [
        (draw(st.sampled_from(["From", "f"])), str(from_)),
        (draw(st.sampled_from(["To", "t"])), str(to)),
        (draw(st.sampled_from(["Call-ID", "i"])), call_id),
        ("CSeq", str(cseq)),
    ]
    if draw(st.booleans()):
        fields.append(("Max-Forwards", str(draw(st.integers(0, 255)))))
    if contacts:
        fields.append((draw(st.sampled_from(["Contact", "m"])), ", ".join(str(c) for c in contacts)))
    fields.extend(("Record-Route", str(r)) for r in record_route)
    fields.extend(draw(st.lists(st.tuples(ext_names, ext_values), max_size=3)))
    # Any order of the header lines, except that Vias and Record-Routes keep theirs (s7.3.1).
    shuffled = draw(st.permutations(fields))
    for kind in ("via", "record-route"):
        in_order = iter([f for f in fields if header_key(f[0]) == kind])
        shuffled = [next(in_order) if header_key(f[0]) == kind else f for f in shuffled]
    headers = Headers.of(shuffled)
    body = draw(st.binary(max_size=120))
    message: Message
    if is_request:
        message = Request(method=method, uri=draw(st.one_of(sip_uris(with_headers=False), opaque_uris)),
                          headers=headers, body=body)
    else:
        message = Response(status=draw(st.integers(100, 699)), reason=draw(reasons), headers=headers, body=body)
    views = {
        "vias": via_list, "from_": from_, "to": to, "contacts": contacts, "record_route": record_route,
        "call_id": call_id, "cseq": cseq,
    }
    return message, views


# --- helpers -----------------------------------------------------------------------------


def _reaches_fixed_point(message: Message) -> None:
    """bytes(message) parses back; from there serialization is a fixed point."""
    once = bytes(message)
    again = parse_message(once)
    assert bytes(again) == once
    assert parse_message(bytes(again)) == again
    assert again.headers.remove("Content-Length") == message.headers.remove("Content-Length")
    assert again.body == message.body
    if isinstance(message, Request):
        assert isinstance(again, Request) and (again.method, again.uri) == (message.method, message.uri)
    else:
        assert isinstance(again, Response) and (again.status, again.reason) == (message.status, message.reason)


def _parse_or_parse_error(data: bytes) -> Message | None:
    try:
        message = parse_message(data)
    except SipParseError:
        return None
    # Every view of a message that parsed either works or raises SipParseError.
    for view in ("call_id", "cseq", "from_", "to", "vias", "top_via", "contacts", "record_route",
                 "routes", "max_forwards", "content_type"):
        try:
            getattr(message, view)
        except SipParseError:
            pass
    return message


SAMPLES = [t.data for t in T.ALL]

# --- 1. arbitrary bytes ------------------------------------------------------------------

fragments = st.sampled_from(
    [
        "INVITE", "SIP/2.0", "SIP/2.0 200 OK", " ", "  ", "\t", ":", ";", ",", "=", "<", ">", '"', "\\",
        "@", "%", "%4", "?", "[", "]", "sip:", "sips:", "tel:", "Via", "v", "From", "f", "To", "t",
        "Call-ID", "i", "CSeq", "Contact", "m", "*", "Route", "Record-Route", "Max-Forwards",
        "Content-Length", "l", "SIP/2.0/UDP", "branch=z9hG4bK", "tag=", "0", "1", "99999999999",
        "65536", "a.example.com", "[::1]", "\r\n", "\n", "\r", "\r\n ", "\x00", "\xff", "\u00e9",
    ]
)
sip_like = st.lists(fragments, max_size=60).map(lambda parts: "".join(parts).encode("utf-8", "surrogatepass"))


@SETTINGS
@given(st.one_of(st.binary(max_size=400), sip_like))
def test_arbitrary_bytes_raise_only_parse_errors(data: bytes) -> None:
    message = _parse_or_parse_error(data)
    if message is not None:
        _reaches_fixed_point(message)


# --- 2. generated valid messages ---------------------------------------------------------


@MESSAGE_SETTINGS
@given(messages())
def test_generated_messages_round_trip(generated: tuple[Message, dict[str, object]]) -> None:
    message, views = generated
    data = bytes(message)
    parsed = parse_message(data)
    assert bytes(parsed) == data
    assert parsed.headers.remove("Content-Length") == message.headers
    assert parsed.headers.get("Content-Length") == str(len(message.body))
    assert parsed.body == message.body
    assert replace(parsed, headers=message.headers) == message
    for name, value in views.items():
        assert getattr(parsed, name) == value, name


# --- 3. header values --------------------------------------------------------------------


@SETTINGS
@given(any_uris)
def test_uri_round_trips(uri: SipUri) -> None:
    text = str(uri)
    assert SipUri.parse(text) == uri
    assert str(SipUri.parse(text)) == text


@SETTINGS
@given(name_addrs)
def test_name_addr_round_trips(value: NameAddr) -> None:
    assert NameAddr.parse(str(value)) == value


@SETTINGS
@given(st.one_of(sip_uris(with_headers=False), opaque_uris), header_params, st.sampled_from(["", " ", " \t "]))
def test_addr_spec_form_puts_parameters_on_the_header(uri: SipUri, params: Params, lws: str) -> None:
    """s20.10: without <>, everything after the URI's first ';' is a header parameter."""
    text = str(uri)
    assume(not any(c in text for c in ";?,"))
    spaced = "".join(f"{lws};{lws}{k}" if v is None else f"{lws};{lws}{k}{lws}={lws}{v}" for k, v in params)
    parsed = NameAddr.parse(text + spaced)
    assert (parsed.uri, parsed.params, parsed.display_name) == (uri, params, None)


@SETTINGS
@given(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20))
def test_any_display_text_serializes_to_a_parsable_name_addr(text: str) -> None:
    value = NameAddr(uri=SipUri(scheme="sip", host="example.com"), display_name=text)
    parsed = NameAddr.parse(str(value))
    assert parsed.uri == value.uri
    if text.strip(" \t\r\n"):
        assert parsed.display_text in (text, text.replace("\r", " ").replace("\n", " "))
    assert quote_display(text).startswith('"')


@SETTINGS
@given(vias)
def test_via_round_trips(value: Via) -> None:
    assert Via.parse(str(value)) == value


@SETTINGS
@given(cseqs)
def test_cseq_round_trips(value: CSeq) -> None:
    assert CSeq.parse(str(value)) == value


# --- 4. mutated valid messages -----------------------------------------------------------

insertions = st.sampled_from(
    [b"\r\n", b"\n", b"\r", b" ", b"\t", b";", b",", b"<", b">", b'"', b"\\", b":", b"@", b"%", b"=",
     b"\x00", b"\xff", b"\xc3", b"\r\n ", b"\r\n\r\n", b"9999999999"]
)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.one_of(st.sampled_from(SAMPLES), messages().map(lambda mv: bytes(mv[0])))))
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        pos = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        if kind == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set":
            data[pos] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[pos:pos] = draw(insertions)
        elif kind == "delete":
            del data[pos : pos + draw(st.integers(1, 8))]
        else:
            del data[pos:]
    return bytes(data)


@MESSAGE_SETTINGS
@given(mutated())
def test_mutated_messages_raise_only_parse_errors(data: bytes) -> None:
    message = _parse_or_parse_error(data)
    if message is not None:
        _reaches_fixed_point(message)


@SETTINGS
@given(st.sampled_from(SAMPLES), st.integers(0, 10_000))
def test_truncated_messages_raise_only_parse_errors(data: bytes, cut: int) -> None:
    assume(cut < len(data))
    message = _parse_or_parse_error(data[:cut])
    if message is not None:
        _reaches_fixed_point(message)
