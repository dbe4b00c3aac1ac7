"""What a running script asks the call to do, in order.

Prompts: a :class:`Play` is followed by :class:`CollectDigits` and/or :class:`Listen` in menu
and listen blocks; the runtime arms those at once (so a keypress or speech may interrupt the
prompt when ``barge_in`` is true) and starts their ``timeout`` when the prompt ends. In the
other blocks the script waits for ``PromptFinished`` before asking for the next thing.
:class:`Branch`, :class:`SetVariable` and :class:`StatusKept` are for the call's event log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from scripts_dsl.status import CustomerStatus

__all__ = [
    "Action",
    "Play",
    "CollectDigits",
    "Listen",
    "SetStatus",
    "StatusKept",
    "SetVariable",
    "Branch",
    "Transfer",
    "Record",
    "Hangup",
]


@dataclass(frozen=True)
class Play:
    """Speak ``text`` (variables already filled) or play ``audio``."""

    block_id: str
    prompt_id: int
    text: str | None
    audio: str | None
    barge_in: bool


@dataclass(frozen=True)
class CollectDigits:
    """Wait for one keypress among ``keys``; ``timeout`` seconds after the prompt ends."""

    block_id: str
    keys: frozenset[str]
    timeout: float


@dataclass(frozen=True)
class Listen:
    """Recognize speech; ``intents`` maps intent names to normalized keywords."""

    block_id: str
    intents: Mapping[str, tuple[str, ...]]
    timeout: float

    @property
    def keywords(self) -> tuple[str, ...]:
        """Every keyword, for a recognizer grammar."""
        return tuple(dict.fromkeys(k for words in self.intents.values() for k in words))


@dataclass(frozen=True)
class SetStatus:
    """Move the customer's campaign status; ``source`` is keypress, speech or script."""

    block_id: str
    from_status: CustomerStatus
    to_status: CustomerStatus
    source: str


@dataclass(frozen=True)
class StatusKept:
    """A set_status block could not apply its change to this customer; the status stays."""

    block_id: str
    status: CustomerStatus
    wanted: CustomerStatus
    reason: str


@dataclass(frozen=True)
class SetVariable:
    block_id: str
    name: str
    value: str


@dataclass(frozen=True)
class Branch:
    """The script left ``block_id`` for ``to_block`` because of ``why`` (e.g. "key 1")."""

    block_id: str
    to_block: str
    why: str


@dataclass(frozen=True)
class Transfer:
    """Hand the call to an agent queue or a SIP address; answer with ``TransferResult``."""

    block_id: str
    queue: str | None
    address: str | None
    timeout: float


@dataclass(frozen=True)
class Record:
    """Record the caller (after a beep when ``beep``); answer with ``RecordFinished``."""

    block_id: str
    max_length: float
    beep: bool


@dataclass(frozen=True)
class Hangup:
    """Play the closing prompt (if any), then hang up. The script is finished."""

    block_id: str | None
    text: str | None
    audio: str | None
    reason: str


Action = (
    Play | CollectDigits | Listen | SetStatus | StatusKept | SetVariable | Branch | Transfer
    | Record | Hangup
)
