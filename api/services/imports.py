"""Importing a customer list into a campaign: all rows that pass the checks, in one
transaction, or nothing.

The file is read by :mod:`callbot.imports` (CSV in any common encoding, or XLSX) with the
campaign's list rules (:class:`~callbot.store.models_api.ListSettings`: required fields,
duplicate-check fields, phone region) and the user's optional column mapping. Duplicates are
checked against the campaign's current customers (an ``existing`` lookup keyed by
:func:`~callbot.imports.duplicate_key`, loaded with one query) and inside the file. A file that
cannot be read at all raises :class:`~callbot.imports.ImportFileError` before anything is
written; the accepted rows are then added as plain rows with
:func:`callbot.store.repo.add_customer_rows` (bulk-written: ``COPY`` on PostgreSQL), one
transaction that also writes the audit entry.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Final

import sqlalchemy as sa
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE
from phonenumbers.timezone import TIMEZONE_DATA
from pydantic import ValidationError
from sqlmodel import Session, col

from api.errors import Conflict, Unprocessable
from api.schemas import ImportResult, SkippedRowOut
from api.services.access import campaign_to_manage
from api.services.audit import entry, on_commit
from api.services.campaigns import list_settings
from callbot.imports import (
    STANDARD_FIELDS,
    ColumnMapping,
    CustomerRow,
    ExistingCustomer,
    ImportConfig,
    PhoneNormalizer,
    SkippedRow,
    duplicate_key,
    import_customers,
    write_template,
)
from callbot.store import repo
from callbot.store.models import (
    E164,
    CampaignCustomer,
    CampaignState,
    Customer,
    CustomerCreate,
)
from callbot.store.models_api import AuditLog, ListSettingsBase, User
from dialer.campaign.hours import CallingHoursError, customer_zone

__all__ = ["MAX_UPLOAD_BYTES", "MAX_SKIPPED_LISTED", "ZoneGuesser", "parse_mapping",
           "existing_customers", "import_file", "template"]

MAX_UPLOAD_BYTES: Final = 200 * 1024 * 1024
MAX_SKIPPED_LISTED: Final = 1000
_OVER: Final = (CampaignState.COMPLETED, CampaignState.STOPPED)


def parse_mapping(text: str | None) -> ColumnMapping | None:
    """The user's column mapping, sent as a JSON object ``{"header": "field" or null}``."""
    if text is None or not text.strip():
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Unprocessable(f"mapping is not JSON ({exc.msg} at character {exc.pos}): send an "
                            'object such as {"SĐT": "phone", "Họ tên": "name"}',
                            field="mapping", code="mapping_invalid") from exc
    if not isinstance(data, dict) or not all(
            isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in data.items()):
        raise Unprocessable('mapping must map column headers to field names (or null to '
                            'ignore a column), e.g. {"SĐT": "phone"}', field="mapping",
                            code="mapping_invalid")
    return ColumnMapping(data)


def _config(rules: ListSettingsBase, mapping: ColumnMapping | None,
            sheet: str | None) -> ImportConfig:
    extra = tuple(f for f in dict.fromkeys([*rules.required_fields, *rules.unique_fields])
                  if f not in STANDARD_FIELDS)
    return ImportConfig(required=frozenset({"phone", *rules.required_fields}),
                        unique_fields=tuple(rules.unique_fields), extra_fields=extra,
                        mapping=mapping, region=rules.region, sheet=sheet)


def existing_customers(session: Session, campaign_id: int, fields: tuple[str, ...],
                       region: str) -> dict[str, ExistingCustomer]:
    """The campaign's customers under each :func:`duplicate_key` of ``fields`` (the phone
    first), loaded with one query."""
    normalizer = PhoneNormalizer(region)
    found: dict[str, ExistingCustomer] = {}
    rows = session.execute(
        sa.select(col(Customer.id), col(Customer.name), col(Customer.phone), col(Customer.email),
                  col(Customer.code), col(Customer.extra))
        .join(CampaignCustomer, col(CampaignCustomer.customer_id) == col(Customer.id))
        .where(col(CampaignCustomer.campaign_id) == campaign_id))
    for cid, name, phone, email, code, extra in rows:
        values: Mapping[str, Any] = {"phone": phone, "email": email or "", "code": code or "",
                                     "name": name or "", **(extra or {})}
        row_no = (extra or {}).get("row")
        who = ExistingCustomer(name=name or "", id=cid,
                               row=int(row_no) if str(row_no or "").isdigit() else None)
        for field in fields:
            value = values.get(field)
            key = duplicate_key(field, str(value), normalizer) if value not in (None, "") else None
            if key is not None:
                found.setdefault(key, who)
    return found


class ZoneGuesser:
    """:func:`dialer.campaign.hours.customer_zone` for many numbers, fast.

    Parsing each number again with ``phonenumbers`` costs more than the rest of an import;
    but where every time-zone prefix of a country code names the same zones (one-zone
    countries such as Vietnam), every valid number of that country gets those zones, so the
    answer is computed once per country code. Other countries, and customers with their own
    ``timezone`` field, take the full lookup.
    """

    def __init__(self, default_zone: str) -> None:
        self.default_zone = default_zone
        self._by_code: dict[str, str | None] = {}

    def _country_code(self, phone: str) -> str | None:
        for length in (1, 2, 3):
            code = phone[1:1 + length]
            if code.isdigit() and int(code) in COUNTRY_CODE_TO_REGION_CODE:
                return code
        return None

    def _uniform(self, code: str, phone: str) -> str | None:
        if code not in self._by_code:
            zones = {v for k, v in TIMEZONE_DATA.items() if k.startswith(code)}
            # The country-level entry must be among them: it answers for numbers that are
            # not geographic (mobiles).
            uniform = len(zones) == 1 and code in TIMEZONE_DATA
            self._by_code[code] = (customer_zone(phone, None, self.default_zone)
                                   if uniform else None)
        return self._by_code[code]

    def zone(self, phone: str, own_zone: str | None) -> str:
        """The zone to apply calling hours in; :class:`CallingHoursError` for an unknown
        ``own_zone``."""
        if own_zone:
            return customer_zone(phone, own_zone, self.default_zone)
        code = self._country_code(phone)
        uniform = self._uniform(code, phone) if code is not None else None
        return uniform if uniform is not None else customer_zone(phone, None,
                                                                 self.default_zone)


_LIMITS: Final = (("name", 200), ("email", 255), ("code", 100))
"""The length limits of :class:`~callbot.store.models.CustomerBase`, checked without it."""


class _ZoneCheck:
    """:class:`CustomerCreate`'s time-zone check, once per zone name."""

    def __init__(self) -> None:
        self._valid: dict[str, bool] = {}

    def __call__(self, name: str) -> bool:
        known = self._valid.get(name)
        if known is None:
            try:
                CustomerCreate.model_validate({"phone": "+84912345678", "timezone": name})
                known = True
            except ValidationError:
                known = False
            self._valid[name] = known
        return known


def _customer(row: CustomerRow, zones: ZoneGuesser,
              zone_ok: _ZoneCheck) -> dict[str, Any] | SkippedRow:
    """The row as :func:`callbot.store.repo.add_customer_rows` takes it, or why it is
    skipped. The importer has already normalized the phone to E.164; the rest of
    :class:`CustomerCreate`'s checks run here as plain comparisons, and a row that fails one
    goes through :class:`CustomerCreate` itself for its exact message."""
    extra: dict[str, Any] = dict(row.extra)
    extra["row"] = row.row
    try:
        zone = zones.zone(row.phone, extra.get("timezone"))
    except CallingHoursError as exc:
        return SkippedRow(row.row, "timezone", str(exc))
    values: dict[str, Any] = {"name": row.name, "phone": row.phone, "email": row.email or None,
                              "code": row.code or None, "extra": extra, "timezone": zone}
    if (len(row.phone) <= 16 and E164.match(row.phone) is not None and zone_ok(zone)
            and all(values[f] is None or len(values[f]) <= limit for f, limit in _LIMITS)):
        return values
    try:
        made = CustomerCreate(**values)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "row"
        return SkippedRow(row.row, field, error["msg"].removeprefix("Value error, "))
    return made.model_dump()


def import_file(session: Session, actor: User, campaign_id: int, upload: IO[bytes],
                filename: str, *, mapping: ColumnMapping | None, sheet: str | None,
                now: datetime) -> ImportResult:
    """Import an uploaded CSV or XLSX file into the campaign (all accepted rows, or nothing
    when the file cannot be read)."""
    campaign = campaign_to_manage(session, actor, campaign_id)
    if campaign.state in _OVER:
        raise Conflict(f"campaign {campaign_id} is {campaign.state.value}: it takes no more "
                       "customers", field="state", code="campaign_over")
    rules = list_settings(session, campaign_id)
    config = _config(rules, mapping, sheet)
    existing = existing_customers(session, campaign_id, config.duplicate_fields, config.region)
    suffix = Path(filename).suffix.lower()[:8] if Path(filename).suffix else ""
    with tempfile.TemporaryDirectory(prefix="callbot-import-") as folder:
        path = Path(folder) / f"upload{suffix}"
        with path.open("wb") as out:
            shutil.copyfileobj(upload, out, length=1024 * 1024)
        if path.stat().st_size > MAX_UPLOAD_BYTES:
            raise Unprocessable(f"{filename} is larger than {MAX_UPLOAD_BYTES // 2**20} MB",
                                field="file", code="file_too_large")
        report = import_customers(path, config, existing)
    customers: list[dict[str, Any]] = []
    skipped = list(report.skipped)
    zones, zone_ok = ZoneGuesser(campaign.timezone), _ZoneCheck()
    for row in report.imported:
        made = _customer(row, zones, zone_ok)
        if isinstance(made, SkippedRow):
            skipped.append(made)
        else:
            customers.append(made)
    skipped.sort(key=lambda s: s.row)
    result = ImportResult(
        campaign_id=campaign_id, file=filename, rows_read=report.rows_read,
        imported=len(customers), skipped=len(skipped), empty_rows=report.empty_rows,
        encoding=report.encoding, columns=dict(report.columns), warnings=report.warnings,
        skipped_rows=[SkippedRowOut(row=s.row, column=s.column, reason=s.reason)
                      for s in skipped[:MAX_SKIPPED_LISTED]],
        skipped_rows_truncated=len(skipped) > MAX_SKIPPED_LISTED)

    def audit(_: Session) -> list[AuditLog]:
        return [entry(actor, "import", "campaign", campaign_id, now=now, after={
            "file": filename, "rows_read": result.rows_read, "imported": result.imported,
            "skipped": result.skipped, "empty_rows": result.empty_rows})]

    with on_commit(session, audit):
        repo.add_customer_rows(session, campaign_id, customers, now=now)
    return result


def template(session: Session, campaign_id: int, kind: str) -> bytes:
    """The campaign's customer list template (``csv`` or ``xlsx``), with its extra fields."""
    rules = list_settings(session, campaign_id)
    extra = [f for f in dict.fromkeys([*rules.required_fields, *rules.unique_fields])
             if f not in STANDARD_FIELDS]
    with tempfile.TemporaryDirectory(prefix="callbot-template-") as folder:
        path = write_template(Path(folder) / f"template.{kind}", extra)
        return path.read_bytes()
