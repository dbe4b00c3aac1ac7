"""Customer list import (callbot.imports): real CSV and XLSX files written to a temporary
directory and read back.

Encodings (UTF-8 with and without a byte order mark, UTF-16, Windows-1258 Vietnamese,
Windows-1252, Latin-1), delimiters, header recognition and the user's column mapping, missing
columns, formulas (never evaluated; CSV cells starting with ``= + - @`` stay text), XLSX values
(shared and inline strings, dates, numbers, errors), empty rows, required fields, phone
numbers (hypothesis: the normalizer only ever returns a number or an error, and its shortcut
agrees with ``phonenumbers.parse``), duplicates inside the file and against the campaign's
customers, the template, refusal of unreadable files, and a million-row CSV streamed in
bounded memory.
"""

from __future__ import annotations

import codecs
import csv
import tempfile
import tracemalloc
import unicodedata
import zipfile
from pathlib import Path

import openpyxl
import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callbot.imports import (
    ColumnMapping,
    CustomerImport,
    CustomerRow,
    ExistingCustomer,
    ImportConfig,
    ImportConfigError,
    ImportFileError,
    InvalidPhone,
    MissingColumnError,
    PhoneNormalizer,
    SkippedRow,
    duplicate_key,
    fold_header,
    import_customers,
    looks_like_formula,
    neutralize_formula,
    normalize_phone,
    write_template,
)
from callbot.imports.csvfile import sniff_delimiter
from callbot.imports.importer import MAX_WARNINGS
from callbot.imports.mapping import resolve_columns
from callbot.imports.seen import SeenIndex

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

HEADER = ["Họ tên", "SĐT", "Email", "Mã KH"]
ANH = ["Nguyễn Văn Ánh", "0912345678", "anh@example.vn", "KH001"]
BINH = ["Trần Thị Bình", "0987654321", "binh@example.vn", "KH002"]
CUONG = ["Lê Đức Cường", "0903123456", "cuong@example.vn", "KH003"]
TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8", delimiter: str = ",") -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        csv.writer(f, delimiter=delimiter).writerows(rows)
    return path


def to_cp1258(text: str) -> bytes:
    """Vietnamese as Windows writes it in code page 1258: letters with a hat, breve or horn
    precomposed, the tone as a separate combining mark."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        base, *marks = unicodedata.normalize("NFD", ch)
        head = unicodedata.normalize("NFC", base + "".join(m for m in marks if m not in TONES))
        out += head.encode("cp1258") + "".join(m for m in marks if m in TONES).encode("cp1258")
    return bytes(out)


def names(report_rows: list[CustomerRow]) -> list[str]:
    return [r.name for r in report_rows]


# --- a hand-made XLSX package (ECMA-376), to control every cell type ------------------------

NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
STYLES = f"""<?xml version="1.0" encoding="UTF-8"?>
<styleSheet {NS}><numFmts count="1"><numFmt numFmtId="164" formatCode="dd/mm/yyyy hh:mm"/></numFmts>
<fonts count="1"><font/></fonts><fills count="1"><fill><patternFill patternType="none"/></fill></fills>
<borders count="1"><border/></borders><cellStyleXfs count="1"><xf numFmtId="0"/></cellStyleXfs>
<cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/>
<xf numFmtId="164" applyNumberFormat="1"/></cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>"""


def make_xlsx(
    path: Path,
    rows_xml: str | list[str],
    shared: list[str] | None = None,
    sheets: list[tuple[str, str]] | None = None,
    date1904: bool = False,
) -> Path:
    """``rows_xml``: the ``<row>`` elements of the (first) sheet; ``sheets``: (name, state)."""
    sheet_list = sheets or [("Khách hàng", "visible")]
    bodies = rows_xml if isinstance(rows_xml, list) else [rows_xml] * len(sheet_list)
    sheet_elems = "".join(
        f'<sheet name="{n}" sheetId="{i + 1}" state="{s}" r:id="rId{i + 1}"/>' for i, (n, s) in enumerate(sheet_list)
    )
    rels = "".join(
        f'<Relationship Id="rId{i + 1}" Type="{REL_NS}/worksheet" Target="worksheets/sheet{i + 1}.xml"/>'
        for i in range(len(sheet_list))
    )
    rels += f'<Relationship Id="rIdS" Type="{REL_NS}/styles" Target="styles.xml"/>'
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i + 1}.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(len(sheet_list))
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        if shared is not None:
            rels += f'<Relationship Id="rIdT" Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/>'
            overrides += (
                '<Override PartName="/xl/sharedStrings.xml" '
                'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            )
            items = "".join(s if s.startswith("<si>") else f"<si><t>{s}</t></si>" for s in shared)
            z.writestr("xl/sharedStrings.xml", f'<?xml version="1.0" encoding="UTF-8"?><sst {NS}>{items}</sst>')
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            f"{overrides}</Types>",
        )
        z.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        z.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><workbook {NS} xmlns:r="{REL_NS}">'
            f'<workbookPr date1904="{int(date1904)}"/><sheets>{sheet_elems}</sheets></workbook>',
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>',
        )
        z.writestr("xl/styles.xml", STYLES)
        for i, body in enumerate(bodies):
            z.writestr(
                f"xl/worksheets/sheet{i + 1}.xml",
                f'<?xml version="1.0" encoding="UTF-8"?><worksheet {NS}><sheetData>{body}</sheetData></worksheet>',
            )
    return path


def inline_row(number: int, values: list[str]) -> str:
    cells = "".join(
        f'<c r="{chr(65 + i)}{number}" t="inlineStr"><is><t>{v}</t></is></c>' for i, v in enumerate(values) if v
    )
    return f'<row r="{number}">{cells}</row>'


# --- encodings ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "reported"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("utf-16", "utf-16")],
)
def test_unicode_encodings_are_detected(tmp_path: Path, encoding: str, reported: str) -> None:
    path = write_csv(tmp_path / "list.csv", [HEADER, ANH, BINH], encoding)
    report = import_customers(path)
    assert report.encoding == reported
    assert names(report.imported) == ["Nguyễn Văn Ánh", "Trần Thị Bình"]
    assert report.imported[0].phone == "+84912345678"


def test_excel_unicode_text_is_utf16_with_tabs(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "list.txt", [HEADER, ANH, CUONG], "utf-16", delimiter="\t")
    report = import_customers(path)
    assert (report.encoding, names(report.imported)) == ("utf-16", ["Nguyễn Văn Ánh", "Lê Đức Cường"])


def test_utf16_without_bom(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes("\r\n".join(",".join(r) for r in [HEADER, ANH]).encode("utf-16-le"))
    report = import_customers(path)
    assert (report.encoding, names(report.imported)) == ("utf-16-le", ["Nguyễn Văn Ánh"])


def test_windows_1258_vietnamese(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    text = "\r\n".join(",".join(r) for r in [HEADER, ANH, BINH, CUONG, ["Phạm Ngọc Ẩn", "0934567890", "", ""]])
    path.write_bytes(to_cp1258(text))
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    report = import_customers(path)
    assert report.encoding == "cp1258"
    assert names(report.imported) == ["Nguyễn Văn Ánh", "Trần Thị Bình", "Lê Đức Cường", "Phạm Ngọc Ẩn"]
    assert all(unicodedata.is_normalized("NFC", n) for n in names(report.imported))


def test_windows_1252_western(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes("name,phone\r\nJosé Müller,0912345678\r\nFrançoise Ørsted,0987654321\r\n".encode("cp1252"))
    report = import_customers(path)
    assert (report.encoding, names(report.imported)) == ("cp1252", ["José Müller", "Françoise Ørsted"])


def test_latin1_when_nothing_else_decodes(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(b"name,phone\r\nA\x81B,0912345678\r\n")
    report = import_customers(path)
    assert (report.encoding, names(report.imported)) == ("latin-1", ["A\x81B"])


def test_byte_order_mark_that_lies_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(codecs.BOM_UTF8 + b"name,phone\r\nNguy\xea\xden,0912345678\r\n")
    with pytest.raises(ImportFileError, match="not valid utf-8"):
        import_customers(path)


# --- delimiters and headers --------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    rows = [HEADER + ["Ghi chú"], ANH + ["gọi sau, sau 5 giờ; nhé"], BINH + [""]]
    report = import_customers(write_csv(tmp_path / "list.csv", rows, delimiter=delimiter))
    assert names(report.imported) == ["Nguyễn Văn Ánh", "Trần Thị Bình"]
    assert report.imported[0].extra == {"Ghi chú": "gọi sau, sau 5 giờ; nhé"}


def test_excel_sep_line_sets_the_delimiter_and_is_not_a_row(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("sep=;\nHọ tên;SĐT\nNguyễn Văn Ánh;0912345678\n", encoding="utf-8")
    report = import_customers(path)
    assert [(r.row, r.name) for r in report.imported] == [(2, "Nguyễn Văn Ánh")]


def test_sniffer_on_a_one_column_file_and_a_cut_quote() -> None:
    assert sniff_delimiter("phone\n0912345678\n") == ","
    assert sniff_delimiter('a;b;c\n1;2;3\n4;"5\n') == ";"


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Số điện thoại", "phone"), ("SỐ ĐIỆN THOẠI", "phone"), ("SĐT", "phone"), ("sdt", "phone"),
        ("Phone", "phone"), ("Mobile", "phone"), ("Điện thoại di động", "phone"), ("Phone Number", "phone"),
        ("Họ và tên", "name"), ("Tên khách hàng", "name"), ("Full name", "name"), ("ho ten", "name"),
        ("E-mail", "email"), ("Email", "email"), ("Mã KH", "code"), ("Mã khách hàng", "code"),
        ("Customer code", "code"),
    ],
)
def test_common_header_spellings(header: str, field: str) -> None:
    assert resolve_columns(["x", header]).fields == ("x", field)


def test_fold_header_ignores_case_diacritics_and_punctuation() -> None:
    assert fold_header(" Số Điện-Thoại ") == fold_header("so dien thoai") == "sodienthoai"


def test_unknown_columns_become_extra_fields(tmp_path: Path) -> None:
    rows = [["Họ tên", "SĐT", "Tỉnh", "", "Ghi chú"], ["An", "0912345678", "Hà Nội", "x", ""]]
    report = import_customers(write_csv(tmp_path / "list.csv", rows))
    assert report.imported[0].extra == {"Tỉnh": "Hà Nội", "column D": "x"}
    assert report.columns["Tỉnh"] == "Tỉnh"


def test_column_mapping_for_the_users_own_file(tmp_path: Path) -> None:
    rows = [["Khách", "Liên lạc", "Số nhà", "Bỏ qua"], ["Nguyễn Văn Ánh", "0912 345 678", "12 Lê Lợi", "z"]]
    mapping = ColumnMapping({"Khách": "name", "lien lac": "phone", "Số nhà": "address", "Bỏ qua": None})
    report = import_customers(write_csv(tmp_path / "own.csv", rows), ImportConfig(mapping=mapping))
    row = report.imported[0]
    assert (row.name, row.phone, row.extra) == ("Nguyễn Văn Ánh", "+84912345678", {"address": "12 Lê Lợi"})


def test_mapping_wins_over_automatic_spellings(tmp_path: Path) -> None:
    rows = [["SĐT", "Phone mới"], ["0912345678", "0987654321"]]
    config = ImportConfig(mapping=ColumnMapping({"Phone mới": "phone"}))
    row = import_customers(write_csv(tmp_path / "l.csv", rows), config).imported[0]
    assert (row.phone, row.extra) == ("+84987654321", {"SĐT": "0912345678"})


def test_mapping_that_names_a_missing_column_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "l.csv", [HEADER, ANH])
    with pytest.raises(ImportFileError, match="names 'Điện thoại' but the file has no such column"):
        import_customers(path, ImportConfig(mapping=ColumnMapping({"Điện thoại": "phone"})))


def test_two_columns_for_one_field_are_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "l.csv", [["SĐT", "Số điện thoại"], ["0912345678", "0987654321"]])
    with pytest.raises(ImportFileError, match="'SĐT' and 'Số điện thoại' both look like the field 'phone'"):
        import_customers(path)


def test_inconsistent_configuration_is_refused_early() -> None:
    with pytest.raises(ImportConfigError):
        ColumnMapping({"A": "phone", "B": "phone"})
    with pytest.raises(ImportConfigError):
        ColumnMapping({"SĐT": "phone", "sdt": "name"})
    with pytest.raises(ImportConfigError, match="'birthday'"):
        ImportConfig(required=frozenset({"birthday"}))
    assert ImportConfig(required=frozenset({"birthday"}), extra_fields=("birthday",))


# --- missing columns and required fields -------------------------------------------------


def test_missing_phone_column_imports_nothing(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "l.csv", [["Họ tên", "Email"], ["An", "an@example.vn"]])
    with pytest.raises(MissingColumnError) as caught:
        import_customers(path)
    assert caught.value.field == "phone"
    assert "columns found: 'Họ tên', 'Email'" in str(caught.value)


def test_missing_required_column_is_named(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "l.csv", [["Họ tên", "SĐT"], ["An", "0912345678"]])
    with pytest.raises(MissingColumnError, match="'email'"):
        import_customers(path, ImportConfig(required=frozenset({"phone", "email"})))


def test_required_value_missing_is_reported_by_row_and_column(tmp_path: Path) -> None:
    rows = [HEADER, ANH, ["", "0987654321", "x@example.vn", ""], ["Cường", "", "", ""]]
    report = import_customers(write_csv(tmp_path / "l.csv", rows), ImportConfig(required=frozenset({"name", "phone"})))
    assert names(report.imported) == ["Nguyễn Văn Ánh"]
    assert [str(s) for s in report.skipped] == [
        "row 3, column Họ tên: name is required but empty",
        "row 4, column SĐT: phone is required but empty",
    ]


def test_empty_file_and_header_only(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(ImportFileError, match="is empty"):
        import_customers(empty)
    report = import_customers(write_csv(tmp_path / "h.csv", [HEADER]))
    assert (report.rows_read, report.imported, report.skipped) == (0, [], [])


# --- empty rows --------------------------------------------------------------------------


def test_empty_rows_are_skipped_silently_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    path.write_text(
        "\n\nHọ tên,SĐT\n,\nAn,0912345678\n\n  ,  \nBình,0987654321\n,,,\n", encoding="utf-8"
    )
    report = import_customers(path)
    assert [(r.row, r.name) for r in report.imported] == [(5, "An"), (8, "Bình")]
    assert (report.rows_read, report.empty_rows, report.skipped) == (2, 6, [])


def test_xlsx_empty_rows(tmp_path: Path) -> None:
    rows = inline_row(1, ["Họ tên", "SĐT"]) + '<row r="2"><c r="A2" s="1"/></row>' + inline_row(
        4, ["An", "0912345678"]
    )
    report = import_customers(make_xlsx(tmp_path / "l.xlsx", rows))
    assert [(r.row, r.name) for r in report.imported] == [(4, "An")]
    assert report.empty_rows == 1


# --- formulas ----------------------------------------------------------------------------


def test_csv_cells_that_look_like_formulas_stay_text(tmp_path: Path) -> None:
    rows = [
        ["Họ tên", "SĐT", "Ghi chú"],
        ['=HYPERLINK("http://evil.example","Nguyễn Văn Ánh")', "+84 912 345 678", "=1+1"],
        ["@SUM(A1:A9)", "0987654321", "-2+3"],
        ["+cmd|' /C calc'!A0", "0903123456", "=1+1"],
    ]
    report = import_customers(write_csv(tmp_path / "l.csv", rows))
    assert names(report.imported) == [rows[1][0], rows[2][0], rows[3][0]]
    assert report.imported[0].extra == {"Ghi chú": "=1+1"}
    assert report.imported[1].extra == {"Ghi chú": "-2+3"}
    assert report.warnings == []
    assert [neutralize_formula(n) for n in names(report.imported)] == ["'" + rows[i][0] for i in (1, 2, 3)]


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@x", "\tx", "\rx"])
def test_neutralize_formula_prefixes_a_quote(value: str) -> None:
    assert looks_like_formula(value)
    assert neutralize_formula(value) == "'" + value


@pytest.mark.parametrize("value", ["", "Nguyễn Văn Ánh", "0912345678", "a=b", " =1"])
def test_neutralize_formula_leaves_plain_text(value: str) -> None:
    assert neutralize_formula(value) == value


def test_xlsx_formulas_are_not_evaluated(tmp_path: Path) -> None:
    rows = (
        inline_row(1, ["Họ tên", "SĐT", "Ghi chú"])
        + '<row r="2"><c r="A2" t="str"><f>HYPERLINK("http://evil.example","Nguyễn Văn Ánh")</f>'
        '<v>Nguyễn Văn Ánh</v></c><c r="B2" t="inlineStr"><is><t>0912345678</t></is></c>'
        '<c r="C2"><f>1+1</f><v>2</v></c></row>'
        '<row r="3"><c r="A3" t="inlineStr"><is><t>Bình</t></is></c>'
        '<c r="B3"><f>1+1</f></c></row>'
        '<row r="4"><c r="A4" t="inlineStr"><is><t>Cường</t></is></c>'
        '<c r="B4" t="inlineStr"><is><t>0903123456</t></is></c><c r="C4"><f>1/0</f></c></row>'
        '<row r="5"><c r="A5" t="inlineStr"><is><t>Dung</t></is></c>'
        '<c r="B5" t="inlineStr"><is><t>0934567890</t></is></c><c r="C5" t="e"><f>1/0</f><v>#DIV/0!</v></c></row>'
    )
    report = import_customers(make_xlsx(tmp_path / "f.xlsx", rows))
    assert [(r.name, r.extra) for r in report.imported] == [
        ("Nguyễn Văn Ánh", {"Ghi chú": "2"}),
        ("Cường", {}),
        ("Dung", {}),
    ]
    assert [str(s) for s in report.skipped] == [
        "row 3, column SĐT: phone is required but empty "
        "(the cell is a formula with no saved value, =1+1, which is not evaluated)"
    ]
    assert report.warnings == [
        'row 2, column Họ tên: formula =HYPERLINK("http://evil.example","Nguyễn Văn Ánh") was not evaluated; '
        "the value saved with the file was imported",
        "row 2, column Ghi chú: formula =1+1 was not evaluated; the value saved with the file was imported",
        "row 3, column SĐT: formula =1+1 was not evaluated and has no saved value; the cell was read as empty",
        "row 4, column Ghi chú: formula =1/0 was not evaluated and has no saved value; the cell was read as empty",
        "row 5, column Ghi chú: error value #DIV/0! read as empty",
        "row 5, column Ghi chú: formula =1/0 was not evaluated; the value saved with the file was imported",
    ]


def test_xlsx_text_cell_starting_with_equals_is_text_not_a_formula(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Họ tên", "SĐT"])
    sheet.append(["=1+1", "0912345678"])
    sheet["A2"].data_type = "s"  # stored as a string, as Excel does for '=1+1
    workbook.save(path)
    report = import_customers(path)
    assert (names(report.imported), report.warnings) == (["=1+1"], [])


def test_warnings_are_capped(tmp_path: Path) -> None:
    rows = inline_row(1, ["SĐT", "Ghi chú"]) + "".join(
        f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>09{n:08d}</t></is></c><c r="B{n}"><f>1+1</f></c></row>'
        for n in range(2, MAX_WARNINGS + 12)
    )
    report = import_customers(make_xlsx(tmp_path / "w.xlsx", rows))
    assert len(report.imported) == MAX_WARNINGS + 10
    assert len(report.warnings) == MAX_WARNINGS + 1
    assert report.warnings[-1] == "... and 10 more warnings"


# --- XLSX values -------------------------------------------------------------------------


def test_xlsx_shared_strings_numbers_dates_and_booleans(tmp_path: Path) -> None:
    shared = [
        "Họ tên", "SĐT", "Ngày sinh", "Hẹn gọi", "VIP", "Ghi chú",
        '<si><r><t>Nguyễn </t></r><r><rPr><b/></rPr><t>Văn Ánh</t></r><rPh sb="0" eb="1"><t>PHONETIC</t></rPh></si>',
        "dòng 1_x000D_dòng 2",
    ]
    rows = (
        '<row r="1">' + "".join(f'<c r="{chr(65 + i)}1" t="s"><v>{i}</v></c>' for i in range(6)) + "</row>"
        '<row r="2"><c r="A2" t="s"><v>6</v></c><c r="B2"><v>912345678</v></c>'
        '<c r="C2" s="1"><v>32874</v></c><c r="D2" s="2"><v>45292.5625</v></c>'
        '<c r="E2" t="b"><v>1</v></c><c r="F2" t="s"><v>7</v></c></row>'
        '<row r="3"><c r="A3" t="inlineStr"><is><t>Bình</t></is></c><c r="B3"><v>8.4987654321E10</v></c>'
        '<c r="C3" t="d"><v>1990-01-31T00:00:00Z</v></c><c r="F3"><v>1.5</v></c></row>'
    )
    path = make_xlsx(tmp_path / "s.xlsx", rows, shared=shared)
    assert openpyxl.load_workbook(path, read_only=True).worksheets[0]["B2"].value == 912345678
    report = import_customers(path)
    first, second = report.imported
    assert (first.name, first.phone, first.phone_raw) == ("Nguyễn Văn Ánh", "+84912345678", "912345678")
    assert first.extra == {
        "Ngày sinh": "1990-01-01", "Hẹn gọi": "2024-01-01T13:30:00", "VIP": "TRUE", "Ghi chú": "dòng 1\rdòng 2",
    }
    assert (second.phone, second.extra) == ("+84987654321", {"Ngày sinh": "1990-01-31", "Ghi chú": "1.5"})


def test_xlsx_1904_date_system(tmp_path: Path) -> None:
    rows = inline_row(1, ["SĐT", "Ngày"]) + (
        '<row r="2"><c r="A2" t="inlineStr"><is><t>0912345678</t></is></c><c r="B2" s="1"><v>0</v></c></row>'
    )
    report = import_customers(make_xlsx(tmp_path / "d.xlsx", rows, date1904=True))
    assert report.imported[0].extra == {"Ngày": "1904-01-01"}


def test_xlsx_sparse_cells_without_references(tmp_path: Path) -> None:
    rows = (
        "<row><c t=\"inlineStr\"><is><t>SĐT</t></is></c><c t=\"inlineStr\"><is><t>Họ tên</t></is></c></row>"
        '<row><c t="inlineStr"><is><t>0912345678</t></is></c><c t="inlineStr"><is><t>An</t></is></c></row>'
        '<row r="7"><c r="B7" t="inlineStr"><is><t>Bình</t></is></c><c r="A7"><v>987654321</v></c></row>'
    )
    report = import_customers(make_xlsx(tmp_path / "s.xlsx", rows))
    assert [(r.row, r.name, r.phone) for r in report.imported] == [
        (2, "An", "+84912345678"), (7, "Bình", "+84987654321"),
    ]


def test_xlsx_sheet_selection(tmp_path: Path) -> None:
    hidden = inline_row(1, ["SĐT"]) + inline_row(2, ["0900000000"])
    visible = inline_row(1, ["SĐT"]) + inline_row(2, ["0912345678"])
    path = make_xlsx(tmp_path / "m.xlsx", [hidden, visible], sheets=[("Ẩn", "hidden"), ("Danh sách", "visible")])
    assert import_customers(path).imported[0].phone == "+84912345678"
    assert import_customers(path, ImportConfig(sheet="ẩn")).imported[0].phone == "+84900000000"
    with pytest.raises(ImportFileError, match="no sheet named 'Khác'; sheets: 'Ẩn', 'Danh sách'"):
        import_customers(path, ImportConfig(sheet="Khác"))


def test_xlsx_written_by_openpyxl(tmp_path: Path) -> None:
    import datetime

    path = tmp_path / "o.xlsx"
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("KH")
    sheet.append(["Họ và tên", "Số điện thoại", "Ngày sinh", "Điểm"])
    sheet.append(["Nguyễn Văn Ánh", 912345678, datetime.date(1990, 1, 31), 7.25])
    workbook.save(path)
    row = import_customers(path).imported[0]
    assert (row.name, row.phone, row.extra) == ("Nguyễn Văn Ánh", "+84912345678", {"Ngày sinh": "1990-01-31", "Điểm": "7.25"})


# --- unreadable files: nothing imported --------------------------------------------------


def test_old_xls_and_protected_workbooks_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    with pytest.raises(ImportFileError, match=r"Excel 97-2003 \(.xls\) or password-protected"):
        import_customers(path)


def test_damaged_zip_and_fake_xlsx_are_refused(tmp_path: Path) -> None:
    damaged = tmp_path / "d.xlsx"
    damaged.write_bytes(b"PK\x03\x04" + b"garbage" * 20)
    with pytest.raises(ImportFileError, match="not an XLSX workbook"):
        import_customers(damaged)
    fake = tmp_path / "f.xlsx"
    fake.write_text("SĐT\n0912345678\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="named like an XLSX workbook but is not one"):
        import_customers(fake)
    other_zip = tmp_path / "z.xlsx"
    with zipfile.ZipFile(other_zip, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(ImportFileError, match="missing"):
        import_customers(other_zip)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="cannot be read"):
        import_customers(tmp_path / "nope.csv")


def test_doctype_in_a_part_is_refused(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "x.xlsx", inline_row(1, ["SĐT"]))
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bomb, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(
                    b"<worksheet", b'<!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><worksheet', 1
                ).replace("<t>SĐT</t>".encode(), b"<t>&b;</t>")
            dst.writestr(item, data)
    with pytest.raises(ImportFileError, match="DOCTYPE"):
        import_customers(bomb)


def test_sheet_damaged_half_way_raises_out_of_the_iteration(tmp_path: Path) -> None:
    good = "".join(inline_row(n, [f"09{n:08d}"]) for n in range(2, 3000))
    path = make_xlsx(tmp_path / "t.xlsx", inline_row(1, ["SĐT"]) + good + '<row r="3000"><c r="A3000"><v>1</v>')
    received: list[CustomerRow | SkippedRow] = []
    with pytest.raises(ImportFileError, match="is damaged after row"), CustomerImport(path) as rows:
        for item in rows:
            received.append(item)
    assert len(received) >= 1  # the caller saw rows before the damage and must roll them back
    with pytest.raises(ImportFileError):
        import_customers(path)  # the whole-file form has no report to give


def test_csv_with_an_oversized_cell_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text("SĐT,Ghi chú\n0912345678,\"" + "x" * (csv.field_size_limit() + 10) + "\"\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="row 2 cannot be read as CSV"):
        import_customers(path)


@SETTINGS
@given(st.binary(max_size=600))
def test_any_bytes_as_csv_import_or_raise_only_the_file_error(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "any.csv"
        path.write_bytes(data)
        try:
            report = import_customers(path)
        except ImportFileError:
            return
        assert report.rows_read == len(report.imported) + len(report.skipped)


def _valid_xlsx_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        rows = inline_row(1, HEADER) + inline_row(2, ANH) + '<row r="3"><c r="A3" s="1"><v>3</v></c></row>'
        return make_xlsx(Path(tmp) / "v.xlsx", rows, shared=["x"]).read_bytes()


VALID_XLSX = _valid_xlsx_bytes()


@SETTINGS
@given(
    st.lists(st.tuples(st.integers(0, len(VALID_XLSX) - 1), st.integers(0, 255)), max_size=8),
    st.integers(0, len(VALID_XLSX)),
)
def test_damaged_xlsx_imports_or_raises_only_the_file_error(flips: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(VALID_XLSX)
    for at, value in flips:
        data[at] = value
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.xlsx"
        path.write_bytes(bytes(data[: max(cut, 8)]))
        try:
            report = import_customers(path)
        except ImportFileError:
            return
        assert report.rows_read == len(report.imported) + len(report.skipped)


# --- phone numbers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["0912345678", "0912 345 678", "0912.345.678", "0912-345-678", "(091) 234-5678", "84912345678",
     "+84912345678", "+84 912 345 678", "0084 912 345 678", "912345678", " 0912345678\u00a0"],
)
def test_vietnamese_mobile_formats(text: str) -> None:
    assert normalize_phone(text) == "+84912345678"


@pytest.mark.parametrize(
    ("text", "e164"),
    [("028 3812 3456", "+842838123456"), ("+1 650 253 0000", "+16502530000"), ("1900 1234", "+8419001234")],
)
def test_landlines_and_foreign_numbers(text: str, e164: str) -> None:
    assert normalize_phone(text) == e164


@pytest.mark.parametrize(
    ("text", "detail"),
    [("0912", "too short"), ("091234567890123", "too long"), ("abc", "not a number"), ("", "empty"),
     ("0112345678", "no such number in its country's numbering plan"), ("+999 1234567", "unknown country code")],
)
def test_invalid_numbers_say_why(text: str, detail: str) -> None:
    result = normalize_phone(text)
    assert isinstance(result, InvalidPhone)
    assert result.detail == detail
    assert result.reason == f"{text!r} is not a valid phone number ({detail})"


def test_invalid_phone_reported_by_row_and_column_with_the_original(tmp_path: Path) -> None:
    rows = [HEADER, ANH, ["Bình", "0912", "", ""], ["Cường", "09o3 123 456", "", ""]]
    report = import_customers(write_csv(tmp_path / "l.csv", rows))
    assert [str(s) for s in report.skipped] == [
        "row 3, column SĐT: '0912' is not a valid phone number (too short)",
        "row 4, column SĐT: '09o3 123 456' is not a valid phone number (not a number)",
    ]


@SETTINGS
@given(st.text(max_size=80))
def test_normalizer_never_raises_on_any_text(text: str) -> None:
    result = normalize_phone(text)
    if isinstance(result, InvalidPhone):
        assert result.original == text and result.reason
    else:
        number = phonenumbers.parse(result)
        assert phonenumbers.is_valid_number(number)
        assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == result


prefixes = st.sampled_from(["", "0", "84", "+84", "+84 ", "0084", "+1", "00"])
separators = st.sampled_from(["", " ", ".", "-"])


@SETTINGS
@given(prefixes, st.text("0123456789", min_size=1, max_size=12), separators)
def test_shortcut_agrees_with_phonenumbers(prefix: str, digits: str, separator: str) -> None:
    text = prefix + separator.join(digits[i : i + 3] for i in range(0, len(digits), 3))
    normalizer = PhoneNormalizer()
    fast = normalizer._shortcut(text)
    try:
        parsed = phonenumbers.parse(text, "VN")
    except phonenumbers.NumberParseException:
        assert fast is None
        return
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    valid = phonenumbers.is_valid_number(parsed) and not parsed.extension
    if fast is not None:
        assert valid and fast == e164
    result = normalizer.normalize(text)
    if valid:
        assert result == e164
    else:
        assert isinstance(result, InvalidPhone)


@SETTINGS
@given(st.integers(100_000_000, 999_999_999))
def test_region_patterns_match_is_valid_number(national: int) -> None:
    patterns = PhoneNormalizer()._patterns
    number = phonenumbers.PhoneNumber(country_code=84, national_number=national)
    assert patterns.is_valid(str(national)) == phonenumbers.is_valid_number(number)


# --- duplicates --------------------------------------------------------------------------


def test_duplicate_phone_inside_the_file_in_another_format(tmp_path: Path) -> None:
    rows = [HEADER, ANH, BINH, ["Ánh 2", "+84 912 345 678", "", ""]]
    report = import_customers(write_csv(tmp_path / "l.csv", rows))
    assert names(report.imported) == ["Nguyễn Văn Ánh", "Trần Thị Bình"]
    assert [str(s) for s in report.skipped] == [
        "row 4, column SĐT: phone +84 912 345 678 already belongs to customer Nguyễn Văn Ánh (row 2 of this file)"
    ]


def test_duplicate_by_configured_fields_inside_the_file(tmp_path: Path) -> None:
    rows = [HEADER, ANH, ["Bình", "0987654321", " ANH@Example.VN ", "KH009"], ["Cường", "0903123456", "", "kh001"]]
    report = import_customers(write_csv(tmp_path / "l.csv", rows), ImportConfig(unique_fields=("email", "code")))
    assert [str(s) for s in report.skipped] == [
        "row 3, column Email: email ANH@Example.VN already belongs to customer Nguyễn Văn Ánh (row 2 of this file)",
        "row 4, column Mã KH: code kh001 already belongs to customer Nguyễn Văn Ánh (row 2 of this file)",
    ]
    without = import_customers(write_csv(tmp_path / "l.csv", rows))
    assert len(without.imported) == 3  # email and code are only checked when configured


def test_refused_duplicate_does_not_claim_its_other_keys(tmp_path: Path) -> None:
    rows = [HEADER, ANH, ["Ánh 2", "0912345678", "new@example.vn", ""], ["Bình", "0987654321", "new@example.vn", ""]]
    report = import_customers(write_csv(tmp_path / "l.csv", rows), ImportConfig(unique_fields=("email",)))
    assert names(report.imported) == ["Nguyễn Văn Ánh", "Bình"]


def test_duplicates_against_existing_customers(tmp_path: Path) -> None:
    existing = {
        duplicate_key("phone", "0912345678"): ExistingCustomer("Nguyen Van A", row=17),
        duplicate_key("email", "Binh@Example.vn"): ExistingCustomer("Tran Thi B", id=42),
    }
    assert set(existing) == {"phone:+84912345678", "email:binh@example.vn"}
    rows = [HEADER, ["Ánh", "0912345678", "", ""], BINH, CUONG]
    report = import_customers(
        write_csv(tmp_path / "l.csv", rows), ImportConfig(unique_fields=("email",)), existing=existing
    )
    assert names(report.imported) == ["Lê Đức Cường"]
    assert [str(s) for s in report.skipped] == [
        "row 2, column SĐT: phone 0912345678 already belongs to customer Nguyen Van A (row 17)",
        "row 3, column Email: email binh@example.vn already belongs to customer Tran Thi B (id 42)",
    ]


def test_existing_lookup_is_only_asked_with_get(tmp_path: Path) -> None:
    asked: list[str] = []

    class Lookup(dict[str, ExistingCustomer]):
        def get(self, key: str, default: ExistingCustomer | None = None) -> ExistingCustomer | None:  # type: ignore[override]
            asked.append(key)
            return default

    import_customers(write_csv(tmp_path / "l.csv", [HEADER, ANH]), ImportConfig(unique_fields=("code",)), Lookup())
    assert asked == ["phone:+84912345678", "code:kh001"]


def test_in_file_check_can_be_left_to_the_caller(tmp_path: Path) -> None:
    rows = [HEADER, ANH, ANH]
    report = import_customers(write_csv(tmp_path / "l.csv", rows), ImportConfig(check_in_file=False))
    assert len(report.imported) == 2


def test_duplicate_key_normalizes_both_sides() -> None:
    assert duplicate_key("phone", "+84 912.345.678") == duplicate_key("phone", "0912345678") == "phone:+84912345678"
    assert duplicate_key("phone", "0912") is None
    assert duplicate_key("email", "  ") is None
    assert duplicate_key("code", " KH  001 ") == "code:kh 001"
    nfd = unicodedata.normalize("NFD", "Mã Ánh")
    assert duplicate_key("code", nfd) == duplicate_key("code", "MÃ ÁNH")


def test_existing_customer_describe() -> None:
    assert ExistingCustomer("Nguyen Van A", row=17).describe() == "customer Nguyen Van A (row 17)"
    assert ExistingCustomer("B", row=3, id=9).describe() == "customer B (id 9, row 3)"
    assert ExistingCustomer("").describe() == "a customer"


def test_seen_index_is_exact_when_fingerprints_collide(monkeypatch: pytest.MonkeyPatch) -> None:
    import callbot.imports.seen as seen_module

    monkeypatch.setattr(seen_module, "_fingerprint", lambda key: 7)
    index = SeenIndex()
    for n in range(2000):
        assert index.add(f"phone:+8491{n:07d}", n, f"Khách {n}")
    assert not index.add("phone:+84910000005", 99, "other")
    assert index.get("phone:+84910000005") == (5, "Khách 5")
    assert index.get("phone:+84910009999") is None
    assert len(index) == 2000


def test_seen_index_memory_per_key() -> None:
    tracemalloc.start()
    try:
        index = SeenIndex()
        for n in range(200_000):
            index.add(f"phone:+8491{n:07d}", n + 2, f"Nguyễn Văn {n}")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert index.get("phone:+84910123456") == (123458, "Nguyễn Văn 123456")
    assert peak / 200_000 < 150  # bytes per key, name included, just after the table doubled (a dict of tuples: ~300)


# --- streaming API and report ------------------------------------------------------------


def test_streaming_import_and_summary(tmp_path: Path) -> None:
    rows = [HEADER, ANH, ["", "", "", ""], ["Bình", "12", "", ""], CUONG]
    with CustomerImport(write_csv(tmp_path / "l.csv", rows)) as stream:
        items = list(stream)
        summary = stream.summary()
        with pytest.raises(RuntimeError):
            list(stream)
    assert [type(i).__name__ for i in items] == ["CustomerRow", "SkippedRow", "CustomerRow"]
    assert (summary.rows_read, summary.imported, summary.skipped, summary.empty_rows) == (3, 2, 1, 1)
    assert summary.encoding == "utf-8"
    assert summary.columns == {"Họ tên": "name", "SĐT": "phone", "Email": "email", "Mã KH": "code"}


def test_report_describe_and_row_access(tmp_path: Path) -> None:
    report = import_customers(write_csv(tmp_path / "l.csv", [HEADER, ANH, ["x", "1", "", ""], [], CUONG]))
    assert report.describe() == "3 rows read, 2 imported, 1 skipped (1 empty rows ignored)"
    assert report.rows_read == len(report.imported) + len(report.skipped)
    assert report.imported[0].get("code") == "KH001" and report.imported[0].get("nothing") == ""


# --- template ----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_template_round_trips_through_the_importer(tmp_path: Path, suffix: str) -> None:
    path = write_template(tmp_path / f"mau{suffix}", ["Công ty", "Ngày sinh"])
    config = ImportConfig(extra_fields=("Công ty", "Ngày sinh"), required=frozenset({"phone", "name"}))
    report = import_customers(path, config)
    assert report.skipped == [] and report.warnings == [] and report.empty_rows == 0
    (row,) = report.imported
    assert (row.name, row.phone, row.email, row.code, row.extra) == (
        "Nguyễn Văn A", "+84912345678", "nguyenvana@example.com", "KH0001", {},
    )
    assert list(report.columns.values()) == ["name", "phone", "email", "code", "Công ty", "Ngày sinh"]


def test_template_formats(tmp_path: Path) -> None:
    raw = write_template(tmp_path / "m.csv").read_bytes()
    assert raw.startswith(codecs.BOM_UTF8)
    assert raw.decode("utf-8-sig").splitlines()[0] == "Họ tên,Số điện thoại,Email,Mã KH"
    workbook = openpyxl.load_workbook(write_template(tmp_path / "m.xlsx"))
    sheet = workbook.active
    assert sheet is not None
    assert [c.value for c in sheet[2]] == ["Nguyễn Văn A", "0912345678", "nguyenvana@example.com", "KH0001"]
    assert sheet["B2"].number_format == "@"
    with pytest.raises(ImportConfigError):
        write_template(tmp_path / "m.pdf")


# --- a million rows, streamed ------------------------------------------------------------


def test_million_row_csv_streams_in_bounded_memory(tmp_path: Path) -> None:
    """A 1,000,000-row CSV (about 60 MB) goes through the streaming import holding one row at
    a time: traced memory stays far below the file, let alone a million row objects (the
    in-file duplicate index, which grows by design, is measured on its own above)."""
    path = tmp_path / "million.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("Họ tên,SĐT,Email,Mã KH\n")
        for start in range(0, 1_000_000, 10_000):
            f.write("".join(
                f"Nguyễn Văn {n},09{n % 100_000_000:08d},kh{n}@example.vn,KH{n:07d}\n"
                for n in range(start, start + 10_000)
            ))
    assert path.stat().st_size > 50_000_000
    imported = skipped = 0
    last: CustomerRow | None = None
    tracemalloc.start()
    try:
        baseline, _ = tracemalloc.get_traced_memory()
        with CustomerImport(path, ImportConfig(check_in_file=False)) as stream:
            for item in stream:
                if isinstance(item, CustomerRow):
                    imported += 1
                    last = item
                else:
                    skipped += 1
            summary = stream.summary()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (imported, skipped, summary.rows_read) == (1_000_000, 0, 1_000_000)
    assert last is not None and last.row == 1_000_001 and last.phone == "+84900999999"
    assert peak - baseline < 8 * 1024 * 1024, f"peak grew by {(peak - baseline) / 1e6:.1f} MB"
