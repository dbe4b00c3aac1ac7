"""One digit stream per call, from RFC 4733 telephone-events and from in-band tones.

A key press can reach us twice: as telephone-event packets (:mod:`dialer.rtp.dtmf`) and as the
tone itself in the audio (:mod:`dialer.dsp.goertzel`), because some carriers and gateways
leave the tone in the audio while also sending the events. :class:`DigitMerger` takes the
reports of both sources, in the order they arrive, and passes each key press on once.

Rule: a report is the *same key press* as an earlier report when

* it comes from the other source (each source already reports a press once: the RFC 4733
  receiver by the event's timestamp, the tone detector by bridging short dropouts), and
* it is the same key, and
* the two time intervals overlap or are at most :data:`DUPLICATE_WINDOW` (200 ms) apart, and
* that earlier report was not already paired with a report from this source.

When several earlier reports qualify, the one whose start is closest is paired. The first
report of a press is passed on at once (lowest latency); its twin is dropped when it arrives.
A repeated key from one source ("55") is two presses even if they are close together.

Both sources must give times on one clock: the RTP timestamp of the audio stream (unwrapped,
divided by the clock rate) suits both, since a telephone-event's timestamp is the instant the
tone began on the audio's clock (RFC 4733 s2.1, s2.5.1.1), and the tone detector is fed the
timestamps of the decoded frames.

Why 200 ms: the two reports of one press describe the same tone, so they overlap, give or take
the detector's few ms and a gateway that starts its event late because it recognises the tone
first; 200 ms covers that. A key pressed twice needs a release, so its two presses are usually
more than 60 ms apart and within the window of each other's twins; pairing each report with the
twin whose start is closest, once, keeps them two presses even when the reports interleave
(each report arrives after its press ended, an RFC 4733 report up to 200 ms later when its end
packets were lost, :data:`dialer.rtp.dtmf.DTMF_END_TIMEOUT`). The tests check this property.

No I/O, no clock of its own: the reports carry their times.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from dialer.dsp.tones import SignalError, tone_frequencies

__all__ = ["DUPLICATE_WINDOW", "CallDigit", "DigitMerger", "DigitSource"]

DUPLICATE_WINDOW = 0.2
"""Seconds between the intervals of two reports of one key (from different sources) within
which they are one key press."""

_REMEMBERED = 32  # unpaired reports kept per source to pair with a late twin


class DigitSource(StrEnum):
    """Where a key press was heard."""

    RFC4733 = "rfc4733"
    INBAND = "inband"


@dataclass(frozen=True, slots=True)
class CallDigit:
    """One key press of the call's digit stream, as first reported."""

    digit: str
    start: float
    end: float
    source: DigitSource

    @property
    def duration_ms(self) -> float:
        return (self.end - self.start) * 1000


@dataclass(slots=True)
class _Report:
    digit: str
    start: float
    end: float


class DigitMerger:
    """Merges RFC 4733 and in-band reports of one call into one stream (rule in the module
    docstring). ``duplicates`` counts the reports dropped as twins."""

    def __init__(self, *, window: float = DUPLICATE_WINDOW) -> None:
        if window < 0:
            raise SignalError(f"duplicate window {window} s is negative")
        self.window = window
        self.duplicates = 0
        self._unpaired: dict[DigitSource, deque[_Report]] = {
            source: deque(maxlen=_REMEMBERED) for source in DigitSource
        }

    def feed(
        self, source: DigitSource | str, digit: str, start: float, end: float
    ) -> list[CallDigit]:
        """Take one report; return ``[CallDigit]`` for a new key press, ``[]`` for the twin
        of a press already passed on. ``digit`` is ``0-9 * # A-D`` (case-insensitive)."""
        origin = DigitSource(source)
        tone_frequencies(digit)  # raises SignalError for anything but a DTMF key
        key = digit.upper()
        if end < start:
            raise SignalError(f"digit {key!r} ends ({end}) before it starts ({start})")
        twin = self._twin(origin, key, start, end)
        if twin is not None:
            self.duplicates += 1
            return []
        self._unpaired[origin].append(_Report(key, start, end))
        return [CallDigit(key, start, end, origin)]

    def _twin(self, origin: DigitSource, key: str, start: float, end: float) -> _Report | None:
        """Take out of the other source's unpaired reports the one this report duplicates."""
        best: _Report | None = None
        for source, reports in self._unpaired.items():
            if source is origin:
                continue
            for report in reports:
                apart = max(start, report.start) - min(end, report.end)
                if report.digit != key or apart > self.window:
                    continue
                if best is None or abs(report.start - start) < abs(best.start - start):
                    best = report
            if best is not None:
                reports.remove(best)
                return best
        return None
