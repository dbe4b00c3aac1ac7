"""The prompt layer's exception tree.

Each message names what a person must fix (the voice, the file path, the missing Debian
package); lower-layer errors (``OSError``, ``subprocess`` failures, the dialer's
:class:`~dialer.rtp.audio.AudioFormatError`) are translated once, here, with ``raise ... from``.

    PromptError
    ├── TtsError          speech synthesis failed: engine not installed, unknown voice, bad output
    └── AudioFileError    an audio file is missing, unreadable or cannot be decoded (names the path)
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["AudioFileError", "PromptError", "TtsError"]


class PromptError(Exception):
    """Base of every error raised by :mod:`callbot.prompts`."""


class TtsError(PromptError, RuntimeError):
    """A text could not be rendered to speech. Nothing is cached for it."""


class AudioFileError(PromptError, OSError):
    """An audio file could not be turned into a prompt; ``path`` is the file at fault."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
