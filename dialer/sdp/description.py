"""SDP session descriptions (RFC 4566): the ``m=`` sections, whole bodies and their parser.

Pure values, no I/O. :func:`parse` turns a body (``str`` or ``bytes``, CRLF or bare LF) into
a :class:`SessionDescription`; ``str()`` gives it back with CRLF line endings. Every ``a=``
line is kept, in order, as an :class:`Attribute`; the typed views (``rtpmap``, ``fmtp``,
``ptime``, ``direction``) are read from them, so a captured body round-trips line for line.
Lines the dialer does not interpret (``i=``, ``b=``, ``k=``, unknown type letters...) are kept
raw and written back in the RFC 4566 s5 order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from dialer.sdp.errors import SdpError
from dialer.sdp.lines import (
    STATIC_PAYLOAD_TYPES,
    Attribute,
    Connection,
    Direction,
    Origin,
    RtpMap,
    ascii_digits,
    direction_of,
)

_RTPMAP_RE: Final = re.compile(r"([0-9]{1,3}) ([^/\s]+)/([0-9]{1,9})(?:/([0-9]{1,3}))?")

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
        if not ascii_digits(port_str) or int(port_str) > 65535:
            raise SdpError(f"m= port {port_text!r} is not a port number")
        if sep and not (ascii_digits(count_str) and int(count_str) > 0):
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
        return tuple(int(f) for f in self.formats if ascii_digits(f))

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
            if sep and ascii_digits(pt):
                result.setdefault(int(pt), params.strip())
        return result

    @property
    def ptime(self) -> int | None:
        """The ``a=ptime`` packet time in milliseconds, if given as a whole number."""
        for attribute in self.attributes:
            if attribute.name == "ptime" and attribute.value is not None:
                text = attribute.value.strip()
                if ascii_digits(text) and int(text) > 0:
                    return int(text)
        return None

    @property
    def direction(self) -> Direction | None:
        """The media-level direction attribute, or None when absent (then the session's)."""
        return direction_of(self.attributes)

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
        return direction_of(self.attributes)

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
