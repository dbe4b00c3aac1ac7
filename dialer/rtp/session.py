"""The RTP media session of one call, without I/O.

Sending: the media loop calls :meth:`RtpSession.tick` every packetization interval (20 ms) and
sends the datagram it returns. Each tick is exactly one packet: an RFC 4733 telephone-event
packet while a digit is being sent, else the next frame of the play queue, else encoded
silence, so the far end sees an unbroken stream and the timestamp advances by one frame per
tick (RFC 3550 s5.1). Prompt playback pauses while a digit is sent.

Receiving: :meth:`RtpSession.receive` takes a datagram and ``now`` and returns typed events
(:class:`AudioFrame`, :class:`DigitReceived`); :meth:`handle_timer` at :meth:`next_deadline`
releases what the jitter buffer held back and digits whose end packets were lost. Tick-side
events (:class:`PlaybackDone`, :class:`DigitSent`) are collected and taken with
:meth:`pop_events`.

Marker bit (RFC 3551 s4.1): the session does not suppress silence, so only two packets start a
talkspurt: the first packet of the stream and the first audio packet after a telephone-event,
because audio packets were not sent contiguously while the event was.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from dialer.codecs.base import Codec, CodecError
from dialer.rtp.dtmf import DigitEvent, DtmfError, DtmfReceiver, DtmfSender
from dialer.rtp.jitter import JitterBuffer, JitterStats
from dialer.rtp.packet import RtpError, RtpPacket

__all__ = [
    "RTP_INACTIVITY_TIMEOUT",
    "AudioFrame",
    "DigitReceived",
    "DigitSent",
    "PlaybackDone",
    "RtpSession",
    "SessionEvent",
]

RTP_INACTIVITY_TIMEOUT = 30.0
"""Seconds without any packet from the far end after which the media is considered dead.
Only meaningful while the far end is expected to send (SDP direction sendrecv or sendonly)."""

_RTCP_MUX_PAYLOAD_TYPES = range(72, 77)  # RTCP SR..APP seen through an RTP header (RFC 5761 s4)


@dataclass(frozen=True, slots=True)
class AudioFrame:
    """Decoded audio of one received packet, released in sequence order."""

    pcm: NDArray[np.int16]
    timestamp: int
    at: float
    sequence_number: int


@dataclass(frozen=True, slots=True)
class DigitReceived:
    """One RFC 4733 key press from the far end (reported once, see :class:`DtmfReceiver`)."""

    digit: str
    duration_ms: float
    timestamp: int
    at: float
    end_seen: bool = True


@dataclass(frozen=True, slots=True)
class PlaybackDone:
    """The last frame of the :meth:`RtpSession.play` call ``playback_id`` was sent at ``at``."""

    playback_id: int
    at: float


@dataclass(frozen=True, slots=True)
class DigitSent:
    """The last end packet of an outgoing digit was sent at ``at``."""

    digit: str
    at: float


SessionEvent = AudioFrame | DigitReceived | PlaybackDone | DigitSent


@dataclass(slots=True)
class _Playback:
    playback_id: int
    frames: NDArray[np.int16]  # shape (count, samples_per_frame)
    next_frame: int = 0


class RtpSession:
    """RTP for one call: one codec, an audio payload type and optionally telephone-event.

    ``payload_type`` defaults to the codec's static one; ``telephone_event_payload_type`` is
    the dynamic number negotiated in SDP for ``telephone-event/8000``, or ``None`` when the
    far end did not offer it (then digits are neither sent nor decoded from RTP).
    ``rng`` draws the SSRC (when not given) and the random initial sequence number and
    timestamp of RFC 3550 s5.1; pass a seeded :class:`random.Random` in tests.
    """

    def __init__(
        self,
        codec: Codec,
        *,
        telephone_event_payload_type: int | None,
        payload_type: int | None = None,
        ssrc: int | None = None,
        rng: random.Random | None = None,
        ptime_ms: int = 20,
        inactivity_timeout: float = RTP_INACTIVITY_TIMEOUT,
        jitter_window: int = 3,
        jitter_max_delay: float = 0.060,
        dtmf_volume: int = 10,
    ) -> None:
        draw = rng if rng is not None else random.SystemRandom()
        self.codec = codec
        self.payload_type = codec.payload_type if payload_type is None else payload_type
        self.telephone_event_payload_type = telephone_event_payload_type
        self.ssrc = draw.getrandbits(32) if ssrc is None else ssrc
        self.samples_per_frame = codec.clock_rate * ptime_ms // 1000
        self.ptime = ptime_ms / 1000
        self.inactivity_timeout = inactivity_timeout
        self.sequence_number = draw.randrange(1 << 16)
        """Sequence number of the next packet :meth:`tick` returns."""
        self.timestamp = draw.getrandbits(32)
        """RTP timestamp of the next packet :meth:`tick` returns."""
        self.packets_sent = 0
        self.packets_received = 0
        self.packets_invalid = 0
        self.packets_ignored = 0
        self.last_received_at: float | None = None
        self.remote_ssrc: int | None = None
        self._started_at: float | None = None
        self._last_tick_at: float | None = None
        self._marker_next = True
        self._silence = codec.encode(np.zeros(self.samples_per_frame, dtype=np.int16))
        self._queue: deque[_Playback] = deque()
        self._next_playback_id = 1
        self._events: list[SessionEvent] = []
        self._jitter_window = jitter_window
        self._jitter_max_delay = jitter_max_delay
        self._jitter = JitterBuffer(window=jitter_window, max_delay=jitter_max_delay)
        self._dtmf_in = DtmfReceiver(clock_rate=codec.clock_rate)
        self._dtmf_out = (
            None
            if telephone_event_payload_type is None
            else DtmfSender(
                payload_type=telephone_event_payload_type,
                clock_rate=codec.clock_rate,
                ptime_ms=ptime_ms,
                volume=dtmf_volume,
            )
        )

    # ------------------------------------------------------------ sending

    def play(self, pcm: NDArray[np.int16]) -> int:
        """Queue mono int16 samples at the codec's rate; return the id that the matching
        :class:`PlaybackDone` carries. The last frame is padded with silence."""
        samples = np.asarray(pcm)
        if samples.dtype != np.int16 or samples.ndim != 1:
            raise CodecError(
                f"play() takes mono int16 samples, got {samples.dtype} of shape {samples.shape}"
            )
        size = self.samples_per_frame
        padded = np.zeros(-(-len(samples) // size) * size, dtype=np.int16)
        padded[: len(samples)] = samples
        playback_id = self._next_playback_id
        self._next_playback_id += 1
        self._queue.append(_Playback(playback_id, padded.reshape(-1, size)))
        return playback_id

    def clear_playback(self) -> list[int]:
        """Barge-in: drop everything queued, at once. Returns the ids of the interrupted
        playbacks; no :class:`PlaybackDone` is emitted for them."""
        dropped = [item.playback_id for item in self._queue]
        self._queue.clear()
        return dropped

    @property
    def playing(self) -> bool:
        """True while prompt audio is queued (including one paused by a digit being sent)."""
        return bool(self._queue)

    def send_digit(self, digits: str, duration_ms: int = 100) -> None:
        """Queue RFC 4733 key presses; they go out on the following ticks."""
        if self._dtmf_out is None:
            raise DtmfError("cannot send DTMF: telephone-event was not negotiated in SDP")
        self._dtmf_out.send(digits, duration_ms)

    def tick(self, now: float) -> bytes:
        """Exactly one packet for this packetization interval."""
        if self._started_at is None:
            self._started_at = now
        self._last_tick_at = now
        sequence_number, timestamp = self.sequence_number, self.timestamp
        self.sequence_number = (sequence_number + 1) % (1 << 16)
        self.timestamp = (timestamp + self.samples_per_frame) % (1 << 32)
        self.packets_sent += 1
        if self._dtmf_out is not None:
            dtmf = self._dtmf_out.next_packet(
                sequence_number=sequence_number, timestamp=timestamp, ssrc=self.ssrc
            )
            if dtmf is not None:
                self._marker_next = True
                if dtmf.last:
                    self._events.append(DigitSent(dtmf.digit, now))
                return bytes(dtmf.packet)
        packet = RtpPacket(
            payload_type=self.payload_type,
            sequence_number=sequence_number,
            timestamp=timestamp,
            ssrc=self.ssrc,
            payload=self._next_payload(now),
            marker=self._marker_next,
        )
        self._marker_next = False
        return bytes(packet)

    @property
    def next_tick_at(self) -> float | None:
        """When the next :meth:`tick` is due (one ptime after the last), ``None`` before the
        first one."""
        return None if self._last_tick_at is None else self._last_tick_at + self.ptime

    def pop_events(self) -> list[SessionEvent]:
        """Events produced by :meth:`tick` since the last call."""
        events, self._events = self._events, []
        return events

    def _next_payload(self, now: float) -> bytes:
        while self._queue:
            item = self._queue[0]
            if item.next_frame < len(item.frames):
                frame = item.frames[item.next_frame]
                item.next_frame += 1
                if item.next_frame == len(item.frames):
                    self._queue.popleft()
                    self._events.append(PlaybackDone(item.playback_id, now))
                return self.codec.encode(frame)
            self._queue.popleft()  # an empty play() call
            self._events.append(PlaybackDone(item.playback_id, now))
        return self._silence

    # ------------------------------------------------------------ receiving

    def receive(self, data: bytes, now: float) -> list[SessionEvent]:
        """Feed one datagram; returns the audio frames and digits it makes available."""
        try:
            packet = RtpPacket.parse(data)
        except RtpError:
            self.packets_invalid += 1
            return []
        self.packets_received += 1
        self.last_received_at = now
        if self._started_at is None:
            self._started_at = now
        if packet.payload_type in _RTCP_MUX_PAYLOAD_TYPES:
            self.packets_ignored += 1
            return []
        events: list[SessionEvent] = []
        if packet.ssrc != self.remote_ssrc:
            events += self._switch_source(packet.ssrc, now)
        self._jitter.push(packet, now)
        return events + self._release(now)

    def handle_timer(self, now: float) -> list[SessionEvent]:
        """Release held-back audio and digits whose end packets never came."""
        events = self._release(now)
        events += [self._digit(d) for d in self._dtmf_in.handle_timer(now)]
        return events

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timer` must run next (receive side), ``None`` if nothing waits."""
        pending = (self._jitter.next_deadline(), self._dtmf_in.next_deadline())
        deadlines = [d for d in pending if d is not None]
        return min(deadlines) if deadlines else None

    def is_inactive(self, now: float) -> bool:
        """True when nothing arrived for longer than ``inactivity_timeout`` (counted from the
        first tick or packet when nothing has arrived yet)."""
        reference = self.last_received_at
        if reference is None:
            reference = self._started_at
        return reference is not None and now - reference > self.inactivity_timeout

    @property
    def jitter_stats(self) -> JitterStats:
        return self._jitter.stats

    def _switch_source(self, ssrc: int, now: float) -> list[SessionEvent]:
        """A new SSRC (first packet, or the far end changed source): fresh sequence space and
        RTP timestamps, so the jitter buffer and DTMF history start over."""
        events: list[SessionEvent] = []
        if self.remote_ssrc is not None:
            events = self._dispatch(self._jitter.flush(), now)
            events += [self._digit(d) for d in self._dtmf_in.flush(now)]
            self._jitter = JitterBuffer(
                window=self._jitter_window, max_delay=self._jitter_max_delay
            )
        self.remote_ssrc = ssrc
        return events

    def _release(self, now: float) -> list[SessionEvent]:
        return self._dispatch(self._jitter.pop_ready(now), now)

    def _dispatch(self, packets: list[RtpPacket], now: float) -> list[SessionEvent]:
        events: list[SessionEvent] = []
        for packet in packets:
            if packet.payload_type == self.payload_type:
                pcm = self.codec.decode(packet.payload)
                events.append(AudioFrame(pcm, packet.timestamp, now, packet.sequence_number))
            elif packet.payload_type == self.telephone_event_payload_type:
                events += [self._digit(d) for d in self._dtmf_in.receive(packet, now)]
            else:
                self.packets_ignored += 1
        return events

    @staticmethod
    def _digit(event: DigitEvent) -> DigitReceived:
        return DigitReceived(
            event.digit, event.duration_ms, event.start_timestamp, event.at, event.end_seen
        )
