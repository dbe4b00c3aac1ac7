"""Request and response bodies that are not table variants (those live beside their tables
in :mod:`callbot.store.models` and :mod:`callbot.store.models_api`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Token", "Page", "Message"]

T = TypeVar("T")


class Token(BaseModel):
    """An access token (RFC 6750 bearer token)."""

    access_token: str
    token_type: str = "bearer"
    expires_at: datetime

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...", "token_type": "bearer",
        "expires_at": "2025-03-03T10:00:00Z"}]})


class Page(BaseModel, Generic[T]):
    """One page of a list: ``items`` from ``offset``, and how many match in all."""

    items: list[T]
    total: int = Field(ge=0)
    offset: int = Field(ge=0)
    limit: int = Field(ge=1)


class Message(BaseModel):
    message: str
    detail: dict[str, Any] | None = None
