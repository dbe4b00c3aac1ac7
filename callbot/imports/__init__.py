"""Customer lists: reading CSV and XLSX files into checked customer rows (no database here).

    >>> report = import_customers("khach_hang.xlsx", ImportConfig(unique_fields=("email",)))
    >>> report.describe()
    '1000 rows read, 990 imported, 10 skipped'
    >>> print(report.skipped[0])
    row 17, column SĐT: '0912' is not a valid phone number (too short)

Modules: :mod:`~callbot.imports.importer` (the checks, streaming), :mod:`.csvfile` and
:mod:`.encoding` (CSV text), :mod:`.xlsxfile` (XLSX, streamed), :mod:`.mapping` (headers to
fields), :mod:`.phone` (E.164), :mod:`.seen` (in-file duplicates), :mod:`.template`,
:mod:`.formulas` (neutralizing cells for exports), :mod:`.errors` (the exception tree).
"""

from callbot.imports.errors import (
    CustomerImportError,
    ImportConfigError,
    ImportFileError,
    MissingColumnError,
)
from callbot.imports.formulas import looks_like_formula, neutralize_formula
from callbot.imports.importer import CustomerImport, import_customers, open_table
from callbot.imports.mapping import FIELD_LABELS, STANDARD_FIELDS, ColumnMapping, fold_header
from callbot.imports.model import (
    CustomerRow,
    ExistingCustomer,
    ImportConfig,
    ImportReport,
    ImportSummary,
    SkippedRow,
    duplicate_key,
)
from callbot.imports.phone import InvalidPhone, PhoneNormalizer, normalize_phone
from callbot.imports.template import write_template

__all__ = [
    "FIELD_LABELS",
    "STANDARD_FIELDS",
    "ColumnMapping",
    "CustomerImport",
    "CustomerImportError",
    "CustomerRow",
    "ExistingCustomer",
    "ImportConfig",
    "ImportConfigError",
    "ImportFileError",
    "ImportReport",
    "ImportSummary",
    "InvalidPhone",
    "MissingColumnError",
    "PhoneNormalizer",
    "SkippedRow",
    "duplicate_key",
    "fold_header",
    "import_customers",
    "looks_like_formula",
    "neutralize_formula",
    "normalize_phone",
    "open_table",
    "write_template",
]
