"""CSV customer lists (RFC 4180, with the variations spreadsheets produce).

The encoding is found by :func:`~callbot.imports.encoding.detect_encoding`; the delimiter is
``,``, ``;`` (Excel where the decimal separator is a comma) or a tab (Excel's "Unicode text"),
chosen by which one splits the first records into the same number of columns, or given by an
Excel ``sep=;`` first line. Cells are text and stay text: a cell starting with ``=``, ``+``,
``-`` or ``@`` is never evaluated (exports neutralize it, see
:func:`~callbot.imports.formulas.neutralize_formula`). Rows are numbered as a spreadsheet
shows them, one per record (a quoted cell may span lines).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Final, TextIO

from callbot.imports.encoding import detect_encoding
from callbot.imports.errors import ImportFileError
from callbot.imports.table import SheetRow

__all__ = ["DELIMITERS", "CsvTable", "sniff_delimiter"]

DELIMITERS: Final = (",", ";", "\t")
_SNIFF_CHARS: Final = 1 << 16
_SNIFF_RECORDS: Final = 50


def sniff_delimiter(sample: str) -> str:
    """The delimiter among :data:`DELIMITERS` that splits ``sample`` most consistently.

    Score: the share of non-empty records with as many cells as the first one, then the number
    of cells; a delimiter that leaves the first record whole does not count. ``,`` when none
    splits anything (a one-column file).
    """
    if len(sample) >= _SNIFF_CHARS:
        cut = max(sample.rfind("\n"), sample.rfind("\r"))
        sample = sample[:cut] if cut > 0 else sample
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        records: list[list[str]] = []
        reader = csv.reader(io.StringIO(sample), delimiter=delimiter)
        try:
            for record in reader:
                if any(cell.strip() for cell in record):
                    records.append(record)
                    if len(records) >= _SNIFF_RECORDS:
                        break
        except csv.Error:
            pass  # a sample may end inside a quoted cell: judge the records before it
        if not records or len(records[0]) < 2:
            continue
        width = len(records[0])
        score = (sum(len(r) == width for r in records) / len(records), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


class CsvTable:
    """A CSV file opened for streaming; see the module docstring."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            with path.open("rb") as raw:
                self._encoding = detect_encoding(raw)
            with path.open("r", encoding=self._encoding, newline="") as text:
                sample = text.read(_SNIFF_CHARS)
            self._file: TextIO = path.open("r", encoding=self._encoding, newline="")
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                path, f"the file announces {exc.encoding} but is not valid {exc.encoding} text"
            ) from exc
        except OSError as exc:
            raise ImportFileError(path, f"cannot be read: {exc.strerror or exc}") from exc
        self._skip_first = False
        head = sample.lstrip("\ufeff")
        first_line = head.split("\n", 1)[0].rstrip("\r")
        if first_line.lower().startswith("sep=") and len(first_line) == 5:
            self.delimiter = first_line[4]
            self._skip_first = True
        else:
            self.delimiter = sniff_delimiter(head)

    @property
    def encoding(self) -> str | None:
        return self._encoding

    def rows(self) -> Iterator[SheetRow]:
        reader = csv.reader(self._file, delimiter=self.delimiter)
        number = 0
        try:
            if self._skip_first:
                next(reader, None)
            for number, record in enumerate(reader, start=1):
                yield SheetRow(number, record)
        except csv.Error as exc:
            raise ImportFileError(self.path, f"row {number + 1} cannot be read as CSV: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                self.path, f"row {number + 1} is not valid {self._encoding} text"
            ) from exc
        except OSError as exc:
            raise ImportFileError(self.path, f"reading stopped at row {number + 1}: {exc}") from exc

    def close(self) -> None:
        self._file.close()
