"""Customer list import speed, one command: ``python -m bench.imports [--quick]``.

Issue "CRM API": a 100,000-row XLSX customer list imports in under 10 seconds on this machine.
The lists are generated first, outside the timings, in a temporary directory: Vietnamese
names, phone numbers in the shapes people type (``0912 345 678``, ``+84 912.345.678``,
``84912345678``), e-mail, customer code, a birthday (a date cell) and a note, with 1 % of the
rows repeating an earlier phone and 1 % carrying an invalid one, so the refusal paths run too.
Two XLSX flavours are measured: as openpyxl writes them (inline strings) and as Excel saves
them (shared strings, a date style), plus the same list as CSV, and for comparison openpyxl's
own read-only reader just iterating the rows (``iter_rows(values_only=True)``, no checks).

Each import runs through :func:`callbot.imports.import_customers` with the phone and the
e-mail and code checked for duplicates, name and phone required. Wall and CPU seconds are both
shown: the machine is shared, and the load average is recorded with the figures. The section
"Customer import (issue: CRM API)" of BENCHMARKS.md is replaced (or appended) in one write,
the file being read right before it.
"""

from __future__ import annotations

from bench import sections

import argparse
import datetime
import os
import platform
import random
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import openpyxl
from rich.console import Console
from rich.table import Table

from callbot.imports import ImportConfig, import_customers
from callbot.imports.phone import PhoneNormalizer

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "BENCHMARKS.md"
SECTION = "## Customer import (issue: CRM API)"
GOAL_ROWS, GOAL_SECONDS = 100_000, 10.0
HEADER = ["Họ và tên", "Số điện thoại", "Email", "Mã KH", "Ngày sinh", "Ghi chú"]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ"]
MIDDLE = ["Văn", "Thị", "Đức", "Ngọc", "Minh", "Thanh", "Hữu", "Quang"]
GIVEN = ["An", "Bình", "Cường", "Dung", "Giang", "Hạnh", "Khánh", "Linh", "Mai", "Nam", "Phúc", "Quỳnh"]
NOTES = ["", "", "gọi sau 17 giờ", "khách cũ", "đã hỏi giá"]
CONFIG = ImportConfig(required=frozenset({"name", "phone"}), unique_fields=("email", "code"))


def customers(rows: int, seed: int = 5) -> Iterator[list[object]]:
    """Deterministic rows: 1 % repeat an earlier phone, 1 % have an invalid one."""
    rng = random.Random(seed)
    for n in range(rows):
        mobile = 900_000_000 + n
        if n and n % 100 == 37:
            mobile = 900_000_000 + rng.randrange(n)
        digits = f"{mobile:09d}"
        shape = n % 4
        if n % 100 == 71:
            phone = "0912"
        elif shape == 0:
            phone = f"0{digits[:3]} {digits[3:6]} {digits[6:]}"
        elif shape == 1:
            phone = f"+84 {digits[:3]}.{digits[3:6]}.{digits[6:]}"
        elif shape == 2:
            phone = f"84{digits}"
        else:
            phone = f"0{digits}"
        name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)} {n}"
        birthday = datetime.date(1960, 1, 1) + datetime.timedelta(days=rng.randrange(15_000))
        yield [name, phone, f"kh{n}@example.vn", f"KH{n:07d}", birthday, rng.choice(NOTES)]


def write_openpyxl(path: Path, rows: int) -> None:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Khách hàng")
    sheet.append(HEADER)
    for row in customers(rows):
        sheet.append(row)
    workbook.save(path)


def write_excel_style(path: Path, rows: int) -> None:
    """The package Excel saves: shared strings, a dimension, dates as serials with style 1."""
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    strings: dict[str, int] = {}

    def index(text: str) -> int:
        return strings.setdefault(text, len(strings))

    epoch = datetime.date(1899, 12, 30)
    body: list[str] = []
    for number, values in enumerate([HEADER, *customers(rows)], start=1):
        cells = []
        for col, value in enumerate(values):
            ref = f"{'ABCDEF'[col]}{number}"
            if isinstance(value, datetime.date):
                cells.append(f'<c r="{ref}" s="1"><v>{(value - epoch).days}</v></c>')
            elif value != "":
                cells.append(f'<c r="{ref}" t="s"><v>{index(str(value))}</v></c>')
        body.append(f'<row r="{number}">{"".join(cells)}</row>')
    shared = "".join(f"<si><t>{escape(s)}</t></si>" for s in strings)
    head = '<?xml version="1.0" encoding="UTF-8"?>'
    package = "http://schemas.openxmlformats.org/package/2006"
    sml = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    overrides = "".join(
        f'<Override PartName="/xl/{part}" ContentType="{sml}.{kind}+xml"/>'
        for part, kind in (
            ("workbook.xml", "sheet.main"), ("worksheets/sheet1.xml", "worksheet"),
            ("sharedStrings.xml", "sharedStrings"), ("styles.xml", "styles"),
        )
    )
    relationships = "".join(
        f'<Relationship Id="rId{n}" Type="{rel}/{kind}" Target="{target}"/>'
        for n, (kind, target) in enumerate(
            (("worksheet", "worksheets/sheet1.xml"), ("sharedStrings", "sharedStrings.xml"), ("styles", "styles.xml")),
            start=1,
        )
    )
    parts = {
        "[Content_Types].xml": f'{head}<Types xmlns="{package}/content-types">'
        f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        f'<Default Extension="xml" ContentType="application/xml"/>{overrides}</Types>',
        "_rels/.rels": f'{head}<Relationships xmlns="{package}/relationships">'
        f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'{head}<workbook {ns} xmlns:r="{rel}"><sheets>'
        '<sheet name="Khách hàng" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'{head}<Relationships xmlns="{package}/relationships">{relationships}</Relationships>',
        "xl/styles.xml": f'{head}<styleSheet {ns}><fonts count="1"><font/></fonts>'
        '<fills count="1"><fill><patternFill patternType="none"/></fill></fills><borders count="1"><border/></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0"/></cellStyleXfs>'
        '<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>',
        "xl/sharedStrings.xml": f'{head}<sst {ns} count="{len(strings)}" uniqueCount="{len(strings)}">{shared}</sst>',
        "xl/worksheets/sheet1.xml": f'{head}<worksheet {ns}><dimension ref="A1:F{rows + 1}"/>'
        f'<sheetData>{"".join(body)}</sheetData></worksheet>',
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(name, text)


def write_csv(path: Path, rows: int) -> None:
    import csv

    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for row in customers(rows):
            writer.writerow([v.isoformat() if isinstance(v, datetime.date) else v for v in row])


@dataclass
class Result:
    case: str
    rows: int
    wall: float
    cpu: float
    outcome: str

    @property
    def rate(self) -> float:
        return self.rows / self.wall if self.wall else 0.0


def timed(case: str, rows: int, work: Callable[[], str]) -> Result:
    wall, cpu = time.perf_counter(), time.process_time()
    outcome = work()
    return Result(case, rows, time.perf_counter() - wall, time.process_time() - cpu, outcome)


def run_import(path: Path) -> str:
    report = import_customers(path, CONFIG)
    return report.describe()


def run_openpyxl(path: Path) -> str:
    workbook = openpyxl.load_workbook(path, read_only=True)
    count = sum(1 for _ in workbook.worksheets[0].iter_rows(values_only=True))
    workbook.close()
    return f"{count} rows iterated, nothing checked"


def run_phones(count: int) -> tuple[float, float]:
    """Microseconds per number: the shortcut shapes, then shapes only phonenumbers.parse takes."""
    normalizer = PhoneNormalizer()
    common = [f"0{900_000_000 + n}" for n in range(count)]
    unusual = [f"(+84) 9{n:08d} " if n % 2 else f"9{n:08d}" for n in range(count)]
    result = []
    for batch in (common, unusual):
        start = time.process_time()
        for text in batch:
            normalizer.normalize(text)
        result.append((time.process_time() - start) / count * 1e6)
    return result[0], result[1]


def machine() -> dict[str, str]:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "nproc": str(os.cpu_count()),
        "python": platform.python_version(),
        "openpyxl": openpyxl.__version__,
        "load": f"{os.getloadavg()[0]:.1f}",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def markdown(results: list[Result], phones: tuple[float, float], info: dict[str, str], rows: int, quick: bool) -> str:
    goal = next((r for r in results if r.case.startswith("XLSX (Excel")), None)
    lines = [
        SECTION,
        "",
        f"`python -m bench.imports{' --quick' if quick else ''}` on {info['date']}: {info['cpu']}, "
        f"{info['nproc']} cores shared with other work (load average {info['load']} at the end), "
        f"CPython {info['python']}, openpyxl {info['openpyxl']}. Lists of {rows:,} customers "
        "(Vietnamese names, phones in mixed shapes, 1 % repeated and 1 % invalid phones), "
        "imported with `callbot.imports.import_customers` (name and phone required; phone, "
        "e-mail and code checked for duplicates).",
        "",
    ]
    if goal is not None and rows >= GOAL_ROWS:
        verdict = "met" if goal.wall < GOAL_SECONDS else "NOT met"
        lines.append(
            f"- Goal, {GOAL_ROWS:,}-row XLSX under {GOAL_SECONDS:.0f} s: **{verdict}** "
            f"({goal.wall:.1f} s wall, {goal.cpu:.1f} s CPU; wall exceeds CPU by the time the "
            "shared cores spent on other work)."
        )
    lines += [
        f"- Phone normalization: {phones[0]:.1f} µs per number in the common shapes (checked against "
        f"the phonenumbers metadata directly), {phones[1]:.1f} µs through `phonenumbers.parse`.",
        "",
        "| case | rows | wall s | CPU s | rows/s (wall) | outcome |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in results:
        lines.append(f"| {r.case} | {r.rows:,} | {r.wall:.2f} | {r.cpu:.2f} | {r.rate:,.0f} | {r.outcome} |")
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    """This benchmark's section of BENCHMARKS.md (see :mod:`bench.sections`)."""
    sections.write_section(path, SECTION, section)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 rows instead of 100,000")
    parser.add_argument("--rows", type=int, help="rows per list (default 100,000, or 10,000 with --quick)")
    parser.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    parser.add_argument("--markdown", type=Path, default=BENCHMARKS, help="the file to update (default BENCHMARKS.md)")
    args = parser.parse_args()
    rows = args.rows or (10_000 if args.quick else GOAL_ROWS)
    console = Console()
    with tempfile.TemporaryDirectory(prefix="bench-imports-") as tmp:
        folder = Path(tmp)
        files = {
            "openpyxl": folder / "openpyxl.xlsx",
            "excel": folder / "excel.xlsx",
            "csv": folder / "list.csv",
        }
        with console.status(f"generating {rows:,}-row lists (not timed)"):
            write_openpyxl(files["openpyxl"], rows)
            write_excel_style(files["excel"], rows)
            write_csv(files["csv"], rows)
        results: list[Result] = []
        cases = [
            ("XLSX (Excel style: shared strings)", lambda: run_import(files["excel"])),
            ("XLSX (openpyxl style: inline strings)", lambda: run_import(files["openpyxl"])),
            ("CSV (UTF-8 with BOM)", lambda: run_import(files["csv"])),
            ("openpyxl read_only iter_rows, Excel-style file (reading only)", lambda: run_openpyxl(files["excel"])),
        ]
        for case, work in cases:
            with console.status(case):
                results.append(timed(case, rows, work))
        phones = run_phones(min(rows, 50_000))
    info = machine()
    table = Table(title=f"Customer import, {rows:,} rows (load average {info['load']})")
    for column in ("case", "wall s", "CPU s", "rows/s", "outcome"):
        table.add_column(column, justify="left" if column in ("case", "outcome") else "right")
    for r in results:
        table.add_row(r.case, f"{r.wall:.2f}", f"{r.cpu:.2f}", f"{r.rate:,.0f}", r.outcome)
    console.print(table)
    console.print(f"phone normalization: {phones[0]:.1f} µs/number (common shapes), {phones[1]:.1f} µs (phonenumbers.parse)")
    section = markdown(results, phones, info, rows, args.quick)
    if not args.no_write:
        write_section(args.markdown, section)
        console.print(f"updated {args.markdown.name}: {SECTION[3:]}")


if __name__ == "__main__":
    main()
