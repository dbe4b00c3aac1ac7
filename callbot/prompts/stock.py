"""The stock sounds shipped in the repository's ``sounds/`` folder (8 kHz mono 16-bit WAV).

``sounds/make_sounds.py`` generates the synthetic ones (``beep``, ``silence_500ms``).
"""

from __future__ import annotations

from pathlib import Path

from callbot.prompts.errors import AudioFileError

__all__ = ["SOUNDS_DIR", "stock_sound"]

SOUNDS_DIR = Path(__file__).resolve().parents[2] / "sounds"


def stock_sound(name: str) -> Path:
    """The path of stock sound ``name`` (``"beep"`` or ``"beep.wav"``). Raises
    :class:`AudioFileError` listing the available sounds when there is no such sound."""
    file_name = name if name.endswith(".wav") else f"{name}.wav"
    path = SOUNDS_DIR / file_name
    if Path(file_name).name != file_name or not path.is_file():
        available = ", ".join(sorted(p.stem for p in SOUNDS_DIR.glob("*.wav"))) or "none"
        raise AudioFileError(path, f"no stock sound {name!r} (available: {available})")
    return path
