"""Routes of the exports resource, mounted under ``/api/v1`` by :func:`api.app.create_app`.

``GET /campaigns/{campaign_id}/export?format=xlsx|csv|pdf|html[&status=...][&from=...]
[&to=...]``: the campaign's customers, all or filtered by status and by the days on which
they reached it (:mod:`api.services.exports`). Readable by the campaign's manager and by
supervisors. The body streams; ``Content-Disposition`` names the file.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import Engine

from api.deps import NowDep, ReadableCampaign, SessionDep
from api.errors import ApiError, Unprocessable
from api.exports import ExportTooLarge, FontNotFound
from api.services.exports import (
    MEDIA_TYPES,
    ExportFilter,
    ExportFormat,
    export_context,
    filename,
    iter_rows,
    read_chunks,
    stream_document,
    write_document,
)
from scripts_dsl.status import CustomerStatus

router = APIRouter(tags=["exports"])


class ExportUnavailable(ApiError):
    """The server cannot produce this format (a missing system package)."""

    status, code = 503, "export_unavailable"


def _status(text: str | None) -> CustomerStatus | None:
    if text is None or not text.strip():
        return None
    try:
        return CustomerStatus.parse(text)
    except ValueError as exc:
        raise Unprocessable(str(exc), field="status") from exc


@router.get(
    "/campaigns/{campaign_id}/export", response_class=StreamingResponse,
    summary="Export a campaign's customers",
    responses={200: {"content": {m: {} for m in MEDIA_TYPES.values()},
                     "description": "the document, as an attachment"},
               503: {"description": "the server lacks what this format needs (PDF font)"}})
def export_customers(
    request: Request,
    campaign: ReadableCampaign,
    session: SessionDep,
    now: NowDep,
    fmt: Annotated[ExportFormat, Query(alias="format", description="document format")] =
        ExportFormat.XLSX,
    status: Annotated[str | None, Query(
        max_length=40, description="only customers in this status (English or Vietnamese "
        "name, e.g. Confirmed or Xác nhận)", examples=["Confirmed"])] = None,
    date_from: Annotated[date | None, Query(
        alias="from", description="first day (campaign time zone) on which customers "
        "reached their status", examples=["2025-03-01"])] = None,
    date_to: Annotated[date | None, Query(
        alias="to", description="last day, included", examples=["2025-03-31"])] = None,
) -> StreamingResponse:
    """Customers with code, name, phone, email, status, when they reached it, calls made,
    last call outcome; XLSX and CSV neutralize cells a spreadsheet would run as formulas;
    PDF and HTML open with customers per status and the cumulative totals."""
    if date_from is not None and date_to is not None and date_from > date_to:
        raise Unprocessable(f"from ({date_from}) is after to ({date_to})", field="from")
    assert campaign.id is not None
    flt = ExportFilter(status=_status(status), date_from=date_from, date_to=date_to)
    context = export_context(session, campaign, flt, now=now)
    session.close()
    engine: Engine = request.app.state.engine
    rows = iter_rows(engine, campaign.id, flt, ZoneInfo(campaign.timezone))
    headers = {"Content-Disposition":
               f'attachment; filename="{filename(campaign.id, fmt, flt)}"'}
    media = MEDIA_TYPES[fmt]
    if fmt in (ExportFormat.CSV, ExportFormat.HTML):
        return StreamingResponse(stream_document(fmt, rows, context), media_type=media,
                                 headers=headers)
    try:
        document = write_document(fmt, rows, context)
    except ExportTooLarge as exc:
        raise Unprocessable(str(exc), field="format", code="export_too_large") from exc
    except FontNotFound as exc:
        raise ExportUnavailable(str(exc), field="format") from exc
    return StreamingResponse(read_chunks(document), media_type=media, headers=headers)
