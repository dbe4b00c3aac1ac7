"""SIP messages (RFC 3261 s7): parsing from bytes and serialization to bytes.

A message is a frozen :class:`Request` or :class:`Response` holding its start line, an ordered
:class:`Headers` collection (raw text per header field, unknown headers round-trip unchanged)
and a body. Typed views (``via``, ``cseq``, ``from_``...) parse the relevant header on access.
Serialization always writes a correct Content-Length (s20.14).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Iterable, Iterator

from dialer.errors import SipParseError
from dialer.sip.headers import (
    LIST_HEADERS,
    CSeq,
    NameAddr,
    Via,
    canonical_name,
    is_token,
    split_commas,
)
from dialer.sip.uri import SipUri

SIP_VERSION = "SIP/2.0"
MAX_MESSAGE_SIZE = 65535

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

_HEADER_NAME = re.compile(r"^[A-Za-z0-9\-.!%*_+`'~]+$")


@dataclass(frozen=True)
class Headers:
    """Ordered header fields as ``(name, value)`` pairs, names as received.

    Look-ups are case-insensitive and understand compact forms (``v`` is ``Via``).
    """

    fields: tuple[tuple[str, str], ...] = ()

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def _matches(self, name: str) -> Iterator[str]:
        want = canonical_name(name).lower()
        for n, v in self.fields:
            if canonical_name(n).lower() == want:
                yield v

    def get(self, name: str) -> str | None:
        """First value of a header, or None."""
        return next(self._matches(name), None)

    def get_all(self, name: str) -> list[str]:
        """Every value, list headers split at top-level commas (s7.3.1)."""
        values = list(self._matches(name))
        if canonical_name(name).lower() in LIST_HEADERS:
            return [part for v in values for part in split_commas(v)]
        return values

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def add(self, name: str, value: str) -> "Headers":
        return Headers((*self.fields, (name, value)))

    def prepend(self, name: str, value: str) -> "Headers":
        return Headers(((name, value), *self.fields))

    def remove(self, name: str) -> "Headers":
        want = canonical_name(name).lower()
        return Headers(tuple((n, v) for n, v in self.fields if canonical_name(n).lower() != want))

    def set(self, name: str, value: str) -> "Headers":
        """Replace every field of that name by one (at the first one's place, else at the end)."""
        want = canonical_name(name).lower()
        out: list[tuple[str, str]] = []
        placed = False
        for n, v in self.fields:
            if canonical_name(n).lower() == want:
                if not placed:
                    out.append((name, value))
                    placed = True
            else:
                out.append((n, v))
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

    # Typed views on the headers every message has (s8.1.1).
    @property
    def call_id(self) -> str:
        return self._required("Call-ID")

    @property
    def cseq(self) -> CSeq:
        return CSeq.parse(self._required("CSeq"))

    @property
    def from_(self) -> NameAddr:
        return NameAddr.parse(self._required("From"))

    @property
    def to(self) -> NameAddr:
        return NameAddr.parse(self._required("To"))

    @property
    def vias(self) -> list[Via]:
        return [Via.parse(v) for v in self.headers.get_all("Via")]

    @property
    def top_via(self) -> Via:
        values = self.headers.get_all("Via")
        if not values:
            raise SipParseError("missing Via header")
        return Via.parse(values[0])

    @property
    def contacts(self) -> list[NameAddr]:
        return [NameAddr.parse(v) for v in self.headers.get_all("Contact")]

    @property
    def record_route(self) -> list[NameAddr]:
        return [NameAddr.parse(v) for v in self.headers.get_all("Record-Route")]

    @property
    def routes(self) -> list[NameAddr]:
        return [NameAddr.parse(v) for v in self.headers.get_all("Route")]

    @property
    def content_type(self) -> str | None:
        value = self.headers.get("Content-Type")
        return value.split(";")[0].strip().lower() if value else None

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def _required(self, name: str) -> str:
        value = self.headers.get(name)
        if value is None:
            raise SipParseError(f"missing {name} header")
        return value

    def _serialize(self, start_line: str) -> bytes:
        lines = [start_line]
        lines.extend(f"{n}: {v}" for n, v in self.headers.remove("Content-Length"))
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + self.body


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
        return self._serialize(f"{SIP_VERSION} {self.status} {self.reason}")

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
    for sep in (b"\r\n\r\n", b"\n\n"):
        idx = data.find(sep)
        if idx >= 0:
            return data[:idx], data[idx + len(sep) :]
    return data, b""


def _unfold(head: str) -> list[str]:
    """Split the head into lines, joining continuation lines (s7.3.1 header folding)."""
    lines: list[str] = []
    for raw in re.split(r"\r\n|\n", head):
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] = lines[-1].rstrip() + " " + raw.strip()
        else:
            lines.append(raw)
    return lines


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
    except UnicodeDecodeError as exc:
        raise SipParseError(f"message head is not UTF-8 (byte {exc.start})") from exc
    lines = _unfold(head)
    start, header_lines = lines[0], lines[1:]
    pairs: list[tuple[str, str]] = []
    for line in header_lines:
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        name = name.strip()
        if not colon or not _HEADER_NAME.match(name):
            raise SipParseError(f"malformed header line {line[:80]!r}")
        pairs.append((name, value.strip()))
    headers = Headers(tuple(pairs))

    length_text = headers.get("Content-Length")
    if length_text is not None:
        if not length_text.isdigit():
            raise SipParseError(f"bad Content-Length {length_text!r}")
        length = int(length_text)
        if length > len(body):
            raise SipParseError(f"Content-Length {length} exceeds the {len(body)} body bytes received")
        body = body[:length]

    message: Message
    if start.startswith("SIP/"):
        parts = start.split(" ", 2)
        if len(parts) < 2 or not re.fullmatch(r"\d{3}", parts[1]):
            raise SipParseError(f"malformed status line {start[:80]!r}")
        if parts[0].upper() != SIP_VERSION:
            raise SipParseError(f"unsupported SIP version {parts[0]!r}", status_hint=505)
        status = int(parts[1])
        if not 100 <= status <= 699:
            raise SipParseError(f"status code {status} out of range")
        message = Response(headers=headers, body=body, status=status, reason=parts[2].strip() if len(parts) > 2 else "")
    else:
        parts = start.split()
        if len(parts) != 3:
            raise SipParseError(f"malformed request line {start[:80]!r}")
        method, uri_text, version = parts
        if not is_token(method):
            raise SipParseError(f"bad method {method!r}")
        if version.upper() != SIP_VERSION:
            raise SipParseError(f"unsupported SIP version {version!r}", status_hint=505)
        uri = SipUri.parse(uri_text)
        message = Request(headers=headers, body=body, method=method, uri=uri)

    _check_mandatory(message)
    return message


def _check_mandatory(message: Message) -> None:
    """The headers transactions and dialogs depend on must be present and well formed (s8.1.1)."""
    message.call_id
    cseq = message.cseq
    message.from_
    message.to
    vias = message.vias
    if not vias:
        raise SipParseError("missing Via header")
    if isinstance(message, Request) and cseq.method != message.method:
        raise SipParseError(f"CSeq method {cseq.method!r} does not match request method {message.method!r}")
    mf = message.headers.get("Max-Forwards")
    if mf is not None and not (mf.isdigit() and int(mf) <= 255):
        raise SipParseError(f"bad Max-Forwards {mf!r}")
    for value in message.headers.get_all("Contact"):
        NameAddr.parse(value)
