"""The script format: pydantic models of a script and its blocks.

The same structure is read from YAML and JSON. Fields that point at another block
(``next``, menu ``keys``, intent ``next``, ``no_input.next``, ``else`` ...) are plain block
ids; whether they exist is the validator's job, so that all such mistakes are reported
together with their lines. Models are frozen; the compiler turns a valid script into an
immutable state machine.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from scripts_dsl.status import CustomerStatus

__all__ = [
    "Block",
    "BLOCK_TYPES",
    "Branch",
    "Condition",
    "Handler",
    "Hangup",
    "Intent",
    "Listen",
    "Menu",
    "Play",
    "Record",
    "Script",
    "SetStatus",
    "SetVariable",
    "Transfer",
    "Variables",
]

_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
_BLOCK_ID = r"^[\w.-]+$"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def _text(value: Any) -> Any:
    """Numbers written without quotes in YAML are meant as text."""
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


class Handler(_Model):
    """What to do when the caller says nothing (``no_input``) or something unexpected
    (``no_match``): ask again up to ``retries`` times, then go to ``next``."""

    retries: int = Field(2, ge=0, le=10)
    prompt: str | None = None
    next: str | None = None


class Intent(_Model):
    """Words that mean one answer; the first keyword found in what was said wins."""

    keywords: list[str] = Field(min_length=1)
    next: str | None = None

    @field_validator("keywords", mode="before")
    @classmethod
    def _one_keyword(cls, value: Any) -> Any:
        if isinstance(value, (str, int)):
            return [str(value)]
        return [_text(v) for v in value] if isinstance(value, list) else value


class _Block(_Model):
    id: Annotated[str, Field(pattern=_BLOCK_ID, max_length=64)]
    note: str | None = None


class Play(_Block):
    """Speak ``text`` (with variables) or play an ``audio`` file, then go to ``next``."""

    type: Literal["play"]
    text: str | None = None
    audio: str | None = None
    barge_in: bool = False
    next: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Play:
        if (self.text is None) == (self.audio is None):
            raise ValueError("give either 'text' or 'audio' (exactly one of them)")
        return self


class _Ask(_Block):
    """Common shape of menu and listen: a prompt, answers, and failure handling."""

    prompt: str | None = None
    audio: str | None = None
    keys: dict[str, str] = Field(default_factory=dict)
    intents: dict[str, Intent] = Field(default_factory=dict)
    timeout: float = Field(5.0, gt=0, le=120)
    barge_in: bool = True
    no_input: Handler | None = None
    no_match: Handler | None = None
    save_as: Annotated[str, Field(pattern=_NAME)] | None = None

    @field_validator("keys", mode="before")
    @classmethod
    def _keys_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {_text(k): v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _one_prompt(self) -> _Ask:
        if (self.prompt is None) == (self.audio is None):
            raise ValueError("give either 'prompt' (text) or 'audio' (exactly one of them)")
        return self


class Menu(_Ask):
    """Ask for a keypress; ``keys`` maps each phone key to the next block."""

    type: Literal["menu"]
    keys: dict[str, str] = Field(min_length=1)


class Listen(_Ask):
    """Ask for a spoken answer; ``intents`` maps answer names to keywords and next block."""

    type: Literal["listen"]
    intents: dict[str, Intent] = Field(min_length=1)


class SetStatus(_Block):
    """Move the customer's campaign status (only along the allowed changes)."""

    type: Literal["set_status"]
    status: CustomerStatus
    next: str | None = None

    @field_validator("status", mode="before")
    @classmethod
    def _parse_status(cls, value: Any) -> Any:
        return CustomerStatus.parse(value) if isinstance(value, str) else value


class SetVariable(_Block):
    """Store ``value`` (a text that may use variables) in ``vars.<name>``."""

    type: Literal["set_variable"]
    name: Annotated[str, Field(pattern=_NAME)]
    value: str
    next: str | None = None

    _coerce = field_validator("value", mode="before")(lambda cls, v: _text(v))


Operator = Literal["equals", "not_equals", "in", "not_in", "is_set", "is_empty"]


class Branch(_Model):
    """``variable`` is ``customer.<field>``, ``vars.<name>`` or ``status``."""

    variable: str
    op: Operator = "equals"
    value: str | list[str] | None = None
    next: str | None = None

    @field_validator("value", mode="before")
    @classmethod
    def _value_text(cls, value: Any) -> Any:
        return [_text(v) for v in value] if isinstance(value, list) else _text(value)

    @model_validator(mode="after")
    def _value_fits_op(self) -> Branch:
        if self.op in ("in", "not_in") and not isinstance(self.value, list):
            raise ValueError(f"op '{self.op}' needs 'value' to be a list of texts")
        if self.op in ("equals", "not_equals") and not isinstance(self.value, str):
            raise ValueError(f"op '{self.op}' needs 'value' to be one text")
        if self.op in ("is_set", "is_empty") and self.value is not None:
            raise ValueError(f"op '{self.op}' takes no 'value': remove it")
        return self


class Condition(_Block):
    """Go to the first branch whose test holds, otherwise to ``else``."""

    type: Literal["condition"]
    branches: list[Branch] = Field(min_length=1)
    else_: str | None = Field(None, alias="else")


class Transfer(_Block):
    """Hand the call to an agent ``queue`` or a SIP ``address``; ``no_agent`` runs when
    nobody takes the call (without it the bot hangs up)."""

    type: Literal["transfer"]
    queue: str | None = None
    address: Annotated[str, Field(pattern=r"^sips?:")] | None = None
    prompt: str | None = None
    timeout: float = Field(30.0, gt=0, le=600)
    no_agent: str | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Transfer:
        if (self.queue is None) == (self.address is None):
            raise ValueError("give either 'queue' (an agent queue) or 'address' (sip:...)")
        return self


class Record(_Block):
    """Record the caller's answer for at most ``max_length`` seconds."""

    type: Literal["record"]
    prompt: str | None = None
    audio: str | None = None
    max_length: float = Field(gt=0, le=600)
    beep: bool = True
    save_as: Annotated[str, Field(pattern=_NAME)] | None = None
    next: str | None = None


class Hangup(_Block):
    """End the call, after an optional closing prompt."""

    type: Literal["hangup"]
    prompt: str | None = None
    audio: str | None = None


Block = Annotated[
    Play | Menu | Listen | SetStatus | SetVariable | Condition | Transfer | Record | Hangup,
    Field(discriminator="type"),
]
BLOCK_TYPES: tuple[str, ...] = (
    "play", "menu", "listen", "set_status", "set_variable", "condition", "transfer", "record",
    "hangup",
)


class Variables(_Model):
    """Customer fields the script reads (a default, or None when the customer must have it)
    and the script's own variables with their starting values."""

    customer: dict[Annotated[str, Field(pattern=_NAME)], str | None] = Field(default_factory=dict)
    vars: dict[Annotated[str, Field(pattern=_NAME)], str] = Field(default_factory=dict)

    @field_validator("customer", mode="before")
    @classmethod
    def _customer_list(cls, value: Any) -> Any:
        if isinstance(value, list):
            return {name: None for name in value}
        if isinstance(value, dict):
            return {k: _text(v) for k, v in value.items()}
        return value

    @field_validator("vars", mode="before")
    @classmethod
    def _vars_list(cls, value: Any) -> Any:
        if isinstance(value, list):
            return {name: "" for name in value}
        if isinstance(value, dict):
            return {k: "" if v is None else _text(v) for k, v in value.items()}
        return value


class ScriptHeader(_Model):
    """Everything in a script except its blocks."""

    name: str = Field(min_length=1)
    language: str = "vi"
    voice: str | None = None
    description: str | None = None
    variables: Variables = Field(default_factory=Variables)
    start: str | None = None


class Script(ScriptHeader):
    """A whole script. ``start`` defaults to the first block."""

    blocks: list[Block] = Field(min_length=1)

    @property
    def start_id(self) -> str:
        return self.start if self.start is not None else self.blocks[0].id

    def block(self, block_id: str) -> Block:
        for block in self.blocks:
            if block.id == block_id:
                return block
        raise KeyError(block_id)
