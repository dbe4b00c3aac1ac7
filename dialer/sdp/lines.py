"""The typed SDP lines (RFC 4566 s5): ``o=`` :class:`Origin`, ``c=`` :class:`Connection`,
``a=`` :class:`Attribute`, the ``a=rtpmap`` encoding :class:`RtpMap` with the RFC 3551 static
payload types, and the direction attributes (RFC 3264 s5.1)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Final, Literal, NamedTuple, cast

from dialer.sdp.errors import SdpError

Direction = Literal["sendrecv", "sendonly", "recvonly", "inactive"]
#: RFC 4566 s6 / RFC 3264 s5.1 direction attributes; ``sendrecv`` is the default.
DIRECTIONS: Final = ("sendrecv", "sendonly", "recvonly", "inactive")
#: RFC 4566 s6: ``a=ptime`` is a hint; 20 ms is what G.711 endpoints use without one.
DEFAULT_PTIME: Final = 20


class RtpMap(NamedTuple):
    """``a=rtpmap`` encoding: name, clock rate and optional channel count (RFC 4566 s6)."""

    encoding: str
    clock_rate: int
    channels: int | None = None

    def __str__(self) -> str:
        text = f"{self.encoding}/{self.clock_rate}"
        return text if self.channels is None else f"{text}/{self.channels}"


#: RFC 3551 s6 tables 4 and 5: static payload types, usable without ``a=rtpmap``.
STATIC_PAYLOAD_TYPES: Final[dict[int, RtpMap]] = {
    0: RtpMap("PCMU", 8000),
    3: RtpMap("GSM", 8000),
    4: RtpMap("G723", 8000),
    5: RtpMap("DVI4", 8000),
    6: RtpMap("DVI4", 16000),
    7: RtpMap("LPC", 8000),
    8: RtpMap("PCMA", 8000),
    9: RtpMap("G722", 8000),
    10: RtpMap("L16", 44100, 2),
    11: RtpMap("L16", 44100),
    12: RtpMap("QCELP", 8000),
    13: RtpMap("CN", 8000),
    14: RtpMap("MPA", 90000),
    15: RtpMap("G728", 8000),
    16: RtpMap("DVI4", 11025),
    17: RtpMap("DVI4", 22050),
    18: RtpMap("G729", 8000),
    25: RtpMap("CelB", 90000),
    26: RtpMap("JPEG", 90000),
    28: RtpMap("nv", 90000),
    31: RtpMap("H261", 90000),
    32: RtpMap("MPV", 90000),
    33: RtpMap("MP2T", 90000),
    34: RtpMap("H263", 90000),
}

_FORBIDDEN: Final = ("\x00", "\r", "\n")


def ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _check_text(what: str, text: str) -> None:
    if any(c in text for c in _FORBIDDEN):
        raise SdpError(f"{what} {text!r} contains a line break or NUL")


@dataclass(frozen=True)
class Origin:
    """``o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>`` (RFC 4566 s5.2)."""

    username: str
    session_id: int
    session_version: int
    address: str
    nettype: str = "IN"
    addrtype: str = "IP4"

    @classmethod
    def parse(cls, value: str) -> Origin:
        parts = value.split()
        if len(parts) != 6:
            raise SdpError(f"o= needs 6 fields, got {len(parts)}")
        username, sess_id, version, nettype, addrtype, address = parts
        if not (ascii_digits(sess_id) and ascii_digits(version)):
            raise SdpError("o= session id and version must be numbers")
        return cls(username, int(sess_id), int(version), address, nettype, addrtype)

    def __str__(self) -> str:
        return (
            f"{self.username} {self.session_id} {self.session_version} "
            f"{self.nettype} {self.addrtype} {self.address}"
        )


@dataclass(frozen=True)
class Connection:
    """``c=<nettype> <addrtype> <connection-address>`` (RFC 4566 s5.7)."""

    address: str
    nettype: str = "IN"
    addrtype: str = "IP4"

    @classmethod
    def parse(cls, value: str) -> Connection:
        parts = value.split()
        if len(parts) != 3:
            raise SdpError(f"c= needs 3 fields, got {len(parts)}")
        nettype, addrtype, address = parts
        return cls(address, nettype, addrtype)

    @classmethod
    def for_address(cls, address: str) -> Connection:
        """``IN IP6`` for an IPv6 literal, ``IN IP4`` otherwise (an IPv4 literal or a name)."""
        return cls(address, "IN", _addrtype(address))

    @property
    def host(self) -> str:
        """The address without a multicast ``/ttl`` or ``/count`` suffix."""
        return self.address.split("/", 1)[0]

    @property
    def is_hold(self) -> bool:
        """True for ``0.0.0.0`` (or ``::``): the RFC 2543 hold that RFC 3264 s8.4 still honours."""
        try:
            return ipaddress.ip_address(self.host).is_unspecified
        except ValueError:
            return False

    def __str__(self) -> str:
        return f"{self.nettype} {self.addrtype} {self.address}"


def _addrtype(address: str) -> str:
    try:
        return "IP6" if ipaddress.ip_address(address).version == 6 else "IP4"
    except ValueError:
        return "IP4"


@dataclass(frozen=True)
class Attribute:
    """One ``a=<name>`` or ``a=<name>:<value>`` line (RFC 4566 s5.13), kept verbatim."""

    name: str
    value: str | None = None

    def __post_init__(self) -> None:
        if not self.name or ":" in self.name:
            raise SdpError(f"attribute name {self.name!r} must be non-empty and have no ':'")
        _check_text("attribute", self.name)
        if self.value is not None:
            _check_text("attribute value", self.value)

    @classmethod
    def parse(cls, value: str) -> Attribute:
        name, sep, rest = value.partition(":")
        if not name:
            raise SdpError("an a= line needs an attribute name")
        return cls(name, rest if sep else None)

    @classmethod
    def rtpmap(cls, payload_type: int, rtpmap: RtpMap) -> Attribute:
        return cls("rtpmap", f"{payload_type} {rtpmap}")

    @classmethod
    def fmtp(cls, payload_type: int, params: str) -> Attribute:
        return cls("fmtp", f"{payload_type} {params}")

    @classmethod
    def ptime(cls, milliseconds: int) -> Attribute:
        return cls("ptime", str(milliseconds))

    @classmethod
    def direction(cls, direction: Direction) -> Attribute:
        return cls(direction)

    def __str__(self) -> str:
        return self.name if self.value is None else f"{self.name}:{self.value}"


def direction_of(attributes: tuple[Attribute, ...]) -> Direction | None:
    for attribute in attributes:
        if attribute.value is None and attribute.name in DIRECTIONS:
            return cast(Direction, attribute.name)
    return None
