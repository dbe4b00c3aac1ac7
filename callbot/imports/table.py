"""What a file reader hands to the importer: rows of cell text, one at a time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, NamedTuple, Protocol

__all__ = ["CellNote", "SheetRow", "Table"]


@dataclass(frozen=True, slots=True)
class CellNote:
    """Something about one cell that the manager should hear of.

    ``formula``: the cell holds a formula (``text`` is ``=...``); it was not evaluated and the
    value is the result the spreadsheet saved with the file, or empty when it saved none
    (``cached`` false). ``error``: the cell holds an error value (``#N/A``), read as empty.
    """

    column: int
    kind: Literal["formula", "error"]
    text: str
    cached: bool = True


class SheetRow(NamedTuple):
    """One row: its spreadsheet number (1-based), the text of its cells, notes on some cells."""

    number: int
    values: list[str]
    notes: tuple[CellNote, ...] = ()


class Table(Protocol):
    """A customer file opened for streaming: CSV or one XLSX sheet."""

    @property
    def encoding(self) -> str | None:
        """The CSV text encoding used; ``None`` for XLSX (its XML is UTF-8 by definition)."""
        ...

    def rows(self) -> Iterator[SheetRow]:
        """Every row in order, empty ones included; raises ``ImportFileError`` on damage."""
        ...

    def close(self) -> None:
        """Release the file."""
        ...
