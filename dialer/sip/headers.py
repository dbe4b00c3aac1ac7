"""Typed SIP header values (RFC 3261 s20): name-addr headers, Via and CSeq.

Each is a frozen dataclass with ``parse(text)`` and ``__str__``. Headers that the dialer does
not interpret stay raw text in :class:`dialer.sip.message.Headers` and round-trip unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from dialer.errors import SipParseError
from dialer.sip.uri import Params, SipUri, format_params, get_param, parse_params, set_param

# RFC 3261 s7.3.3 compact forms, and s20 canonical spellings.
COMPACT_FORMS = {
    "i": "Call-ID",
    "m": "Contact",
    "e": "Content-Encoding",
    "l": "Content-Length",
    "c": "Content-Type",
    "f": "From",
    "s": "Subject",
    "k": "Supported",
    "t": "To",
    "v": "Via",
    "o": "Event",
    "r": "Refer-To",
    "u": "Allow-Events",
}
_CANONICAL = {
    name.lower(): name
    for name in (
        "Accept", "Accept-Encoding", "Accept-Language", "Alert-Info", "Allow", "Allow-Events",
        "Authentication-Info", "Authorization", "Call-ID", "Call-Info", "Contact",
        "Content-Disposition", "Content-Encoding", "Content-Language", "Content-Length",
        "Content-Type", "CSeq", "Date", "Error-Info", "Event", "Expires", "From", "In-Reply-To",
        "Max-Forwards", "Min-Expires", "MIME-Version", "Organization", "Priority",
        "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Require", "Reason", "Record-Route",
        "Refer-To", "Reply-To", "Require", "Retry-After", "Route", "RSeq", "Server", "Session-Expires",
        "Subject", "Supported", "Timestamp", "To", "Unsupported", "User-Agent", "Via", "Warning",
        "WWW-Authenticate",
    )
}
# Headers whose grammar is a comma-separated list (s7.3.1): several may share one line.
LIST_HEADERS = frozenset(
    {
        "accept", "accept-encoding", "accept-language", "alert-info", "allow", "call-info",
        "contact", "content-encoding", "content-language", "error-info", "in-reply-to",
        "proxy-require", "record-route", "require", "route", "supported", "unsupported", "via",
        "allow-events",
    }
)

_TOKEN = re.compile(r"^[A-Za-z0-9\-.!%*_+`'~]+$")


def canonical_name(name: str) -> str:
    """``v`` -> ``Via``, ``call-id`` -> ``Call-ID``; unknown names keep their spelling."""
    lname = name.lower()
    if lname in COMPACT_FORMS:
        return COMPACT_FORMS[lname]
    return _CANONICAL.get(lname, name)


def is_token(text: str) -> bool:
    return bool(_TOKEN.match(text))


def split_commas(value: str) -> list[str]:
    """Split a list header value at commas outside quotes and angle brackets."""
    parts: list[str] = []
    depth_angle = 0
    in_quote = False
    escaped = False
    start = 0
    for i, ch in enumerate(value):
        if in_quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_quote = False
        elif ch == '"':
            in_quote = True
        elif ch == "<":
            depth_angle += 1
        elif ch == ">":
            depth_angle = max(0, depth_angle - 1)
        elif ch == "," and depth_angle == 0:
            parts.append(value[start:i].strip())
            start = i + 1
    if in_quote:
        raise SipParseError(f"unterminated quoted string in {value!r}")
    parts.append(value[start:].strip())
    if any(not p for p in parts):
        raise SipParseError(f"empty element in list header value {value!r}")
    return parts


def _split_quoted_display(text: str) -> tuple[str, str]:
    """Return (quoted display name including quotes, rest) for text starting with a quote."""
    escaped = False
    for i in range(1, len(text)):
        ch = text[i]
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            return text[: i + 1], text[i + 1 :]
    raise SipParseError(f"unterminated display name in {text!r}")


@dataclass(frozen=True)
class NameAddr:
    """``"Display" <sip:uri>;params`` as in From, To, Contact, Route and Record-Route (s20)."""

    uri: SipUri
    display_name: str | None = None
    params: Params = ()
    wildcard: bool = False

    @classmethod
    def parse(cls, text: str) -> "NameAddr":
        text = text.strip()
        if text == "*":
            return cls(uri=SipUri(scheme="sip", host="*"), wildcard=True)
        display: str | None = None
        if text.startswith('"'):
            display, rest = _split_quoted_display(text)
            rest = rest.strip()
            if not rest.startswith("<"):
                raise SipParseError(f"display name without <uri> in {text!r}")
        else:
            lt = text.find("<")
            rest = text[lt:] if lt >= 0 else text
            if lt > 0:
                display = text[:lt].strip() or None
        if rest.startswith("<"):
            gt = rest.find(">")
            if gt < 0:
                raise SipParseError(f"missing '>' in {text!r}")
            uri = SipUri.parse(rest[1:gt])
            tail = rest[gt + 1 :].strip()
        else:
            # addr-spec form: parameters after the URI belong to the header (s20.10).
            uri_text, _, tail = rest.partition(";")
            uri = SipUri.parse(uri_text)
            tail = ";" + tail if tail else ""
        if tail and not tail.startswith(";"):
            raise SipParseError(f"unexpected text {tail!r} after the URI in {text!r}")
        params = parse_params(tail[1:], f"header {text!r}") if tail else ()
        return cls(uri=uri, display_name=display, params=params)

    def __str__(self) -> str:
        if self.wildcard:
            return "*"
        name = f"{self.display_name} " if self.display_name else ""
        return f"{name}<{self.uri}>{format_params(self.params)}"

    @property
    def tag(self) -> str | None:
        return get_param(self.params, "tag")

    def with_tag(self, tag: str) -> "NameAddr":
        return replace(self, params=set_param(self.params, "tag", tag))

    def param(self, name: str) -> str | None:
        return get_param(self.params, name)


@dataclass(frozen=True)
class Via:
    """``SIP/2.0/UDP host:port;branch=z9hG4bK...;rport`` (RFC 3261 s20.42, RFC 3581)."""

    transport: str
    host: str
    port: int | None = None
    params: Params = ()
    protocol: str = "SIP/2.0"

    @classmethod
    def parse(cls, text: str) -> "Via":
        text = text.strip()
        m = re.match(r"^([A-Za-z0-9.\-!%*_+`'~]+)\s*/\s*([A-Za-z0-9.]+)\s*/\s*([A-Za-z0-9\-]+)\s+(.*)$", text, re.S)
        if not m:
            raise SipParseError(f"malformed Via {text!r}")
        protocol = f"{m.group(1)}/{m.group(2)}"
        transport = m.group(3)
        sent_by, _, param_text = m.group(4).partition(";")
        sent_by = re.sub(r"\s+", "", sent_by)
        hm = re.match(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._]+)(?::(\d{1,5}))?$", sent_by)
        if not hm:
            raise SipParseError(f"bad sent-by {sent_by!r} in Via {text!r}")
        port = int(hm.group(2)) if hm.group(2) else None
        if port is not None and not 0 < port < 65536:
            raise SipParseError(f"port out of range in Via {text!r}")
        params = parse_params(re.sub(r"\s*([;=])\s*", r"\1", param_text), f"Via {text!r}") if param_text else ()
        return cls(transport=transport, host=hm.group(1), port=port, params=params, protocol=protocol)

    def __str__(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        return f"{self.protocol}/{self.transport} {self.host}{port}{format_params(self.params)}"

    @property
    def branch(self) -> str | None:
        return get_param(self.params, "branch")

    def param(self, name: str) -> str | None:
        return get_param(self.params, name)

    def with_param(self, name: str, value: str | None) -> "Via":
        return replace(self, params=set_param(self.params, name, value))


@dataclass(frozen=True)
class CSeq:
    """``CSeq: 4711 INVITE`` (RFC 3261 s20.16): sequence number < 2**31 and method."""

    seq: int
    method: str

    @classmethod
    def parse(cls, text: str) -> "CSeq":
        parts = text.split()
        if len(parts) != 2 or not parts[0].isdigit() or not is_token(parts[1]):
            raise SipParseError(f"malformed CSeq {text!r}")
        seq = int(parts[0])
        if seq >= 2**31:
            raise SipParseError(f"CSeq number {seq} is not below 2**31")
        return cls(seq=seq, method=parts[1])

    def __str__(self) -> str:
        return f"{self.seq} {self.method}"
