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


# --- campaigns --------------------------------------------------------------------------

from pydantic import field_validator  # noqa: E402
from pydantic.json_schema import SkipJsonSchema  # noqa: E402
from sqlmodel import SQLModel  # noqa: E402

from callbot.store.models import CampaignBase  # noqa: E402
from callbot.store.retry import RetryRules  # noqa: E402

CAMPAIGN_EXAMPLE: dict[str, Any] = {
    "name": "Hội thảo tháng 3 - xác nhận tham gia", "script_id": 1, "trunk_id": 1,
    "caller_id": "+842873001234", "max_concurrent": 20, "cps": 3, "hours_start": "08:30",
    "hours_end": "20:00", "calling_days": [1, 2, 3, 4, 5, 6], "timezone": "Asia/Ho_Chi_Minh",
    "max_attempts": 3, "retry_rules": {"busy": {"max": 3, "after_s": 600},
                                       "no_answer": {"max": 2, "after_s": 1800}},
    "ring_timeout_s": 30, "max_duration_s": 600,
}


class CampaignIn(CampaignBase):
    """A new campaign's settings; it belongs to the manager who creates it."""

    owner_id: SkipJsonSchema[int | None] = Field(default=None, exclude=True)

    model_config = ConfigDict(json_schema_extra={"examples": [CAMPAIGN_EXAMPLE]})

    @field_validator("owner_id", mode="before")
    @classmethod
    def _owner_is_set_by_the_server(cls, _: object) -> None:
        return None


class CampaignUpdate(SQLModel):
    """Settings to change; fields left out keep their value."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    script_id: int | None = None
    trunk_id: int | None = None
    caller_id: str | None = Field(default=None, max_length=64)
    max_concurrent: int | None = Field(default=None, ge=1, le=10_000)
    cps: float | None = Field(default=None, gt=0, le=1000)
    hours_start: str | None = Field(default=None, max_length=5)
    hours_end: str | None = Field(default=None, max_length=5)
    calling_days: list[int] | None = None
    timezone: str | None = Field(default=None, max_length=64)
    max_attempts: int | None = Field(default=None, ge=1, le=100)
    retry_rules: RetryRules | None = None
    ring_timeout_s: int | None = Field(default=None, ge=5, le=300)
    max_duration_s: int | None = Field(default=None, ge=10, le=86_400)

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"max_concurrent": 30, "cps": 5, "hours_start": "09:00", "hours_end": "19:30"}]})


# --- scripts ----------------------------------------------------------------------------

from callbot.store.models import ScriptFormat  # noqa: E402


class ProblemOut(BaseModel):
    """One validation problem of a script: where (block, field, line) and what to change."""

    block_id: str | None
    field: str | None
    line: int | None
    code: str
    message: str


class ValidationOut(BaseModel):
    """What the validator says of a script text."""

    ok: bool
    name: str | None
    version: str | None = Field(description="content hash; only for a script without problems")
    problems: list[ProblemOut]

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "ok": False, "name": "xac_nhan", "version": None, "problems": [{
            "block_id": "hoi", "field": "keys.1", "line": 12, "code": "unknown_block",
            "message": "goes to 'ket_thuc', which is not a block: did you mean 'ketthuc'?"}]}]})


class ScriptVersionOut(BaseModel):
    id: int
    script_id: int
    name: str
    version: str
    format: ScriptFormat
    created_at: datetime


class ScriptVersionSource(ScriptVersionOut):
    source: str


class ScriptOut(BaseModel):
    id: int
    name: str
    created_at: datetime
    versions: int
    latest_version_id: int | None
