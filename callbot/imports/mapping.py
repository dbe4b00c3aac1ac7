"""Which column of a customer list holds which field.

The standard fields are ``name``, ``phone``, ``email`` and ``code`` (the customer code, "mã
khách hàng"); a campaign may configure more (``company``, ``birthday`` ...). A header is
recognized automatically when its *folded* spelling (no case, no diacritics, ``đ`` as ``d``,
letters and digits only: "Số điện thoại" -> ``sodienthoai``) is a known spelling of a field,
in Vietnamese or English. A :class:`ColumnMapping` given by the user for their own file takes
precedence; any column left unmapped becomes an extra field under its own header text.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from callbot.imports.errors import ImportConfigError

__all__ = [
    "FIELD_LABELS",
    "STANDARD_FIELDS",
    "ColumnMapping",
    "ResolvedColumns",
    "column_letter",
    "fold_header",
    "resolve_columns",
]

STANDARD_FIELDS: Final = ("name", "phone", "email", "code")

FIELD_LABELS: Final = {
    "name": "Họ tên",
    "phone": "Số điện thoại",
    "email": "Email",
    "code": "Mã KH",
}
"""Vietnamese header of each standard field, as written in the downloadable template."""

_ALIASES: Final = {
    "name": (
        "name", "full name", "fullname", "customer name", "customer", "contact name",
        "contact", "họ tên", "họ và tên", "tên", "tên khách hàng", "khách hàng", "tên kh",
        "họ tên khách hàng", "họ tên kh", "họ và tên khách hàng",
    ),
    "phone": (
        "phone", "phone number", "phone no", "mobile", "mobile phone", "mobile number", "cell",
        "cell phone", "telephone", "tel", "msisdn", "số điện thoại", "điện thoại", "sđt", "sdt",
        "số đt", "đt", "di động", "số di động", "đtdđ", "số điện thoại di động",
        "điện thoại di động",
    ),
    "email": (
        "email", "e-mail", "mail", "email address", "e-mail address", "địa chỉ email",
        "thư điện tử", "địa chỉ thư điện tử",
    ),
    "code": (
        "code", "customer code", "customer id", "customer no", "customer number", "client code",
        "client id", "mã", "mã kh", "mã khách hàng", "mã số khách hàng", "id khách hàng",
    ),
}


def fold_header(text: str) -> str:
    """Case- and diacritics-insensitive form of a header: letters and digits only.

    >>> fold_header("  Số điện thoại ")
    'sodienthoai'
    >>> fold_header("SĐT") == fold_header("sdt")
    True
    """
    decomposed = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed.casefold() if c.isalnum() and not unicodedata.combining(c))


_AUTO: Final = {fold_header(alias): field for field, aliases in _ALIASES.items() for alias in aliases}


def column_letter(index: int) -> str:
    """Spreadsheet letter of a 0-based column index: 0 -> ``A``, 27 -> ``AB``."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass(frozen=True)
class ColumnMapping:
    """The user's own mapping: header text -> field name, or ``None`` to ignore the column.

    ``ColumnMapping({"Họ tên": "name", "SĐT": "phone", "Ghi chú": None})``. A header is found by
    its exact text first, then by its folded spelling. A field name that is neither standard
    nor configured becomes an extra field of that name.
    """

    columns: Mapping[str, str | None]

    def __post_init__(self) -> None:
        targets = [t for t in self.columns.values() if t is not None]
        for target in targets:
            if not target.strip():
                raise ImportConfigError("a column mapping target is an empty field name")
        repeated = sorted({t for t in targets if targets.count(t) > 1})
        if repeated:
            raise ImportConfigError(f"the column mapping sends several columns to {repeated[0]!r}")
        folded: dict[str, str] = {}
        for header in self.columns:
            key = fold_header(header)
            if key in folded:
                raise ImportConfigError(
                    f"the column mapping names {folded[key]!r} and {header!r}, "
                    "which are the same header"
                )
            folded[key] = header


@dataclass(frozen=True)
class ResolvedColumns:
    """The outcome of matching a header row: one entry per column, in file order.

    ``fields[i]`` is the field that column ``i`` fills (``None``: ignored); ``labels[i]`` is the
    column as people name it in messages (its header text, else its letter).
    """

    fields: tuple[str | None, ...]
    labels: tuple[str, ...]

    def index_of(self, field: str) -> int | None:
        try:
            return self.fields.index(field)
        except ValueError:
            return None

    def label_of(self, field: str) -> str:
        index = self.index_of(field)
        return self.labels[index] if index is not None else field


def resolve_columns(
    header: Sequence[str],
    extra_fields: Iterable[str] = (),
    mapping: ColumnMapping | None = None,
) -> ResolvedColumns:
    """Match a header row to fields; raises :class:`ImportConfigError` on an ambiguity.

    Precedence: the user's ``mapping``, then configured ``extra_fields`` by folded name, then
    the known spellings of the standard fields; the rest become extra fields named after their
    header (an empty header becomes ``column F``). A mapping entry naming a header that is not
    in the file is an error, as are two columns for the same field.
    """
    labels = tuple(h.strip() or f"column {column_letter(i)}" for i, h in enumerate(header))
    fields: list[str | None] = [None] * len(header)
    assigned = [False] * len(header)
    configured = {fold_header(f): f for f in extra_fields}

    if mapping is not None:
        exact = {h.strip(): i for i, h in reversed(list(enumerate(header)))}
        folded = {fold_header(h): i for i, h in reversed(list(enumerate(header))) if h.strip()}
        for name, target in mapping.columns.items():
            index = exact.get(name.strip())
            if index is None:
                index = folded.get(fold_header(name))
            if index is None:
                shown = ", ".join(repr(label) for label in labels) or "none"
                raise ImportConfigError(
                    f"the column mapping names {name!r} but the file has no such column; "
                    f"columns found: {shown}"
                )
            fields[index] = target.strip() if target is not None else None
            assigned[index] = True

    claimed: dict[str, int] = {f: i for i, f in enumerate(fields) if f is not None}
    for i, head in enumerate(header):
        if assigned[i]:
            continue
        key = fold_header(head)
        field = configured.get(key) or _AUTO.get(key)
        if field is not None and field in claimed:
            other = claimed[field]
            if assigned[other]:
                field = None  # the user mapped another column to it: this one stays extra
            else:
                raise ImportConfigError(
                    f"columns {labels[other]!r} and {labels[i]!r} both look like the field "
                    f"{field!r}: give a column mapping that names the one to use"
                )
        if field is None:
            field = labels[i]
        if field in claimed:
            field = _unique(field, claimed)
        fields[i] = field
        claimed[field] = i
    return ResolvedColumns(tuple(fields), labels)


def _unique(field: str, taken: Mapping[str, int]) -> str:
    n = 2
    while f"{field} ({n})" in taken:
        n += 1
    return f"{field} ({n})"
