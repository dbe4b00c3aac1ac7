"""Loading prompts: a WAV file to 8 kHz mono int16, ready for :meth:`RtpSession.play`.

Uses the stdlib :mod:`wave` module (PCM only) and numpy for mixing and resampling; the work is
blocking file I/O plus CPU, so async callers run it off the event loop.

Errors::

    DialerError
    └── AudioFormatError (ValueError)   the file is not a PCM WAV file we can read
"""

from __future__ import annotations

import math
import os
import wave

import numpy as np
from numpy.typing import NDArray

from dialer.errors import DialerError

__all__ = ["AudioFormatError", "load_wav", "resample"]

TELEPHONY_RATE = 8000
_ZERO_CROSSINGS = 16  # half-length of the interpolation kernel, in zero crossings of its sinc
_ROLLOFF = 0.95  # pass band edge as a fraction of the lower Nyquist frequency
_CHUNK = 4096  # output samples computed per vectorized step (bounds memory)
_CONVERT_HINT = "convert it to 16-bit PCM, e.g. `sox input.wav -b 16 -e signed-integer out.wav`"


class AudioFormatError(DialerError, ValueError):
    """An audio file that is not PCM WAV (compressed, float, extensible) or is malformed."""


def load_wav(path: str | os.PathLike[str], *, rate: int = TELEPHONY_RATE) -> NDArray[np.int16]:
    """Read a PCM WAV file (8, 16, 24 or 32-bit, any channel count and sample rate) and return
    mono int16 samples at ``rate`` Hz: channels are averaged, other rates resampled."""
    name = os.fspath(path)
    try:
        with wave.open(name, "rb") as reader:
            channels = reader.getnchannels()
            width = reader.getsampwidth()
            source_rate = reader.getframerate()
            raw = reader.readframes(reader.getnframes())
    except (wave.Error, EOFError) as exc:
        raise AudioFormatError(f"{name}: not a PCM WAV file ({exc}); {_CONVERT_HINT}") from exc
    if channels < 1 or source_rate < 1:
        raise AudioFormatError(
            f"{name}: invalid WAV header ({channels} channels, {source_rate} Hz)"
        )
    usable = len(raw) - len(raw) % (width * channels)
    samples = _to_float(raw[:usable], width, name).reshape(-1, channels).mean(axis=1)
    if source_rate != rate:
        samples = resample(samples, source_rate, rate)
    pcm: NDArray[np.int16] = np.clip(np.rint(samples), -32768, 32767).astype(np.int16)
    return pcm


def _to_float(raw: bytes, width: int, name: str) -> NDArray[np.float64]:
    """Little-endian PCM of ``width`` bytes per sample to float on the int16 scale."""
    if width == 1:  # 8-bit WAV is unsigned, centred on 128
        return (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128.0) * 256.0
    if width == 2:
        return np.frombuffer(raw, dtype="<i2").astype(np.float64)
    if width == 3:
        triplets = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        value = triplets[:, 0] | (triplets[:, 1] << 8) | (triplets[:, 2] << 16)
        value = np.where(value >= 1 << 23, value - (1 << 24), value)
        return value.astype(np.float64) / 256.0
    if width == 4:
        return np.frombuffer(raw, dtype="<i4").astype(np.float64) / 65536.0
    raise AudioFormatError(f"{name}: {8 * width}-bit samples are not supported; {_CONVERT_HINT}")


def resample(
    samples: NDArray[np.float64], source_rate: int, target_rate: int
) -> NDArray[np.float64]:
    """Band-limited resampling by windowed-sinc interpolation.

    Each output sample at input position ``t = n * source_rate / target_rate`` is a Hann-windowed
    sinc sum over the nearby input samples; the sinc's cutoff is 95 % of the lower of the two
    Nyquist frequencies, so downsampling removes what the new rate cannot carry (no aliasing),
    and each kernel is normalized to unit DC gain.
    """
    if source_rate == target_rate:
        return np.array(samples, dtype=np.float64)
    count = len(samples) * target_rate // source_rate
    bandwidth = _ROLLOFF * min(1.0, target_rate / source_rate)  # 2 * cutoff, cycles/sample
    half = math.ceil(_ZERO_CROSSINGS / bandwidth)
    signal = np.asarray(samples, dtype=np.float64)
    padded = np.concatenate([np.zeros(half), signal, np.zeros(half + 1)])
    offsets = np.arange(-half + 1, half + 1)
    out = np.empty(count, dtype=np.float64)
    for first in range(0, count, _CHUNK):
        n = np.arange(first, min(first + _CHUNK, count), dtype=np.int64)
        base = n * source_rate // target_rate
        frac = (n * source_rate % target_rate) / target_rate
        distance = frac[:, None] - offsets[None, :]  # t - k for each tap
        kernel = np.sinc(bandwidth * distance) * (0.5 + 0.5 * np.cos(np.pi * distance / half))
        kernel /= kernel.sum(axis=1, keepdims=True)
        taps = padded[(base + half)[:, None] + offsets[None, :]]
        out[first : first + len(n)] = (kernel * taps).sum(axis=1)
    return out
