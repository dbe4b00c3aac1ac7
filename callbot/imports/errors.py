"""The import layer's exception tree.

A *row* problem (an invalid phone number, a missing required value, a duplicate) is never an
exception: it becomes a :class:`~callbot.imports.model.SkippedRow` in the report and the other
rows go on. An exception means the whole file (or the configuration) is unusable, so nothing
from it may be imported; lower-layer errors (``OSError``, ``UnicodeDecodeError``,
``zipfile.BadZipFile``, ``csv.Error``, expat errors) are translated once, here, with
``raise ... from``.

    CustomerImportError
    ├── ImportFileError        the file cannot be read at all (names the file and what to do)
    │   └── MissingColumnError a required field has no column in the file
    └── ImportConfigError      the caller's configuration or column mapping is inconsistent
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["CustomerImportError", "ImportConfigError", "ImportFileError", "MissingColumnError"]


class CustomerImportError(Exception):
    """Base of every error raised by :mod:`callbot.imports`."""


class ImportFileError(CustomerImportError):
    """The file cannot be imported at all; nothing from it may be kept.

    Raised when the file is opened (unreadable, unknown format, no header, a required column
    absent) or, for damage found further in, while its rows are being iterated: the caller then
    discards what it consumed (its database transaction rolls back).
    """

    def __init__(self, path: Path | str, message: str) -> None:
        super().__init__(f"{Path(path).name}: {message}")
        self.path = Path(path)
        self.detail = message


class MissingColumnError(ImportFileError):
    """A required field has no column in the file's header row."""

    def __init__(self, path: Path | str, field: str, found: tuple[str, ...], hint: str) -> None:
        shown = ", ".join(repr(c) for c in found) or "none"
        super().__init__(
            path,
            f"no column for the required field {field!r} ({hint}); columns found: {shown}",
        )
        self.field = field
        self.found = found


class ImportConfigError(CustomerImportError, ValueError):
    """The import configuration or the column mapping given by the caller is inconsistent."""
