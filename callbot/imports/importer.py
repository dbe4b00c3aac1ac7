"""Importing a customer list: rows in, accepted customers and refusals with reasons out.

Two ways in. :func:`import_customers` returns the whole :class:`ImportReport`. For big lists,
:class:`CustomerImport` streams: it yields each :class:`CustomerRow` or :class:`SkippedRow` as
its row is read, so a caller can insert batches inside one database transaction without
holding the list; memory then grows only with the in-file duplicate index (about 100 bytes per
key, see :mod:`callbot.imports.seen`). Either way the file's format, encoding, header and
columns are checked when it is opened, and damage found later raises
:class:`~callbot.imports.errors.ImportFileError` out of the iteration: the caller must then
drop everything it received (roll back), so a file is never half-imported silently.

Each non-empty data row is checked in this order, and the first problem skips it with the
column at fault: a required field that is empty; the phone number, normalized to E.164 (Vietnam
by default); the phone and each configured unique field against the campaign's existing
customers (the ``existing`` lookup, keyed by :func:`duplicate_key`) and against the rows
accepted before it in the same file.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Final

from callbot.imports.csvfile import CsvTable
from callbot.imports.encoding import read_head
from callbot.imports.errors import ImportConfigError, ImportFileError, MissingColumnError
from callbot.imports.mapping import FIELD_LABELS, STANDARD_FIELDS, ResolvedColumns, resolve_columns
from callbot.imports.model import (
    CustomerRow,
    ExistingCustomer,
    ImportConfig,
    ImportReport,
    ImportSummary,
    SkippedRow,
    duplicate_key,
)
from callbot.imports.phone import InvalidPhone, PhoneNormalizer
from callbot.imports.seen import SeenIndex
from callbot.imports.table import SheetRow, Table
from callbot.imports.xlsxfile import XlsxTable

__all__ = ["MAX_WARNINGS", "CustomerImport", "import_customers", "open_table"]

MAX_WARNINGS: Final = 100
"""Warnings listed one by one; the rest are counted in a last line."""

_NO_EXTRA: Final[Mapping[str, str]] = MappingProxyType({})
_ZIP_MAGIC: Final = b"PK\x03\x04"
_OLE_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_EMPTY_ZIP_MAGIC: Final = b"PK\x05\x06"


def open_table(path: Path, sheet: str | None = None) -> Table:
    """Open a customer file by its content (not its name): XLSX, else CSV text."""
    try:
        head = read_head(path)
    except OSError as exc:
        raise ImportFileError(path, f"cannot be read: {exc.strerror or exc}") from exc
    if head.startswith(_OLE_MAGIC):
        raise ImportFileError(
            path,
            "is an Excel 97-2003 (.xls) or password-protected workbook, which cannot be read: "
            "save it as .xlsx (without a password) or as CSV UTF-8",
        )
    if head.startswith((_ZIP_MAGIC, _EMPTY_ZIP_MAGIC)):
        return XlsxTable(path, sheet)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        raise ImportFileError(path, "is named like an XLSX workbook but is not one")
    if sheet is not None:
        raise ImportFileError(path, f"is a CSV file, which has no sheet {sheet!r}")
    return CsvTable(path)


class _Warnings:
    def __init__(self) -> None:
        self.items: list[str] = []
        self.more = 0

    def add(self, text: str) -> None:
        if len(self.items) < MAX_WARNINGS:
            self.items.append(text)
        else:
            self.more += 1

    def listed(self) -> list[str]:
        return self.items + ([f"... and {self.more} more warnings"] if self.more else [])


class CustomerImport:
    """One customer file being imported; use as a context manager and iterate.

    >>> with CustomerImport(path, config, existing) as rows:       # doctest: +SKIP
    ...     for item in rows:
    ...         store(item) if isinstance(item, CustomerRow) else log(item)
    ...     summary = rows.summary()

    Opening raises :class:`ImportFileError` (the file cannot be imported at all: unreadable,
    no header, a required column missing, ambiguous columns). ``existing`` maps
    :func:`duplicate_key` keys of the campaign's current customers to who they are; only its
    ``get`` is called, once per key of each row, so a database-backed mapping works too.
    """

    def __init__(
        self,
        path: Path | str,
        config: ImportConfig | None = None,
        existing: Mapping[str, ExistingCustomer] | None = None,
    ) -> None:
        self.path = Path(path)
        self.config = config or ImportConfig()
        self._existing = existing
        self._phones = PhoneNormalizer(self.config.region)
        self._table = open_table(self.path, self.config.sheet)
        self._empty = 0
        try:
            self._rows = self._table.rows()
            header = self._read_header()
            try:
                self.columns = resolve_columns(header, self.config.extra_fields, self.config.mapping)
            except ImportConfigError as exc:
                raise ImportFileError(self.path, str(exc)) from exc
            self._check_required_columns()
        except BaseException:
            self._table.close()
            raise
        self._seen = SeenIndex() if self.config.check_in_file else None
        self._checks_duplicates = self._seen is not None or existing is not None
        self._warnings = _Warnings()
        self._rows_read = self._imported = self._skipped = 0
        self._started = False

    # -- opening -----------------------------------------------------------------------------

    def _read_header(self) -> list[str]:
        for row in self._rows:
            if any(v.strip() for v in row.values):
                return [_text(v) for v in row.values]
            self._empty += 1
        raise ImportFileError(self.path, "is empty: it has no header row and no customers")

    def _check_required_columns(self) -> None:
        required = sorted(self._required(), key=lambda f: (f not in STANDARD_FIELDS, f))
        for field in required:
            if self.columns.index_of(field) is None:
                spellings = FIELD_LABELS.get(field, field)
                hint = f"a header such as {spellings!r}" if field in FIELD_LABELS else f"a header {field!r}"
                raise MissingColumnError(self.path, field, self.columns.labels, f"expected {hint}")

    def _required(self) -> set[str]:
        return {"phone", *self.config.required}

    # -- context manager ---------------------------------------------------------------------

    def __enter__(self) -> CustomerImport:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._table.close()

    # -- rows --------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[CustomerRow | SkippedRow]:
        if self._started:
            raise RuntimeError("a CustomerImport can be iterated once")
        self._started = True
        plan = _RowPlan(self.columns, self._required(), self.config.duplicate_fields)
        for sheet_row in self._rows:
            for value in sheet_row.values:
                if value and not value.isspace():
                    break
            else:
                self._empty += 1
                continue
            self._rows_read += 1
            if sheet_row.notes:
                self._note(sheet_row, plan)
            outcome = self._check(sheet_row, plan)
            if isinstance(outcome, SkippedRow):
                self._skipped += 1
            else:
                self._imported += 1
            yield outcome

    def _note(self, row: SheetRow, plan: _RowPlan) -> None:
        for note in row.notes:
            if note.column >= len(plan.fields) or plan.fields[note.column] is None:
                continue
            where = f"row {row.number}, column {plan.labels[note.column]}"
            if note.kind == "error":
                self._warnings.add(f"{where}: error value {note.text} read as empty")
            elif note.cached:
                self._warnings.add(
                    f"{where}: formula {note.text} was not evaluated; the value saved with "
                    "the file was imported"
                )
            else:
                self._warnings.add(
                    f"{where}: formula {note.text} was not evaluated and has no saved value; "
                    "the cell was read as empty"
                )

    def _check(self, row: SheetRow, plan: _RowPlan) -> CustomerRow | SkippedRow:
        values = row.values
        if len(values) > plan.last_used:
            texts = [values[i].strip() for i in plan.used]
        else:
            texts = [values[i].strip() if i < len(values) else "" for i in plan.used]
        if not "".join(texts).isascii():
            texts = [unicodedata.normalize("NFC", t) for t in texts]
        for field, index in plan.required:
            if not texts[index]:
                return SkippedRow(row.number, plan.label(field), self._missing(field, row, plan))
        phone_raw = texts[plan.phone_at]
        phone = self._phones.normalize(phone_raw)
        if isinstance(phone, InvalidPhone):
            reason = phone.reason + _formula_hint(row, plan.column["phone"])
            return SkippedRow(row.number, plan.label("phone"), reason)
        keys: list[str] = []
        for field in plan.duplicates if self._checks_duplicates else ():
            position = plan.position.get(field)
            if position is None:
                continue
            shown = texts[position]
            key = f"phone:{phone}" if field == "phone" else duplicate_key(field, shown)
            if key is None:
                continue
            clash = self._clash(key)
            if clash is not None:
                return SkippedRow(row.number, plan.label(field), f"{field} {shown} already belongs to {clash}")
            keys.append(key)
        name = texts[plan.name_at] if plan.name_at is not None else ""
        if self._seen is not None:
            for key in keys:
                self._seen.add(key, row.number, name)
        return CustomerRow(
            row=row.number,
            phone=phone,
            phone_raw=phone_raw,
            name=name,
            email=texts[plan.email_at] if plan.email_at is not None else "",
            code=texts[plan.code_at] if plan.code_at is not None else "",
            extra={f: texts[i] for f, i in plan.extra if texts[i]} if plan.extra else _NO_EXTRA,
        )

    def _clash(self, key: str) -> str | None:
        if self._existing is not None:
            existing = self._existing.get(key)
            if existing is not None:
                return existing.describe()
        if self._seen is not None:
            seen = self._seen.get(key)
            if seen is not None:
                row, name = seen
                who = f"customer {name}" if name else "the customer"
                return f"{who} (row {row} of this file)"
        return None

    def _missing(self, field: str, row: SheetRow, plan: _RowPlan) -> str:
        return f"{field} is required but empty" + _formula_hint(row, plan.column[field])

    # -- outcome -----------------------------------------------------------------------------

    def summary(self) -> ImportSummary:
        """Counts so far (final once the iteration has ended)."""
        return ImportSummary(
            rows_read=self._rows_read,
            imported=self._imported,
            skipped=self._skipped,
            empty_rows=self._empty,
            encoding=self._table.encoding,
            columns=dict(zip(self.columns.labels, self.columns.fields)),
            warnings=tuple(self._warnings.listed()),
        )


class _RowPlan:
    """Where each field sits, computed once per file for the per-row loop."""

    def __init__(self, columns: ResolvedColumns, required: set[str], duplicates: tuple[str, ...]) -> None:
        self.fields = columns.fields
        self.labels = columns.labels
        mapped = [(i, f) for i, f in enumerate(columns.fields) if f is not None]
        self.used = [i for i, _f in mapped]
        """The file columns that fill a field, in order; a row's ``texts`` follow this list."""
        self.column = {f: i for i, f in mapped}
        self.position = {f: p for p, (_i, f) in enumerate(mapped)}
        self.required = sorted(
            ((f, self.position[f]) for f in required if f in self.position), key=lambda fp: fp[1]
        )
        self.duplicates = duplicates
        self.extra = [(f, p) for f, p in self.position.items() if f not in STANDARD_FIELDS]
        self.last_used = max(self.used, default=-1)
        self.phone_at = self.position["phone"]
        self.name_at = self.position.get("name")
        self.email_at = self.position.get("email")
        self.code_at = self.position.get("code")

    def label(self, field: str) -> str:
        return self.labels[self.column[field]]


def _text(value: str) -> str:
    value = value.strip()
    if not value.isascii():
        value = unicodedata.normalize("NFC", value)
    return value


def _formula_hint(row: SheetRow, column: int) -> str:
    for note in row.notes:
        if note.column == column and note.kind == "formula":
            saved = "" if note.cached else " with no saved value"
            return f" (the cell is a formula{saved}, {note.text}, which is not evaluated)"
        if note.column == column and note.kind == "error":
            return f" (the cell holds the error {note.text})"
    return ""


def import_customers(
    path: Path | str,
    config: ImportConfig | None = None,
    existing: Mapping[str, ExistingCustomer] | None = None,
) -> ImportReport:
    """Read a whole customer list (CSV or XLSX) into an :class:`ImportReport`.

    Raises :class:`ImportFileError` when the file cannot be imported at all; the report then
    does not exist, so nothing from the file can be imported.
    """
    imported: list[CustomerRow] = []
    skipped: list[SkippedRow] = []
    with CustomerImport(path, config, existing) as rows:
        for item in rows:
            if isinstance(item, CustomerRow):
                imported.append(item)
            else:
                skipped.append(item)
        summary = rows.summary()
    return ImportReport(
        rows_read=summary.rows_read,
        imported=imported,
        skipped=skipped,
        encoding=summary.encoding,
        warnings=list(summary.warnings),
        empty_rows=summary.empty_rows,
        columns=summary.columns,
    )
