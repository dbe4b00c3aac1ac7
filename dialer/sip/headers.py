"""Typed SIP header values (RFC 3261 s20): name-addr headers, Via and CSeq.

Each is a frozen dataclass with ``parse(text)`` and ``__str__``. Headers that the dialer does
not interpret stay raw text in :class:`dialer.sip.message.Headers` and round-trip unchanged.

``parse`` takes a header value as :func:`dialer.sip.message.parse_message` stores it: folded
lines already joined (s7.3.1), leading and trailing LWS removed. LWS is accepted wherever the
s25 grammar puts ``SWS``/``LWS`` (around ``/``, ``;``, ``=``, between display name and
``<``), and refused where it does not (inside ``<uri>``, inside the URI itself).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

from dialer.errors import SipParseError
from dialer.sip.uri import Params, SipUri, format_params, get_param, new_frozen, parse_params, set_param, split_unquoted

# RFC 3261 s7.3.3 compact forms (and the later RFCs that registered one), and s20 spellings.
COMPACT_FORMS = {
    "a": "Accept-Contact",  # RFC 3841
    "b": "Referred-By",  # RFC 3892
    "i": "Call-ID",
    "m": "Contact",
    "e": "Content-Encoding",
    "j": "Reject-Contact",  # RFC 3841
    "l": "Content-Length",
    "c": "Content-Type",
    "f": "From",
    "s": "Subject",
    "k": "Supported",
    "t": "To",
    "v": "Via",
    "o": "Event",  # RFC 6665
    "r": "Refer-To",  # RFC 3515
    "u": "Allow-Events",  # RFC 6665
    "x": "Session-Expires",  # RFC 4028
    "y": "Identity",  # RFC 8224
}
_CANONICAL = {
    name.lower(): name
    for name in (
        "Accept", "Accept-Contact", "Accept-Encoding", "Accept-Language", "Alert-Info", "Allow",
        "Allow-Events", "Authentication-Info", "Authorization", "Call-ID", "Call-Info", "Contact",
        "Content-Disposition", "Content-Encoding", "Content-Language", "Content-Length",
        "Content-Type", "CSeq", "Date", "Error-Info", "Event", "Expires", "From", "Identity",
        "In-Reply-To", "Max-Forwards", "Min-Expires", "Min-SE", "MIME-Version", "Organization",
        "P-Asserted-Identity", "P-Preferred-Identity", "Path", "Priority", "Proxy-Authenticate",
        "Proxy-Authorization", "Proxy-Require", "RAck", "Reason", "Record-Route", "Refer-To",
        "Referred-By", "Reject-Contact", "Reply-To", "Require", "Retry-After", "Route", "RSeq",
        "Server", "Service-Route", "Session-Expires", "Subject", "Supported", "Timestamp", "To",
        "Unsupported", "User-Agent", "Via", "Warning", "WWW-Authenticate",
    )
}
# Headers whose grammar is a comma-separated list (s7.3.1): several may share one line.
# WWW-Authenticate, Proxy-Authenticate, Authorization and Date contain commas but are not lists.
LIST_HEADERS = frozenset(
    {
        "accept", "accept-encoding", "accept-language", "alert-info", "allow", "call-info",
        "contact", "content-encoding", "content-language", "error-info", "in-reply-to",
        "proxy-require", "record-route", "require", "route", "supported", "unsupported", "via",
        "allow-events", "path", "service-route", "p-asserted-identity", "p-preferred-identity",
        "reason", "warning",
    }
)

_TOKEN = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
_DISPLAY_TOKENS = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+(?:[ \t]+[A-Za-z0-9\-.!%*_+`'~]+)*")
_QUOTED = re.compile(r'"(?:[^"\\\r\n]|\\[^\r\n])*"')
_LWS = " \t"
_NAME_ADDR = re.compile(
    r'(?:("(?:[^"\\\r\n]|\\[^\r\n])*")|([A-Za-z0-9\-.!%*_+`\'~]+(?:[ \t]+[A-Za-z0-9\-.!%*_+`\'~]+)*))?'
    r'[ \t]*<([^<>" \t]+)>[ \t]*(;.*)?',
    re.S,
)

# Lower-cased name (long or compact) -> lower-cased canonical name: the look-up key.
_KEYS = {**{k: v.lower() for k, v in COMPACT_FORMS.items()}, **{k: k for k in _CANONICAL}}


def canonical_name(name: str) -> str:
    """``v`` -> ``Via``, ``call-id`` -> ``Call-ID``; unknown names keep their spelling."""
    lname = name.lower()
    if lname in COMPACT_FORMS:
        return COMPACT_FORMS[lname]
    return _CANONICAL.get(lname, name)


def header_key(name: str) -> str:
    """Case- and compact-form-insensitive key of a header name: ``v``, ``VIA`` -> ``via``."""
    lname = name.lower()
    return _KEYS.get(lname, lname)


def is_token(text: str) -> bool:
    return bool(_TOKEN.fullmatch(text))


def split_commas(value: str) -> list[str]:
    """Split a list header value at commas outside quotes and angle brackets (s7.3.1).

    An empty value gives no element (``Supported:`` with no option tag is legal); an empty
    element between commas is an error (RFC 4475 s3.1.2.1 ``badinv01``).
    """
    if "," not in value:
        value = value.strip(_LWS)
        return [value] if value else []
    parts = [part.strip(_LWS) for part in
             split_unquoted(value, ",", where=repr(value[:80]), angle_brackets=True)]
    if any(not p for p in parts):
        raise SipParseError(f"empty element in list header value {value[:80]!r}")
    return parts


def quote_display(text: str) -> str:
    """``text`` as a quoted-string display name (s25.1 quoted-pair for ``"`` and ``\\``).

    CR and LF cannot be escaped in a quoted-string; they become spaces."""
    text = text.replace("\r", " ").replace("\n", " ")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unquote_display(text: str) -> str:
    """The text of a display name: quotes removed and quoted-pairs expanded."""
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return re.sub(r"\\(.)", r"\1", text[1:-1], flags=re.S)
    return text


def _header_params(tail: str, where: str) -> Params:
    """Parameters in ``tail``: empty, or ``;``-prefixed as left after a URI or sent-by."""
    if not tail:
        return ()
    if tail[0] != ";":
        raise SipParseError(f"unexpected text {tail[:40]!r} after the URI in {where[:80]!r}")
    if not tail[1:].strip(_LWS):
        raise SipParseError(f"empty parameter in {where[:80]!r}")
    return parse_params(tail[1:], f"header {where[:80]!r}")


def _split_quoted_display(text: str) -> tuple[str, str]:
    """Return (quoted display name including quotes, rest) for text starting with a quote."""
    m = _QUOTED.match(text)
    if not m:
        raise SipParseError(f"unterminated display name in {text[:80]!r}")
    return m.group(0), text[m.end() :]


@dataclass(frozen=True)
class NameAddr:
    """``"Display" <sip:uri>;params`` as in From, To, Contact, Route and Record-Route (s20).

    ``display_name`` is kept as written: a quoted-string with its quotes and escapes, or a
    sequence of tokens. :attr:`display_text` gives the text a person would read. A display
    name that is neither (``Müller, Hans``) is quoted when serialized.
    """

    uri: SipUri
    display_name: str | None = None
    params: Params = ()
    wildcard: bool = False

    @classmethod
    def parse(cls, text: str) -> "NameAddr":
        """Parse ``name-addr``, ``addr-spec`` (s20.10, s25.1) or the Contact ``*`` (s10.2.2)."""
        if cls is NameAddr:
            return _parse_name_addr_cached(text)
        return cls._parse(text)

    @classmethod
    def _parse(cls, text: str) -> "NameAddr":
        text = text.strip(_LWS)
        m = _NAME_ADDR.fullmatch(text)
        if m:  # the usual name-addr form, in one regex; anything else takes the long way
            quoted, tokens, inner, tail = m.groups()
            uri = SipUri.parse(inner)
            params = _header_params(tail, text) if tail else ()
            return new_frozen(cls, uri=uri, display_name=quoted or tokens, params=params, wildcard=False)
        if text == "*":
            return cls(uri=SipUri(scheme="sip", host="*"), wildcard=True)
        display: str | None = None
        if text.startswith('"'):
            display, rest = _split_quoted_display(text)
            rest = rest.lstrip(_LWS)
            if not rest.startswith("<"):
                raise SipParseError(f"display name without <uri> in {text[:80]!r}")
        else:
            lt = text.find("<")
            semi = text.find(";")
            if lt >= 0 and (semi < 0 or lt < semi):
                name = text[:lt].rstrip(_LWS)
                if name:
                    if not _DISPLAY_TOKENS.fullmatch(name):
                        # RFC 4475 s3.1.2.15 baddn: non-token characters must be quoted.
                        raise SipParseError(f"unquoted display name {name[:80]!r} is not a token list")
                    display = name
                rest = text[lt:]
            else:
                rest = text
        if rest.startswith("<"):
            gt = rest.find(">")
            if gt < 0:
                raise SipParseError(f"missing '>' in {text[:80]!r}")
            inner = rest[1:gt]
            if inner != inner.strip(_LWS):
                # RFC 4475 s3.1.2.14 badaspec: LAQUOT/RAQUOT allow no LWS inside the brackets.
                raise SipParseError(f"spaces inside <> in {text[:80]!r}")
            uri = SipUri.parse(inner)
            tail = rest[gt + 1 :].lstrip(_LWS)
        else:
            # addr-spec form: parameters after the URI belong to the header (s20.10), and a
            # URI with ',', '?' or ';' of its own must use name-addr (RFC 4475 s3.1.2.13).
            semi = rest.find(";")
            uri_text, tail = (rest, "") if semi < 0 else (rest[:semi], rest[semi:])
            uri_text = uri_text.rstrip(_LWS)
            if "?" in uri_text or "," in uri_text:
                raise SipParseError(f"URI with '?' or ',' must be enclosed in <> in {text[:80]!r}")
            uri = SipUri.parse(uri_text)
        params = _header_params(tail, text)
        return new_frozen(cls, uri=uri, display_name=display, params=params, wildcard=False)

    def __str__(self) -> str:
        if self.wildcard:
            return "*"
        name = self.display_name
        if name:
            if not (_QUOTED.fullmatch(name) or _DISPLAY_TOKENS.fullmatch(name)):
                name = quote_display(name)
            return f"{name} <{self.uri}>{format_params(self.params)}"
        return f"<{self.uri}>{format_params(self.params)}"

    @property
    def display_text(self) -> str | None:
        """The display name as text: ``"J Rosenberg \\\\\\""`` -> ``J Rosenberg \\"``."""
        return None if self.display_name is None else unquote_display(self.display_name)

    @property
    def tag(self) -> str | None:
        return get_param(self.params, "tag")

    def with_tag(self, tag: str) -> "NameAddr":
        return replace(self, params=set_param(self.params, "tag", tag))

    def param(self, name: str) -> str | None:
        return get_param(self.params, name)


@lru_cache(maxsize=4096)
def _parse_name_addr_cached(text: str) -> NameAddr:
    """From, To, Contact and Route values repeat in every message of a dialog; values are
    immutable, so a parsed one is shared. Errors are not cached."""
    return NameAddr._parse(text)


_VIA = re.compile(
    r"([A-Za-z0-9\-.!%*_+`'~]+)[ \t]*/[ \t]*([A-Za-z0-9\-.!%*_+`'~]+)[ \t]*/[ \t]*"
    r"([A-Za-z0-9\-.!%*_+`'~]+)[ \t]+(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._]+)"
    r"(?:[ \t]*:[ \t]*([0-9]{1,5}))?[ \t]*(;.*)?",
    re.S,
)


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
        text = text.strip(_LWS)
        m = _VIA.fullmatch(text)
        if not m:
            raise SipParseError(f"malformed Via {text[:80]!r}")
        port = int(m.group(5)) if m.group(5) else None
        if port is not None and not 0 < port < 65536:
            raise SipParseError(f"port out of range in Via {text[:80]!r}")
        params = _header_params(m.group(6) or "", text)
        return new_frozen(
            cls,
            transport=m.group(3),
            host=m.group(4),
            port=port,
            params=params,
            protocol=f"{m.group(1)}/{m.group(2)}",
        )

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


_CSEQ = re.compile(r"([0-9]{1,10})[ \t]+([A-Za-z0-9\-.!%*_+`'~]+)")


@dataclass(frozen=True)
class CSeq:
    """``CSeq: 4711 INVITE`` (RFC 3261 s20.16): sequence number < 2**31 and method."""

    seq: int
    method: str

    @classmethod
    def parse(cls, text: str) -> "CSeq":
        m = _CSEQ.fullmatch(text.strip(_LWS))
        if not m:
            # Also RFC 4475 s3.1.2.4 scalar02: more than 10 digits is out of range anyway.
            raise SipParseError(f"malformed CSeq {text[:80]!r}")
        seq = int(m.group(1))
        if seq >= 2**31:
            raise SipParseError(f"CSeq number {seq} is not below 2**31")
        return new_frozen(cls, seq=seq, method=m.group(2))

    def __str__(self) -> str:
        return f"{self.seq} {self.method}"
