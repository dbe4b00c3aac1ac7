"""SIP messages (RFC 3261 s7): parsing from bytes and serialization to bytes.

A message is a frozen :class:`Request` or :class:`Response` holding its start line, an ordered
:class:`Headers` collection (raw text per header field, unknown headers round-trip unchanged)
and a body. Typed views (``via``, ``cseq``, ``from_``...) parse the relevant header on first
access and keep the result. Serialization always writes a correct Content-Length (s20.14), in
place of the received one when there was one.

:func:`parse_message` accepts what RFC 4475 s3.1.1 calls valid and rejects, with a
:class:`SipParseError` whose ``status_hint`` is the response a server should send, what
s3.1.2 calls invalid. Where RFC 4475 lets an element choose, the choices are:

* rejected (400): extra SP in the Request-Line (``lwsstart``, ``trws``), a Request-URI with
  escaped headers (``escruri``), LWS inside ``<>`` (``badaspec``), unquoted non-token display
  names (``baddn``), an addr-spec with ``?`` (``regbadct``), several Content-Length, Call-ID,
  CSeq, From, To or Max-Forwards fields (s3.3.8 ``multi01``, s3.3.9 ``mcl01``);
* accepted: a Date in another time zone (``baddate``: the dialer never reads Date), a
  Status-Line without the SP before an empty reason phrase (``noreason``), a message with no
  Content-Length (the body is the rest of the datagram, s18.3), an unknown URI scheme in the
  Request-URI (416 is for the transaction user to send, s8.2.2.1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Generic, Iterable, Iterator, TypeVar

from dialer.errors import SipParseError
from dialer.sip.headers import (
    LIST_HEADERS,
    CSeq,
    NameAddr,
    Via,
    canonical_name,
    header_key,
    is_token,
    split_commas,
)
from dialer.sip.uri import SipUri, new_frozen

SIP_VERSION = "SIP/2.0"
MAX_MESSAGE_SIZE = 65535

# Methods of RFC 3261 and its extensions (3262, 3265/6665, 3311, 3428, 3515, 3903, 6086).
# A request with another method and a mismatched CSeq gets 501 (RFC 4475 s3.1.2.18).
KNOWN_METHODS = frozenset(
    {
        "INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "PRACK", "SUBSCRIBE",
        "NOTIFY", "PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE",
    }
)

REASON_PHRASES = {
    100: "Trying", 180: "Ringing", 181: "Call Is Being Forwarded", 182: "Queued",
    183: "Session Progress", 200: "OK", 202: "Accepted", 400: "Bad Request",
    401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    407: "Proxy Authentication Required", 408: "Request Timeout", 415: "Unsupported Media Type",
    416: "Unsupported URI Scheme", 420: "Bad Extension", 480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist", 482: "Loop Detected", 483: "Too Many Hops",
    484: "Address Incomplete", 486: "Busy Here", 487: "Request Terminated",
    488: "Not Acceptable Here", 491: "Request Pending", 500: "Server Internal Error",
    501: "Not Implemented", 503: "Service Unavailable", 504: "Server Time-out",
    505: "Version Not Supported", 513: "Message Too Large", 600: "Busy Everywhere",
    603: "Decline", 604: "Does Not Exist Anywhere", 606: "Not Acceptable",
}

_HEADER_NAME = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
_VERSION = re.compile(r"[Ss][Ii][Pp]/[0-9]+\.[0-9]+")
_STATUS = re.compile(r"[0-9]{3}")
_DIGITS = re.compile(r"[0-9]{1,10}")
# One unfolded header line per match; when every line matches, no slower per-line work.
_FIELD_LINES = re.compile(r"^([A-Za-z0-9\-.!%*_+`'~]+)[ \t]*:[ \t]*((?:[^\n]*[^ \t\n])?)[ \t]*$", re.M)
_FOLD = re.compile(r"[ \t]*\r?\n[ \t]*|\r")
_LWS = " \t"
# Headers a message may carry at most once (s20: single-valued; RFC 4475 s3.3.8, s3.3.9).
_SINGLE = ("call-id", "cseq", "from", "to", "max-forwards", "content-length")


_T = TypeVar("_T")


class _cached(Generic[_T]):
    """A typed view computed on first access and stored in the (frozen) instance's __dict__.

    Like :func:`functools.cached_property` without its per-access lock (Python 3.11), which
    costs more than the parse it saves. Safe because messages are immutable."""

    def __init__(self, func: Callable[[Any], _T]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: object, objtype: type | None = None) -> _T:
        if obj is None:
            return self  # type: ignore[return-value]
        value = self.func(obj)
        obj.__dict__[self.name] = value
        return value


def _sanitize(value: str) -> str:
    """A header value or reason phrase safe on one line: line breaks fold to one SP (s7.3.1)."""
    if "\n" in value or "\r" in value:
        return _FOLD.sub(" ", value)
    return value


@dataclass(frozen=True)
class Headers:
    """Ordered header fields as ``(name, value)`` pairs, names as received.

    Look-ups are case-insensitive and understand compact forms (``v`` is ``Via``).
    """

    fields: tuple[tuple[str, str], ...] = ()
    # header_key() of each field's name, computed once: look-ups compare keys only.
    _keys: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_keys", tuple(header_key(n) for n, _ in self.fields))

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def _matches(self, name: str) -> Iterator[str]:
        want = header_key(name)
        for key, (_, v) in zip(self._keys, self.fields):
            if key == want:
                yield v

    def get(self, name: str) -> str | None:
        """First value of a header, or None."""
        want = header_key(name)
        for key, (_, v) in zip(self._keys, self.fields):
            if key == want:
                return v
        return None

    def get_all(self, name: str) -> list[str]:
        """Every value, list headers split at top-level commas (s7.3.1)."""
        want = header_key(name)
        values = [v for key, (_, v) in zip(self._keys, self.fields) if key == want]
        if want in LIST_HEADERS:
            return [part for v in values for part in split_commas(v)]
        return values

    def count(self, name: str) -> int:
        """How many header fields (lines) carry that name."""
        want = header_key(name)
        return sum(1 for key in self._keys if key == want)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def add(self, name: str, value: str) -> "Headers":
        return Headers((*self.fields, (name, value)))

    def prepend(self, name: str, value: str) -> "Headers":
        return Headers(((name, value), *self.fields))

    def remove(self, name: str) -> "Headers":
        want = header_key(name)
        keys = self._keys
        return Headers(tuple(f for key, f in zip(keys, self.fields) if key != want))

    def set(self, name: str, value: str) -> "Headers":
        """Replace every field of that name by one (at the first one's place, else at the end)."""
        want = header_key(name)
        out: list[tuple[str, str]] = []
        placed = False
        for key, f in zip(self._keys, self.fields):
            if key == want:
                if not placed:
                    out.append((name, value))
                    placed = True
            else:
                out.append(f)
        if not placed:
            out.append((name, value))
        return Headers(tuple(out))

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]]) -> "Headers":
        return cls(tuple(pairs))


@dataclass(frozen=True)
class _Message:
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    # Typed views on the headers every message has (s8.1.1), parsed once and kept.
    @property
    def call_id(self) -> str:
        return self._required("Call-ID")

    @_cached
    def cseq(self) -> CSeq:
        return CSeq.parse(self._required("CSeq"))

    @_cached
    def from_(self) -> NameAddr:
        return NameAddr.parse(self._required("From"))

    @_cached
    def to(self) -> NameAddr:
        return NameAddr.parse(self._required("To"))

    @_cached
    def _vias(self) -> tuple[Via, ...]:
        return tuple(Via.parse(v) for v in self.headers.get_all("Via"))

    @property
    def vias(self) -> list[Via]:
        return list(self._vias)

    @property
    def top_via(self) -> Via:
        vias = self._vias
        if not vias:
            raise SipParseError("missing Via header")
        return vias[0]

    @_cached
    def _contacts(self) -> tuple[NameAddr, ...]:
        return tuple(NameAddr.parse(v) for v in self.headers.get_all("Contact"))

    @property
    def contacts(self) -> list[NameAddr]:
        return list(self._contacts)

    @_cached
    def _record_route(self) -> tuple[NameAddr, ...]:
        return tuple(NameAddr.parse(v) for v in self.headers.get_all("Record-Route"))

    @property
    def record_route(self) -> list[NameAddr]:
        return list(self._record_route)

    @_cached
    def _routes(self) -> tuple[NameAddr, ...]:
        return tuple(NameAddr.parse(v) for v in self.headers.get_all("Route"))

    @property
    def routes(self) -> list[NameAddr]:
        return list(self._routes)

    @property
    def max_forwards(self) -> int | None:
        """Max-Forwards (s20.22), None when absent."""
        value = self.headers.get("Max-Forwards")
        if value is None:
            return None
        if not _DIGITS.fullmatch(value) or int(value) > 255:
            raise SipParseError(f"bad Max-Forwards {value[:20]!r}")
        return int(value)

    @property
    def content_type(self) -> str | None:
        value = self.headers.get("Content-Type")
        return value.split(";")[0].strip(_LWS).lower() if value else None

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def _required(self, name: str) -> str:
        value = self.headers.get(name)
        if value is None:
            raise SipParseError(f"missing {name} header")
        return value

    def _serialize(self, start_line: str) -> bytes:
        length = str(len(self.body))
        lines = [start_line]
        wrote_length = False
        for key, (name, value) in zip(self.headers._keys, self.headers.fields):
            if key == "content-length":
                if not wrote_length:
                    lines.append(f"{name}: {length}")
                    wrote_length = True
            else:
                lines.append(f"{name}: {_sanitize(value)}")
        if not wrote_length:
            lines.append(f"Content-Length: {length}")
        lines.append("\r\n")
        return "\r\n".join(lines).encode("utf-8") + self.body


@dataclass(frozen=True)
class Request(_Message):
    method: str = "OPTIONS"
    uri: SipUri = field(default_factory=lambda: SipUri(scheme="sip", host="invalid"))

    def __bytes__(self) -> bytes:
        return self._serialize(f"{self.method} {self.uri} {SIP_VERSION}")

    def with_headers(self, headers: Headers) -> "Request":
        return replace(self, headers=headers)


@dataclass(frozen=True)
class Response(_Message):
    status: int = 200
    reason: str = "OK"

    def __bytes__(self) -> bytes:
        return self._serialize(f"{SIP_VERSION} {self.status} {_sanitize(self.reason)}")

    @property
    def is_provisional(self) -> bool:
        return self.status < 200

    @property
    def is_success(self) -> bool:
        return 200 <= self.status < 300

    def with_headers(self, headers: Headers) -> "Response":
        return replace(self, headers=headers)


Message = Request | Response


def reason_phrase(status: int) -> str:
    return REASON_PHRASES.get(status, "Unknown")


def _split_head_body(data: bytes) -> tuple[bytes, bytes]:
    """Head and body around the first empty line (s7: CRLF CRLF; bare LF tolerated)."""
    crlf = data.find(b"\r\n\r\n")
    lf = data.find(b"\n\n")
    if lf >= 0 and (crlf < 0 or lf < crlf):
        end = lf - 1 if lf > 0 and data[lf - 1] == 0x0D else lf  # CRLF LF ends the head too
        return data[:end], data[lf + 2 :]
    if crlf >= 0:
        return data[:crlf], data[crlf + 4 :]
    if data.endswith(b"\n"):
        # No empty line, but the last header line is complete: a message with no body.
        return data.rstrip(b"\r\n"), b""
    raise SipParseError("message head is not terminated by an empty line")


def _header_lines(head: str) -> tuple[str, list[tuple[str, str]]]:
    """Start line and ``(name, value)`` pairs, folded lines joined (s7.3.1)."""
    text = head.replace("\r\n", "\n") if "\r" in head else head
    start, newline, rest = text.partition("\n")
    if not newline:
        return start, []
    pairs: list[tuple[str, str]] = _FIELD_LINES.findall(rest)
    if len(pairs) == rest.count("\n") + 1:
        return start, pairs
    pairs = []
    for line in rest.split("\n"):
        if line[:1] in (" ", "\t"):
            if not pairs:
                raise SipParseError("the first header line is a continuation line")
            # s7.3.1: the line break and the leading whitespace count as a single SP.
            name, value = pairs[-1]
            extra = line.strip(_LWS)
            if extra:
                pairs[-1] = (name, f"{value} {extra}" if value else extra)
            continue
        name, colon, value = line.partition(":")
        name = name.rstrip(_LWS)
        if not colon or not _HEADER_NAME.fullmatch(name):
            raise SipParseError(f"malformed header line {line[:80]!r}")
        pairs.append((name, value.strip(_LWS)))
    return start, pairs


def _start_line(start: str) -> tuple[str, SipUri] | tuple[int, str]:
    """``(method, Request-URI)`` of a Request-Line or ``(status, reason)`` of a Status-Line."""
    if start[:4].upper() == "SIP/":
        # Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (s7.2)
        version, _, rest = start.partition(" ")
        code, _, reason = rest.partition(" ")
        if not _VERSION.fullmatch(version):
            raise SipParseError(f"malformed status line {start[:80]!r}")
        if version.upper() != SIP_VERSION:
            raise SipParseError(f"unsupported SIP version {version!r}", status_hint=505)
        if not _STATUS.fullmatch(code) or not 100 <= int(code) <= 699:
            # RFC 4475 s3.1.2.19 bigcode: out-of-range codes are dropped.
            raise SipParseError(f"bad status code in {start[:80]!r}")
        return int(code), reason
    # Request-Line = Method SP Request-URI SP SIP-Version (s7.1): single SPs, nothing else.
    parts = start.split(" ")
    if len(parts) != 3 or not all(parts):
        raise SipParseError(f"malformed request line {start[:80]!r}")
    method, uri_text, version = parts
    if not is_token(method):
        raise SipParseError(f"bad method {method[:40]!r}")
    if version.upper() != SIP_VERSION:
        if _VERSION.fullmatch(version):
            raise SipParseError(f"unsupported SIP version {version!r}", status_hint=505)
        raise SipParseError(f"malformed request line {start[:80]!r}")
    uri = SipUri.parse(uri_text)
    if uri.headers:
        # RFC 4475 s3.1.2.11 escruri; s19.1.1 allows no headers in a Request-URI.
        raise SipParseError(f"Request-URI {uri_text[:80]!r} has headers")
    return method, uri


def parse_message(data: bytes) -> Message:
    """Parse one SIP message received as a UDP datagram (s7, s18.3).

    Raises :class:`SipParseError` (and nothing else) on anything malformed; the error's
    ``status_hint`` says what a server should answer.
    """
    if len(data) > MAX_MESSAGE_SIZE:
        raise SipParseError("message larger than 65535 bytes", status_hint=513)
    data = data.lstrip(b"\r\n")  # s7.5: ignore leading CRLFs
    if not data:
        raise SipParseError("empty message")
    head_bytes, body = _split_head_body(data)
    try:
        head = head_bytes.decode("utf-8")
    except UnicodeDecodeError:
        # RFC 3261 s7 says UTF-8, but some carriers send Latin-1 display names; reading
        # such a head as Latin-1 keeps the call (every byte maps to one character).
        head = head_bytes.decode("latin-1")
    if "\r" in head.replace("\r\n", ""):
        raise SipParseError("bare CR in the message head")
    start, pairs = _header_lines(head)
    first, second = _start_line(start)  # first: a version we cannot handle is a 505
    keys = tuple(header_key(name) for name, _ in pairs)
    headers = new_frozen(Headers, fields=tuple(pairs), _keys=keys)
    for single in _SINGLE:
        if keys.count(single) > 1:
            raise SipParseError(f"more than one {canonical_name(single)} header")

    length_text = headers.get("Content-Length")
    if length_text is not None:
        if not _DIGITS.fullmatch(length_text):
            # RFC 4475 s3.1.2.3 ncl: negative or non-numeric lengths cannot frame the body.
            raise SipParseError(f"bad Content-Length {length_text[:20]!r}")
        length = int(length_text)
        if length > len(body):
            # RFC 4475 s3.1.2.2 clerr: on UDP a longer Content-Length is an error.
            raise SipParseError(f"Content-Length {length} exceeds the {len(body)} body bytes received")
        body = body[:length]

    message: Message
    if isinstance(first, int):
        message = new_frozen(Response, headers=headers, body=body, status=first, reason=second)
    else:
        message = new_frozen(Request, headers=headers, body=body, method=first, uri=second)
    _check_mandatory(message)
    return message


def _check_mandatory(message: Message) -> None:
    """The headers transactions and dialogs depend on must be present and well formed (s8.1.1).

    Parsing them here also fills the typed views, so later access costs nothing.
    """
    call_id = message.call_id
    if not call_id or any(c in call_id for c in " \t"):
        raise SipParseError(f"bad Call-ID {call_id[:80]!r}")
    cseq = message.cseq
    message.from_
    message.to
    if not message._vias:
        raise SipParseError("missing Via header")
    if isinstance(message, Request) and cseq.method != message.method:
        # RFC 4475 s3.1.2.17 mismatch01 (400) and s3.1.2.18 mismatch02 (501 for a new method).
        hint = 400 if message.method in KNOWN_METHODS else 501
        raise SipParseError(
            f"CSeq method {cseq.method!r} does not match request method {message.method!r}",
            status_hint=hint,
        )
    message.max_forwards
    message._contacts
    message._record_route
    message._routes
