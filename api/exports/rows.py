"""What one exported customer looks like, and how each format writes its cells.

:class:`ExportRow` is one campaign customer as read from the store; :data:`COLUMNS` is the
one list of exported columns, in order, with their Vietnamese headers (the standard fields
carry the import template's headers, so an export can be imported again). :class:`ExportContext`
is what a document says about itself: campaign, time zone, filter and the count of
customers per status used by the summary and the chart.

Text cells pass through :func:`spreadsheet_text`: a cell a spreadsheet would run as a formula
is neutralized (:func:`callbot.imports.neutralize_formula`) and characters XML cannot hold are
dropped. Times are shown in the campaign's time zone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from callbot.imports.formulas import neutralize_formula
from callbot.imports.mapping import FIELD_LABELS
from callbot.store.retry import DoneReason
from dialer.outcome import CallOutcome
from scripts_dsl.status import CustomerStatus, cumulative_totals

__all__ = [
    "ExportRow", "ExportContext", "Column", "COLUMNS", "Cell",
    "display_phone", "local_time", "spreadsheet_text", "OUTCOME_LABELS", "DONE_LABELS",
]

Cell = str | int | datetime | None
"""A cell value before a writer formats it."""

_XML_ILLEGAL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

OUTCOME_LABELS: Final[Mapping[CallOutcome, str]] = {
    CallOutcome.ANSWERED: "Nghe máy",
    CallOutcome.BUSY: "Máy bận",
    CallOutcome.NO_ANSWER: "Không nghe máy",
    CallOutcome.DECLINED: "Từ chối",
    CallOutcome.REJECTED: "Nhà mạng từ chối",
    CallOutcome.FAILED: "Lỗi mạng",
    CallOutcome.CANCELLED: "Đã hủy",
}
"""Vietnamese names of the call outcomes."""

DONE_LABELS: Final[Mapping[DoneReason, str]] = {
    DoneReason.ANSWERED: "Đã nghe máy",
    DoneReason.DECLINED: "Từ chối",
    DoneReason.REJECTED: "Không gọi được",
    DoneReason.RETRIES_EXHAUSTED: "Hết lượt gọi lại",
    DoneReason.MAX_ATTEMPTS: "Hết số lần gọi",
    DoneReason.DO_NOT_CONTACT: "Không liên hệ",
    DoneReason.CAMPAIGN_ENDED: "Chiến dịch kết thúc",
}
"""Vietnamese reasons why a customer will not be called again."""


@dataclass(frozen=True)
class ExportRow:
    """One campaign customer, as exported."""

    id: int
    name: str
    phone: str
    email: str | None
    code: str | None
    status: CustomerStatus
    status_changed_at: datetime
    attempts: int
    last_outcome: CallOutcome | None
    done: bool
    done_reason: DoneReason | None


@dataclass(frozen=True)
class ExportContext:
    """What an export document says about itself."""

    campaign_id: int
    campaign_name: str
    timezone: ZoneInfo
    generated_at: datetime
    filter_text: str
    by_status: Mapping[CustomerStatus, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        """How many customers the export holds."""
        return sum(self.by_status.values())

    @property
    def totals(self) -> Mapping[CustomerStatus, int]:
        """The manual's cumulative totals of the exported customers."""
        return cumulative_totals({s: self.by_status.get(s, 0) for s in CustomerStatus})


def display_phone(e164: str) -> str:
    """The number as a Vietnamese user writes it: ``+84912345678`` -> ``0912345678``
    (the national trunk prefix 0); numbers of other countries stay in E.164 form."""
    return "0" + e164[3:] if e164.startswith("+84") else e164


def local_time(moment: datetime, zone: ZoneInfo) -> datetime:
    """``moment`` in the campaign's time zone, without tzinfo (spreadsheets have none),
    to the second."""
    return moment.astimezone(zone).replace(tzinfo=None, microsecond=0)


def spreadsheet_text(value: str) -> str:
    """A text cell a spreadsheet shows as text: a would-be formula neutralized, control
    characters that XML 1.0 cannot hold removed."""
    return neutralize_formula(_XML_ILLEGAL.sub("", value))


@dataclass(frozen=True)
class Column:
    """One exported column: its header and how a row fills it."""

    key: str
    header: str
    value: Callable[[ExportRow, ZoneInfo], Cell]
    pdf_width: float
    """Width in millimetres on a landscape A4 page."""


COLUMNS: Final[tuple[Column, ...]] = (
    Column("id", "ID", lambda r, _: r.id, 14),
    Column("code", FIELD_LABELS["code"], lambda r, _: r.code, 22),
    Column("name", FIELD_LABELS["name"], lambda r, _: r.name, 52),
    Column("phone", FIELD_LABELS["phone"], lambda r, _: display_phone(r.phone), 27),
    Column("email", FIELD_LABELS["email"], lambda r, _: r.email, 48),
    Column("status", "Trạng thái", lambda r, _: r.status.vietnamese, 20),
    Column("status_changed_at", "Ngày đạt trạng thái",
           lambda r, zone: local_time(r.status_changed_at, zone), 32),
    Column("attempts", "Số lần gọi", lambda r, _: r.attempts, 16),
    Column("last_outcome", "Kết quả cuộc gọi cuối",
           lambda r, _: OUTCOME_LABELS[r.last_outcome] if r.last_outcome else None, 26),
    Column("done_reason", "Kết thúc",
           lambda r, _: DONE_LABELS[r.done_reason] if r.done and r.done_reason else None, 20),
)
"""The exported columns, in order (the same in every format)."""
