"""PDF export with fpdf2: landscape A4, DejaVu Sans embedded (Vietnamese text), a summary
page top (campaign, filter, customers per status with the manual's cumulative totals and a
bar chart) and the customer table, its header repeated on every page, pages numbered.

A PDF is built in memory and is read by people, so it is capped at :data:`PDF_MAX_ROWS`
customers (:class:`~api.exports.errors.ExportTooLarge` beyond); XLSX and CSV have no cap.
The font is found by :func:`~api.exports.fonts.find_fonts`, which fails clearly when the
Debian package is missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Final

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from api.exports.chart import STATUS_COLOURS
from api.exports.errors import ExportTooLarge
from api.exports.fonts import find_fonts
from api.exports.rows import COLUMNS, Cell, ExportContext, ExportRow, local_time
from scripts_dsl.status import CustomerStatus

__all__ = ["write_pdf", "PDF_MEDIA_TYPE", "PDF_MAX_ROWS"]

PDF_MEDIA_TYPE: Final = "application/pdf"
PDF_MAX_ROWS: Final = 20_000
"""About 560 pages: more is not read, and fpdf2 builds the document in memory."""

_FONT: Final = "DejaVu"
_ROW_H: Final = 5.0
_SIZE: Final = 7.5


def _hex(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


class _Document(FPDF):
    def __init__(self, context: ExportContext) -> None:
        super().__init__(orientation="L", unit="mm", format="A4")
        self.context = context
        self.table_started = False
        self.set_margins(10, 10, 10)
        self.set_auto_page_break(auto=True, margin=12)

    def header(self) -> None:
        if self.table_started:
            self.table_header()

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(_FONT, size=7)
        self.cell(0, 5, f"{self.context.campaign_name} · trang {self.page_no()}/{{nb}}",
                  align="R")

    def table_header(self) -> None:
        self.set_font(_FONT, "B", _SIZE)
        self.set_fill_color(235, 235, 235)
        for column in COLUMNS:
            self.cell(column.pdf_width, _ROW_H + 1, self.fit(column.header, column.pdf_width),
                      border=1, fill=True)
        self.ln(_ROW_H + 1)
        self.set_font(_FONT, size=_SIZE)

    def fit(self, text: str, width: float) -> str:
        """``text`` cut with an ellipsis to fit a cell ``width`` mm wide."""
        room = width - 2 * self.c_margin
        # No DejaVu glyph is wider than the em (font_size, in mm): short texts need no measuring.
        if len(text) * self.font_size <= room or self.get_string_width(text) <= room:
            return text
        while text and self.get_string_width(text + "…") > room:
            text = text[:-1]
        return text + "…"


def _text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def write_pdf(rows: Iterable[ExportRow], context: ExportContext, out: IO[bytes], *,
              font_dirs: Sequence[Path] | None = None, max_rows: int = PDF_MAX_ROWS) -> None:
    """Write the PDF to ``out``. Raises :class:`ExportTooLarge` beyond ``max_rows``
    customers and :class:`~api.exports.errors.FontNotFound` without the font."""
    if context.rows > max_rows:
        raise ExportTooLarge("pdf", context.rows, max_rows)
    fonts = find_fonts(font_dirs)
    pdf = _Document(context)
    pdf.add_font(_FONT, "", str(fonts.regular))
    pdf.add_font(_FONT, "B", str(fonts.bold))
    pdf.set_title(f"Khách hàng chiến dịch {context.campaign_name}")
    pdf.set_creator("callbot")
    pdf.add_page()
    _summary(pdf, context)
    pdf.table_started = True
    pdf.table_header()
    zone = context.timezone
    count = 0
    for row in rows:
        count += 1
        if count > max_rows:
            raise ExportTooLarge("pdf", count, max_rows)
        for column in COLUMNS:
            value = column.value(row, zone)
            pdf.cell(column.pdf_width, _ROW_H, pdf.fit(_text(value), column.pdf_width),
                     border=1, align="R" if isinstance(value, int) else "L")
        pdf.ln(_ROW_H)
    out.write(bytes(pdf.output()))


def _summary(pdf: _Document, context: ExportContext) -> None:
    generated = local_time(context.generated_at, context.timezone).strftime("%Y-%m-%d %H:%M")
    pdf.set_font(_FONT, "B", 14)
    pdf.cell(0, 8, pdf.fit(f"Khách hàng chiến dịch {context.campaign_name}", 277),
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(_FONT, size=9)
    for label, value in (("Bộ lọc", context.filter_text),
                         ("Số khách hàng", str(context.rows)),
                         ("Xuất lúc", f"{generated} ({context.timezone.key})")):
        pdf.cell(30, 5, label)
        pdf.cell(0, 5, pdf.fit(value, 247), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    totals = context.totals
    top = max(context.by_status.values(), default=0) or 1
    pdf.set_font(_FONT, "B", 9)
    for header, width in (("Trạng thái", 30), ("Số khách hàng", 28), ("Tổng lũy kế", 28)):
        pdf.cell(width, 6, header, border=1)
    pdf.ln(6)
    pdf.set_font(_FONT, size=9)
    for status in CustomerStatus:
        count = context.by_status.get(status, 0)
        pdf.cell(30, 6, status.vietnamese, border=1)
        pdf.cell(28, 6, str(count), border=1, align="R")
        pdf.cell(28, 6, str(totals[status]), border=1, align="R")
        x, y = pdf.get_x() + 4, pdf.get_y() + 1
        pdf.set_fill_color(*_hex(STATUS_COLOURS[status]))
        if count:
            pdf.rect(x, y, 120 * count / top, 4, style="F")
        pdf.ln(6)
    pdf.ln(4)
