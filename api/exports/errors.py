"""Exception tree of the exports.

::

    ExportError          base of everything an export raises on purpose
    ├── FontNotFound     the PDF writer found no font that renders Vietnamese
    └── ExportTooLarge   the chosen format cannot hold that many customers (PDF)

The API maps :class:`FontNotFound` to a server-side error that names the Debian package to
install, and :class:`ExportTooLarge` to a 422 that suggests a format or a narrower filter.
"""

from __future__ import annotations

__all__ = ["ExportError", "FontNotFound", "ExportTooLarge"]


class ExportError(Exception):
    """Base class of the export errors."""


class FontNotFound(ExportError):
    """No TrueType font able to render Vietnamese text was found for the PDF."""


class ExportTooLarge(ExportError):
    """More customers than the format can reasonably hold."""

    def __init__(self, fmt: str, rows: int, limit: int) -> None:
        self.fmt = fmt
        self.rows = rows
        self.limit = limit
        super().__init__(
            f"{rows} customers are too many for a {fmt.upper()} export (at most {limit}): "
            "export them as XLSX or CSV, or narrow the export by status or date range")
