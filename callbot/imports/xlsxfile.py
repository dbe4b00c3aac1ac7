"""XLSX customer lists (Office Open XML, ECMA-376 Part 1 section 18), streamed.

Why not ``openpyxl``'s reader: measured on this machine, ``load_workbook(read_only=True)`` and
``iter_rows(values_only=True)`` alone spend about 6 s of CPU on a 100,000-row, six-column
sheet saved the way Excel saves it (ElementTree events and one dict per cell; a sheet without
a ``dimension`` element is even parsed twice), most of the ten seconds a whole import may
take, and ``values_only`` cannot tell a formula from a text cell that starts with ``=``. This
module reads the same sheet with expat callbacks in about 2.7 s of CPU and sees formulas
(``python -m bench.imports`` has the figures).
``openpyxl`` still supplies the number-format rules (:func:`is_date_format`, the built-in
formats) and the date serial conversion (:func:`from_excel`), and writes our XLSX files.

Parts read: ``_rels/.rels`` -> the workbook (sheet names, order, visibility, the 1904 date
system, 18.2.27-28), its relationships -> the sheet part, the shared strings (18.4.9) and the
styles' cell formats (18.8.10, 18.8.30). A sheet is parsed as it is read (18.3.1.73 ``row``,
18.3.1.4 ``c``): nothing but one row and the shared strings is held in memory.

Values become text: shared and inline strings as written (rich text runs joined, phonetic runs
dropped, ``_xHHHH_`` escapes decoded, 22.9.2.19), numbers without a spurious ``.0``, cells with
a date format as ISO 8601 with the parts the format shows (``1990-01-31``,
``1990-01-31T08:30:00``, ``08:30:00``; a duration format as ``26:30:00``), booleans as
``TRUE``/``FALSE``. A formula is never evaluated: the cell gives the result the spreadsheet saved
and a :class:`~callbot.imports.table.CellNote` reports the formula. A DOCTYPE (which no XLSX
part has, and which entity expansion attacks need) makes the file refused.
"""

from __future__ import annotations

import datetime
import functools
import posixpath
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final
from xml.parsers import expat

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_datetime, is_timedelta_format
from openpyxl.utils.datetime import MAC_EPOCH, WINDOWS_EPOCH, from_excel

from callbot.imports.errors import ImportFileError
from callbot.imports.table import CellNote, SheetRow

__all__ = ["XlsxTable"]

_MAIN_NS: Final = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",
)
_REL_TYPES: Final = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/",
    "http://purl.oclc.org/ooxml/officeDocument/relationships/",
)
_FEED: Final = 1 << 16
MAX_COLUMNS: Final = 16_384
MAX_ROWS: Final = 1_048_576
"""A sheet's limits (ECMA-376 Part 1, 18.3.1.73 and 18.3.1.4): a reference beyond is damage."""
MAX_SHARED_STRINGS_BYTES: Final = 512 << 20
"""Uncompressed size above which the shared strings (held in memory) are refused."""

# Number formats that Excel treats as dates although openpyxl's built-in table lacks them
# (the East Asian locale formats, ECMA-376 Part 1 section 18.8.30).
_LOCALE_DATE_IDS: Final = frozenset({*range(27, 37), *range(50, 59)})
_ESCAPE: Final = re.compile(r"_x([0-9A-Fa-f]{4})_")
_ROW, _CELL, _VALUE, _FORMULA, _INLINE, _TEXT, _PHONETIC = range(7)
_SHEET_TAGS: Final = {
    f"{ns} {local}": code
    for ns in _MAIN_NS
    for local, code in (
        ("row", _ROW), ("c", _CELL), ("v", _VALUE), ("f", _FORMULA), ("is", _INLINE),
        ("t", _TEXT), ("rPh", _PHONETIC),
    )
}
_DATE, _TIME, _DATETIME, _TIMEDELTA = 1, 2, 3, 4
_DATE_KINDS: Final = {"date": _DATE, "time": _TIME, "datetime": _DATETIME}


# What a damaged ZIP container can raise while a member is opened or read: a bad header or
# CRC, a damaged deflate stream, an early end, an unknown compression method, encryption.
_ZIP_ERRORS: Final = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError)


class _Refused(Exception):
    """Raised from an expat handler to stop on a construct we do not accept."""


def _parser(start: Callable[..., None], end: Callable[[str], None] | None = None,
            text: Callable[[str], None] | None = None) -> expat.XMLParserType:
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True
    parser.buffer_size = _FEED

    def refuse(*_: object) -> None:
        raise _Refused("the file contains a DOCTYPE declaration, which XLSX parts never have")

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = start
    if end is not None:
        parser.EndElementHandler = end
    if text is not None:
        parser.CharacterDataHandler = text
    return parser


def _local(name: str) -> str:
    return name.rpartition(" ")[2]


def _unescape(text: str) -> str:
    if "_x" not in text:
        return text
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def _column_index(ref: str, cache: dict[str, int]) -> int:
    letters = ref.rstrip("0123456789")
    index = cache.get(letters)
    if index is None:
        index = 0
        for ch in letters.upper():
            if not "A" <= ch <= "Z":
                raise ValueError(f"bad cell reference {ref!r}")
            index = index * 26 + ord(ch) - 64
        index -= 1
        if not 0 <= index < MAX_COLUMNS:
            raise ValueError(f"cell reference {ref!r} is outside the sheet (columns A to XFD)")
        cache[letters] = index
    return index


def _number_text(raw: str) -> str:
    if raw.isdigit():
        return raw.lstrip("0") or "0"
    number = float(raw)
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return repr(number)


@functools.lru_cache(maxsize=4096)
def _date_text(raw: str, epoch: datetime.datetime, kind: int) -> str:
    try:
        value = from_excel(float(raw), epoch, timedelta=kind == _TIMEDELTA)
    except (OverflowError, ValueError):
        return _number_text(raw)  # a serial outside the calendar: show the number
    if isinstance(value, datetime.timedelta):
        seconds = int(value.total_seconds())
        sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
        return f"{sign}{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    if isinstance(value, datetime.time):  # a serial below 1: a time of day, or the epoch's day
        if kind == _DATE:
            return epoch.date().isoformat()
        return value.isoformat(timespec="seconds")
    if isinstance(value, datetime.datetime):
        if kind == _TIME:
            return value.time().isoformat(timespec="seconds")
        if kind == _DATE or value.time() == datetime.time():
            return value.date().isoformat()
        return value.isoformat(timespec="seconds")
    return str(value)


class XlsxTable:
    """One sheet of an XLSX workbook opened for streaming; see the module docstring."""

    def __init__(self, path: Path, sheet: str | None = None) -> None:
        self.path = path
        try:
            self._zip = zipfile.ZipFile(path)
        except OSError as exc:
            raise ImportFileError(path, f"cannot be read: {exc.strerror or exc}") from exc
        except _ZIP_ERRORS as exc:
            raise ImportFileError(path, "is not an XLSX workbook (the ZIP container is damaged)") from exc
        try:
            self._names = {info.filename.lower(): info.filename for info in self._zip.infolist()}
            workbook = self._workbook_part()
            sheets, date1904 = self._read_workbook(workbook)
            rels = self._read_rels(workbook)
            self.sheet_name, sheet_part = self._choose_sheet(sheets, rels, sheet)
            self._sheet_part = sheet_part
            self._epoch = MAC_EPOCH if date1904 else WINDOWS_EPOCH
            self._strings = self._read_shared_strings(rels)
            self._styles = self._read_styles(rels)
        except ImportFileError:
            self._zip.close()
            raise
        except (expat.ExpatError, _Refused, LookupError, ValueError, *_ZIP_ERRORS) as exc:
            self._zip.close()
            raise ImportFileError(path, f"is not a readable XLSX workbook: {exc}") from exc

    @property
    def encoding(self) -> str | None:
        return None

    # -- workbook structure ------------------------------------------------------------------

    def _member(self, name: str) -> str:
        found = self._names.get(name.lower().lstrip("/"))
        if found is None:
            raise ImportFileError(self.path, f"is not a readable XLSX workbook: the part {name!r} is missing")
        return found

    def _parse_part(self, name: str, start: Callable[..., None], end: Callable[[str], None] | None = None,
                    text: Callable[[str], None] | None = None) -> None:
        parser = _parser(start, end, text)
        with self._zip.open(self._member(name)) as stream:
            parser.ParseFile(stream)

    def _relationships(self, rels_part: str, base: str) -> dict[str, tuple[str, str]]:
        """Id -> (type suffix, part name), for a ``.rels`` part (OPC, ECMA-376 Part 2, 9.3)."""
        found: dict[str, tuple[str, str]] = {}

        def start(name: str, attrs: dict[str, str]) -> None:
            if _local(name) == "Relationship" and attrs.get("TargetMode") != "External":
                kind = attrs.get("Type", "")
                for prefix in _REL_TYPES:
                    if kind.startswith(prefix):
                        kind = kind[len(prefix):]
                target = attrs.get("Target", "")
                if target.startswith("/"):
                    part = target.lstrip("/")
                else:
                    part = posixpath.normpath(posixpath.join(base, target))
                found[attrs.get("Id", "")] = (kind, part)

        if rels_part.lower() in self._names:
            self._parse_part(rels_part, start)
        return found

    def _workbook_part(self) -> str:
        for kind, part in self._relationships("_rels/.rels", "").values():
            if kind == "officeDocument":
                return part
        return "xl/workbook.xml"

    def _read_workbook(self, part: str) -> tuple[list[tuple[str, str, str]], bool]:
        sheets: list[tuple[str, str, str]] = []
        date1904 = [False]

        def start(name: str, attrs: dict[str, str]) -> None:
            local = _local(name)
            if local == "sheet":
                rid = next((v for k, v in attrs.items() if k.endswith(" id")), "")
                sheets.append((attrs.get("name", ""), rid, attrs.get("state", "visible")))
            elif local == "workbookPr":
                date1904[0] = attrs.get("date1904", "0").lower() in ("1", "true")

        self._parse_part(part, start)
        return sheets, date1904[0]

    def _read_rels(self, workbook: str) -> dict[str, tuple[str, str]]:
        folder, name = posixpath.split(workbook)
        return self._relationships(posixpath.join(folder, "_rels", name + ".rels"), folder)

    def _choose_sheet(self, sheets: list[tuple[str, str, str]], rels: dict[str, tuple[str, str]],
                      wanted: str | None) -> tuple[str, str]:
        worksheets = [(n, rels[r][1], s) for n, r, s in sheets if r in rels and rels[r][0] == "worksheet"]
        if wanted is not None:
            for sheet_name, part, _state in worksheets:
                if sheet_name == wanted or sheet_name.casefold() == wanted.casefold():
                    return sheet_name, part
            names = ", ".join(repr(n) for n, _p, _s in worksheets) or "none"
            raise ImportFileError(self.path, f"has no sheet named {wanted!r}; sheets: {names}")
        for sheet_name, part, state in worksheets:
            if state == "visible":
                return sheet_name, part
        raise ImportFileError(self.path, "has no visible worksheet")

    def _part_by_kind(self, rels: dict[str, tuple[str, str]], kind: str) -> str | None:
        for found, part in rels.values():
            if found == kind and part.lower() in self._names:
                return part
        return None

    def _read_shared_strings(self, rels: dict[str, tuple[str, str]]) -> list[str]:
        part = self._part_by_kind(rels, "sharedStrings")
        if part is None:
            return []
        if self._zip.getinfo(self._member(part)).file_size > MAX_SHARED_STRINGS_BYTES:
            raise ImportFileError(self.path, "its shared strings are larger than 512 MiB; split the list")
        strings: list[str] = []
        pieces: list[str] = []
        state = {"text": False, "phonetic": 0}

        def start(name: str, _attrs: dict[str, str]) -> None:
            local = _local(name)
            if local == "t" and not state["phonetic"]:
                state["text"] = True
            elif local == "rPh":
                state["phonetic"] += 1
            elif local == "si":
                pieces.clear()

        def end(name: str) -> None:
            local = _local(name)
            if local == "t":
                state["text"] = False
            elif local == "rPh":
                state["phonetic"] -= 1
            elif local == "si":
                strings.append(_unescape("".join(pieces)))

        def text(data: str) -> None:
            if state["text"]:
                pieces.append(data)

        self._parse_part(part, start, end, text)
        return strings

    def _read_styles(self, rels: dict[str, tuple[str, str]]) -> list[int]:
        """Per cell format index (``s``): 0 (not a date), or how its dates are shown."""
        part = self._part_by_kind(rels, "styles")
        if part is None:
            return []
        custom: dict[int, str] = {}
        format_ids: list[int] = []
        depth = {"cellXfs": False}

        def start(name: str, attrs: dict[str, str]) -> None:
            local = _local(name)
            if local == "numFmt":
                custom[int(attrs.get("numFmtId", "0"))] = attrs.get("formatCode", "")
            elif local == "cellXfs":
                depth["cellXfs"] = True
            elif local == "xf" and depth["cellXfs"]:
                format_ids.append(int(attrs.get("numFmtId", "0")))

        def end(name: str) -> None:
            if _local(name) == "cellXfs":
                depth["cellXfs"] = False

        self._parse_part(part, start, end)
        kinds: list[int] = []
        for format_id in format_ids:
            code = custom.get(format_id, BUILTIN_FORMATS.get(format_id))
            if is_timedelta_format(code):
                kinds.append(_TIMEDELTA)
            elif is_date_format(code):
                kinds.append(_DATE_KINDS.get(is_datetime(code) or "", _DATETIME))
            elif code is None and format_id in _LOCALE_DATE_IDS:
                kinds.append(_DATE)
            else:
                kinds.append(0)
        return kinds

    # -- the sheet ---------------------------------------------------------------------------

    def rows(self) -> Iterator[SheetRow]:
        sheet = _SheetParser(self._strings, self._styles, self._epoch)
        parser = _parser(sheet.start, sheet.end, sheet.text)
        try:
            with self._zip.open(self._member(self._sheet_part)) as stream:
                while chunk := stream.read(_FEED):
                    parser.Parse(chunk, False)
                    if sheet.ready:
                        yield from sheet.ready
                        sheet.ready.clear()
                parser.Parse(b"", True)
                yield from sheet.ready
                sheet.ready.clear()
        except (expat.ExpatError, _Refused, *_ZIP_ERRORS) as exc:
            raise ImportFileError(
                self.path, f"sheet {self.sheet_name!r} is damaged after row {sheet.row_number}: {exc}"
            ) from exc
        except (LookupError, ValueError, OverflowError) as exc:
            raise ImportFileError(
                self.path, f"sheet {self.sheet_name!r}, row {sheet.row_number}: a cell cannot be read ({exc})"
            ) from exc

    def close(self) -> None:
        self._zip.close()


class _SheetParser:
    """expat handlers for one worksheet part; finished rows accumulate in :attr:`ready`."""

    def __init__(self, strings: list[str], styles: list[int], epoch: datetime.datetime) -> None:
        self.strings = strings
        self.styles = styles
        self.epoch = epoch
        self.ready: list[SheetRow] = []
        self.row_number = 0
        self._columns: dict[str, int] = {}
        self._values: list[str] = []
        self._notes: list[CellNote] = []
        self._capture: list[str] | None = None
        self._value: list[str] = []
        self._formula: list[str] = []
        self._inline: list[str] = []
        self._has_formula = False
        self._in_inline = False
        self._phonetic = 0
        self._type = "n"
        self._style = 0
        self._column = 0

    def start(self, name: str, attrs: dict[str, str]) -> None:
        tag = _SHEET_TAGS.get(name)
        if tag == _CELL:
            ref = attrs.get("r")
            self._column = _column_index(ref, self._columns) if ref else len(self._values)
            self._type = attrs.get("t", "n")
            style = attrs.get("s")
            self._style = int(style) if style else 0
            self._value = []
            self._inline = []
            self._has_formula = False
        elif tag == _VALUE:
            self._capture = self._value
        elif tag == _ROW:
            ref = attrs.get("r")
            self.row_number = int(ref) if ref else self.row_number + 1
            if not 0 < self.row_number <= MAX_ROWS:
                raise ValueError(f"row number {self.row_number} is outside the sheet (1 to {MAX_ROWS})")
            self._values = []
            self._notes = []
        elif tag == _FORMULA:
            self._has_formula = True
            self._formula = []
            self._capture = self._formula
        elif tag == _INLINE:
            self._in_inline = True
        elif tag == _TEXT and self._in_inline and not self._phonetic:
            self._capture = self._inline
        elif tag == _PHONETIC:
            self._phonetic += 1

    def text(self, data: str) -> None:
        if self._capture is not None:
            self._capture.append(data)

    def end(self, name: str) -> None:
        tag = _SHEET_TAGS.get(name)
        if tag == _VALUE or tag == _FORMULA or tag == _TEXT:
            self._capture = None
        elif tag == _CELL:
            self._finish_cell()
        elif tag == _ROW:
            self.ready.append(SheetRow(self.row_number, self._values, tuple(self._notes)))
        elif tag == _INLINE:
            self._in_inline = False
        elif tag == _PHONETIC:
            self._phonetic -= 1

    def _finish_cell(self) -> None:
        kind = self._type
        raw = "".join(self._value)
        if kind == "s":
            value = self.strings[int(raw)] if raw else ""
        elif kind == "n":
            if not raw:
                value = ""
            elif self._style and self._style < len(self.styles) and self.styles[self._style]:
                value = _date_text(raw, self.epoch, self.styles[self._style])
            else:
                value = _number_text(raw)
        elif kind == "inlineStr":
            value = _unescape("".join(self._inline))
        elif kind == "str":
            value = _unescape(raw)
        elif kind == "b":
            value = "TRUE" if raw.strip() in ("1", "true") else "FALSE" if raw else ""
        elif kind == "e":
            self._notes.append(CellNote(self._column, "error", raw))
            value = ""
        elif kind == "d":
            value = raw.removesuffix("Z").removesuffix("T00:00:00") if raw else ""
        else:
            value = raw
        if self._has_formula:
            formula = "".join(self._formula)
            text = f"={formula}" if formula else "(a formula shared with another cell)"
            self._notes.append(CellNote(self._column, "formula", text, cached=bool(raw)))
        values = self._values
        if self._column == len(values):
            values.append(value)
        elif self._column > len(values):
            values.extend([""] * (self._column - len(values)))
            values.append(value)
        else:
            values[self._column] = value
