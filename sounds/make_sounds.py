"""Generates the synthetic stock sounds in this folder (8 kHz mono 16-bit PCM WAV).

    .venv/bin/python sounds/make_sounds.py

* ``beep.wav``: 400 ms of 1 kHz at -6 dBFS, with 5 ms raised-cosine ramps at both ends so that
  the tone starts and stops without a click.
* ``silence_500ms.wav``: 500 ms of digital silence.

The output is deterministic: running it again rewrites identical files. Other sounds in this
folder (recordings) are not touched.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

RATE = 8000
HERE = Path(__file__).resolve().parent


def beep(frequency: float = 1000.0, seconds: float = 0.4, dbfs: float = -6.0) -> NDArray[np.int16]:
    t = np.arange(round(seconds * RATE)) / RATE
    tone = 10 ** (dbfs / 20) * 32767 * np.sin(2 * np.pi * frequency * t)
    ramp = round(0.005 * RATE)
    envelope = np.ones_like(t)
    envelope[:ramp] = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp)
    envelope[-ramp:] = envelope[:ramp][::-1]
    return np.rint(tone * envelope).astype(np.int16)


def silence(seconds: float) -> NDArray[np.int16]:
    return np.zeros(round(seconds * RATE), dtype=np.int16)


def write(path: Path, pcm: NDArray[np.int16]) -> None:
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(RATE)
        writer.writeframes(pcm.astype("<i2").tobytes())


def main() -> None:
    write(HERE / "beep.wav", beep())
    write(HERE / "silence_500ms.wav", silence(0.5))


if __name__ == "__main__":
    main()
