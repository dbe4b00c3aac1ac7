"""Checks of query parameters that the type alone does not make (shared by the services)."""

from __future__ import annotations

from datetime import UTC, datetime

from api.errors import Unprocessable

__all__ = ["utc_param"]


def utc_param(name: str, value: datetime | None) -> datetime | None:
    """``value`` in UTC; a time without a zone, or one that falls outside the calendar once
    moved to UTC, is refused naming the parameter."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise Unprocessable(f"{name} needs a time zone, e.g. 2025-03-01T00:00:00+07:00",
                            field=name)
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise Unprocessable(f"{name} is outside the calendar once converted to UTC",
                            field=name) from exc
