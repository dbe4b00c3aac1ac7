"""The store's tables (SQLModel) and the few API-facing variants of them.

One row per thing a campaign manager talks about: trunks, scripts and their versions,
campaigns, customers, a campaign's customers with their status, call attempts (one per
call, recorded before the INVITE leaves), the events of a call, status changes (the audit
trail) and Do-Not-Contact entries; plus :class:`CallStat`, the per-hour attempt counts that
keep reports fast. Create/Public variants exist where the HTTP API reads or
writes the table directly (trunks, campaigns, customers); the rest is written through
:mod:`callbot.store.repo`.

Times are timezone-aware UTC (:class:`~callbot.store.types.UTCDateTime`); enums are stored
as their string values; phone numbers are E.164 (``+84912345678``), normalized by whoever
imports them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator
from sqlalchemy import JSON, BigInteger, Index, PrimaryKeyConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from callbot.store.retry import DoneReason, RetryRules
from callbot.store.types import PydanticJSON, StrEnumType, UTCDateTime
from dialer.outcome import CallOutcome, EndReason, HangupBy
from scripts_dsl.status import CustomerStatus

__all__ = [
    "CampaignState", "AttemptState", "StatusSource", "ScriptFormat",
    "TrunkBase", "Trunk", "TrunkCreate", "TrunkPublic",
    "Script", "ScriptVersion",
    "CampaignBase", "Campaign", "CampaignCreate", "CampaignPublic",
    "CustomerBase", "Customer", "CustomerCreate",
    "CampaignCustomer", "CallAttempt", "CallEvent", "CallStat", "StatusChange", "DoNotContact",
    "E164", "metadata",
]

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: Final = SQLModel.metadata
"""The metadata Alembic migrates (shared with any other SQLModel tables of the project)."""

E164: Final = re.compile(r"^\+[1-9][0-9]{6,14}$")
"""An E.164 number as stored: ``+``, country code, subscriber number; 8 to 15 digits."""

_HHMM: Final = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _check_zone(name: str | None) -> str | None:
    if name is None:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}: use an IANA name such as "
                         "'Asia/Ho_Chi_Minh'") from exc
    return name


def _check_phone(phone: str) -> str:
    if not E164.match(phone):
        raise ValueError(f"phone {phone!r} is not in E.164 form (+ country code and number, "
                         "e.g. +84912345678)")
    return phone


class CampaignState(StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    STOPPED = "stopped"


class AttemptState(StrEnum):
    """Life of one call attempt: pending (claimed, no INVITE yet) -> dialing -> finished,
    or abandoned when its worker's lease expired before it finished."""

    PENDING = "pending"
    DIALING = "dialing"
    FINISHED = "finished"
    ABANDONED = "abandoned"


class StatusSource(StrEnum):
    """Who or what changed a customer's status."""

    KEYPRESS = "keypress"
    SPEECH = "speech"
    AGENT = "agent"
    MANAGER = "manager"
    IMPORT = "import"
    SCRIPT = "script"


class ScriptFormat(StrEnum):
    YAML = "yaml"
    JSON = "json"


# --- trunks -----------------------------------------------------------------------------


class TrunkBase(SQLModel):
    name: str = Field(min_length=1, max_length=100)
    host: str = Field(min_length=1, max_length=255)
    port: int = Field(default=5060, ge=1, le=65535)
    username: str | None = Field(default=None, max_length=255)
    registration: bool = Field(default=False, description="send REGISTER (RFC 3261 section 10)")
    caller_id: str | None = Field(default=None, max_length=64)
    max_concurrent: int = Field(default=30, ge=1, le=10_000)
    cps: float = Field(default=5.0, gt=0, le=1000)


class Trunk(TrunkBase, table=True):
    """A SIP trunk/carrier account (RFC 3261 section 22 digest credentials)."""

    __table_args__ = (UniqueConstraint("name"),)

    id: int | None = Field(default=None, primary_key=True)
    password: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=_utcnow, sa_type=UTCDateTime)


class TrunkCreate(TrunkBase):
    password: str | None = Field(default=None, max_length=255)


class TrunkPublic(TrunkBase):
    """A trunk as the API shows it: never the password."""

    id: int


# --- scripts ----------------------------------------------------------------------------


class Script(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(min_length=1, max_length=200)
    created_at: datetime = Field(default_factory=_utcnow, sa_type=UTCDateTime)


class ScriptVersion(SQLModel, table=True):
    """One immutable text of a script; ``version`` is the validator's content hash
    (:func:`scripts_dsl.validator.version_id`)."""

    __tablename__: ClassVar[str] = "script_version"
    __table_args__ = (UniqueConstraint("script_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    script_id: int = Field(foreign_key="script.id", ondelete="CASCADE")
    version: str = Field(min_length=1, max_length=64)
    source: str
    format: ScriptFormat = Field(sa_type=StrEnumType(ScriptFormat))
    created_at: datetime = Field(default_factory=_utcnow, sa_type=UTCDateTime)


# --- campaigns --------------------------------------------------------------------------


class CampaignBase(SQLModel):
    """A campaign's settings, as a manager writes them."""

    name: str = Field(min_length=1, max_length=200)
    script_id: int | None = Field(default=None, foreign_key="script.id")
    trunk_id: int | None = Field(default=None, foreign_key="trunk.id")
    caller_id: str | None = Field(default=None, max_length=64)
    max_concurrent: int = Field(default=10, ge=1, le=10_000)
    cps: float = Field(default=2.0, gt=0, le=1000)
    hours_start: str = Field(default="08:00", max_length=5, description="HH:MM, local time")
    hours_end: str = Field(default="20:00", max_length=5, description="HH:MM, local time")
    calling_days: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5, 6], sa_type=JSON,
                                    description="ISO weekdays, 1 = Monday ... 7 = Sunday")
    timezone: str = Field(default="Asia/Ho_Chi_Minh", max_length=64,
                          description="for customers whose own time zone is unknown")
    max_attempts: int = Field(default=3, ge=1, le=100)
    retry_rules: RetryRules = Field(default_factory=RetryRules,
                                    sa_type=PydanticJSON(RetryRules))
    ring_timeout_s: int = Field(default=30, ge=5, le=300)
    max_duration_s: int = Field(default=600, ge=10, le=86_400)
    owner_id: int | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return _check_zone(value) or value

    @field_validator("hours_start", "hours_end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError(f"{value!r} is not a time of day: write HH:MM, e.g. 08:30")
        return value

    @field_validator("calling_days")
    @classmethod
    def _days(cls, value: list[int]) -> list[int]:
        if not value or any(day not in range(1, 8) for day in value):
            raise ValueError("calling_days lists ISO weekdays 1 (Monday) to 7 (Sunday), "
                             "at least one")
        return sorted(set(value))


class Campaign(CampaignBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    state: CampaignState = Field(default=CampaignState.DRAFT, sa_type=StrEnumType(CampaignState))
    script_version_id: int | None = Field(default=None, foreign_key="script_version.id")
    created_at: datetime = Field(default_factory=_utcnow, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CampaignCreate(CampaignBase):
    pass


class CampaignPublic(CampaignBase):
    id: int
    state: CampaignState
    script_version_id: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


# --- customers --------------------------------------------------------------------------


class CustomerBase(SQLModel):
    name: str = Field(default="", max_length=200)
    phone: str = Field(max_length=16, description="E.164, e.g. +84912345678")
    email: str | None = Field(default=None, max_length=255)
    code: str | None = Field(default=None, max_length=100)
    extra: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    timezone: str | None = Field(default=None, max_length=64)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return _check_phone(value)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return _check_zone(value)


class Customer(CustomerBase, table=True):
    __table_args__ = (Index(None, "phone"),)

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=_utcnow, sa_type=UTCDateTime)


class CustomerCreate(CustomerBase):
    pass


class CampaignCustomer(SQLModel, table=True):
    """A customer's place in one campaign: status, calling schedule and the worker's lease."""

    __tablename__: ClassVar[str] = "campaign_customer"
    __table_args__ = (
        UniqueConstraint("campaign_id", "customer_id"),
        Index("ix_campaign_customer_claim", "campaign_id", "done", "next_attempt_at", "id"),
        Index("ix_campaign_customer_status", "campaign_id", "status", "done", "attempts"),
        Index("ix_campaign_customer_lease", "campaign_id", "lease_expires_at"),
        Index(None, "customer_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE")
    customer_id: int = Field(foreign_key="customer.id", ondelete="CASCADE")
    status: CustomerStatus = Field(default=CustomerStatus.REGISTERED,
                                   sa_type=StrEnumType(CustomerStatus))
    status_changed_at: datetime = Field(default_factory=_utcnow, sa_type=UTCDateTime)
    attempts: int = 0
    last_outcome: CallOutcome | None = Field(default=None, sa_type=StrEnumType(CallOutcome))
    next_attempt_at: datetime | None = Field(
        default=None, sa_type=UTCDateTime,
        description="when the customer is due; None when no call is planned")
    done: bool = False
    done_reason: DoneReason | None = Field(default=None, sa_type=StrEnumType(DoneReason))
    lease_owner: str | None = Field(default=None, max_length=100)
    lease_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    assigned_agent_id: int | None = None
    created_at: datetime = Field(default_factory=_utcnow, sa_type=UTCDateTime)


# --- calls ------------------------------------------------------------------------------


class CallAttempt(SQLModel, table=True):
    """One call to one campaign customer; created (pending) before the INVITE is sent."""

    __tablename__: ClassVar[str] = "call_attempt"
    __table_args__ = (
        UniqueConstraint("campaign_customer_id", "attempt_no"),
        Index("ix_call_attempt_outcome", "campaign_id", "outcome"),
        Index("ix_call_attempt_campaign_created", "campaign_id", "created_at"),
        Index("ix_call_attempt_campaign_ended", "campaign_id", "ended_at"),
        Index(None, "ended_at"),
        Index(None, "call_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_customer_id: int = Field(foreign_key="campaign_customer.id", ondelete="CASCADE")
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE")
    attempt_no: int = Field(ge=1)
    worker_id: str = Field(max_length=100)
    state: AttemptState = Field(default=AttemptState.PENDING, sa_type=StrEnumType(AttemptState))
    created_at: datetime = Field(default_factory=_utcnow, sa_type=UTCDateTime)
    call_id: str | None = Field(default=None, max_length=255)
    outcome: CallOutcome | None = Field(default=None, sa_type=StrEnumType(CallOutcome))
    sip_status: int | None = None
    hangup_by: HangupBy | None = Field(default=None, sa_type=StrEnumType(HangupBy))
    ring_ms: int | None = None
    talk_ms: int | None = None
    reason: EndReason | None = Field(default=None, sa_type=StrEnumType(EndReason))
    message: str = ""
    digits: str = Field(default="", max_length=255)
    final_status: CustomerStatus | None = Field(default=None, sa_type=StrEnumType(CustomerStatus))
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CallEvent(SQLModel, table=True):
    """Something that happened during an attempt, ``t_ms`` after it started."""

    __tablename__: ClassVar[str] = "call_event"
    __table_args__ = (UniqueConstraint("attempt_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    attempt_id: int = Field(foreign_key="call_attempt.id", ondelete="CASCADE")
    seq: int
    t_ms: int
    kind: str = Field(max_length=64)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class CallStat(SQLModel, table=True):
    """Finished attempts of a campaign per UTC hour and outcome, kept up to date by
    :func:`~callbot.store.repo.finish_attempt` in the same transaction as the attempt.

    Reports read this small table instead of scanning every attempt;
    :func:`~callbot.store.repo.rebuild_stats` recomputes it from ``call_attempt``.
    """

    __tablename__: ClassVar[str] = "call_stat"
    __table_args__ = (PrimaryKeyConstraint("campaign_id", "hour", "outcome"),)

    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE")
    hour: datetime = Field(sa_type=UTCDateTime, description="start of the UTC hour")
    outcome: CallOutcome = Field(sa_type=StrEnumType(CallOutcome))
    attempts: int = 0
    talk_ms: int = Field(default=0, sa_type=BigInteger)


class StatusChange(SQLModel, table=True):
    """Audit of one status change: applied, or refused by the status rules (then ``message``
    says why and the customer's status did not move)."""

    __tablename__: ClassVar[str] = "status_change"
    __table_args__ = (Index("ix_status_change_customer", "campaign_customer_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_customer_id: int = Field(foreign_key="campaign_customer.id", ondelete="CASCADE")
    from_status: CustomerStatus = Field(sa_type=StrEnumType(CustomerStatus))
    to_status: CustomerStatus = Field(sa_type=StrEnumType(CustomerStatus))
    source: StatusSource = Field(sa_type=StrEnumType(StatusSource))
    actor: str | None = Field(default=None, max_length=255)
    at: datetime = Field(sa_type=UTCDateTime)
    attempt_id: int | None = Field(default=None, foreign_key="call_attempt.id",
                                   ondelete="SET NULL")
    applied: bool = True
    message: str = ""


class DoNotContact(SQLModel, table=True):
    """A phone number the dialer must never call."""

    __tablename__: ClassVar[str] = "do_not_contact"
    __table_args__ = (UniqueConstraint("phone"),)

    id: int | None = Field(default=None, primary_key=True)
    phone: str = Field(max_length=16)
    reason: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=_utcnow, sa_type=UTCDateTime)
    created_by: str | None = Field(default=None, max_length=255)
