"""SIP and SIPS URIs (RFC 3261 s19.1) and other absolute URIs.

``sip:user:password@host:port;uri-parameters?headers``. Parameters keep their order and
original spelling so that a URI round-trips unchanged; comparison helpers follow s19.1.4
only as far as the dialer needs (scheme, user, host, port case rules).

Parsing follows the s25.1 grammar closely enough that what parses also serializes back to
text that parses to the same value: no whitespace anywhere inside a URI (RFC 4475 s3.1.2.8
``lwsruri``, s3.1.2.14 ``badaspec``), user, password, parameters and headers limited to their
character classes. ``%`` escapes are kept as received (RFC 4475 s3.1.1.3 ``esc01``); use
:func:`unescape` or :attr:`SipUri.unescaped_user` to compare or display them.

URIs with another scheme (``tel:``, ``http:``, ``soap.beep:``...) are kept opaque: deciding
whether to answer 416 Unsupported URI Scheme is the transaction user's business (s8.2.2.1,
RFC 4475 s3.3.2 ``unkscm``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, TypeVar
from urllib.parse import unquote

from dialer.errors import SipParseError

Params = tuple[tuple[str, str | None], ...]
_T = TypeVar("_T")


def new_frozen(cls: type[_T], /, **values: Any) -> _T:
    """An instance of the frozen dataclass ``cls`` from a value for *every* field.

    Parsers build many small values per message; the generated ``__init__`` of a frozen
    dataclass sets each field through ``object.__setattr__`` and costs five times more.
    No validation and no ``__post_init__``: only for values a parser has just checked.
    """
    obj = object.__new__(cls)
    obj.__dict__.update(values)
    return obj


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
# s25.1: a SIP URI is made of unreserved, reserved and escaped characters only.
_SIP_CHARS = re.compile(r"[A-Za-z0-9\-_.!~*'();/?:@&=+$,%\[\]]+")
_USER = re.compile(r"[A-Za-z0-9\-_.!~*'()%&=+$,;?/]+")  # unreserved / escaped / user-unreserved
_PASSWORD = re.compile(r"[A-Za-z0-9\-_.!~*'()%&=+$,]*")
_HOSTPORT = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%]+)(?::([0-9]{1,5}))?")
_PARAMCHARS = re.compile(r"[A-Za-z0-9\-_.!~*'()%\[\]/:&+$]+")  # paramchar (s25.1)
# The whole SIP-URI / SIPS-URI after the scheme (s19.1.1, s25.1): userinfo up to the first
# "@", hostport, uri-parameters (checked one by one afterwards), headers.
_SIP_URI = re.compile(
    r"(?:([A-Za-z0-9\-_.!~*'()%&=+$,;?/]+)(?::([A-Za-z0-9\-_.!~*'()%&=+$,]*))?@)?"
    r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%]+)(?::([0-9]{1,5}))?"
    r"((?:;[A-Za-z0-9\-_.!~*'()%\[\]/:&+$=]*)*)"
    r"(?:\?([A-Za-z0-9\-_.!~*'()%\[\]/?:+$=&]*))?"
)
_OPAQUE = re.compile(r'[^\x00-\x20\x7f<>"]+')

# Header (not URI) parameters, s25.1 generic-param: token [ EQUAL gen-value ].
_TOKEN = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
# gen-value is token / host / quoted-string; unquoted values are accepted a little more
# liberally (``:``, ``/``, ``=``, ``@``...) but never with a character that would change
# how the header splits when it is serialized again.
_GEN_VALUE = re.compile(r"[A-Za-z0-9\-.!%*_+`'~:/=?@\[\]#$&(){}|^]+")
_QUOTED = re.compile(r'"(?:[^"\\\r\n]|\\[^\r\n])*"')


def split_unquoted(text: str, separator: str, *, where: str, angle_brackets: bool = False) -> list[str]:
    """Split ``text`` at ``separator`` outside double-quoted strings (s25.1 quoted-string,
    with quoted-pair escapes) and, with ``angle_brackets``, outside ``<...>`` too."""
    parts: list[str] = []
    start = depth = 0
    in_quote = escaped = False
    for i, ch in enumerate(text):
        if in_quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_quote = False
        elif ch == '"':
            in_quote = True
        elif angle_brackets and ch == "<":
            depth += 1
        elif angle_brackets and ch == ">":
            depth = max(0, depth - 1)
        elif ch == separator and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if in_quote:
        raise SipParseError(f"unterminated quoted string in {where}")
    parts.append(text[start:])
    return parts


def _split_semis(text: str) -> list[str]:
    """Split at ``;`` outside double quotes."""
    if '"' not in text:
        return text.split(";")
    return split_unquoted(text, ";", where=f"parameters {text!r}")


def parse_params(text: str, where: str) -> Params:
    """Parse header parameters ``;name=value;flag`` (text without the leading ``;``).

    s25.1 ``*( SEMI generic-param )``: LWS is allowed around ``;`` and ``=`` (RFC 4475
    s3.1.1.1 ``wsinv``), names are tokens, values tokens, hosts or quoted strings (kept with
    their quotes). Empty parameters (``;;``) are rejected (RFC 4475 s3.1.2.1 ``badinv01``).
    """
    if not text:
        return ()
    params: list[tuple[str, str | None]] = []
    for part in _split_semis(text):
        name, sep, value = part.partition("=")
        name = name.strip(" \t")
        if not name:
            raise SipParseError(f"empty parameter in {where}")
        if not _TOKEN.fullmatch(name):
            raise SipParseError(f"bad parameter name {name!r} in {where}")
        if not sep:
            params.append((name, None))
            continue
        value = value.strip(" \t")
        if value and not (_GEN_VALUE.fullmatch(value) or _QUOTED.fullmatch(value)):
            raise SipParseError(f"bad value {value!r} for parameter {name!r} in {where}")
        params.append((name, value))
    return tuple(params)


def _parse_uri_params(text: str, where: str) -> Params:
    """``uri-parameters`` (s19.1.1): ``;pname[=pvalue]`` with paramchar only, no LWS."""
    params: list[tuple[str, str | None]] = []
    for part in text.split(";"):
        name, sep, value = part.partition("=")
        if not name:
            raise SipParseError(f"empty parameter in {where}")
        if not _PARAMCHARS.fullmatch(name):
            raise SipParseError(f"bad parameter name {name!r} in {where}")
        if sep and value and not _PARAMCHARS.fullmatch(value):
            raise SipParseError(f"bad value {value!r} for parameter {name!r} in {where}")
        params.append((name, value if sep else None))
    return tuple(params)


def format_params(params: Params) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params)


def get_param(params: Params, name: str) -> str | None:
    """Value of a parameter (case-insensitive name); ``""`` for a flag without value."""
    lname = name.lower()
    for k, v in params:
        if k.lower() == lname:
            return "" if v is None else v
    return None


def set_param(params: Params, name: str, value: str | None) -> Params:
    """Return ``params`` with ``name`` set (replaced in place or appended)."""
    lname = name.lower()
    out = [(k, v) for k, v in params if k.lower() != lname]
    if len(out) == len(params):
        return (*params, (name, value))
    return tuple((k, value) if k.lower() == lname else (k, v) for k, v in params)


def _sip_uri_error(text: str, rest: str) -> str:
    """Say which part of a SIP URI that did not match is wrong."""
    shown = repr(text[:80])
    if not _SIP_CHARS.fullmatch(rest):
        return f"bad character in URI {shown}"
    at = rest.find("@")
    if at == 0:
        return f"empty user part in URI {shown}"
    if at > 0:
        user, colon, pw = rest[:at].partition(":")
        if not _USER.fullmatch(user) or (colon and not _PASSWORD.fullmatch(pw)):
            return f"bad character in the user part of URI {shown}"
        rest = rest[at + 1 :]
    hostport = rest.partition("?")[0].partition(";")[0]
    if not _HOSTPORT.fullmatch(hostport):
        return f"bad host {hostport[:80]!r} in URI {shown}"
    return f"malformed URI {shown}"


def unescape(text: str) -> str:
    """Expand ``% HEX HEX`` escapes (s19.1.2, RFC 3986 s2.1), once and not recursively:
    ``v%61lue%25%34%31`` is ``value%41`` (RFC 4475 s3.1.1.3). Invalid escapes stay as they are.

    Escaped bytes that are not UTF-8 come back as surrogate escapes, so that two different
    byte strings never unescape to the same text (``.encode("utf-8", "surrogateescape")``
    gives the bytes back); do not log the result without ``errors="backslashreplace"``."""
    return unquote(text, errors="surrogateescape") if "%" in text else text


@dataclass(frozen=True)
class SipUri:
    """A SIP/SIPS URI, or any other absolute URI kept opaque (``tel:``, ``mailto:``...)."""

    scheme: str
    host: str = ""
    user: str | None = None
    password: str | None = None
    port: int | None = None
    params: Params = ()
    headers: str = ""
    opaque: str = field(default="", compare=True)

    @classmethod
    def parse(cls, text: str) -> "SipUri":
        """Parse an absolute URI (s19.1.1, s25.1); raises :class:`SipParseError`."""
        if cls is SipUri:
            return _parse_uri_cached(text)
        return cls._parse(text)

    @classmethod
    def _parse(cls, text: str) -> "SipUri":
        text = text.strip(" \t\r\n")
        m = _SCHEME.match(text)
        if not m:
            raise SipParseError(f"URI {text[:80]!r} has no scheme")
        scheme = text[: m.end() - 1]
        rest = text[m.end() :]
        lscheme = scheme.lower()
        if lscheme != "sip" and lscheme != "sips":
            if not _OPAQUE.fullmatch(rest):
                raise SipParseError(f"malformed URI {text[:80]!r}")
            return new_frozen(
                cls, scheme=scheme, host="", user=None, password=None, port=None, params=(), headers="", opaque=rest
            )
        m = _SIP_URI.fullmatch(rest)
        if not m:
            raise SipParseError(_sip_uri_error(text, rest))
        user, password, host, port_text, param_text, headers = m.groups()
        port = None
        if port_text:
            port = int(port_text)
            if not 0 < port < 65536:
                raise SipParseError(f"port {port} out of range in URI {text[:80]!r}")
        return new_frozen(
            cls,
            scheme=scheme,
            host=host,
            user=user,
            password=password,
            port=port,
            params=_parse_uri_params(param_text[1:], f"URI {text[:80]!r}") if param_text else (),
            headers=headers or "",
            opaque="",
        )

    def __str__(self) -> str:
        scheme = self.scheme.lower()
        if scheme != "sip" and scheme != "sips":
            return f"{self.scheme}:{self.opaque}"
        out = self.scheme + ":"
        if self.user is not None:
            out += self.user if self.password is None else f"{self.user}:{self.password}"
            out += "@"
        out += self.host
        if self.port is not None:
            out += f":{self.port}"
        if self.params:
            out += format_params(self.params)
        if self.headers:
            out += "?" + self.headers
        return out

    @property
    def is_sip(self) -> bool:
        return self.scheme.lower() in ("sip", "sips")

    @property
    def transport(self) -> str:
        """Transport parameter, lower-cased (``udp`` when absent for ``sip:``)."""
        value = get_param(self.params, "transport")
        return (value or ("tls" if self.scheme.lower() == "sips" else "udp")).lower()

    @property
    def loose_route(self) -> bool:
        """True for a Route entry with ``;lr`` (RFC 3261 s16.12, loose routing)."""
        return get_param(self.params, "lr") is not None

    @property
    def host_bare(self) -> str:
        """Host without IPv6 brackets, as sockets want it."""
        return self.host[1:-1] if self.host.startswith("[") else self.host

    @property
    def unescaped_user(self) -> str | None:
        """The user part with ``%`` escapes expanded (s19.1.2): ``%75se%72`` is ``user``."""
        return None if self.user is None else unescape(self.user)

    def param(self, name: str) -> str | None:
        return get_param(self.params, name)

    def with_param(self, name: str, value: str | None = None) -> "SipUri":
        return replace(self, params=set_param(self.params, name, value))

    def without_params(self) -> "SipUri":
        return replace(self, params=(), headers="")

    def address(self, default_port: int = 5060) -> tuple[str, int]:
        """Where to send to reach this URI directly (RFC 3263 without DNS: host and port)."""
        if not self.is_sip:
            raise SipParseError(f"cannot send to a {self.scheme}: URI")
        maddr = self.param("maddr")
        return (maddr or self.host_bare, self.port or default_port)


@lru_cache(maxsize=4096)
def _parse_uri_cached(text: str) -> SipUri:
    """The same URIs come back in every message of a call (Request-URI, From, To, Contact,
    Route): values are immutable, so a parsed one is shared. Errors are not cached."""
    return SipUri._parse(text)
