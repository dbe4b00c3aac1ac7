"""What happens on a call, as fed to a running script (:class:`scripts_dsl.run.ScriptRun`)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Event",
    "PromptFinished",
    "Digit",
    "Speech",
    "NoInput",
    "NoMatch",
    "CallerHangup",
    "TransferResult",
    "RecordFinished",
]


@dataclass(frozen=True)
class PromptFinished:
    """A prompt finished playing. ``prompt_id`` is the id of the :class:`Play` it answers;
    a finish that belongs to an older prompt is ignored. None means the current prompt."""

    prompt_id: int | None = None


@dataclass(frozen=True)
class Digit:
    """The caller pressed a phone key (0-9, *, #)."""

    digit: str

    def __post_init__(self) -> None:
        if len(self.digit) != 1 or self.digit not in "0123456789*#ABCD":
            raise ValueError(f"{self.digit!r} is not a phone key")


@dataclass(frozen=True)
class Speech:
    """A speech result: the recognized ``text`` and, when the recognizer already decided,
    the ``intent`` name. Without an intent the script matches the text against keywords."""

    text: str
    intent: str | None = None
    confidence: float | None = None


@dataclass(frozen=True)
class NoInput:
    """The caller gave no answer before the block's timeout."""


@dataclass(frozen=True)
class NoMatch:
    """The caller answered, but nothing usable was recognized."""


@dataclass(frozen=True)
class CallerHangup:
    """The caller hung up."""


@dataclass(frozen=True)
class TransferResult:
    """Outcome of a transfer: ``ok`` when an agent took the call."""

    ok: bool
    reason: str = ""


@dataclass(frozen=True)
class RecordFinished:
    """A recording ended; ``recording`` names what was stored (a file or a URL)."""

    recording: str = ""
    duration: float = 0.0


Event = (
    PromptFinished | Digit | Speech | NoInput | NoMatch | CallerHangup | TransferResult
    | RecordFinished
)
