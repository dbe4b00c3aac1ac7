"""SIP and SIPS URIs (RFC 3261 s19.1) and other absolute URIs.

``sip:user:password@host:port;uri-parameters?headers``. Parameters keep their order and
original spelling so that a URI round-trips unchanged; comparison helpers follow s19.1.4
only as far as the dialer needs (scheme, user, host, port case rules).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from dialer.errors import SipParseError

Params = tuple[tuple[str, str | None], ...]

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):(.*)$", re.S)
_HOSTPORT = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%]+)(?::(\d{1,5}))?$")
_USER_CHARS = re.compile(r"^[A-Za-z0-9\-_.!~*'()&=+$,;?/%]*$")
_PARAM_CHARS = re.compile(r"^[A-Za-z0-9\-_.!~*'()\[\]/:&+$%]*$")


def parse_params(text: str, where: str) -> Params:
    """Parse ``;name=value;flag`` (text without the leading ``;``) into ordered pairs."""
    params: list[tuple[str, str | None]] = []
    if not text:
        return ()
    for part in text.split(";"):
        part = part.strip()
        if not part:
            raise SipParseError(f"empty parameter in {where}")
        name, sep, value = part.partition("=")
        name = name.strip()
        if not name or not _PARAM_CHARS.match(name):
            raise SipParseError(f"bad parameter name {name!r} in {where}")
        params.append((name, value.strip() if sep else None))
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
        text = text.strip()
        m = _SCHEME.match(text)
        if not m:
            raise SipParseError(f"URI {text!r} has no scheme")
        scheme, rest = m.group(1), m.group(2)
        if scheme.lower() not in ("sip", "sips"):
            if not rest or any(c in rest for c in " \t\r\n<>\""):
                raise SipParseError(f"malformed URI {text!r}")
            return cls(scheme=scheme, opaque=rest)
        rest, _, headers = rest.partition("?")
        userinfo, at, hostpart = rest.rpartition("@")
        user = password = None
        if at:
            if not userinfo:
                raise SipParseError(f"empty user part in URI {text!r}")
            user, colon, pw = userinfo.partition(":")
            password = pw if colon else None
            if not _USER_CHARS.match(user) or (password is not None and not _USER_CHARS.match(password)):
                raise SipParseError(f"bad character in the user part of URI {text!r}")
        hostport, _, param_text = hostpart.partition(";")
        hm = _HOSTPORT.match(hostport)
        if not hm:
            raise SipParseError(f"bad host {hostport!r} in URI {text!r}")
        port = int(hm.group(2)) if hm.group(2) else None
        if port is not None and not 0 < port < 65536:
            raise SipParseError(f"port {port} out of range in URI {text!r}")
        return cls(
            scheme=scheme,
            host=hm.group(1),
            user=user,
            password=password,
            port=port,
            params=parse_params(param_text, f"URI {text!r}") if param_text else (),
            headers=headers,
        )

    def __str__(self) -> str:
        if self.scheme.lower() not in ("sip", "sips"):
            return f"{self.scheme}:{self.opaque}"
        out = [self.scheme, ":"]
        if self.user is not None:
            out.append(self.user)
            if self.password is not None:
                out.append(":" + self.password)
            out.append("@")
        out.append(self.host)
        if self.port is not None:
            out.append(f":{self.port}")
        out.append(format_params(self.params))
        if self.headers:
            out.append("?" + self.headers)
        return "".join(out)

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
