"""Request and response bodies that are not table variants (those live beside their tables
in :mod:`callbot.store.models` and :mod:`callbot.store.models_api`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema
from sqlmodel import SQLModel

from callbot.store.models import AttemptState, CampaignBase, ScriptFormat, StatusSource, TrunkCreate
from callbot.store.retry import DoneReason, RetryRules
from dialer.outcome import CallOutcome, EndReason, HangupBy
from scripts_dsl.status import CustomerStatus

__all__ = [
    "MAX_ID", "RowId", "CAMPAIGN_EXAMPLE", "Token", "Page", "TrunkIn", "CampaignIn",
    "CampaignUpdate", "ProblemOut", "ValidationOut", "ScriptVersionOut", "ScriptVersionSource",
    "ScriptOut", "SkippedRowOut", "ImportResult", "CampaignCustomerOut", "StatusChangeIn",
    "StatusChangeOut", "DoNotContactIn", "DoNotContactOut", "AssignIn", "AssignOut",
    "CallEventOut", "CallAttemptOut", "CallAttemptDetail", "NoteOut", "CustomerHistory",
]

T = TypeVar("T")

MAX_ID = 2**31 - 1
"""Largest row id (a 32-bit INTEGER on PostgreSQL); larger ids are refused as invalid."""

RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
"""A row id in a request body: what the database can hold."""


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


# --- campaigns --------------------------------------------------------------------------


CAMPAIGN_EXAMPLE: dict[str, Any] = {
    "name": "Hội thảo tháng 3 - xác nhận tham gia", "script_id": 1, "trunk_id": 1,
    "caller_id": "+842873001234", "max_concurrent": 20, "cps": 3, "hours_start": "08:30",
    "hours_end": "20:00", "calling_days": [1, 2, 3, 4, 5, 6], "timezone": "Asia/Ho_Chi_Minh",
    "max_attempts": 3, "retry_rules": {"busy": {"max": 3, "after_s": 600},
                                       "no_answer": {"max": 2, "after_s": 1800}},
    "ring_timeout_s": 30, "max_duration_s": 600,
}


class TrunkIn(TrunkCreate):
    """A SIP trunk to add (RFC 3261 section 22 digest credentials)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "name": "viettel-hcm", "host": "sip.carrier.example", "port": 5060,
        "username": "84287300", "password": "s3cret", "registration": True,
        "caller_id": "+842873001234", "max_concurrent": 60, "cps": 10}]})


class CampaignIn(CampaignBase):
    """A new campaign's settings; it belongs to the manager who creates it."""

    script_id: RowId | None = None
    trunk_id: RowId | None = None
    owner_id: SkipJsonSchema[int | None] = Field(default=None, exclude=True)

    model_config = ConfigDict(json_schema_extra={"examples": [CAMPAIGN_EXAMPLE]})

    @field_validator("owner_id", mode="before")
    @classmethod
    def _owner_is_set_by_the_server(cls, _: object) -> None:
        return None


class CampaignUpdate(SQLModel):
    """Settings to change; fields left out keep their value."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    script_id: RowId | None = None
    trunk_id: RowId | None = None
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


# --- customer lists ---------------------------------------------------------------------


class SkippedRowOut(BaseModel):
    row: int
    column: str
    reason: str


class ImportResult(BaseModel):
    """What an import did: every non-empty row is either imported or skipped with a reason."""

    campaign_id: int
    file: str
    rows_read: int
    imported: int
    skipped: int
    empty_rows: int
    encoding: str | None
    columns: dict[str, str | None] = Field(description="column header -> field it filled")
    warnings: list[str]
    skipped_rows: list[SkippedRowOut] = Field(description="the first 1000 skipped rows")
    skipped_rows_truncated: bool = False

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "campaign_id": 3, "file": "khach_hang.xlsx", "rows_read": 4, "imported": 2,
        "skipped": 2, "empty_rows": 1, "encoding": None,
        "columns": {"Họ tên": "name", "SĐT": "phone"}, "warnings": [],
        "skipped_rows": [
            {"row": 3, "column": "SĐT", "reason": "'0912' is not a valid phone number "
                                                 "(too short)"},
            {"row": 5, "column": "SĐT", "reason": "phone 0912345678 already belongs to "
                                                 "customer Nguyễn Văn A (id 7, row 17)"}],
        "skipped_rows_truncated": False}]})


# --- campaign customers and calls -------------------------------------------------------


class CampaignCustomerOut(BaseModel):
    """A customer as one campaign sees them."""

    id: int = Field(description="the campaign customer id")
    campaign_id: int
    customer_id: int
    name: str
    phone: str
    email: str | None
    code: str | None
    extra: dict[str, Any]
    timezone: str | None
    status: CustomerStatus
    status_changed_at: datetime
    attempts: int
    last_outcome: CallOutcome | None
    next_attempt_at: datetime | None
    done: bool
    done_reason: DoneReason | None
    assigned_agent_id: int | None
    do_not_contact: bool
    created_at: datetime


class StatusChangeIn(BaseModel):
    status: CustomerStatus

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "Confirmed"}]})


class StatusChangeOut(BaseModel):
    id: int
    campaign_customer_id: int
    from_status: CustomerStatus
    to_status: CustomerStatus
    source: StatusSource
    actor: str | None
    at: datetime
    attempt_id: int | None
    applied: bool
    message: str


class DoNotContactIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500)

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"reason": "Customer asked not to be called again (call of 2025-03-03)"}]})

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("give the reason the customer must not be called")
        return value.strip()


class DoNotContactOut(BaseModel):
    phone: str
    reason: str
    created_at: datetime
    created_by: str | None


class AssignIn(BaseModel):
    """Assign campaign customers to an agent (``agent_id`` null: unassign)."""

    agent_id: RowId | None
    customer_ids: list[RowId] = Field(min_length=1, max_length=10_000)

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"agent_id": 4, "customer_ids": [101, 102, 103]}]})


class AssignOut(BaseModel):
    agent_id: int | None
    assigned: int


class CallEventOut(BaseModel):
    seq: int
    t_ms: int
    kind: str
    data: dict[str, Any]


class CallAttemptOut(BaseModel):
    """One call attempt: outcome, timings and how it ended."""

    id: int
    campaign_id: int
    campaign_customer_id: int
    attempt_no: int
    state: AttemptState
    call_id: str | None
    outcome: CallOutcome | None
    sip_status: int | None
    hangup_by: HangupBy | None
    reason: EndReason | None
    message: str
    ring_ms: int | None
    talk_ms: int | None
    digits: str
    final_status: CustomerStatus | None
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None


class CallAttemptDetail(CallAttemptOut):
    events: list[CallEventOut]


class NoteOut(BaseModel):
    id: int
    campaign_customer_id: int
    user_id: int | None
    at: datetime
    text: str


class CustomerHistory(BaseModel):
    """Everything that happened to one campaign customer, oldest first."""

    customer: CampaignCustomerOut
    calls: list[CallAttemptDetail]
    status_changes: list[StatusChangeOut]
    notes: list[NoteOut]
    do_not_contact: DoNotContactOut | None
