"""Voice activity and endpointing on frame energy: when speech starts, when it has ended.

Pure and synchronous: :meth:`Endpointer.step` takes one frame's energy (dBFS) and the audio
time at the end of that frame, and returns what happened. No clock is read; the recognizer
passes audio time, so a test that feeds a file gets the same answers at any speed.

Rules (all thresholds are fields of :class:`EndpointConfig`):

* **Speech frame**: energy above both ``threshold_db`` (absolute, dBFS) and the noise floor
  plus ``margin_db``. The noise floor is the minimum frame energy over the last
  ``floor_window`` seconds (minimum statistics), so steady line noise at any level is not
  speech while a voice ``margin_db`` above it is.
* **Speech start**: ``min_speech`` seconds of consecutive speech frames; the start time is the
  beginning of the first of them.
* **End of speech**: after a start, ``trailing_silence`` seconds of consecutive non-speech
  frames; the end time is the end of the last speech frame.
* **No input**: no start by ``no_input_timeout``.
* **Maximum speech**: an utterance longer than ``max_speech`` is cut there.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from enum import Enum

import numpy as np
from numpy.typing import NDArray

__all__ = ["EndpointConfig", "Endpointer", "Step", "frame_energies_db"]

_FULL_SCALE_POWER = 32768.0**2
_SILENCE_DB = -100.0  # floor for digital silence, so log10(0) never happens
_SILENCE_POWER = 10.0 ** (_SILENCE_DB / 10.0)


@dataclass(frozen=True, slots=True)
class EndpointConfig:
    """Timers (seconds of audio) and energy thresholds of one listening.

    ``trailing_silence`` of 0.3 s keeps the decision within the runtime's goal (end of speech
    to branch decision, p50 under 400 ms) with room for the network and the script engine;
    pauses inside a one- or two-word answer are shorter than that.
    """

    no_input_timeout: float = 5.0
    trailing_silence: float = 0.3
    max_speech: float = 15.0
    min_speech: float = 0.06
    threshold_db: float = -45.0
    margin_db: float = 9.0
    floor_window: float = 2.0

    def __post_init__(self) -> None:
        for name in ("no_input_timeout", "trailing_silence", "max_speech", "min_speech",
                     "floor_window"):
            if not getattr(self, name) > 0:
                raise ValueError(f"EndpointConfig.{name} must be positive")


class Step(Enum):
    """What one frame changed."""

    NOTHING = "nothing"
    SPEECH_STARTED = "speech_started"
    SPEECH_ENDED = "speech_ended"
    MAX_SPEECH = "max_speech"
    NO_INPUT = "no_input"


def frame_energies_db(frames: NDArray[np.integer]) -> list[float]:
    """Mean power of each row of ``frames`` (int16 samples, shape ``(count, samples)``, or
    the same widened to int64) in dBFS, floored at -100 dBFS (digital silence)."""
    wide = frames.astype(np.int64, copy=False)
    sums: list[int] = np.einsum("ij,ij->i", wide, wide).tolist()
    scale = frames.shape[1] * _FULL_SCALE_POWER
    return [10.0 * math.log10(max(total / scale, _SILENCE_POWER)) for total in sums]


class Endpointer:
    """Energy-based speech start and end for one listening (see the module docstring).

    ``frame_duration`` is the length of the frames whose energies :meth:`step` receives.
    """

    def __init__(self, config: EndpointConfig, frame_duration: float) -> None:
        self.config = config
        self.frame_duration = frame_duration
        self.started_at: float | None = None
        """Audio time when speech started, once it has."""
        self.ended_at: float | None = None
        """Audio time when the last speech frame so far ended."""
        window = max(1, round(config.floor_window / frame_duration))
        self._window: deque[float] = deque(maxlen=window)
        self._start_frames = max(1, math.ceil(config.min_speech / frame_duration - 1e-9))
        self._silence_frames = max(1, math.ceil(config.trailing_silence / frame_duration - 1e-9))
        self._run = 0  # consecutive speech frames before a start
        self._run_began = 0.0
        self._quiet = 0  # consecutive non-speech frames after a start
        self.finished = False

    @property
    def noise_floor_db(self) -> float:
        return min(self._window) if self._window else _SILENCE_DB

    def is_speech(self, energy_db: float) -> bool:
        floor = min(self._window) if self._window else energy_db
        return energy_db > self.config.threshold_db and energy_db > floor + self.config.margin_db

    def step(self, energy_db: float, now: float) -> Step:
        """Account for one frame of ``energy_db`` ending at audio time ``now``."""
        if self.finished:
            return Step.NOTHING
        speech = self.is_speech(energy_db)
        self._window.append(energy_db)
        if self.started_at is None:
            return self._waiting(speech, now)
        if speech:
            self._quiet = 0
            self.ended_at = now
        else:
            self._quiet += 1
            if self._quiet >= self._silence_frames:
                self.finished = True
                return Step.SPEECH_ENDED
        if now - self.started_at >= self.config.max_speech - 1e-9:
            self.finished = True
            return Step.MAX_SPEECH
        return Step.NOTHING

    def _waiting(self, speech: bool, now: float) -> Step:
        if speech:
            if self._run == 0:
                self._run_began = now - self.frame_duration
            self._run += 1
            if self._run >= self._start_frames:
                self.started_at = max(0.0, self._run_began)
                self.ended_at = now
                return Step.SPEECH_STARTED
        else:
            self._run = 0
        if now >= self.config.no_input_timeout - 1e-9:
            self.finished = True
            return Step.NO_INPUT
        return Step.NOTHING
