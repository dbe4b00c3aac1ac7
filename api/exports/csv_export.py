"""CSV export: UTF-8 with a byte order mark (Excel needs it to show Vietnamese text),
RFC 4180 quoting and CRLF line ends, produced chunk by chunk for a streaming response.

Every text cell is neutralized against formula injection (:func:`~api.exports.rows.
spreadsheet_text`); times are ``YYYY-MM-DD HH:MM:SS`` in the campaign's time zone.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Final

from api.exports.rows import COLUMNS, Cell, ExportContext, ExportRow, spreadsheet_text

__all__ = ["iter_csv", "CSV_MEDIA_TYPE"]

CSV_MEDIA_TYPE: Final = "text/csv; charset=utf-8"
_CHUNK_ROWS: Final = 500


def _text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, int):
        return str(value)
    return spreadsheet_text(value)


def iter_csv(rows: Iterable[ExportRow], context: ExportContext) -> Iterator[bytes]:
    """The CSV document in chunks of bytes: the BOM and header first, then rows in batches."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([spreadsheet_text(c.header) for c in COLUMNS])
    yield codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")
    zone = context.timezone
    pending = 0
    buffer.seek(0)
    buffer.truncate()
    for row in rows:
        writer.writerow([_text(c.value(row, zone)) for c in COLUMNS])
        pending += 1
        if pending == _CHUNK_ROWS:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if pending:
        yield buffer.getvalue().encode("utf-8")
