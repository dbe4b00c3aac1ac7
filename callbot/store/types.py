"""Column types that keep Python values honest across SQLite and PostgreSQL.

- :class:`UTCDateTime`: timezone-aware UTC datetimes in and out. SQLite has no time zones,
  so values are stored as naive UTC and given ``tzinfo=UTC`` again when read; a naive
  datetime handed in is refused rather than guessed.
- :class:`StrEnumType`: a ``StrEnum`` stored as its value in a plain ``VARCHAR`` (no native
  enum type, so adding a member needs no migration) and read back as the member.
- :class:`PydanticJSON`: a frozen pydantic model stored as JSON and validated when read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import JSON, DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = ["UTCDateTime", "StrEnumType", "PydanticJSON", "utc"]

E = TypeVar("E", bound=StrEnum)
M = TypeVar("M", bound=BaseModel)


def utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive datetime is refused (we never guess a time zone)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} given: pass a timezone-aware time")
    return value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class StrEnumType(TypeDecorator[E], Generic[E]):
    """A ``StrEnum`` kept as its string value."""

    impl = String(32)
    cache_ok = True

    def __init__(self, enum: type[E]) -> None:
        super().__init__(length=32)
        self.enum = enum

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)


class PydanticJSON(TypeDecorator[M], Generic[M]):
    """A pydantic model kept as a JSON document."""

    impl = JSON
    cache_ok = True

    def __init__(self, model: type[M]) -> None:
        super().__init__()
        self.model = model

    def process_bind_param(self, value: M | dict[str, Any] | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return self.model.model_validate(value).model_dump(mode="json")

    def process_result_value(self, value: Any, dialect: Dialect) -> M | None:
        return None if value is None else self.model.model_validate(value)
