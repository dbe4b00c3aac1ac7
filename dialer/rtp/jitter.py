"""A small receive reorder buffer for one RTP source: packets in, packets out in sequence order.

No I/O: :meth:`JitterBuffer.push` takes a packet and the arrival time, :meth:`pop_ready`
releases what may be played now, and :meth:`next_deadline` says when waiting for a missing
packet ends.

* Sequence numbers are extended to 64 bits across 16-bit wraparound as in RFC 3550
  Appendix A.1: a jump of up to :data:`MAX_DROPOUT` ahead is a forward step (the packets in
  between are missing), up to :data:`MAX_MISORDER` behind is a reordered or duplicate packet,
  anything else is a jump that is only believed when the next packet confirms it.
* Packets in sequence are released at once. When one is missing, later packets wait until
  either ``max_delay`` has passed since the oldest of them arrived, or more than ``window``
  are waiting; then the gap is declared lost. A late packet that arrives before that is put
  back in order.
* A packet whose slot was already released or skipped is dropped and counted as ``late``;
  a second copy of a packet is dropped and counted as ``duplicate``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from dialer.rtp.packet import RtpPacket

__all__ = ["MAX_DROPOUT", "MAX_MISORDER", "JitterBuffer", "JitterStats"]

MAX_DROPOUT = 3000
"""Largest forward sequence jump taken as loss rather than a restart (RFC 3550 A.1)."""
MAX_MISORDER = 100
"""Largest backward sequence step taken as reordering rather than a restart (RFC 3550 A.1)."""
_SEQ_MOD = 1 << 16
_RECENT_RELEASED = 128


@dataclass(frozen=True, slots=True)
class JitterStats:
    """Counters since the buffer was created.

    ``received`` counts every push; ``released`` packets came out of :meth:`pop_ready`;
    ``lost`` sequence numbers were skipped because they never came in time; ``late`` packets
    arrived after their slot was released or skipped; ``duplicate`` packets were copies;
    ``reordered`` packets arrived after a later one and were put back in order; ``resyncs``
    counts confirmed sequence jumps (the source restarted its numbering); ``discarded``
    packets jumped too far from the sequence and were not (yet) confirmed by the next one.
    """

    received: int
    released: int
    lost: int
    late: int
    duplicate: int
    reordered: int
    resyncs: int
    discarded: int


class JitterBuffer:
    """Reorder buffer for one source (one SSRC); see the module docstring."""

    def __init__(self, *, window: int = 3, max_delay: float = 0.060) -> None:
        self.window = window
        self.max_delay = max_delay
        self._waiting: dict[int, tuple[RtpPacket, float]] = {}
        self._ready: list[RtpPacket] = []
        self._ready_since = 0.0
        self._released_recent: deque[int] = deque(maxlen=_RECENT_RELEASED)
        self._started = False
        self._next = 0  # extended sequence number to release next
        self._highest = 0  # highest extended sequence number seen
        self._bad_seq: int | None = None  # RFC 3550 A.1: a jump waiting for confirmation
        self._received = self._released = self._lost = self._late = 0
        self._duplicate = self._reordered = self._resyncs = self._discarded = 0

    @property
    def stats(self) -> JitterStats:
        return JitterStats(
            received=self._received,
            released=self._released,
            lost=self._lost,
            late=self._late,
            duplicate=self._duplicate,
            reordered=self._reordered,
            resyncs=self._resyncs,
            discarded=self._discarded,
        )

    def __len__(self) -> int:
        """Packets held back (waiting for a gap) or ready to pop."""
        return len(self._waiting) + len(self._ready)

    def push(self, packet: RtpPacket, now: float) -> None:
        """Accept one packet that arrived at ``now``."""
        self._received += 1
        seq = packet.sequence_number
        if not self._started:
            self._restart(seq)
        delta = (seq - self._highest) % _SEQ_MOD
        if delta < MAX_DROPOUT:
            extended = self._highest + delta
        elif delta >= _SEQ_MOD - MAX_MISORDER:
            extended = self._highest - (_SEQ_MOD - delta)
        elif seq == self._bad_seq:
            # Two sequential packets after a jump: the source restarted (RFC 3550 A.1).
            self._resyncs += 1
            self._flush_waiting(now)
            self._restart(seq)
            extended = seq
        else:
            self._bad_seq = (seq + 1) % _SEQ_MOD
            self._discarded += 1
            return
        self._bad_seq = None
        if extended < self._next:
            if extended in self._released_recent:
                self._duplicate += 1
            else:
                self._late += 1
            return
        if extended in self._waiting:
            self._duplicate += 1
            return
        if extended < self._highest:
            self._reordered += 1
        self._highest = max(self._highest, extended)
        self._waiting[extended] = (packet, now)

    def pop_ready(self, now: float) -> list[RtpPacket]:
        """Packets that may be played at ``now``, in sequence order."""
        ready, self._ready = self._ready, []
        while self._waiting:
            entry = self._waiting.pop(self._next, None)
            if entry is not None:
                ready.append(self._release(self._next, entry[0]))
                continue
            oldest_arrival = min(at for _, at in self._waiting.values())
            if len(self._waiting) <= self.window and now < oldest_arrival + self.max_delay:
                break
            first = min(self._waiting)
            self._lost += first - self._next
            self._next = first
        return ready

    def flush(self) -> list[RtpPacket]:
        """Everything held, in sequence order, skipping gaps (the source is going away)."""
        self._flush_waiting(0.0)
        ready, self._ready = self._ready, []
        return ready

    def next_deadline(self) -> float | None:
        """When :meth:`pop_ready` will release something without a new packet (a time in the
        past means now), or ``None`` if nothing is held."""
        if self._ready:
            return self._ready_since
        if not self._waiting:
            return None
        arrivals = [at for _, at in self._waiting.values()]
        if self._next in self._waiting or len(self._waiting) > self.window:
            return max(arrivals)
        return min(arrivals) + self.max_delay

    def _release(self, extended: int, packet: RtpPacket) -> RtpPacket:
        self._released += 1
        self._released_recent.append(extended)
        self._next = extended + 1
        return packet

    def _restart(self, seq: int) -> None:
        self._started = True
        self._highest = seq
        self._next = seq
        self._released_recent.clear()

    def _flush_waiting(self, now: float) -> None:
        """Before a restart, whatever was waiting is handed out in order (gaps skipped)."""
        if self._waiting and not self._ready:
            self._ready_since = now
        for extended in sorted(self._waiting):
            self._lost += extended - self._next
            self._ready.append(self._release(extended, self._waiting[extended][0]))
        self._waiting.clear()
