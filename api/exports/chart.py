"""A small bar chart of customers per status, as inline SVG (for the HTML export).

Pure text out: every label is escaped; the drawing has a ``<title>`` and a text alternative
for screen readers. One bar per status, in the order of the status machine, each with the
count and the manual's cumulative total beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Final

from scripts_dsl.status import CustomerStatus, cumulative_totals

__all__ = ["status_chart_svg", "STATUS_COLOURS"]

STATUS_COLOURS: Final[Mapping[CustomerStatus, str]] = {
    CustomerStatus.REGISTERED: "#4e79a7",
    CustomerStatus.CONFIRMED: "#f28e2b",
    CustomerStatus.JOINED: "#59a14f",
    CustomerStatus.CANCELLED: "#e15759",
}

_LABEL_W: Final = 110
_BAR_W: Final = 300
_ROW_H: Final = 28
_TEXT_W: Final = 170


def status_chart_svg(by_status: Mapping[CustomerStatus, int]) -> str:
    """An SVG bar chart of ``by_status`` (missing statuses count 0)."""
    counts = {s: max(0, by_status.get(s, 0)) for s in CustomerStatus}
    totals = cumulative_totals(counts)
    top = max(counts.values()) or 1
    width = _LABEL_W + _BAR_W + _TEXT_W
    height = _ROW_H * len(counts) + 10
    summary = "; ".join(f"{s.vietnamese}: {n}" for s, n in counts.items())
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" aria-label="{escape(summary)}" '
        'font-family="DejaVu Sans, Arial, sans-serif" font-size="13">',
        "<title>Khách hàng theo trạng thái</title>",
    ]
    for index, (status, count) in enumerate(counts.items()):
        y = 5 + index * _ROW_H
        bar = round(_BAR_W * count / top)
        parts.append(
            f'<text x="{_LABEL_W - 8}" y="{y + 17}" text-anchor="end">'
            f"{escape(status.vietnamese)}</text>"
            f'<rect x="{_LABEL_W}" y="{y + 3}" width="{bar}" height="{_ROW_H - 8}" '
            f'fill="{STATUS_COLOURS[status]}"><title>{escape(status.value)}: {count}</title>'
            "</rect>"
            f'<text x="{_LABEL_W + bar + 6}" y="{y + 17}">{count} '
            f"(tổng lũy kế {totals[status]})</text>")
    parts.append("</svg>")
    return "".join(parts)
