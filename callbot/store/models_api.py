"""Tables of the HTTP API: users, the audit log, notes, a campaign's list rules, webhooks.

Written next to the store's tables (:mod:`callbot.store.models`, same metadata, migrated by
``0002_api``). Campaign ownership is the existing ``campaign.owner_id`` (a :class:`User` id)
and agent assignment is ``campaign_customer.assigned_agent_id``; neither has a foreign key,
so deleting a user never cascades into campaign data (users are deactivated, not deleted).

Base/Create/Update/Public variants follow the usual SQLModel split: ``*Base`` holds what a
client may send and see, the table adds ids and server-side columns, ``*Public`` is what the
API returns (never a password hash or a webhook secret).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar, Final

from pydantic import field_validator
from sqlalchemy import JSON, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

import callbot.store.models  # noqa: F401  (the tables referred to by foreign keys)
from callbot.store.types import StrEnumType, UTCDateTime

__all__ = [
    "UserRole", "UserBase", "User", "UserCreate", "UserUpdate", "UserPublic",
    "AuditLog", "AuditLogPublic",
    "Note", "NoteCreate", "NotePublic",
    "ListSettings", "ListSettingsBase",
    "WebhookEvent", "WebhookBase", "Webhook", "WebhookCreate", "WebhookUpdate", "WebhookPublic",
    "WebhookDelivery", "USERNAME_PATTERN", "LIST_FIELDS",
]

USERNAME_PATTERN: Final = r"^[A-Za-z0-9._@-]{3,64}$"
"""User names: 3 to 64 letters, digits and ``. _ @ -``."""

LIST_FIELDS: Final = ("name", "phone", "email", "code")
"""Customer fields that list rules (required / unique) may name, besides ``extra`` columns."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


class UserRole(StrEnum):
    """What a user may do.

    - manager: everything in the campaigns they own (``campaign.owner_id``), and users;
    - supervisor: read campaigns, customers, calls and reports; export;
    - agent: only the campaign customers assigned to them.
    """

    MANAGER = "manager"
    SUPERVISOR = "supervisor"
    AGENT = "agent"


# --- users ------------------------------------------------------------------------------


class UserBase(SQLModel):
    username: str = Field(min_length=3, max_length=64,
                          schema_extra={"pattern": USERNAME_PATTERN})
    full_name: str = Field(default="", max_length=200)
    role: UserRole = Field(sa_type=StrEnumType(UserRole))
    active: bool = True


class User(UserBase, table=True):
    """A person who signs in to the API."""

    __table_args__ = (UniqueConstraint("username"),)

    id: int | None = Field(default=None, primary_key=True)
    password_hash: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=_utcnow, sa_type=UTCDateTime)


class UserCreate(UserBase):
    password: str = Field(min_length=8, max_length=128)

    model_config = {"json_schema_extra": {"examples": [{
        "username": "lan.nguyen", "full_name": "Nguyễn Thị Lan", "role": "agent",
        "password": "correct horse battery staple"}]}}


def _not_null(value: Any) -> Any:
    """Fields of an update left out keep their value; sent as null they are refused."""
    if value is None:
        raise ValueError("may be left out but not null")
    return value


class UserUpdate(SQLModel):
    """Changes to an account; fields left out keep their value."""

    full_name: str | None = Field(default=None, max_length=200)
    role: UserRole | None = None
    active: bool | None = None
    password: str | None = Field(default=None, min_length=8, max_length=128)

    model_config = {"json_schema_extra": {"examples": [{"active": False}]}}

    _present = field_validator("full_name", "role", "active", "password")(_not_null)


class UserPublic(UserBase):
    id: int
    created_at: datetime


# --- audit ------------------------------------------------------------------------------


class AuditLog(SQLModel, table=True):
    """One change made through the API: who, what, when, the entity before and after.

    Written in the same transaction as the change it describes. ``before`` is None for a
    creation, ``after`` None for a deletion.
    """

    __tablename__: ClassVar[str] = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_entity", "entity", "entity_id", "at"),
        Index("ix_audit_log_at", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime)
    user_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    action: str = Field(max_length=64)
    entity: str = Field(max_length=64)
    entity_id: str = Field(max_length=64)
    before: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSON)


class AuditLogPublic(SQLModel):
    id: int
    at: datetime
    user_id: int | None
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


# --- notes ------------------------------------------------------------------------------


class Note(SQLModel, table=True):
    """A note written by a user on a campaign customer."""

    __table_args__ = (Index("ix_note_customer", "campaign_customer_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_customer_id: int = Field(foreign_key="campaign_customer.id", ondelete="CASCADE")
    user_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    at: datetime = Field(sa_type=UTCDateTime)
    text: str = Field(min_length=1, max_length=10_000)


class NoteCreate(SQLModel):
    text: str = Field(min_length=1, max_length=10_000)

    model_config = {"json_schema_extra": {"examples": [
        {"text": "Customer asks to be called back after 18:00."}]}}

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a note needs some text")
        return value


class NotePublic(SQLModel):
    id: int
    campaign_customer_id: int
    user_id: int | None
    at: datetime
    text: str


# --- a campaign's list rules ------------------------------------------------------------


class ListSettingsBase(SQLModel):
    """How a campaign's customer lists are checked on import."""

    required_fields: list[str] = Field(default_factory=lambda: ["phone"], sa_type=JSON,
                                       description="fields every row must fill")
    unique_fields: list[str] = Field(default_factory=list, sa_type=JSON,
                                     description="fields checked for duplicates besides phone")
    region: str = Field(default="VN", min_length=2, max_length=2,
                        description="ISO 3166 region for numbers written without +")

    model_config = {"json_schema_extra": {"examples": [{
        "required_fields": ["phone", "name"], "unique_fields": ["email", "code"],
        "region": "VN"}]}}

    @field_validator("required_fields", "unique_fields")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        cleaned = []
        for name in value:
            name = name.strip()
            if not name or len(name) > 100:
                raise ValueError("field names are 1 to 100 characters")
            if name not in cleaned:
                cleaned.append(name)
        return cleaned

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not value.isalpha():
            raise ValueError(f"{value!r} is not a two-letter region code such as VN")
        return value.upper()


class ListSettings(ListSettingsBase, table=True):
    """One row per campaign that changed the defaults."""

    __tablename__: ClassVar[str] = "campaign_list_settings"

    campaign_id: int = Field(foreign_key="campaign.id", primary_key=True, ondelete="CASCADE")


# --- webhooks ---------------------------------------------------------------------------


class WebhookEvent(StrEnum):
    """What a webhook can be told of."""

    STATUS_CHANGED = "status.changed"
    CALL_FINISHED = "call.finished"


def _http_url(value: str | None) -> str | None:
    if value is not None and not value.startswith(("http://", "https://")):
        raise ValueError("the URL must start with http:// or https://")
    return value


class WebhookBase(SQLModel):
    url: str = Field(min_length=8, max_length=2000, description="http(s) URL to POST to")
    events: list[WebhookEvent] = Field(
        default_factory=lambda: [WebhookEvent.STATUS_CHANGED, WebhookEvent.CALL_FINISHED],
        sa_type=JSON)
    active: bool = True

    _http = field_validator("url")(_http_url)


class Webhook(WebhookBase, table=True):
    """A URL a campaign tells of its events, signed with ``secret`` (HMAC-SHA256)."""

    __table_args__ = (Index("ix_webhook_campaign", "campaign_id"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE")
    secret: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=_utcnow, sa_type=UTCDateTime)


class WebhookCreate(WebhookBase):
    secret: str | None = Field(default=None, min_length=16, max_length=255,
                               description="generated when omitted")

    model_config = {"json_schema_extra": {"examples": [{
        "url": "https://crm.example.com/hooks/callbot", "events": ["status.changed"]}]}}


class WebhookUpdate(SQLModel):
    """Changes to a webhook; fields left out keep their value."""

    url: str | None = Field(default=None, min_length=8, max_length=2000)
    events: list[WebhookEvent] | None = None
    active: bool | None = None

    _present = field_validator("url", "events", "active")(_not_null)
    _http = field_validator("url")(_http_url)

    model_config = {"json_schema_extra": {"examples": [{"active": False}]}}


class WebhookPublic(WebhookBase):
    id: int
    campaign_id: int
    created_at: datetime


class WebhookDelivery(SQLModel, table=True):
    """One event to deliver to one webhook (an outbox row): retried with backoff until
    ``delivered_at`` is set or the attempts run out."""

    __tablename__: ClassVar[str] = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_due", "delivered_at", "next_attempt_at"),
        Index("ix_webhook_delivery_webhook", "webhook_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    webhook_id: int = Field(foreign_key="webhook.id", ondelete="CASCADE")
    event: str = Field(max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(default_factory=_utcnow, sa_type=UTCDateTime)
