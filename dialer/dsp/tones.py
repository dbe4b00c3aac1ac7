"""DTMF tone pairs and signal levels: the keypad's frequencies, and a generator for in-band
digits (sent in the audio when the far end did not negotiate RFC 4733 telephone-events, and
used by the tests and the accuracy benchmark to build signals).

Frequencies are those of ITU-T Q.23 (the 4x4 keypad: one low-group "row" tone plus one
high-group "column" tone per key). Levels are in dBm0 for G.711 audio: a full-scale sine wave
is +3.14 dBm0 (ITU-T G.711 A-law; u-law is +3.17), so 0 dBm0 is a sine 3.14 dB below full
scale on the int16 scale.

Errors::

    DialerError
    └── SignalError (ValueError)   samples, digit or parameter the DSP code cannot use
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from dialer.errors import DialerError

__all__ = [
    "COLUMN_FREQUENCIES",
    "FULL_SCALE_DBM0",
    "KEYPAD",
    "ROW_FREQUENCIES",
    "SignalError",
    "dbm0_to_power",
    "dtmf_tone",
    "tone_frequencies",
]

ROW_FREQUENCIES: tuple[float, float, float, float] = (697.0, 770.0, 852.0, 941.0)
"""Low-group tones in Hz (ITU-T Q.23), one per keypad row."""

COLUMN_FREQUENCIES: tuple[float, float, float, float] = (1209.0, 1336.0, 1477.0, 1633.0)
"""High-group tones in Hz (ITU-T Q.23), one per keypad column."""

KEYPAD: tuple[str, str, str, str] = ("123A", "456B", "789C", "*0#D")
"""``KEYPAD[row][column]`` is the key sent by that row tone plus that column tone."""

FULL_SCALE_DBM0 = 3.14
"""Level of a full-scale int16 sine wave: G.711 A-law's maximum is +3.14 dBm0."""

_FULL_SCALE = 32767.0


class SignalError(DialerError, ValueError):
    """Audio the DSP code cannot take (not 1-D int16) or a tone it cannot make."""


def dbm0_to_power(level_dbm0: float) -> float:
    """Mean power (int16 scale squared) of a sine wave at ``level_dbm0``."""
    amplitude = _FULL_SCALE * 10 ** ((level_dbm0 - FULL_SCALE_DBM0) / 20)
    return amplitude * amplitude / 2


def tone_frequencies(digit: str) -> tuple[float, float]:
    """The (row, column) frequencies in Hz of a key ``0-9 * # A-D`` (case-insensitive)."""
    key = digit.upper()
    for row, keys in enumerate(KEYPAD):
        column = keys.find(key) if len(key) == 1 else -1
        if column >= 0:
            return ROW_FREQUENCIES[row], COLUMN_FREQUENCIES[column]
    raise SignalError(f"{digit!r} is not a DTMF key (expected one of {''.join(KEYPAD)})")


def dtmf_tone(
    digit: str,
    duration_ms: float,
    *,
    sample_rate: int = 8000,
    level_dbm0: float = -7.0,
    twist_db: float = 0.0,
    frequency_offset: float = 0.0,
    phase: float = 0.0,
) -> NDArray[np.int16]:
    """The two-tone signal of ``digit`` for ``duration_ms`` as int16 samples.

    ``level_dbm0`` is the level of the low-group (row) tone; ``twist_db`` is how much weaker
    the high-group (column) tone is: positive is "normal" twist (high group weaker, as line
    loss does), negative is "reverse" twist. ``frequency_offset`` detunes both tones by that
    fraction (0.015 is +1.5 %). The default -7 dBm0 per tone is a typical telephone's level.
    """
    if duration_ms < 0 or not math.isfinite(duration_ms):
        raise SignalError(f"tone duration {duration_ms} ms is not a finite, positive number")
    row, column = tone_frequencies(digit)
    count = round(duration_ms * sample_rate / 1000)
    t = np.arange(count, dtype=np.float64) / sample_rate
    low = math.sqrt(2 * dbm0_to_power(level_dbm0))
    high = math.sqrt(2 * dbm0_to_power(level_dbm0 - twist_db))
    scale = 1.0 + frequency_offset
    signal = low * np.sin(2 * np.pi * row * scale * t + phase) + high * np.sin(
        2 * np.pi * column * scale * t + 1.3 * phase
    )
    peak = np.abs(signal).max(initial=0.0)
    if peak > _FULL_SCALE:
        raise SignalError(
            f"{digit!r} at {level_dbm0} dBm0 with {twist_db} dB twist clips (peak {peak:.0f})"
        )
    return np.rint(signal).astype(np.int16)
