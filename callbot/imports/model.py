"""Typed values of an import: its configuration, the rows it yields and its report."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from callbot.imports.errors import ImportConfigError
from callbot.imports.mapping import STANDARD_FIELDS, ColumnMapping
from callbot.imports.phone import DEFAULT_REGION, PhoneNormalizer, normalize_phone

__all__ = [
    "CustomerRow",
    "ExistingCustomer",
    "ImportConfig",
    "ImportReport",
    "ImportSummary",
    "SkippedRow",
    "duplicate_key",
]

_SPACES: Final = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class CustomerRow:
    """One accepted customer. ``row`` is the spreadsheet row (the header is usually row 1).

    ``phone`` is E.164; ``phone_raw`` is the cell as written. Text is stripped and in Unicode
    NFC; ``extra`` holds the non-empty values of the other columns, by field name.
    """

    row: int
    phone: str
    phone_raw: str
    name: str = ""
    email: str = ""
    code: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str:
        """Value of a standard or extra field, ``""`` when absent."""
        if name in STANDARD_FIELDS:
            return str(getattr(self, name))
        return self.extra.get(name, "")


@dataclass(frozen=True, slots=True)
class SkippedRow:
    """A row that was not imported, with the column at fault and the reason."""

    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        """``row 17, column SĐT: '0912' is not a valid phone number (too short)``."""
        return f"row {self.row}, column {self.column}: {self.reason}"


@dataclass(frozen=True, slots=True)
class ExistingCustomer:
    """A customer already in the campaign, as the caller's duplicate lookup returns it.

    ``row`` is the row of the file it was imported from, ``id`` its database identifier; a
    message names whichever is known.
    """

    name: str
    row: int | None = None
    id: int | str | None = None

    def describe(self) -> str:
        """``customer Nguyen Van A (row 17)``."""
        where = [f"id {self.id}"] if self.id is not None else []
        if self.row is not None:
            where.append(f"row {self.row}")
        who = f"customer {self.name}" if self.name else "a customer"
        return f"{who} ({', '.join(where)})" if where else who


def duplicate_key(field_name: str, value: str, normalizer: PhoneNormalizer | None = None) -> str | None:
    """The key under which ``value`` of ``field_name`` is checked for duplicates.

    Callers build the ``existing`` lookup of a campaign's customers with the same function so
    that both sides compare alike: the phone in E.164 (``phone:+84912345678``; ``None`` when it
    is not a valid number), any other field stripped, spaces collapsed, NFC and case-folded
    (``email:nguyenvana@example.com``). ``None`` for an empty value, which is never a duplicate.
    """
    if field_name == "phone":
        if not value.startswith("+") or not value[1:].isdigit():
            result = normalizer.normalize(value) if normalizer else normalize_phone(value)
            if not isinstance(result, str):
                return None
            value = result
        return f"phone:{value}"
    text = _SPACES.sub(" ", value).strip()
    if not text:
        return None
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return f"{field_name}:{text.casefold()}"


@dataclass(frozen=True)
class ImportConfig:
    """How a campaign imports customers.

    ``required``: fields that must have a value (a row without one is skipped; a file without
    the column is refused); the phone always is, since it is what the dialer calls.
    ``unique_fields``: fields that, besides the phone (always), must not repeat inside the file
    or match an existing customer. ``extra_fields``: the campaign's own
    fields beyond name, phone, email and code (they appear in the template and are recognized
    by header). ``mapping``: the user's column mapping for their own file. ``region``: where
    national phone numbers belong. ``check_in_file``: also refuse repeats inside the file
    (a caller relying on a database constraint may turn it off). ``sheet``: the XLSX sheet,
    by name; the first visible sheet when ``None``.
    """

    required: frozenset[str] = frozenset({"phone"})
    unique_fields: tuple[str, ...] = ()
    extra_fields: tuple[str, ...] = ()
    mapping: ColumnMapping | None = None
    region: str = DEFAULT_REGION
    check_in_file: bool = True
    sheet: str | None = None

    def __post_init__(self) -> None:
        known = set(STANDARD_FIELDS) | set(self.extra_fields)
        if self.mapping is not None:
            known |= {t for t in self.mapping.columns.values() if t is not None}
        for name in sorted(self.required | set(self.unique_fields)):
            if name not in known:
                raise ImportConfigError(
                    f"field {name!r} is required or unique but is neither a standard field "
                    f"({', '.join(STANDARD_FIELDS)}) nor a configured extra field"
                )
        clash = set(self.extra_fields) & set(STANDARD_FIELDS)
        if clash:
            raise ImportConfigError(f"extra field {sorted(clash)[0]!r} is a standard field")

    @property
    def duplicate_fields(self) -> tuple[str, ...]:
        """The phone, then the configured unique fields, each once."""
        return ("phone", *(f for f in dict.fromkeys(self.unique_fields) if f != "phone"))


@dataclass(frozen=True)
class ImportSummary:
    """Counts of a streamed import (:class:`~callbot.imports.importer.CustomerImport`).

    ``rows_read`` counts the non-empty data rows (the header and empty rows excluded), so
    ``rows_read == imported + skipped``. ``encoding`` is the CSV text encoding that was used
    (``None`` for XLSX); ``warnings`` are things the manager should know that did not skip a
    row (formulas not evaluated, error cells), capped with a final count of the rest.
    """

    rows_read: int
    imported: int
    skipped: int
    empty_rows: int
    encoding: str | None
    columns: Mapping[str, str | None]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class ImportReport:
    """The whole outcome of :func:`~callbot.imports.importer.import_customers`."""

    rows_read: int
    imported: list[CustomerRow]
    skipped: list[SkippedRow]
    encoding: str | None
    warnings: list[str]
    empty_rows: int = 0
    columns: Mapping[str, str | None] = field(default_factory=dict)

    def describe(self) -> str:
        """``1000 rows read, 990 imported, 10 skipped (3 empty rows ignored)``."""
        text = f"{self.rows_read} rows read, {len(self.imported)} imported, {len(self.skipped)} skipped"
        return text + (f" ({self.empty_rows} empty rows ignored)" if self.empty_rows else "")
