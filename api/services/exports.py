"""Exports of a campaign's customers: which customers (:class:`ExportFilter`), read from the
store in pages (:func:`iter_rows`), written by :mod:`api.exports` in the chosen format.

A filter selects all customers, or those in one status, and/or those who reached their
status within a date range (``status_changed_at``, whole days in the campaign's time zone,
both ends included). Rows are read by keyset pages of :data:`PAGE_ROWS` (``id > last``), each
page in a short session of its own, so a streaming export of a million customers holds no
transaction open and no more than a page in memory.

CSV and HTML stream as they are produced (:func:`stream_document`); XLSX and PDF are written
off the event loop into a spooled temporary file (:func:`write_document`) that is then
streamed, so their errors (no font, too many rows) are reported before the first byte.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import IO, Any, Final
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session, col

from api.exports import (
    CSV_MEDIA_TYPE,
    HTML_MEDIA_TYPE,
    PDF_MEDIA_TYPE,
    XLSX_MEDIA_TYPE,
    ExportContext,
    ExportRow,
    iter_csv,
    iter_html,
    write_pdf,
    write_xlsx,
)
from callbot.store.models import Campaign, CampaignCustomer, Customer
from scripts_dsl.status import CustomerStatus

__all__ = [
    "ExportFormat", "ExportFilter", "MEDIA_TYPES", "PAGE_ROWS",
    "export_context", "iter_rows", "stream_document", "write_document", "read_chunks",
    "filename",
]

PAGE_ROWS: Final = 2000
_SPOOL_BYTES: Final = 8 * 1024 * 1024
_READ_CHUNK: Final = 256 * 1024


class ExportFormat(StrEnum):
    XLSX = "xlsx"
    CSV = "csv"
    PDF = "pdf"
    HTML = "html"


MEDIA_TYPES: Final = {
    ExportFormat.XLSX: XLSX_MEDIA_TYPE,
    ExportFormat.CSV: CSV_MEDIA_TYPE,
    ExportFormat.PDF: PDF_MEDIA_TYPE,
    ExportFormat.HTML: HTML_MEDIA_TYPE,
}


@dataclass(frozen=True)
class ExportFilter:
    """Which customers to export; ``date_from``/``date_to`` are whole days (inclusive) in
    the campaign's time zone, on the day each customer reached their current status."""

    status: CustomerStatus | None = None
    date_from: date | None = None
    date_to: date | None = None

    def describe(self) -> str:
        """The filter in words, as the documents print it."""
        parts = []
        if self.status is not None:
            parts.append(f"trạng thái {self.status.vietnamese}")
        if self.date_from is not None or self.date_to is not None:
            start = self.date_from.isoformat() if self.date_from else "…"
            end = self.date_to.isoformat() if self.date_to else "…"
            parts.append(f"đạt trạng thái từ {start} đến {end}")
        return ", ".join(parts) or "tất cả khách hàng"

    def bounds(self, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
        """[start, end) in UTC; None for an open end (also for days at the calendar's
        edges, which no stored time can lie beyond)."""
        return (_midnight(self.date_from, zone, 0), _midnight(self.date_to, zone, 1))

    def conditions(self, zone: ZoneInfo) -> list[Any]:
        cc = CampaignCustomer
        found: list[Any] = []
        if self.status is not None:
            found.append(col(cc.status) == self.status)
        start, end = self.bounds(zone)
        if start is not None:
            found.append(col(cc.status_changed_at) >= start)
        if end is not None:
            found.append(col(cc.status_changed_at) < end)
        return found


def _midnight(day: date | None, zone: ZoneInfo, plus_days: int) -> datetime | None:
    if day is None:
        return None
    try:
        return datetime.combine(day + timedelta(days=plus_days), time(0), zone).astimezone(UTC)
    except OverflowError:
        return None


def export_context(session: Session, campaign: Campaign, flt: ExportFilter, *,
                   now: datetime) -> ExportContext:
    """Title, time zone, filter and customers per status of the export (one GROUP BY)."""
    assert campaign.id is not None
    zone = ZoneInfo(campaign.timezone)
    cc = CampaignCustomer
    counts = {CustomerStatus(status): int(n) for status, n in session.execute(
        sa.select(col(cc.status), sa.func.count())
        .where(col(cc.campaign_id) == campaign.id, *flt.conditions(zone))
        .group_by(col(cc.status)))}
    return ExportContext(campaign_id=campaign.id, campaign_name=campaign.name, timezone=zone,
                         generated_at=now, filter_text=flt.describe(),
                         by_status={s: counts.get(s, 0) for s in CustomerStatus})


def iter_rows(engine: Engine, campaign_id: int, flt: ExportFilter, zone: ZoneInfo, *,
              page: int = PAGE_ROWS) -> Iterator[ExportRow]:
    """The selected customers in id order, read page by page."""
    cc, cu = CampaignCustomer, Customer
    conditions = flt.conditions(zone)
    last = 0
    while True:
        with Session(engine) as session:
            rows = session.execute(
                sa.select(col(cc.id), col(cu.name), col(cu.phone), col(cu.email),
                          col(cu.code), col(cc.status), col(cc.status_changed_at),
                          col(cc.attempts), col(cc.last_outcome), col(cc.done),
                          col(cc.done_reason))
                .join(cu, col(cu.id) == col(cc.customer_id))
                .where(col(cc.campaign_id) == campaign_id, col(cc.id) > last, *conditions)
                .order_by(col(cc.id)).limit(page)).all()
        for r in rows:
            yield ExportRow(id=r[0], name=r[1], phone=r[2], email=r[3], code=r[4],
                            status=r[5], status_changed_at=r[6], attempts=r[7],
                            last_outcome=r[8], done=bool(r[9]), done_reason=r[10])
        if len(rows) < page:
            return
        last = rows[-1][0]


def stream_document(fmt: ExportFormat, rows: Iterator[ExportRow],
                    context: ExportContext) -> Iterator[bytes]:
    """A CSV or HTML document as chunks of bytes."""
    if fmt is ExportFormat.CSV:
        return iter_csv(rows, context)
    if fmt is ExportFormat.HTML:
        return iter_html(rows, context)
    raise ValueError(f"{fmt.value} is written to a file: use write_document")


def write_document(fmt: ExportFormat, rows: Iterator[ExportRow],
                   context: ExportContext) -> IO[bytes]:
    """An XLSX or PDF document in a spooled temporary file, rewound (the caller closes it).
    Raises :class:`~api.exports.ExportTooLarge` and :class:`~api.exports.FontNotFound`."""
    out = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 - returned
    try:
        if fmt is ExportFormat.XLSX:
            write_xlsx(rows, context, out)
        elif fmt is ExportFormat.PDF:
            write_pdf(rows, context, out)
        else:
            raise ValueError(f"{fmt.value} is streamed: use stream_document")
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out


def read_chunks(file: IO[bytes]) -> Iterator[bytes]:
    """The file's bytes in chunks; the file is closed at the end (or when abandoned)."""
    try:
        while chunk := file.read(_READ_CHUNK):
            yield chunk
    finally:
        file.close()


def filename(campaign_id: int, fmt: ExportFormat, flt: ExportFilter) -> str:
    """An ASCII file name: ``campaign-7-customers-confirmed-2025-01-01-2025-01-31.xlsx``."""
    parts = [f"campaign-{campaign_id}-customers"]
    if flt.status is not None:
        parts.append(flt.status.value.lower())
    if flt.date_from is not None or flt.date_to is not None:
        parts.append(flt.date_from.isoformat() if flt.date_from else "start")
        parts.append(flt.date_to.isoformat() if flt.date_to else "now")
    return "-".join(parts) + "." + fmt.value
