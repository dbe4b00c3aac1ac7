"""SDP session descriptions (RFC 4566) and the offer/answer model (RFC 3264) for audio calls.

Pure values, no I/O. :func:`parse` turns a body (``str`` or ``bytes``, CRLF or bare LF) into
a :class:`SessionDescription`; ``str()`` gives it back with CRLF line endings. Every ``a=``
line is kept, in order, as an :class:`Attribute`; the typed views (``rtpmap``, ``fmtp``,
``ptime``, ``direction``) are read from them, so a captured body round-trips line for line.
Lines the dialer does not interpret (``i=``, ``b=``, ``k=``, unknown type letters...) are kept
raw and written back in the RFC 4566 s5 order.

The dialer offers with :func:`build_offer` and reads the callee's answer with
:func:`negotiate_answer`; a simulated callee answers with :func:`build_answer`.

Errors::

    SdpError (dialer.errors.DialerError, ValueError)   malformed SDP; names the line
    └── SdpNegotiationError                            well-formed, but no usable audio stream
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Final, Literal, NamedTuple, cast

from dialer.errors import DialerError

__all__ = [
    "DEFAULT_PTIME",
    "DIRECTIONS",
    "STATIC_PAYLOAD_TYPES",
    "Attribute",
    "Connection",
    "Direction",
    "MediaDescription",
    "NegotiatedMedia",
    "Origin",
    "RtpMap",
    "SdpError",
    "SdpNegotiationError",
    "SessionDescription",
    "build_answer",
    "build_offer",
    "negotiate_answer",
    "parse",
]


class SdpError(DialerError, ValueError):
    """A session description is malformed. ``line_number`` (1-based) and ``line`` say where."""

    def __init__(
        self, message: str, line_number: int | None = None, line: str | None = None
    ) -> None:
        if line_number is not None:
            shown = line if line is None or len(line) <= 80 else line[:77] + "..."
            message = f"SDP line {line_number} ({shown!r}): {message}"
        super().__init__(message)
        self.line_number = line_number
        self.line = line


class SdpNegotiationError(SdpError):
    """Offer and answer are well-formed but give no audio stream we can use (RFC 3264 s6, s7).

    The message says what the remote party did, for a person to act on.
    """


Direction = Literal["sendrecv", "sendonly", "recvonly", "inactive"]
#: RFC 4566 s6 / RFC 3264 s5.1 direction attributes; ``sendrecv`` is the default.
DIRECTIONS: Final = ("sendrecv", "sendonly", "recvonly", "inactive")
#: RFC 3264 s6.1: the answer's direction for each offered direction.
_ANSWER_DIRECTION: Final[dict[str, Direction]] = {
    "sendrecv": "sendrecv",
    "sendonly": "recvonly",
    "recvonly": "sendonly",
    "inactive": "inactive",
}
#: RFC 4566 s6: ``a=ptime`` is a hint; 20 ms is what G.711 endpoints use without one.
DEFAULT_PTIME: Final = 20
_RTP_AVP: Final = "RTP/AVP"
_TELEPHONE_EVENT: Final = "TELEPHONE-EVENT"


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
# The codecs this dialer can send and receive (dialer.codecs: G.711), by their static type.
_G711: Final = {"PCMU": 0, "PCMA": 8}

_RTPMAP_RE: Final = re.compile(r"([0-9]{1,3}) ([^/\s]+)/([0-9]{1,9})(?:/([0-9]{1,3}))?")
_FORBIDDEN: Final = ("\x00", "\r", "\n")


def _digits(text: str) -> bool:
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
        if not (_digits(sess_id) and _digits(version)):
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


def _direction_of(attributes: tuple[Attribute, ...]) -> Direction | None:
    for attribute in attributes:
        if attribute.value is None and attribute.name in DIRECTIONS:
            return cast(Direction, attribute.name)
    return None


# RFC 4566 s5: the order of the lines of a media section; unknown letters go before a=.
_MEDIA_RANK: Final = {"i": 0, "c": 1, "b": 2, "k": 3}
_MEDIA_UNKNOWN_RANK: Final = 4


@dataclass(frozen=True)
class MediaDescription:
    """One ``m=`` section (RFC 4566 s5.14) with its ``c=`` and ``a=`` lines.

    ``formats`` are the m= line's format strings (payload type numbers for RTP/AVP);
    ``connection`` overrides the session's; ``attributes`` are all ``a=`` lines in order;
    ``extra_lines`` are other lines as ``(type letter, value)``.
    """

    media: str
    port: int
    proto: str
    formats: tuple[str, ...]
    port_count: int | None = None
    connection: Connection | None = None
    attributes: tuple[Attribute, ...] = ()
    extra_lines: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise SdpError(f"m= port {self.port} is out of range")

    @classmethod
    def parse_media_line(cls, value: str) -> MediaDescription:
        """Parse ``<media> <port>[/<count>] <proto> <fmt> ...``, the value of an ``m=`` line."""
        parts = value.split()
        if len(parts) < 3:
            raise SdpError("m= needs at least media, port and protocol")
        media, port_text, proto, *formats = parts
        port_str, sep, count_str = port_text.partition("/")
        if not _digits(port_str) or int(port_str) > 65535:
            raise SdpError(f"m= port {port_text!r} is not a port number")
        if sep and not (_digits(count_str) and int(count_str) > 0):
            raise SdpError(f"m= port count {port_text!r} is not a positive number")
        return cls(
            media=media,
            port=int(port_str),
            proto=proto,
            formats=tuple(formats),
            port_count=int(count_str) if sep else None,
        )

    @property
    def payload_types(self) -> tuple[int, ...]:
        """The formats that are RTP payload type numbers."""
        return tuple(int(f) for f in self.formats if _digits(f))

    @property
    def rtpmap(self) -> dict[int, RtpMap]:
        """``{payload type: RtpMap}`` from the ``a=rtpmap`` lines (the first per type wins)."""
        result: dict[int, RtpMap] = {}
        for attribute in self.attributes:
            if attribute.name != "rtpmap" or attribute.value is None:
                continue
            match = _RTPMAP_RE.fullmatch(attribute.value)
            if match is None:
                continue
            pt = int(match.group(1))
            channels = match.group(4)
            result.setdefault(
                pt,
                RtpMap(
                    match.group(2), int(match.group(3)), None if channels is None else int(channels)
                ),
            )
        return result

    @property
    def fmtp(self) -> dict[int, str]:
        """``{payload type: format parameters}`` from the ``a=fmtp`` lines."""
        result: dict[int, str] = {}
        for attribute in self.attributes:
            if attribute.name != "fmtp" or attribute.value is None:
                continue
            pt, sep, params = attribute.value.partition(" ")
            if sep and _digits(pt):
                result.setdefault(int(pt), params.strip())
        return result

    @property
    def ptime(self) -> int | None:
        """The ``a=ptime`` packet time in milliseconds, if given as a whole number."""
        for attribute in self.attributes:
            if attribute.name == "ptime" and attribute.value is not None:
                text = attribute.value.strip()
                if _digits(text) and int(text) > 0:
                    return int(text)
        return None

    @property
    def direction(self) -> Direction | None:
        """The media-level direction attribute, or None when absent (then the session's)."""
        return _direction_of(self.attributes)

    def codec(self, payload_type: int) -> RtpMap | None:
        """The encoding of ``payload_type``: its ``a=rtpmap``, else the RFC 3551 static one."""
        return self.rtpmap.get(payload_type) or STATIC_PAYLOAD_TYPES.get(payload_type)

    def lines(self) -> list[str]:
        """The section's lines without line endings."""
        port = str(self.port) if self.port_count is None else f"{self.port}/{self.port_count}"
        head = " ".join([self.media, port, self.proto, *self.formats])
        ranked: list[tuple[int, int, str]] = []
        if self.connection is not None:
            ranked.append((_MEDIA_RANK["c"], -1, f"c={self.connection}"))
        for seq, (kind, value) in enumerate(self.extra_lines):
            ranked.append((_MEDIA_RANK.get(kind, _MEDIA_UNKNOWN_RANK), seq, f"{kind}={value}"))
        ranked.sort(key=lambda item: item[:2])
        return [f"m={head}", *(line for _, _, line in ranked), *(f"a={a}" for a in self.attributes)]


# RFC 4566 s5: session-level line order (t= is slot 6, r= follows it); unknown letters before a=.
_SESSION_RANK: Final = {
    "i": 0,
    "u": 1,
    "e": 2,
    "p": 3,
    "c": 4,
    "b": 5,
    "t": 6,
    "r": 7,
    "z": 8,
    "k": 9,
}
_SESSION_UNKNOWN_RANK: Final = 10


@dataclass(frozen=True)
class SessionDescription:
    """A whole SDP body (RFC 4566 s5): session-level lines and the media sections.

    ``timing`` holds the values of the ``t=`` lines; ``attributes`` the session-level ``a=``
    lines; ``extra_lines`` other session-level lines as ``(type letter, value)``.
    """

    origin: Origin
    session_name: str = "-"
    connection: Connection | None = None
    media: tuple[MediaDescription, ...] = ()
    timing: tuple[str, ...] = ("0 0",)
    attributes: tuple[Attribute, ...] = ()
    extra_lines: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, data: str | bytes) -> SessionDescription:
        """Parse an SDP body; raises :class:`SdpError` naming the offending line."""
        return _Parser().run(data)

    @property
    def direction(self) -> Direction | None:
        """The session-level direction attribute, or None (then ``sendrecv``)."""
        return _direction_of(self.attributes)

    def media_direction(self, media: MediaDescription) -> Direction:
        """The direction in force for ``media``: its own, else the session's, else sendrecv."""
        return media.direction or self.direction or "sendrecv"

    def media_connection(self, media: MediaDescription) -> Connection | None:
        """The connection for ``media``: its own ``c=``, else the session's (RFC 4566 s5.7)."""
        return media.connection or self.connection

    def lines(self) -> list[str]:
        """All lines without line endings."""
        ranked: list[tuple[int, int, str]] = []
        if self.connection is not None:
            ranked.append((_SESSION_RANK["c"], -1, f"c={self.connection}"))
        ranked.extend((_SESSION_RANK["t"], -1, f"t={value}") for value in self.timing)
        for seq, (kind, value) in enumerate(self.extra_lines):
            ranked.append((_SESSION_RANK.get(kind, _SESSION_UNKNOWN_RANK), seq, f"{kind}={value}"))
        ranked.sort(key=lambda item: item[:2])
        out = ["v=0", f"o={self.origin}", f"s={self.session_name}"]
        out.extend(line for _, _, line in ranked)
        out.extend(f"a={a}" for a in self.attributes)
        for media in self.media:
            out.extend(media.lines())
        return out

    def __str__(self) -> str:
        return "".join(f"{line}\r\n" for line in self.lines())

    def __bytes__(self) -> bytes:
        return str(self).encode("utf-8")


_LINE_SPLIT: Final = re.compile(r"\r\n|\n|\r")


class _Section:
    """Mutable accumulator for one section while parsing."""

    def __init__(self) -> None:
        self.connection: Connection | None = None
        self.attributes: list[Attribute] = []
        self.extra: list[tuple[str, str]] = []


class _Parser:
    """Line-by-line SDP parser (RFC 4566 s5); lines are ``<type>=<value>``."""

    def __init__(self) -> None:
        self.origin: Origin | None = None
        self.session_name: str | None = None
        self.timing: list[str] = []
        self.session = _Section()
        self.media: list[tuple[MediaDescription, _Section]] = []

    def run(self, data: str | bytes) -> SessionDescription:
        if isinstance(data, bytes):
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise SdpError(f"the SDP body is not UTF-8 text (byte {exc.start})") from exc
        else:
            text = data
        seen_version = False
        for number, raw in enumerate(_LINE_SPLIT.split(text), start=1):
            line = raw.rstrip(" \t")
            if not line:
                continue
            if len(line) < 2 or line[1] != "=" or not ("a" <= line[0] <= "z"):
                raise SdpError("expected '<letter>=<value>'", number, line)
            if "\x00" in line:
                raise SdpError("NUL character", number, line)
            kind, value = line[0], line[2:]
            if not seen_version:
                if kind != "v":
                    raise SdpError("an SDP body must start with v=0", number, line)
                if value.strip() != "0":
                    raise SdpError("only SDP version 0 is defined", number, line)
                seen_version = True
                continue
            try:
                self._line(kind, value)
            except SdpError as exc:
                if exc.line_number is not None:
                    raise
                raise SdpError(str(exc), number, line) from exc
        if not seen_version:
            raise SdpError("the SDP body is empty")
        if self.origin is None:
            raise SdpError("the SDP body has no o= line")
        return SessionDescription(
            origin=self.origin,
            session_name="-" if self.session_name is None else self.session_name,
            connection=self.session.connection,
            media=tuple(
                MediaDescription(
                    media=m.media,
                    port=m.port,
                    proto=m.proto,
                    formats=m.formats,
                    port_count=m.port_count,
                    connection=section.connection,
                    attributes=tuple(section.attributes),
                    extra_lines=_in_order(section.extra, _MEDIA_RANK, _MEDIA_UNKNOWN_RANK),
                )
                for m, section in self.media
            ),
            timing=tuple(self.timing),
            attributes=tuple(self.session.attributes),
            extra_lines=_in_order(self.session.extra, _SESSION_RANK, _SESSION_UNKNOWN_RANK),
        )

    def _line(self, kind: str, value: str) -> None:
        if kind == "v":
            raise SdpError("a second v= line (only one session per body)")
        if kind == "m":
            self.media.append((MediaDescription.parse_media_line(value), _Section()))
            return
        in_media = bool(self.media)
        section = self.media[-1][1] if in_media else self.session
        if kind == "o":
            if in_media or self.origin is not None:
                raise SdpError("o= is allowed once, at session level")
            self.origin = Origin.parse(value)
        elif kind == "s" and not in_media:
            if self.session_name is not None:
                raise SdpError("a second s= line")
            self.session_name = value
        elif kind == "t" and not in_media:
            self.timing.append(value)
        elif kind == "c":
            connection = Connection.parse(value)
            if section.connection is None:
                section.connection = connection
            else:
                section.extra.append((kind, value))
        elif kind == "a":
            section.attributes.append(Attribute.parse(value))
        else:
            section.extra.append((kind, value))


def _in_order(
    lines: list[tuple[str, str]], ranks: dict[str, int], unknown: int
) -> tuple[tuple[str, str], ...]:
    """Extra lines in RFC 4566 s5 order (stable), as they will be written back."""
    return tuple(sorted(lines, key=lambda line: ranks.get(line[0], unknown)))


def parse(data: str | bytes) -> SessionDescription:
    """Parse an SDP body (``str`` or UTF-8 ``bytes``); see :meth:`SessionDescription.parse`."""
    return SessionDescription.parse(data)


@dataclass(frozen=True)
class NegotiatedMedia:
    """What offer and answer agreed for the audio stream (RFC 3264 s6, s7).

    ``remote_address`` is where we send RTP; ``payload_type`` is the answerer's number for
    ``codec`` (we send with it); ``telephone_event_pt`` is the RFC 4733 payload type, or None
    when the answer has none. ``direction`` is *ours*: ``sendrecv`` for a live call,
    ``recvonly`` when the remote party only sends (or answered with ``c=0.0.0.0``, RFC 3264
    s8.4), ``sendonly`` when it only receives, ``inactive`` when on hold both ways.
    """

    remote_address: tuple[str, int]
    codec: Literal["PCMU", "PCMA"]
    payload_type: int
    clock_rate: int = 8000
    telephone_event_pt: int | None = None
    ptime: int = DEFAULT_PTIME
    direction: Direction = "sendrecv"

    @property
    def sends(self) -> bool:
        """True when we should send RTP."""
        return self.direction in ("sendrecv", "sendonly")

    @property
    def receives(self) -> bool:
        """True when the remote party may send us RTP."""
        return self.direction in ("sendrecv", "recvonly")


def _describe(media: MediaDescription) -> str:
    names = []
    for pt in media.payload_types:
        codec = media.codec(pt)
        names.append(f"payload type {pt}" if codec is None else str(codec))
    return ", ".join(names) or "no codec"


def _active_audio(media: MediaDescription) -> bool:
    return media.media == "audio" and media.port != 0 and media.proto.upper() == _RTP_AVP


def negotiate_answer(offer: SessionDescription, answer: SessionDescription) -> NegotiatedMedia:
    """Read the remote party's ``answer`` to our ``offer`` (RFC 3264 s7).

    Uses our first active audio stream and the answer's m= line at the same index (s6).
    Takes the first codec in the answer's order that we offered; static payload types 0 and
    8 need no rtpmap. Raises :class:`SdpNegotiationError` when the stream was rejected
    (port 0), is not RTP/AVP, has no connection address, or shares no codec with our offer.
    """
    index = next((i for i, m in enumerate(offer.media) if _active_audio(m)), None)
    if index is None:
        raise SdpNegotiationError("our offer has no active RTP/AVP audio stream")
    ours = offer.media[index]
    if index >= len(answer.media):
        raise SdpNegotiationError(
            f"the remote party's answer has {len(answer.media)} media line(s) but our offer has "
            f"{len(offer.media)}: the audio stream is missing (RFC 3264 s6)"
        )
    theirs = answer.media[index]
    if theirs.media != "audio":
        raise SdpNegotiationError(
            f"the remote party answered our audio stream with a {theirs.media!r} stream"
        )
    if theirs.port == 0:
        raise SdpNegotiationError(
            "the remote party rejected the audio stream (port 0 in its answer)"
        )
    if theirs.proto.upper() != _RTP_AVP:
        raise SdpNegotiationError(
            f"the remote party answered with transport {theirs.proto} but we offered {_RTP_AVP} "
            "(encrypted or feedback RTP profiles are not supported)"
        )
    connection = answer.media_connection(theirs)
    if connection is None:
        raise SdpNegotiationError(
            "the remote party's answer has no connection address (no c= line for the audio "
            "stream or the session)"
        )
    offered = {}
    for pt in ours.payload_types:
        codec = ours.codec(pt)
        if codec is not None:
            offered[(codec.encoding.upper(), codec.clock_rate)] = codec
    chosen: tuple[str, int, int] | None = None
    for pt in theirs.payload_types:
        codec = theirs.codec(pt)
        if codec is None:
            continue
        key = (codec.encoding.upper(), codec.clock_rate)
        if key[0] in _G711 and key in offered:
            chosen = (key[0], pt, codec.clock_rate)
            break
    if chosen is None:
        raise SdpNegotiationError(
            f"the remote party answered with no codec we offered (it answered {_describe(theirs)}; "
            f"we offered {_describe(ours)})"
        )
    name, payload_type, clock_rate = chosen
    telephone_event_pt = None
    if any(key[0] == _TELEPHONE_EVENT for key in offered):
        for pt in theirs.payload_types:
            codec = theirs.rtpmap.get(pt)
            if (
                codec is not None
                and codec.encoding.upper() == _TELEPHONE_EVENT
                and codec.clock_rate == clock_rate
            ):
                telephone_event_pt = pt
                break
    our_direction = offer.media_direction(ours)
    their_direction = answer.media_direction(theirs)
    we_send = (
        our_direction in ("sendrecv", "sendonly")
        and their_direction in ("sendrecv", "recvonly")
        and not connection.is_hold
    )
    we_receive = our_direction in ("sendrecv", "recvonly") and their_direction in (
        "sendrecv",
        "sendonly",
    )
    direction: Direction = (
        ("sendrecv" if we_receive else "sendonly")
        if we_send
        else ("recvonly" if we_receive else "inactive")
    )
    return NegotiatedMedia(
        remote_address=(connection.host, theirs.port),
        codec=cast(Literal["PCMU", "PCMA"], name),
        payload_type=payload_type,
        clock_rate=clock_rate,
        telephone_event_pt=telephone_event_pt,
        ptime=theirs.ptime or DEFAULT_PTIME,
        direction=direction,
    )


def _check_port(port: int) -> None:
    if not 1 <= port <= 65535:
        raise SdpError(f"RTP port {port} is out of range 1-65535")


def _session(
    address: str, session_id: int, media: tuple[MediaDescription, ...], timing: tuple[str, ...]
) -> SessionDescription:
    if session_id < 0:
        raise SdpError(f"session id {session_id} must not be negative")
    connection = Connection.for_address(address)
    return SessionDescription(
        origin=Origin("-", session_id, session_id, address, "IN", connection.addrtype),
        session_name="-",
        connection=connection,
        media=media,
        timing=timing,
    )


def build_offer(
    address: str,
    port: int,
    session_id: int,
    codecs: tuple[str, ...] = ("PCMU", "PCMA"),
    telephone_event_pt: int | None = 101,
    ptime: int = DEFAULT_PTIME,
) -> SessionDescription:
    """Our audio offer (RFC 3264 s5): G.711 in ``codecs`` order plus RFC 4733 events.

    ``m=audio <port> RTP/AVP 0 8 101`` with an rtpmap for each, ``a=fmtp:101 0-16``,
    ``a=ptime`` and ``a=sendrecv``. ``telephone_event_pt=None`` leaves events out.
    """
    _check_port(port)
    if not codecs:
        raise SdpError("an offer needs at least one codec")
    if ptime <= 0:
        raise SdpError(f"ptime {ptime} must be positive")
    formats: list[str] = []
    attributes: list[Attribute] = []
    for name in codecs:
        pt = _G711.get(name.upper())
        if pt is None:
            raise SdpError(f"cannot offer codec {name!r}: supported are {', '.join(_G711)}")
        formats.append(str(pt))
        attributes.append(Attribute.rtpmap(pt, STATIC_PAYLOAD_TYPES[pt]))
    if telephone_event_pt is not None:
        if not 96 <= telephone_event_pt <= 127:
            raise SdpError(
                f"telephone-event payload type {telephone_event_pt} is not dynamic (96-127)"
            )
        formats.append(str(telephone_event_pt))
        attributes.append(Attribute.rtpmap(telephone_event_pt, RtpMap("telephone-event", 8000)))
        attributes.append(Attribute.fmtp(telephone_event_pt, "0-16"))
    attributes.append(Attribute.ptime(ptime))
    attributes.append(Attribute.direction("sendrecv"))
    media = MediaDescription("audio", port, _RTP_AVP, tuple(formats), attributes=tuple(attributes))
    return _session(address, session_id, (media,), ("0 0",))


def build_answer(
    offer: SessionDescription,
    address: str,
    port: int,
    session_id: int,
    supported: tuple[str, ...] = ("PCMU", "PCMA"),
) -> SessionDescription:
    """Answer ``offer`` as a callee would (RFC 3264 s6).

    Accepts the first active RTP/AVP audio stream with the first offered codec whose name
    is in ``supported``, plus telephone-event when offered; every other m= line is answered
    with port 0 (rejected). Raises :class:`SdpNegotiationError` when nothing can be accepted.
    """
    _check_port(port)
    wanted = {name.upper() for name in supported}
    answered: list[MediaDescription] = []
    accepted = False
    refusals: list[str] = []
    for media in offer.media:
        reply = (
            None
            if accepted or not _active_audio(media)
            else _answer_stream(offer, media, port, wanted)
        )
        if reply is None:
            if not accepted and _active_audio(media):
                refusals.append(_describe(media))
            answered.append(MediaDescription(media.media, 0, media.proto, media.formats))
        else:
            answered.append(reply)
            accepted = True
    if not accepted:
        if refusals:
            raise SdpNegotiationError(
                f"the remote party offered no codec we support (it offered {'; '.join(refusals)}; "
                f"we support {', '.join(supported)})"
            )
        raise SdpNegotiationError("the remote party's offer has no active RTP/AVP audio stream")
    # RFC 3264 s6: the answer's t= line equals the offer's.
    return _session(address, session_id, tuple(answered), offer.timing or ("0 0",))


def _answer_stream(
    offer: SessionDescription, media: MediaDescription, port: int, wanted: set[str]
) -> MediaDescription | None:
    found = next(
        (
            (pt, codec)
            for pt in media.payload_types
            if (codec := media.codec(pt)) is not None
            and codec.encoding.upper() in wanted
            and codec.encoding.upper() != _TELEPHONE_EVENT
        ),
        None,
    )
    if found is None:
        return None
    codec_pt, codec = found
    formats = [str(codec_pt)]
    attributes = [Attribute.rtpmap(codec_pt, codec)]
    for pt, rtpmap in media.rtpmap.items():
        if (
            pt in media.payload_types
            and rtpmap.encoding.upper() == _TELEPHONE_EVENT
            and rtpmap.clock_rate == codec.clock_rate
        ):
            formats.append(str(pt))
            attributes.append(Attribute.rtpmap(pt, rtpmap))
            params = media.fmtp.get(pt)
            if params:
                attributes.append(Attribute.fmtp(pt, params))
            break
    attributes.append(Attribute.ptime(media.ptime or DEFAULT_PTIME))
    attributes.append(Attribute.direction(_ANSWER_DIRECTION[offer.media_direction(media)]))
    return MediaDescription(
        "audio", port, media.proto, tuple(formats), attributes=tuple(attributes)
    )
