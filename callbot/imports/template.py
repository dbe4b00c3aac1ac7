"""The downloadable customer list template (CSV or XLSX).

The header row names the standard fields in Vietnamese (the headers the importer recognizes
first, see :data:`~callbot.imports.mapping.FIELD_LABELS`), then the campaign's extra fields as
configured; one example row shows the expected shapes. The CSV is UTF-8 with a byte order mark,
which Excel needs to show Vietnamese text; in the XLSX the phone column is formatted as text so
that Excel keeps the leading ``0``.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from openpyxl import Workbook
from openpyxl.styles import Font

from callbot.imports.errors import ImportConfigError
from callbot.imports.formulas import neutralize_formula
from callbot.imports.mapping import FIELD_LABELS, STANDARD_FIELDS

__all__ = ["EXAMPLE_ROW", "template_rows", "write_template"]

EXAMPLE_ROW: Final = {
    "name": "Nguyễn Văn A",
    "phone": "0912345678",
    "email": "nguyenvana@example.com",
    "code": "KH0001",
}


def template_rows(fields: Sequence[str] = ()) -> tuple[list[str], list[str]]:
    """(header, example row) for the standard fields followed by the extra ``fields``."""
    extra = [f for f in dict.fromkeys(fields) if f not in STANDARD_FIELDS]
    header = [FIELD_LABELS[f] for f in STANDARD_FIELDS] + extra
    example = [EXAMPLE_ROW[f] for f in STANDARD_FIELDS] + [""] * len(extra)
    return header, example


def write_template(path: Path | str, fields: Sequence[str] = ()) -> Path:
    """Write the template to ``path``; the format follows its suffix (``.csv`` or ``.xlsx``)."""
    path = Path(path)
    header, example = template_rows(fields)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as f:
            writer = csv.writer(f)
            writer.writerow([neutralize_formula(c) for c in header])
            writer.writerow([neutralize_formula(c) for c in example])
    elif suffix == ".xlsx":
        workbook = Workbook()
        sheet = workbook.active
        assert sheet is not None  # a new Workbook always has its first sheet
        sheet.title = "Khách hàng"
        sheet.append(header)
        sheet.append(example)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        phone_column = STANDARD_FIELDS.index("phone") + 1
        sheet.cell(row=2, column=phone_column).number_format = "@"
        for index, text in enumerate(header, start=1):
            letter = sheet.cell(row=1, column=index).column_letter
            dimension = sheet.column_dimensions[letter]
            dimension.width = max(14, len(text) + 4, len(example[index - 1]) + 2)
            if index == phone_column:
                dimension.number_format = "@"  # new cells typed in the column stay text
        sheet.freeze_panes = "A2"
        workbook.save(path)
    else:
        raise ImportConfigError(f"a template is written as .csv or .xlsx, not {path.suffix or 'no suffix'!r}")
    return path
