"""RFC 4733 telephone-events: the payload, a receiver that reports each key press once, and a
sender that produces the packet sequence for a digit. No I/O: packets and ``now`` in, digit
events, packets and the next deadline out.

Payload (RFC 4733 s2.3)::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |     event     |E|R| volume    |          duration             |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

An event is identified by its RTP timestamp, which stays the event's start time in every
packet reporting it (s2.5.1.1). The first packet carries the marker bit (s2.5.1.2), updates
carry the growing duration, and the final packet (E bit) is sent three times (s2.5.1.4).

Errors::

    DialerError
    └── DtmfError (ValueError)              a digit or duration the sender cannot send
        └── TelephoneEventError             a malformed telephone-event payload
"""

from __future__ import annotations

import math
import struct
from collections import deque
from dataclasses import dataclass

from dialer.errors import DialerError
from dialer.rtp.packet import RtpPacket

__all__ = [
    "DTMF_END_TIMEOUT",
    "DTMF_EVENTS",
    "END_PACKET_COUNT",
    "DigitEvent",
    "DtmfError",
    "DtmfPacket",
    "DtmfReceiver",
    "DtmfSender",
    "TelephoneEvent",
    "TelephoneEventError",
]

DTMF_EVENTS = "0123456789*#ABCD"
"""Event codes 0-15 are the DTMF keys, in this order (RFC 4733 s3.2, Table 7)."""

END_PACKET_COUNT = 3
"""The final packet of an event is sent this many times (RFC 4733 s2.5.1.4)."""

MAX_DURATION = 0xFFFF
"""Largest duration one packet can report; longer events are split in segments (s2.5.1.3)."""

DTMF_END_TIMEOUT = 0.2
"""Seconds without a packet for an event after which the receiver reports it although no end
packet arrived. Senders refresh a running event every packetization interval (s2.5.1.2:
20 ms here, commonly at most 50 ms), so 200 ms of silence means at least four consecutive
updates and all three end packets (s2.5.1.4) are missing, which a live key press does not
produce even with some jitter; and it adds at most 200 ms to a digit whose end was lost, far
below the seconds a script waits for input. If the key turns out to be still held, later
packets of the same event are ignored: a digit is never reported twice."""

_RECENT_EVENTS = 32  # reported event timestamps remembered to drop their late retransmissions
_PAYLOAD = struct.Struct("!BBH")
_TIMESTAMP_MODULUS = 1 << 32


class DtmfError(DialerError, ValueError):
    """A digit, duration or volume the DTMF sender cannot put in a telephone-event."""


class TelephoneEventError(DtmfError):
    """A telephone-event payload that does not follow RFC 4733 s2.3."""


@dataclass(frozen=True, slots=True)
class TelephoneEvent:
    """One telephone-event payload (RFC 4733 s2.3): event code, end bit, volume in -dBm0
    (0-63, s2.3.4) and duration in RTP timestamp units (s2.3.5)."""

    event: int
    end: bool = False
    volume: int = 10
    duration: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.event <= 255:
            raise DtmfError(f"event code {self.event} is not an 8-bit value")
        if not 0 <= self.volume <= 63:
            raise DtmfError(f"volume {self.volume} is outside 0-63 (-dBm0, s2.3.4)")
        if not 0 <= self.duration <= MAX_DURATION:
            raise DtmfError(f"duration {self.duration} is not a 16-bit value (s2.3.5)")

    @classmethod
    def for_digit(
        cls, digit: str, *, end: bool = False, volume: int = 10, duration: int = 0
    ) -> TelephoneEvent:
        """The event for a DTMF key: ``'0'``-``'9'``, ``'*'``, ``'#'``, ``'A'``-``'D'``."""
        return cls(event_code(digit), end=end, volume=volume, duration=duration)

    @property
    def digit(self) -> str | None:
        """The DTMF key of events 0-15, ``None`` for other events (e.g. 16, flash)."""
        return DTMF_EVENTS[self.event] if self.event < len(DTMF_EVENTS) else None

    @classmethod
    def parse(cls, payload: bytes) -> TelephoneEvent:
        """Parse a 4-byte payload; the reserved bit is ignored as s2.3.3 requires."""
        if len(payload) != _PAYLOAD.size:
            raise TelephoneEventError(
                f"telephone-event payload is {len(payload)} bytes, expected {_PAYLOAD.size}"
            )
        event, flags, duration = _PAYLOAD.unpack(payload)
        return cls(event, end=bool(flags & 0x80), volume=flags & 0x3F, duration=duration)

    def __bytes__(self) -> bytes:
        return _PAYLOAD.pack(self.event, (0x80 if self.end else 0) | self.volume, self.duration)


def event_code(digit: str) -> int:
    """RFC 4733 s3.2 event code of a DTMF key (case-insensitive for A-D)."""
    code = DTMF_EVENTS.find(digit.upper()) if len(digit) == 1 else -1
    if code < 0:
        raise DtmfError(f"{digit!r} is not a DTMF key (expected one of {DTMF_EVENTS})")
    return code


# ---------------------------------------------------------------- receiver


@dataclass(frozen=True, slots=True)
class DigitEvent:
    """A key press reported once: the key, its RTP start timestamp, how long it lasted and
    when it was reported. ``end_seen`` is false when no end packet arrived and the digit was
    reported because a newer event started or :data:`DTMF_END_TIMEOUT` passed."""

    digit: str
    start_timestamp: int
    duration_ms: float
    at: float
    end_seen: bool = True


@dataclass(slots=True)
class _Pending:
    """An event being received: timestamps of its first and current segment (s2.5.1.3)."""

    digit: str
    event: int
    start_timestamp: int
    timestamp: int
    segment_base: int
    duration: int
    last_packet_at: float


def _is_older(timestamp: int, reference: int) -> bool:
    """Serial-number comparison of 32-bit RTP timestamps (they wrap around)."""
    return 0 < (reference - timestamp) % _TIMESTAMP_MODULUS < _TIMESTAMP_MODULUS // 2


class DtmfReceiver:
    """Turns telephone-event packets (already filtered by payload type) into one
    :class:`DigitEvent` per key press.

    * The digit is reported at the first end packet; the two retransmissions of it and any
      late update are recognised by the event's timestamp (s2.5.1.1) and ignored.
    * The marker bit is not needed: an event starts at the first packet with a new timestamp,
      so a lost first packet (or a sender that never sets M) changes nothing.
    * If every end packet is lost the digit is reported when a packet with a newer timestamp
      arrives, or by :meth:`handle_timer` once :data:`DTMF_END_TIMEOUT` has passed since the
      event's last packet (:meth:`next_deadline` says when).
    * Packets older than the latest event (reordered leftovers) are dropped, so digits are
      never reported out of order; a repeated key has a new timestamp and is a new digit.
    * A continuation segment of a long event (s2.5.1.3: same event, no marker, timestamp where
      the previous segment ended) extends the current digit instead of starting a new one.
    """

    def __init__(self, *, clock_rate: int = 8000, end_timeout: float = DTMF_END_TIMEOUT) -> None:
        self.clock_rate = clock_rate
        self.end_timeout = end_timeout
        self._pending: _Pending | None = None
        self._latest: int | None = None
        self._reported: deque[int] = deque(maxlen=_RECENT_EVENTS)
        self.malformed_packets = 0
        self.stale_packets = 0
        self.ignored_events = 0

    def receive(self, packet: RtpPacket, now: float) -> list[DigitEvent]:
        """Feed one telephone-event packet; return the digits it completes (zero to two)."""
        try:
            event = TelephoneEvent.parse(packet.payload)
        except TelephoneEventError:
            self.malformed_packets += 1
            return []
        if event.digit is None:
            self.ignored_events += 1
            return []
        timestamp = packet.timestamp
        if timestamp in self._reported:
            return []
        reported: list[DigitEvent] = []
        pending = self._pending
        if pending is not None and timestamp != pending.timestamp:
            if _is_older(timestamp, pending.timestamp):
                self.stale_packets += 1
                return []
            if self._continues(pending, packet, event):
                self._reported.append(pending.timestamp)
                pending.segment_base += MAX_DURATION
                pending.timestamp = timestamp
            else:
                reported.append(self._report(pending, now, end_seen=False))
                pending = None
        elif pending is None and self._latest is not None and _is_older(timestamp, self._latest):
            self.stale_packets += 1
            return []
        if pending is None:
            pending = _Pending(
                digit=event.digit,
                event=event.event,
                start_timestamp=timestamp,
                timestamp=timestamp,
                segment_base=0,
                duration=0,
                last_packet_at=now,
            )
            self._pending = pending
            self._latest = timestamp
        pending.duration = max(pending.duration, pending.segment_base + event.duration)
        pending.last_packet_at = now
        if event.end:
            reported.append(self._report(pending, now, end_seen=True))
        return reported

    def handle_timer(self, now: float) -> list[DigitEvent]:
        """Report an event whose end packets were all lost, once its timeout has passed."""
        deadline = self.next_deadline()
        if self._pending is None or deadline is None or now < deadline:
            return []
        return [self._report(self._pending, now, end_seen=False)]

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timer` must run next, or ``None`` if no event is pending."""
        if self._pending is None:
            return None
        return self._pending.last_packet_at + self.end_timeout

    def flush(self, now: float) -> list[DigitEvent]:
        """Report a pending event and forget all history (the sender's SSRC changed)."""
        reported = [] if self._pending is None else [self._report(self._pending, now, False)]
        self._latest = None
        self._reported.clear()
        return reported

    def _continues(self, pending: _Pending, packet: RtpPacket, event: TelephoneEvent) -> bool:
        return (
            not packet.marker
            and event.event == pending.event
            and packet.timestamp == (pending.timestamp + MAX_DURATION) % _TIMESTAMP_MODULUS
        )

    def _report(self, pending: _Pending, now: float, end_seen: bool) -> DigitEvent:
        self._pending = None
        self._reported.append(pending.timestamp)
        return DigitEvent(
            digit=pending.digit,
            start_timestamp=pending.start_timestamp,
            duration_ms=pending.duration * 1000 / self.clock_rate,
            at=now,
            end_seen=end_seen,
        )


# ---------------------------------------------------------------- sender


@dataclass(frozen=True, slots=True)
class DtmfPacket:
    """One packet of an outgoing event; ``last`` marks the final end-packet retransmission."""

    packet: RtpPacket
    digit: str
    last: bool


@dataclass(frozen=True, slots=True)
class _Outgoing:
    digit: str
    event: int
    duration: int  # timestamp units


class DtmfSender:
    """Produces the RFC 4733 packets for queued digits, one per media tick.

    The RTP session calls :meth:`next_packet` on every tick with the sequence number and
    timestamp it would use for audio. While a digit is being sent it returns a packet and the
    session sends that instead of audio (audio is suppressed); otherwise it returns ``None``.
    For one digit of duration D and packetization interval p the packets are:

    * ``ceil(D/p) - 1`` packets without the E bit, all with the RTP timestamp of the tick the
      event started on, the first with the marker bit (s2.5.1.2), durations p, 2p, ...;
    * three packets with the E bit and duration D (s2.5.1.4), same timestamp.

    Consecutive digits are separated by ``inter_digit_gap_ms`` of audio, so each starts on a
    new timestamp and receivers see distinct key presses.
    """

    def __init__(
        self,
        *,
        payload_type: int,
        clock_rate: int = 8000,
        ptime_ms: int = 20,
        volume: int = 10,
        inter_digit_gap_ms: int = 40,
    ) -> None:
        if not 0 <= volume <= 63:
            raise DtmfError(f"volume {volume} is outside 0-63 (-dBm0, s2.3.4)")
        self.payload_type = payload_type
        self.clock_rate = clock_rate
        self.samples_per_packet = clock_rate * ptime_ms // 1000
        self.volume = volume
        self._gap_ticks = math.ceil(inter_digit_gap_ms / ptime_ms)
        self._queue: deque[_Outgoing] = deque()
        self._current: _Outgoing | None = None
        self._start_timestamp = 0
        self._sent = 0
        self._gap_left = 0

    def send(self, digits: str, duration_ms: int = 100) -> None:
        """Queue one or more keys, each pressed for ``duration_ms``."""
        duration = duration_ms * self.clock_rate // 1000
        if not 0 < duration <= MAX_DURATION:
            raise DtmfError(
                f"duration {duration_ms} ms does not fit one telephone-event (1-{MAX_DURATION}"
                f" timestamp units at {self.clock_rate} Hz)"
            )
        if not digits:
            raise DtmfError("no digit to send")
        queued = [_Outgoing(d.upper(), event_code(d), duration) for d in digits]
        self._queue.extend(queued)

    @property
    def active(self) -> bool:
        """True while an event is on the wire (audio must stay suppressed)."""
        return self._current is not None

    @property
    def pending(self) -> int:
        """Digits queued or being sent."""
        return len(self._queue) + (self._current is not None)

    def cancel(self) -> None:
        """Drop queued digits; a digit already started still finishes with its end packets."""
        self._queue.clear()

    def next_packet(self, *, sequence_number: int, timestamp: int, ssrc: int) -> DtmfPacket | None:
        """The packet to send on this tick, or ``None`` to let the session send audio."""
        if self._current is None:
            if self._gap_left:
                self._gap_left -= 1
                return None
            if not self._queue:
                return None
            self._current = self._queue.popleft()
            self._start_timestamp = timestamp
            self._sent = 0
        current = self._current
        updates = math.ceil(current.duration / self.samples_per_packet) - 1
        index = self._sent
        end = index >= updates
        duration = current.duration if end else (index + 1) * self.samples_per_packet
        payload = TelephoneEvent(current.event, end=end, volume=self.volume, duration=duration)
        self._sent += 1
        last = self._sent == updates + END_PACKET_COUNT
        if last:
            self._current = None
            self._gap_left = self._gap_ticks
        packet = RtpPacket(
            payload_type=self.payload_type,
            sequence_number=sequence_number,
            timestamp=self._start_timestamp,
            ssrc=ssrc,
            payload=bytes(payload),
            marker=index == 0,
        )
        return DtmfPacket(packet=packet, digit=current.digit, last=last)
