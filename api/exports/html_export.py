"""HTML export: one self-contained page (inline CSS and SVG, no scripts, no external
resources), produced chunk by chunk for a streaming response.

Every value is HTML-escaped (:func:`html.escape`, quotes included), so a customer called
``<script>...`` is shown, not run. The page opens with the campaign, the filter, a bar chart of
customers per status (:func:`~api.exports.chart.status_chart_svg`) and the manual's cumulative
totals, then the table of customers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from html import escape
from typing import Final

from api.exports.chart import status_chart_svg
from api.exports.rows import COLUMNS, Cell, ExportContext, ExportRow, local_time
from scripts_dsl.status import CustomerStatus

__all__ = ["iter_html", "HTML_MEDIA_TYPE"]

HTML_MEDIA_TYPE: Final = "text/html; charset=utf-8"
_CHUNK_ROWS: Final = 500
_STYLE: Final = (
    "body{font-family:'DejaVu Sans',Arial,sans-serif;font-size:13px;margin:1.5em;color:#222}"
    "table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:3px 6px;"
    "text-align:left;vertical-align:top}th{background:#f0f0f0;position:sticky;top:0}"
    "td.n{text-align:right}.meta td,.meta th{border:none;padding:1px 8px 1px 0}"
    "h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.5em}"
)


def _text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return escape(str(value))


def _head(context: ExportContext) -> str:
    title = escape(f"Khách hàng chiến dịch {context.campaign_name}")
    generated = local_time(context.generated_at, context.timezone).strftime("%Y-%m-%d %H:%M:%S")
    totals = context.totals
    summary = "".join(
        f"<tr><td>{escape(s.vietnamese)}</td><td class=n>{context.by_status.get(s, 0)}</td>"
        f"<td class=n>{totals[s]}</td></tr>" for s in CustomerStatus)
    header = "".join(f"<th>{escape(c.header)}</th>" for c in COLUMNS)
    return (
        "<!DOCTYPE html>\n<html lang=vi><head><meta charset=utf-8>"
        f"<meta name=viewport content='width=device-width'><title>{title}</title>"
        f"<style>{_STYLE}</style></head><body>\n<h1>{title}</h1>\n"
        "<table class=meta>"
        f"<tr><th>Chiến dịch</th><td>{escape(context.campaign_name)} "
        f"(#{context.campaign_id})</td></tr>"
        f"<tr><th>Bộ lọc</th><td>{escape(context.filter_text)}</td></tr>"
        f"<tr><th>Số khách hàng</th><td>{context.rows}</td></tr>"
        f"<tr><th>Xuất lúc</th><td>{generated} ({escape(context.timezone.key)})</td></tr>"
        "</table>\n<h2>Khách hàng theo trạng thái</h2>\n"
        f"{status_chart_svg(context.by_status)}\n"
        "<table><tr><th>Trạng thái</th><th>Số khách hàng</th><th>Tổng lũy kế</th></tr>"
        f"{summary}</table>\n<h2>Danh sách khách hàng</h2>\n"
        f"<table>\n<thead><tr>{header}</tr></thead>\n<tbody>\n")


def iter_html(rows: Iterable[ExportRow], context: ExportContext) -> Iterator[bytes]:
    """The HTML page in chunks of UTF-8 bytes."""
    yield _head(context).encode("utf-8")
    zone = context.timezone
    lines: list[str] = []
    for row in rows:
        cells = []
        for column in COLUMNS:
            value = column.value(row, zone)
            css = " class=n" if isinstance(value, int) else ""
            cells.append(f"<td{css}>{_text(value)}</td>")
        lines.append("<tr>" + "".join(cells) + "</tr>\n")
        if len(lines) == _CHUNK_ROWS:
            yield "".join(lines).encode("utf-8")
            lines.clear()
    lines.append("</tbody>\n</table>\n</body></html>\n")
    yield "".join(lines).encode("utf-8")
