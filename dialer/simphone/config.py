"""What each simulated phone number does: :class:`Behaviour` by number in a
:class:`SimulatorConfig`.

A configuration (YAML, :meth:`SimulatorConfig.load`)::

    numbers:
      "0912345678": {action: answer, press: "12", ring_seconds: 1, hangup_after: 4}
      "0911111111": {action: busy}
      "0922222222": {action: reject, status: 503}
    default: {action: no_answer}

A bad configuration raises :class:`dialer.errors.ConfigError`.
"""

from __future__ import annotations

import phonenumbers

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

import yaml

from dialer.errors import ConfigError
from dialer.rtp.dtmf import DTMF_EVENTS

NO_ANSWER_LIMIT = 120.0
"""Seconds a ``no_answer`` phone rings for a caller that never cancels before it answers 480
Temporarily Unavailable (RFC 3261 s21.4.18), as a network's no-answer timer would."""


class Action(enum.StrEnum):
    ANSWER = "answer"  # ring, 200 OK, RTP (prompt, digits), hang up or wait for BYE
    SILENT = "silent"  # like answer, but never send RTP
    BUSY = "busy"  # 486 Busy Here
    DECLINE = "decline"  # 603 Decline
    NO_ANSWER = "no_answer"  # 180 until CANCEL (487), or 480 after NO_ANSWER_LIMIT
    REJECT = "reject"  # the final response in ``status``


_FIXED_STATUS = {Action.BUSY: 486, Action.DECLINE: 603}


@dataclass(frozen=True)
class Behaviour:
    """What one simulated phone does with a call.

    The phone rings for ``ring_seconds`` (180 Ringing at once when above 0), then sends its
    final response; ``no_answer`` rings until cancelled. An answering phone plays ``prompt``
    (a WAV file), presses ``press`` (RFC 4733 events) from ``digits_after`` seconds after the
    answer, one key every ``digit_interval`` seconds, and sends BYE ``hangup_after`` seconds
    after the answer, or waits for the caller's BYE when that is None.
    """

    action: Action = Action.ANSWER
    ring_seconds: float = 1.0
    press: str = ""
    digits_after: float = 1.0
    digit_interval: float = 0.3
    hangup_after: float | None = None
    prompt: Path | None = None
    status: int | None = None

    def __post_init__(self) -> None:
        for name in ("ring_seconds", "digits_after", "digit_interval", "hangup_after"):
            value = getattr(self, name)
            if value is not None and (not math.isfinite(value) or value < 0):
                raise ConfigError(f"{name} must be a number of seconds >= 0, got {value!r}")
        if self.digit_interval <= 0:
            raise ConfigError("digit_interval must be above 0 seconds")
        bad = [c for c in self.press.upper() if c not in DTMF_EVENTS]
        if bad:
            raise ConfigError(f"press {self.press!r}: {bad[0]!r} is not a key (use {DTMF_EVENTS})")
        if self.press and self.action is not Action.ANSWER:
            raise ConfigError(f"press needs action 'answer' (a {self.action} phone sends no RTP)")
        if self.action is Action.REJECT:
            if self.status is None or not 300 <= self.status <= 699:
                raise ConfigError(f"action 'reject' needs a status between 300 and 699, got {self.status!r}")
        elif self.status is not None:
            raise ConfigError(f"status is only for action 'reject', not {self.action!r}")

    @property
    def answers(self) -> bool:
        return self.action in (Action.ANSWER, Action.SILENT)

    @property
    def final_status(self) -> int | None:
        """The non-2xx final response this phone sends, or None when it answers or rings on."""
        return _FIXED_STATUS.get(self.action, self.status)

    def describe(self) -> str:
        """A short description for tables: ``answer, press 12, BYE after 4 s``."""
        parts = [str(self.action) if self.action is not Action.REJECT else f"reject {self.status}"]
        if self.press:
            parts.append(f"press {self.press}")
        if self.answers and self.hangup_after is not None:
            parts.append(f"BYE after {self.hangup_after:g} s")
        return ", ".join(parts)

    @classmethod
    def from_mapping(cls, data: object, base_dir: Path | None = None) -> "Behaviour":
        """A behaviour from a config mapping; a relative ``prompt`` is read from ``base_dir``."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"a behaviour must be a mapping, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(str(k) for k in data if k not in known)
        if unknown:
            raise ConfigError(f"unknown behaviour key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        values: dict[str, object] = {}
        for key, value in data.items():
            if key == "action":
                try:
                    values[key] = Action(str(value))
                except ValueError:
                    choices = ", ".join(a.value for a in Action)
                    raise ConfigError(f"unknown action {value!r} (known: {choices})") from None
            elif key == "press":
                values[key] = str(value)
            elif key == "prompt":
                path = Path(str(value))
                values[key] = path if path.is_absolute() or base_dir is None else base_dir / path
            elif key == "status":
                values[key] = _integer(key, value)
            elif value is not None or key == "hangup_after":
                values[key] = _seconds(key, value)
        return cls(**values)  # type: ignore[arg-type]


def _integer(key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key} must be an integer, got {value!r}")
    return value


def _seconds(key: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{key} must be a number of seconds, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class SimulatorConfig:
    """Behaviours by number (the Request-URI user), and one for every other number (or None:
    404 Not Found)."""

    numbers: Mapping[str, Behaviour] = field(default_factory=dict)
    default: Behaviour | None = None

    region: str = "VN"  # how numbers without a country code are read, as a carrier would

    def behaviour_for(self, number: str | None) -> Behaviour | None:
        """The phone behind ``number``: an exact match, else the same number in another
        format (``0912345678``, ``84912345678`` and ``+84912345678`` are one phone)."""
        if number is None:
            return self.default
        if number in self.numbers:
            return self.numbers[number]
        wanted = _e164(number, self.region)
        if wanted is not None:
            for key, behaviour in self.numbers.items():
                if _e164(key, self.region) == wanted:
                    return behaviour
        return self.default

    @classmethod
    def from_mapping(cls, data: object, base_dir: Path | None = None) -> "SimulatorConfig":
        if not isinstance(data, Mapping):
            raise ConfigError("the simulator config must be a mapping with 'numbers' and/or 'default'")
        unknown = sorted(str(k) for k in data if k not in ("numbers", "default"))
        if unknown:
            raise ConfigError(f"unknown config key(s) {', '.join(unknown)} (known: numbers, default)")
        raw_numbers = data.get("numbers") or {}
        if not isinstance(raw_numbers, Mapping):
            raise ConfigError("'numbers' must map phone numbers to behaviours")
        numbers: dict[str, Behaviour] = {}
        for number, behaviour in raw_numbers.items():
            if not isinstance(number, str):
                # YAML reads 0123 as the octal integer 83: only a quoted number is safe.
                raise ConfigError(f"phone number {number!r} must be a quoted string, e.g. \"0912345678\"")
            try:
                numbers[number] = Behaviour.from_mapping(behaviour, base_dir)
            except ConfigError as exc:
                raise ConfigError(f"number {number}: {exc}") from exc
        raw_default = data.get("default")
        try:
            default = None if raw_default is None else Behaviour.from_mapping(raw_default, base_dir)
        except ConfigError as exc:
            raise ConfigError(f"default: {exc}") from exc
        return cls(numbers=numbers, default=default)

    @classmethod
    def load(cls, path: Path) -> "SimulatorConfig":
        """Read a YAML config file (blocking: async callers run it in a thread)."""
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read the simulator config {path}: {exc.strerror}") from exc
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
        return cls.from_mapping(data, base_dir=path.parent)


def _e164(number: str, region: str) -> str | None:
    text = number.strip()
    if text.isdigit() and not text.startswith("0") and len(text) > 9:
        text = "+" + text  # 84912345678: a country code without the plus
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
