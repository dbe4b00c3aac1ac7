"""RTP data packets (RFC 3550 s5.1) as frozen dataclasses with ``parse`` and ``__bytes__``.

::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |V=2|P|X|  CC   |M|     PT      |       sequence number         |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                           timestamp                           |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |           synchronization source (SSRC) identifier            |
    +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
    |            contributing source (CSRC) identifiers             |
    |                             ....                              |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

The header extension (X bit, s5.3.1) is kept as its 16-bit profile word and raw data so that
it round-trips. Padding (P bit) is kept as a count of padding octets including the final count
octet; when serialized, the padding octets before the count octet are zero.

Errors::

    DialerError
    └── RtpError (ValueError)    a datagram is not a well-formed RTP packet
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from dialer.errors import DialerError

__all__ = ["RTP_VERSION", "HeaderExtension", "RtpError", "RtpPacket"]

RTP_VERSION = 2
FIXED_HEADER_SIZE = 12
_MAX_CSRC = 15
_HEADER = struct.Struct("!BBHII")
_EXTENSION_HEADER = struct.Struct("!HH")


class RtpError(DialerError, ValueError):
    """A datagram (or field values) that do not form a valid RTP packet (RFC 3550 s5.1)."""


@dataclass(frozen=True, slots=True)
class HeaderExtension:
    """RTP header extension (RFC 3550 s5.3.1): a profile-defined word and 32-bit-aligned data."""

    profile: int
    data: bytes = b""

    def __post_init__(self) -> None:
        if not 0 <= self.profile <= 0xFFFF:
            raise RtpError(f"header extension profile {self.profile} is not a 16-bit value")
        if len(self.data) % 4:
            raise RtpError(
                f"header extension data is {len(self.data)} bytes, not a multiple of 4 (s5.3.1)"
            )
        if len(self.data) // 4 > 0xFFFF:
            raise RtpError(f"header extension data is {len(self.data)} bytes, too long for s5.3.1")


@dataclass(frozen=True, slots=True)
class RtpPacket:
    """One RTP data packet (RFC 3550 s5.1); the version is always 2.

    ``padding`` is the number of padding octets (0 means the P bit is clear); ``extension`` is
    ``None`` when the X bit is clear.
    """

    payload_type: int
    sequence_number: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrc: tuple[int, ...] = ()
    extension: HeaderExtension | None = None
    padding: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.payload_type <= 127:
            raise RtpError(f"payload type {self.payload_type} is not a 7-bit value")
        if not 0 <= self.sequence_number <= 0xFFFF:
            raise RtpError(f"sequence number {self.sequence_number} is not a 16-bit value")
        if not 0 <= self.timestamp <= 0xFFFFFFFF:
            raise RtpError(f"timestamp {self.timestamp} is not a 32-bit value")
        if not 0 <= self.ssrc <= 0xFFFFFFFF:
            raise RtpError(f"SSRC {self.ssrc} is not a 32-bit value")
        if len(self.csrc) > _MAX_CSRC:
            raise RtpError(f"{len(self.csrc)} CSRC identifiers, at most {_MAX_CSRC} fit (s5.1)")
        for source in self.csrc:
            if not 0 <= source <= 0xFFFFFFFF:
                raise RtpError(f"CSRC {source} is not a 32-bit value")
        if not 0 <= self.padding <= 255:
            raise RtpError(f"padding of {self.padding} octets does not fit the count octet")

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        """Parse one datagram; raise :class:`RtpError` saying precisely what is wrong."""
        size = len(data)
        if size < FIXED_HEADER_SIZE:
            raise RtpError(
                f"RTP packet too short: {size} bytes, the fixed header needs {FIXED_HEADER_SIZE}"
            )
        first, second, sequence_number, timestamp, ssrc = _HEADER.unpack_from(data)
        version = first >> 6
        if version != RTP_VERSION:
            raise RtpError(f"unsupported RTP version {version}, expected {RTP_VERSION}")
        has_padding = bool(first & 0x20)
        has_extension = bool(first & 0x10)
        csrc_count = first & 0x0F
        offset = FIXED_HEADER_SIZE + 4 * csrc_count
        if offset > size:
            raise RtpError(
                f"CSRC count {csrc_count} needs a {offset}-byte header, packet has {size} bytes"
            )
        csrc = struct.unpack_from(f"!{csrc_count}I", data, FIXED_HEADER_SIZE)

        extension = None
        if has_extension:
            if offset + _EXTENSION_HEADER.size > size:
                raise RtpError(
                    f"header extension at byte {offset} needs 4 bytes, packet has {size} bytes"
                )
            profile, words = _EXTENSION_HEADER.unpack_from(data, offset)
            offset += _EXTENSION_HEADER.size
            end = offset + 4 * words
            if end > size:
                raise RtpError(
                    f"header extension length {words} words ends at byte {end}, "
                    f"beyond the {size}-byte packet"
                )
            extension = HeaderExtension(profile, bytes(data[offset:end]))
            offset = end

        padding = 0
        if has_padding:
            available = size - offset
            if available == 0:
                raise RtpError("padding bit set but no byte follows the header for the count")
            padding = data[-1]
            if padding == 0:
                raise RtpError("padding length 0 is invalid: the count includes itself")
            if padding > available:
                raise RtpError(
                    f"padding length {padding} exceeds the {available} bytes after the header"
                )

        return cls(
            payload_type=second & 0x7F,
            sequence_number=sequence_number,
            timestamp=timestamp,
            ssrc=ssrc,
            payload=bytes(data[offset : size - padding]),
            marker=bool(second & 0x80),
            csrc=tuple(csrc),
            extension=extension,
            padding=padding,
        )

    def __bytes__(self) -> bytes:
        first = (
            (RTP_VERSION << 6)
            | (0x20 if self.padding else 0)
            | (0x10 if self.extension is not None else 0)
            | len(self.csrc)
        )
        second = (0x80 if self.marker else 0) | self.payload_type
        parts = [
            _HEADER.pack(first, second, self.sequence_number, self.timestamp, self.ssrc),
            struct.pack(f"!{len(self.csrc)}I", *self.csrc),
        ]
        if self.extension is not None:
            ext = self.extension
            parts.append(_EXTENSION_HEADER.pack(ext.profile, len(ext.data) // 4))
            parts.append(ext.data)
        parts.append(self.payload)
        if self.padding:
            parts.append(bytes(self.padding - 1) + bytes([self.padding]))
        return b"".join(parts)
