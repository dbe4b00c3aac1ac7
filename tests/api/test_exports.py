"""Exports of a campaign's customers through HTTP (XLSX, CSV, PDF, HTML): all, by status,
by the days on which customers reached their status; formulas neutralized, HTML escaped,
Vietnamese kept; and the writers' own limits (font, PDF size, paging)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlmodel import Session

from api.exports import (
    ExportContext,
    ExportRow,
    ExportTooLarge,
    FontNotFound,
    display_phone,
    status_chart_svg,
    write_pdf,
)
from api.exports.rows import spreadsheet_text
from api.services.exports import ExportFilter, iter_rows
from api_support import NOW, ApiClient
from callbot.store import repo
from callbot.store.models import CampaignCreate, CustomerCreate, StatusSource
from scripts_dsl.status import CustomerStatus

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
FORMULA = '=HYPERLINK("http://evil.example","Nguyễn Văn A")'
NAMES = [FORMULA, "<script>alert(1)</script>", "Trần Thị Hủy", "Lê Đức Thắng", "@SUM(A1)"]


def campaign_for_export(api: ApiClient) -> tuple[int, list[int]]:
    """Five customers; #1 Confirmed on 3 March (local), #2 Joined and #3 Cancelled on
    5 March, #4 Confirmed at 23:30 local on 5 March (16:30 UTC), #0 Registered on 1 March."""
    engine = api.engine
    with Session(engine) as session:
        campaign = repo.create_campaign(session, CampaignCreate(
            name="Hội thảo =1+1", owner_id=api.ids["manager"]), now=NOW)
        assert campaign.id is not None
        ids = repo.add_customers(session, campaign.id, [
            CustomerCreate(name=name, phone=f"+8491234500{i}", email=f"k{i}@example.com",
                           code=f"KH{i}") for i, name in enumerate(NAMES)],
            now=datetime(2025, 3, 1, 3, tzinfo=UTC))
        day5 = datetime(2025, 3, 5, 3, tzinfo=UTC)
        for index, status, at in ((1, CustomerStatus.CONFIRMED, datetime(2025, 3, 3, 3, tzinfo=UTC)),
                                  (2, CustomerStatus.JOINED, day5),
                                  (3, CustomerStatus.CANCELLED, day5),
                                  (4, CustomerStatus.CONFIRMED,
                                   datetime(2025, 3, 5, 16, 30, tzinfo=UTC))):
            repo.change_status(session, ids[index], status, StatusSource.MANAGER, "manager",
                               now=at)
        return campaign.id, ids


def export(api: ApiClient, cid: int, fmt: str, who: str = "manager", **params: str) -> bytes:
    response = api.get(f"/campaigns/{cid}/export", who, params={"format": fmt, **params})
    assert response.status_code == 200, response.text
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;") and disposition.endswith(f'.{fmt}"')
    content: bytes = response.content
    return content


def csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "Excel needs the UTF-8 byte order mark"
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"))))


def test_csv_has_every_customer_with_formulas_neutralized(api: ApiClient) -> None:
    cid, ids = campaign_for_export(api)
    rows = csv_rows(export(api, cid, "csv"))
    assert rows[0][:5] == ["ID", "Mã KH", "Họ tên", "Số điện thoại", "Email"]
    body = {int(r[0]): r for r in rows[1:]}
    assert sorted(body) == sorted(ids)
    assert body[ids[0]][2] == "'" + FORMULA
    assert body[ids[4]][2] == "'@SUM(A1)"
    assert body[ids[2]][2] == "Trần Thị Hủy" and body[ids[2]][5] == "Tham gia"
    assert body[ids[3]][5] == "Hủy"
    assert body[ids[3]][3] == "0912345003", "Vietnamese numbers as people write them"
    assert body[ids[1]][5] == "Xác nhận" and body[ids[1]][6] == "2025-03-03 10:00:00"


def test_filter_by_status_and_by_local_days(api: ApiClient) -> None:
    cid, ids = campaign_for_export(api)
    confirmed = csv_rows(export(api, cid, "csv", status="Xác nhận"))
    assert sorted(int(r[0]) for r in confirmed[1:]) == [ids[1], ids[4]]
    # 16:30 UTC on 5 March is 23:30 in Ho Chi Minh City: still the 5th there.
    fifth = csv_rows(export(api, cid, "csv", **{"from": "2025-03-05", "to": "2025-03-05"}))
    assert sorted(int(r[0]) for r in fifth[1:]) == [ids[2], ids[3], ids[4]]
    both = csv_rows(export(api, cid, "csv", status="Confirmed", **{"from": "2025-03-04"}))
    assert [int(r[0]) for r in both[1:]] == [ids[4]]
    until = csv_rows(export(api, cid, "csv", to="2025-03-02"))
    assert [int(r[0]) for r in until[1:]] == [ids[0]]


def test_xlsx_keeps_text_dates_and_a_summary(api: ApiClient) -> None:
    cid, ids = campaign_for_export(api)
    book = openpyxl.load_workbook(io.BytesIO(export(api, cid, "xlsx")))
    assert book.sheetnames == ["Khách hàng", "Tổng hợp"]
    sheet = book["Khách hàng"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][2] == "Họ tên" and len(rows) == 1 + len(ids)
    by_id = {r[0]: r for r in rows[1:]}
    assert by_id[ids[0]][2] == "'" + FORMULA
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert by_id[ids[3]][3] == "0912345003"
    assert by_id[ids[1]][6] == datetime(2025, 3, 3, 10, 0)
    summary = {r[0]: r[1:] for r in book["Tổng hợp"].iter_rows(values_only=True) if r}
    assert summary["Đăng kí"] == (1, 5) and summary["Xác nhận"] == (2, 3)
    assert summary["Tham gia"] == (1, 1) and summary["Hủy"] == (1, 1)
    assert summary["Chiến dịch"][0] == "Hội thảo =1+1"


def test_html_is_escaped_and_charts_the_statuses(api: ApiClient) -> None:
    cid, _ = campaign_for_export(api)
    page = export(api, cid, "html").decode("utf-8")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<svg" in page and "Khách hàng theo trạng thái" in page
    assert "Trần Thị Hủy" in page and "tổng lũy kế 5" in page
    assert page.count("<tr><td class=n>") == 5


def test_pdf_embeds_a_font_for_vietnamese(api: ApiClient) -> None:
    cid, _ = campaign_for_export(api)
    data = export(api, cid, "pdf", status="Confirmed")
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert b"DejaVuSans" in data


@pytest.mark.parametrize("params,field", [
    ({"from": "2025-03-05", "to": "2025-03-01"}, "from"),
    ({"status": "Maybe"}, "status"),
    ({"format": "docx"}, "format"),
    ({"from": "yesterday"}, "from"),
])
def test_bad_filters_name_the_field(api: ApiClient, params: dict[str, str], field: str) -> None:
    cid = api.campaign()
    response = api.get(f"/campaigns/{cid}/export", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


def test_dates_at_the_edges_of_the_calendar_are_open_ends(api: ApiClient) -> None:
    cid, ids = campaign_for_export(api)
    rows = csv_rows(export(api, cid, "csv", **{"from": "0001-01-01", "to": "9999-12-31"}))
    assert len(rows) == 1 + len(ids)


@pytest.mark.parametrize("who,status", [("supervisor", 200), ("manager2", 403),
                                        ("agent", 403), (None, 401)])
def test_who_may_export(api: ApiClient, who: str | None, status: int) -> None:
    cid = api.campaign()
    response = api.get(f"/campaigns/{cid}/export", who, params={"format": "csv"})
    assert response.status_code == status


def test_rows_are_read_in_keyset_pages(api: ApiClient) -> None:
    cid, ids = campaign_for_export(api)
    rows = list(iter_rows(api.engine, cid, ExportFilter(), HCM, page=2))
    assert [r.id for r in rows] == sorted(ids)


# --- the writers on their own -------------------------------------------------------------


def _context(rows: int) -> ExportContext:
    return ExportContext(1, "Thử", HCM, NOW, "tất cả", {CustomerStatus.REGISTERED: rows})


def _row(i: int) -> ExportRow:
    return ExportRow(i, f"Khách {i}", "+84912345678", None, None, CustomerStatus.REGISTERED,
                     NOW, 0, None, False, None)


def test_pdf_without_the_font_fails_naming_the_package(tmp_path: Path) -> None:
    with pytest.raises(FontNotFound, match="fonts-dejavu-core"):
        write_pdf([_row(1)], _context(1), io.BytesIO(), font_dirs=[tmp_path])


def test_pdf_refuses_more_rows_than_its_cap() -> None:
    with pytest.raises(ExportTooLarge, match="XLSX or CSV"):
        write_pdf([_row(i) for i in range(3)], _context(3), io.BytesIO(), max_rows=2)
    # a context that under-counts is caught while writing
    with pytest.raises(ExportTooLarge):
        write_pdf([_row(i) for i in range(3)], _context(1), io.BytesIO(), max_rows=2)


def test_phone_and_text_cells() -> None:
    assert display_phone("+84912345678") == "0912345678"
    assert display_phone("+14155550100") == "+14155550100"
    assert spreadsheet_text(display_phone("+14155550100")) == "'+14155550100"
    assert spreadsheet_text("a\x00b\x1fc\td") == "abc\td"
    assert spreadsheet_text("-1") == "'-1" and spreadsheet_text("Bình") == "Bình"


def test_chart_draws_every_status_even_when_empty() -> None:
    empty = status_chart_svg({})
    assert empty.count("<rect") == 4 and 'width="0"' in empty
    drawn = status_chart_svg({CustomerStatus.CONFIRMED: 3, CustomerStatus.JOINED: 1})
    assert "Xác nhận" in drawn and "3 (tổng lũy kế 4)" in drawn
    assert 'width="300"' in drawn, "the largest bar spans the chart"
