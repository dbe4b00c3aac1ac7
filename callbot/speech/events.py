"""Typed events of one listening: speech started, then exactly one decision.

Times (``at``, ``started_at``, ``ended_at``) are *audio* time in seconds since the first
sample fed to the recognizer, not wall-clock time: a recording fed faster than real time gives
the same events at the same times, and latency rules are stated and tested in audio time.

Every listening ends with exactly one terminal event (:data:`Decision`):

* :class:`SpeechResult`: the caller said a keyword of one intent;
* :class:`NoMatch`: the caller spoke, but no intent matched (or the recognizer's confidence
  was below the listening's threshold); the transcript is kept for the call's event log;
* :class:`NoInput`: nobody spoke before the no-input timeout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "Decision",
    "Endpoint",
    "NoInput",
    "NoMatch",
    "SpeechEvent",
    "SpeechResult",
    "SpeechStarted",
]

Endpoint = Literal["silence", "recognizer", "max_speech", "finish"]
"""Why the utterance was considered finished: the trailing-silence rule on frame energy, the
recognizer's own endpoint rules, the maximum utterance length, or the end of the audio."""


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """The caller started speaking at ``at`` (barge-in stops the prompt on this)."""

    at: float


@dataclass(frozen=True, slots=True)
class SpeechResult:
    """The caller said ``text``, which holds a keyword of ``intent``.

    ``confidence`` is the mean of the recognizer's per-word confidences (0..1); ``at`` is when
    the decision was taken; ``ended_at`` when the speech ended, so ``at - ended_at`` is the
    endpointing delay.
    """

    text: str
    intent: str
    confidence: float
    at: float
    started_at: float
    ended_at: float
    endpoint: Endpoint


@dataclass(frozen=True, slots=True)
class NoMatch:
    """The caller spoke but no intent matched; ``text`` is what was recognized (may be empty,
    and unknown words read ``[unk]``)."""

    text: str
    confidence: float
    at: float
    started_at: float
    ended_at: float
    endpoint: Endpoint


@dataclass(frozen=True, slots=True)
class NoInput:
    """No speech started within the no-input timeout, which expired at ``at``."""

    at: float


Decision = SpeechResult | NoMatch | NoInput
SpeechEvent = SpeechStarted | SpeechResult | NoMatch | NoInput
