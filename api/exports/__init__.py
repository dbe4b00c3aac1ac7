"""Exports of a campaign's customers as XLSX, CSV, PDF and HTML (no database here).

The writers take :class:`~api.exports.rows.ExportRow` values (any iterable, read lazily) and
an :class:`~api.exports.rows.ExportContext`; CSV and HTML come out as chunks of bytes for a
streaming response, XLSX and PDF are written into a file object. Cells a spreadsheet would
run as formulas are neutralized; HTML is escaped; the PDF embeds a font that renders
Vietnamese (:mod:`api.exports.fonts`).
"""

from api.exports.chart import status_chart_svg
from api.exports.csv_export import CSV_MEDIA_TYPE, iter_csv
from api.exports.errors import ExportError, ExportTooLarge, FontNotFound
from api.exports.fonts import FontFiles, find_fonts
from api.exports.html_export import HTML_MEDIA_TYPE, iter_html
from api.exports.pdf_export import PDF_MAX_ROWS, PDF_MEDIA_TYPE, write_pdf
from api.exports.rows import COLUMNS, Column, ExportContext, ExportRow, display_phone
from api.exports.xlsx_export import XLSX_MEDIA_TYPE, write_xlsx

__all__ = [
    "COLUMNS", "Column", "ExportContext", "ExportRow", "display_phone",
    "iter_csv", "iter_html", "write_xlsx", "write_pdf", "status_chart_svg",
    "find_fonts", "FontFiles",
    "ExportError", "ExportTooLarge", "FontNotFound",
    "CSV_MEDIA_TYPE", "HTML_MEDIA_TYPE", "PDF_MEDIA_TYPE", "XLSX_MEDIA_TYPE", "PDF_MAX_ROWS",
]
