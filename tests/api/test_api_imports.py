"""Customer list imports through HTTP: counts and reasons, duplicates against the campaign's
customers, configured required and unique fields, encodings, formulas, empty rows, column
mappings, files that cannot be read (nothing imported), the template, and who may import."""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from typing import Any

import openpyxl
import pytest

from api_support import ApiClient


def _xlsx(rows: list[list[Any]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _post(api: ApiClient, cid: int, data: bytes, filename: str, who: str = "manager",
          **form: str) -> Any:
    return api.post(f"/campaigns/{cid}/customers/import", who,
                    files={"file": (filename, data, "application/octet-stream")}, data=form)


def _phones(api: ApiClient, cid: int) -> list[str]:
    return [c["phone"] for c in api.customers(cid, limit=1000)["items"]]


def test_csv_import_reports_rows_read_imported_and_skipped(api: ApiClient) -> None:
    cid = api.campaign()
    text = ("Họ tên,Số điện thoại,Email\n"
            "Nguyễn Văn A,0912345678,a@example.com\n"
            ",,\n"
            "Trần Thị B,+84 98 765 4321,\n"
            "Lê Văn C,0912,\n"
            "Phạm D,84912345678,\n")
    body = api.ok(api.import_csv(cid, text))
    assert (body["rows_read"], body["imported"], body["skipped"], body["empty_rows"]) == (
        4, 2, 2, 1)
    assert body["encoding"] == "utf-8"
    assert body["columns"] == {"Họ tên": "name", "Số điện thoại": "phone", "Email": "email"}
    reasons = {s["row"]: (s["column"], s["reason"]) for s in body["skipped_rows"]}
    assert reasons[5][0] == "Số điện thoại" and "0912" in reasons[5][1]
    assert reasons[6][0] == "Số điện thoại" and "row 2" in reasons[6][1]
    assert _phones(api, cid) == ["+84912345678", "+84987654321"]
    first = api.customers(cid)["items"][0]
    assert (first["name"], first["email"], first["status"]) == (
        "Nguyễn Văn A", "a@example.com", "Registered")
    assert first["extra"]["row"] == 2 and first["timezone"] == "Asia/Ho_Chi_Minh"
    [entry] = [e for e in api.audit(entity="campaign", entity_id=str(cid))
               if e["action"] == "import"]
    assert entry["after"] == {"file": "khach_hang.csv", "rows_read": 4, "imported": 2,
                              "skipped": 2, "empty_rows": 1}


def test_duplicates_of_the_campaigns_customers_name_the_existing_one(api: ApiClient) -> None:
    cid = api.campaign()
    api.ok(api.import_csv(cid, "Họ tên,SĐT\nNguyễn Văn A,0912345678\n"))
    body = api.ok(api.import_csv(cid, "Họ tên,SĐT\nKhác,+84 912 345 678\nMới,0987654321\n"))
    assert (body["imported"], body["skipped"]) == (1, 1)
    [skipped] = body["skipped_rows"]
    assert skipped["row"] == 2 and skipped["column"] == "SĐT"
    assert "Nguyễn Văn A" in skipped["reason"] and "row 2" in skipped["reason"]
    other = api.campaign(name="Chiến dịch khác")
    assert api.ok(api.import_csv(other, "SĐT\n0912345678\n"))["imported"] == 1


def test_configured_unique_and_required_fields(api: ApiClient) -> None:
    cid = api.campaign()
    api.ok(api.put(f"/campaigns/{cid}/list-settings", json={
        "required_fields": ["phone", "code"], "unique_fields": ["email", "code"]}))
    first = api.ok(api.import_csv(cid, "Họ tên,SĐT,Email,Mã KH\n"
                                       "An,0912345678,An@Example.com,KH1\n"))
    assert first["imported"] == 1
    body = api.ok(api.import_csv(cid, "Họ tên,SĐT,Email,Mã KH\n"
                                      "Bình,0987654321, an@example.com ,KH2\n"
                                      "Chi,0987654322,chi@example.com,\n"
                                      "Dũng,0987654323,dung@example.com,kh1\n"
                                      "Em,0987654324,em@example.com,KH5\n"))
    reasons = {s["row"]: s for s in body["skipped_rows"]}
    assert reasons[2]["column"] == "Email" and "An" in reasons[2]["reason"]
    assert reasons[3]["column"] == "Mã KH" and "required" in reasons[3]["reason"]
    assert reasons[4]["column"] == "Mã KH" and "An" in reasons[4]["reason"]
    assert body["imported"] == 1


def test_missing_required_column_imports_nothing(api: ApiClient) -> None:
    cid = api.campaign()
    api.ok(api.put(f"/campaigns/{cid}/list-settings",
                   json={"required_fields": ["phone", "code"]}))
    response = api.import_csv(cid, "Họ tên,SĐT\nAn,0912345678\n")
    assert response.status_code == 422
    body = response.json()
    assert (body["error"], body["field"]) == ("import_missing_column", "code")
    assert body["found"] == ["Họ tên", "SĐT"]
    response = api.import_csv(cid, "Họ tên,Email,Mã KH\nAn,a@b.c,KH1\n")
    assert response.json()["field"] == "phone"
    assert _phones(api, cid) == []


def _cp1258(text: str) -> bytes:
    """Vietnamese as Windows-1258 writes it: letters with circumflex, breve or horn
    precomposed, tone marks as combining characters after them."""
    out = b""
    for char in unicodedata.normalize("NFC", text):
        try:
            out += char.encode("cp1258")
        except UnicodeEncodeError:
            base, *marks = unicodedata.normalize("NFD", char)
            letter = unicodedata.normalize("NFC", base + "".join(marks[:-1]))
            out += (letter + marks[-1]).encode("cp1258")
    return out


@pytest.mark.parametrize("encoding,separator", [
    ("cp1258", ","), ("utf-16", "\t"), ("utf-8-sig", ";"),
])
def test_encodings_of_excel_and_older_tools(api: ApiClient, encoding: str,
                                            separator: str) -> None:
    cid = api.campaign()
    name = "Nguyễn Thị Ánh Hồng"
    text = f"Họ tên{separator}SĐT\n{name}{separator}0912345678\n"
    data = _cp1258(text) if encoding == "cp1258" else text.encode(encoding)
    body = api.ok(_post(api, cid, data, "list.csv"))
    assert body["imported"] == 1, body
    assert body["encoding"] is not None
    assert api.customers(cid)["items"][0]["name"] == name


def test_undecodable_bom_imports_nothing(api: ApiClient) -> None:
    cid = api.campaign()
    response = _post(api, cid, b"\xef\xbb\xbfH\xe1,SDT\n\xff\xfe,0912345678\n", "l.csv")
    assert response.status_code == 422
    assert (response.json()["error"], response.json()["field"]) == (
        "import_file_unreadable", "file")
    assert _phones(api, cid) == []


def test_formulas_in_csv_stay_text(api: ApiClient) -> None:
    cid = api.campaign()
    body = api.ok(api.import_csv(
        cid, 'Họ tên,SĐT,Ghi chú\n"=HYPERLINK(""http://evil.example"",""A"")",0912345678,=1+1\n'))
    assert body["imported"] == 1 and body["warnings"] == []
    customer = api.customers(cid)["items"][0]
    assert customer["name"] == '=HYPERLINK("http://evil.example","A")'
    assert customer["extra"]["Ghi chú"] == "=1+1"


def test_xlsx_formulas_are_not_evaluated(api: ApiClient) -> None:
    cid = api.campaign()
    data = _xlsx([["Họ tên", "SĐT"], ["An", "=0912345678+0"], ["Bình", "0987654321"],
                  [None, None], ["Cường", "0903123456"]])
    body = api.ok(_post(api, cid, data, "list.xlsx"))
    assert (body["rows_read"], body["imported"], body["skipped"], body["empty_rows"]) == (
        3, 2, 1, 1)
    [skipped] = body["skipped_rows"]
    assert skipped["row"] == 2 and "formula" in skipped["reason"]
    assert any("not evaluated" in w for w in body["warnings"])
    assert body["encoding"] is None


def test_old_xls_and_damaged_workbooks_import_nothing(api: ApiClient) -> None:
    cid = api.campaign()
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600
    response = _post(api, cid, ole, "list.xls")
    assert response.status_code == 422 and ".xlsx" in response.json()["message"]
    response = _post(api, cid, b"PK\x03\x04 this is not a zip", "list.xlsx")
    assert response.status_code == 422
    assert _phones(api, cid) == []


def test_workbook_damaged_half_way_imports_nothing(api: ApiClient) -> None:
    cid = api.campaign()
    good = _xlsx([["SĐT"]] + [[f"09{n:08d}"] for n in range(2, 3000)])
    damaged = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as source, \
            zipfile.ZipFile(damaged, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = content[:content.index(b'<row r="2500"')] + b'<row r="2500"><c r='
            out.writestr(item, content)
    response = _post(api, cid, damaged.getvalue(), "big.xlsx")
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "import_file_unreadable"
    assert api.customers(cid)["total"] == 0
    assert [e["action"] for e in api.audit(entity="campaign", entity_id=str(cid))] == ["create"]


def test_column_mapping_for_the_users_own_file(api: ApiClient) -> None:
    cid = api.campaign()
    text = "Khách,Di động của khách,Ghi chú\nAn,0912345678,VIP\n"
    body = api.ok(api.import_csv(
        cid, text, mapping='{"Khách": "name", "Di động của khách": "phone", "Ghi chú": null}'))
    assert body["columns"] == {"Khách": "name", "Di động của khách": "phone", "Ghi chú": None}
    customer = api.customers(cid)["items"][0]
    assert (customer["name"], customer["phone"]) == ("An", "+84912345678")
    assert "Ghi chú" not in customer["extra"]


@pytest.mark.parametrize("mapping,error", [
    ("{not json", "mapping_invalid"),
    ('["phone"]', "mapping_invalid"),
    ('{"Cột không có": "phone"}', "import_config_invalid"),
    ('{"Khách": "phone", "Số": "phone"}', "import_config_invalid"),
])
def test_bad_mappings_name_the_mapping_field(api: ApiClient, mapping: str, error: str) -> None:
    cid = api.campaign()
    response = api.import_csv(cid, "Khách,Số\nAn,0912345678\n", mapping=mapping)
    assert response.status_code == 422
    assert (response.json()["error"], response.json()["field"]) == (error, "mapping")
    assert _phones(api, cid) == []


def test_do_not_contact_numbers_are_imported_as_done(api: ApiClient) -> None:
    cid, [first] = api.with_customers(1)
    api.ok(api.post(f"/campaigns/{cid}/customers/{first}/do-not-contact",
                    json={"reason": "asked"}))
    other = api.campaign(name="Khác")
    api.ok(api.import_csv(other, "SĐT\n0912345000\n0912345001\n"))
    rows = {c["phone"]: c for c in api.customers(other)["items"]}
    assert rows["+84912345000"]["done"] and rows["+84912345000"]["done_reason"] == "do_not_contact"
    assert rows["+84912345000"]["do_not_contact"]
    assert not rows["+84912345001"]["done"]


def test_template_downloads(api: ApiClient) -> None:
    cid = api.campaign()
    api.ok(api.put(f"/campaigns/{cid}/list-settings",
                   json={"required_fields": ["phone", "cmnd"], "unique_fields": ["code"]}))
    response = api.get(f"/campaigns/{cid}/customers/import-template",
                       params={"format": "csv"})
    assert response.status_code == 200 and response.content.startswith(b"\xef\xbb\xbf")
    header = next(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert header == ["Họ tên", "Số điện thoại", "Email", "Mã KH", "cmnd"]
    response = api.get(f"/campaigns/{cid}/customers/import-template", "supervisor")
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None and sheet["E1"].value == "cmnd"
    assert "attachment" in response.headers["content-disposition"]
    body = api.ok(_post(api, cid, response.content, "template.xlsx"))
    assert body["skipped_rows"][0]["column"] == "cmnd"


def test_who_may_import(api: ApiClient) -> None:
    cid = api.campaign()
    for who in ("supervisor", "agent"):
        response = api.import_csv(cid, "SĐT\n0912345678\n", who)
        assert (response.status_code, response.json()["error"]) == (403, "role_forbidden")
    response = api.import_csv(cid, "SĐT\n0912345678\n", "manager2")
    assert (response.status_code, response.json()["error"]) == (403, "not_owner")
    assert api.get(f"/campaigns/{cid}/customers/import-template", "agent").status_code == 403
    assert _phones(api, cid) == []


def test_a_stopped_campaign_takes_no_more_customers(api: ApiClient) -> None:
    cid = api.campaign()
    api.ok(api.post(f"/campaigns/{cid}/stop"))
    response = api.import_csv(cid, "SĐT\n0912345678\n")
    assert (response.status_code, response.json()["error"]) == (409, "campaign_over")
