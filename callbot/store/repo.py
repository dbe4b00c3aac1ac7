"""Service functions of the store: what the dialer and the API call.

Every function takes the session first and the current time as ``now`` (timezone-aware);
functions that write run in one transaction of their own (:func:`~callbot.store.db.
write_transaction`) and commit it, so each call is all-or-nothing.

This module holds the catalogue (trunks, script versions, campaigns and their lifecycle,
customers), people's changes (manual status changes, Do-Not-Contact) and is the one place to
import the whole service from: the dialer's side (:mod:`callbot.store.dialing`) and reports
(:mod:`callbot.store.report`) are re-exported here.
"""

from __future__ import annotations

import logging
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlmodel import Session, col, select

from callbot.store.db import write_transaction
from callbot.store.dialing import (
    Claim,
    EventRecord,
    FinishReport,
    StatusChangeRequest,
    claim_due,
    finish_attempt,
    mark_dialing,
    rebuild_stats,
    recover_expired,
    renew_lease,
)
from callbot.store.errors import CampaignStateRefused, InvalidData, NotFound
from callbot.store.models import (
    E164,
    Campaign,
    CampaignCreate,
    CampaignCustomer,
    CampaignState,
    Customer,
    CustomerCreate,
    DoNotContact,
    Script,
    ScriptFormat,
    ScriptVersion,
    StatusChange,
    StatusSource,
    Trunk,
    TrunkCreate,
)
from callbot.store.report import CampaignReport, report
from callbot.store.retry import DoneReason, RetryDecision
from callbot.store.rows import get_campaign, insert_returning_ids, lock_customer
from callbot.store.types import StrEnumType, UTCDateTime, utc
from scripts_dsl.status import CustomerStatus, check_move

__all__ = [
    "CAMPAIGN_MOVES",
    "Claim",
    "StatusChangeRequest",
    "EventRecord",
    "FinishReport",
    "RetryDecision",
    "CampaignReport",
    "create_trunk",
    "create_script_version",
    "create_campaign",
    "move_campaign",
    "add_customers",
    "add_customer_rows",
    "claim_due",
    "mark_dialing",
    "renew_lease",
    "finish_attempt",
    "recover_expired",
    "rebuild_stats",
    "change_status",
    "add_dnc",
    "report",
]

_log = logging.getLogger(__name__)

CAMPAIGN_MOVES: Final[Mapping[CampaignState, tuple[CampaignState, ...]]] = {
    CampaignState.DRAFT: (CampaignState.RUNNING, CampaignState.STOPPED),
    CampaignState.RUNNING: (CampaignState.PAUSED, CampaignState.COMPLETED, CampaignState.STOPPED),
    CampaignState.PAUSED: (CampaignState.RUNNING, CampaignState.COMPLETED, CampaignState.STOPPED),
    CampaignState.COMPLETED: (),
    CampaignState.STOPPED: (),
}
"""The campaign lifecycle: draft -> running <-> paused -> completed, or stopped."""

_INSERT_BATCH: Final = 5000
_ANALYZE_AFTER: Final = 1000


# --- catalogue --------------------------------------------------------------------------


def create_trunk(session: Session, data: TrunkCreate, *, now: datetime) -> Trunk:
    """Store a trunk; its name must be unused."""
    with write_transaction(session):
        if session.exec(select(Trunk.id).where(Trunk.name == data.name)).first() is not None:
            raise InvalidData(f"name: a trunk called {data.name!r} already exists")
        trunk = Trunk.model_validate(data, update={"created_at": utc(now)})
        session.add(trunk)
    return trunk


def create_script_version(session: Session, name: str, source: str, fmt: ScriptFormat,
                          version: str, *, now: datetime) -> ScriptVersion:
    """Store a validated script text under script ``name`` (created if new).

    ``version`` is the validator's content hash
    (:attr:`scripts_dsl.validator.ValidationReport.version`); storing the same version again
    returns the stored row.
    """
    if not version:
        raise InvalidData("version: store only scripts that passed validation (no version id)")
    with write_transaction(session):
        script = session.exec(select(Script).where(Script.name == name)).first()
        if script is None:
            script = Script(name=name, created_at=utc(now))
            session.add(script)
            session.flush()
        existing = session.exec(select(ScriptVersion).where(
            ScriptVersion.script_id == script.id, ScriptVersion.version == version)).first()
        if existing is not None:
            return existing
        assert script.id is not None
        row = ScriptVersion(script_id=script.id, version=version, source=source,
                            format=ScriptFormat(fmt), created_at=utc(now))
        session.add(row)
    return row


def create_campaign(session: Session, data: CampaignCreate, *, now: datetime) -> Campaign:
    """Store a new campaign in the draft state."""
    with write_transaction(session):
        for ref, model in ((data.script_id, Script), (data.trunk_id, Trunk)):
            if ref is not None and session.get(model, ref) is None:
                raise NotFound(model.__name__, ref)
        campaign = Campaign.model_validate(data, update={"created_at": utc(now)})
        session.add(campaign)
    return campaign


def move_campaign(session: Session, campaign_id: int, to: CampaignState, *,
                  now: datetime) -> Campaign:
    """Move a campaign along :data:`CAMPAIGN_MOVES`.

    The first start pins the latest version of the campaign's script: a running campaign
    keeps the version it started with.
    """
    to = CampaignState(to)
    with write_transaction(session):
        campaign = get_campaign(session, campaign_id, lock=True)
        allowed = CAMPAIGN_MOVES[campaign.state]
        if to not in allowed:
            raise CampaignStateRefused(campaign.state, to, allowed)
        if to is CampaignState.RUNNING and campaign.script_version_id is None:
            campaign.script_version_id = _latest_version(session, campaign)
        if to is CampaignState.RUNNING and campaign.started_at is None:
            campaign.started_at = utc(now)
        if to in (CampaignState.COMPLETED, CampaignState.STOPPED):
            campaign.finished_at = utc(now)
        _log.info("campaign %s: %s -> %s", campaign_id, campaign.state.value, to.value)
        campaign.state = to
        session.add(campaign)
    return campaign


def _latest_version(session: Session, campaign: Campaign) -> int:
    refuse = CampaignStateRefused
    allowed = CAMPAIGN_MOVES[campaign.state]
    if campaign.script_id is None:
        raise refuse(campaign.state, CampaignState.RUNNING, allowed, "it has no script")
    version = session.exec(select(ScriptVersion.id)
                           .where(ScriptVersion.script_id == campaign.script_id)
                           .order_by(col(ScriptVersion.id).desc())).first()
    if version is None:
        raise refuse(campaign.state, CampaignState.RUNNING, allowed,
                     "its script has no validated version yet")
    return version


def add_customers(session: Session, campaign_id: int, customers: Sequence[CustomerCreate], *,
                  now: datetime) -> list[int]:
    """Add customers to a campaign, all or none; returns their campaign-customer ids in the
    order given; they are due at once. Numbers on the Do-Not-Contact list are added already
    done.

    Customers are written with multi-row INSERTs and their campaign rows with one
    ``INSERT ... SELECT`` per batch, so 100,000 customers take seconds. Duplicate checks are
    the importer's job, before this call.
    """
    stamp = utc(now)
    ids: list[int] = []
    with write_transaction(session):
        get_campaign(session, campaign_id)
        for start in range(0, len(customers), _INSERT_BATCH):
            batch = customers[start:start + _INSERT_BATCH]
            customer_ids = insert_returning_ids(session, Customer, [{
                "name": c.name, "phone": c.phone, "email": c.email, "code": c.code,
                "extra": c.extra, "timezone": c.timezone, "created_at": stamp,
            } for c in batch])
            by_customer = _link_customers(session, campaign_id, customer_ids, stamp)
            ids.extend(by_customer[i] for i in customer_ids)
        if len(customers) >= _ANALYZE_AFTER:
            # Fresh planner statistics, or the first claims are planned for empty tables.
            for table in ("customer", "campaign_customer"):
                session.execute(sa.text(f"ANALYZE {table}"))
    return ids


_CUSTOMER_COLUMNS: Final = ("id", "name", "phone", "email", "code", "extra", "timezone",
                             "created_at")
_LINK_COLUMNS: Final = ("id", "campaign_id", "customer_id", "status", "status_changed_at",
                        "attempts", "done", "done_reason", "next_attempt_at", "created_at")
_DNC_LOOKUP_BATCH: Final = 5000


def add_customer_rows(session: Session, campaign_id: int,
                      customers: Sequence[Mapping[str, Any]], *, now: datetime) -> list[int]:
    """:func:`add_customers` for rows already validated, as plain mappings with the keys
    ``name``, ``phone`` (E.164), ``email``, ``code`` (``None`` when empty), ``extra`` (a
    JSON-able dict) and ``timezone`` (an IANA name or ``None``): the bulk import's path.

    Same outcome, all or none in one transaction: campaign-customer ids in the order given,
    due at once, Do-Not-Contact numbers added already done. The ids of both tables are taken
    up front (PostgreSQL: from their sequences in one query each; SQLite: after the largest,
    inside ``BEGIN IMMEDIATE``), the Do-Not-Contact numbers among the phones are read in
    batches, and the rows go to the driver as plain tuples: ``COPY`` on PostgreSQL,
    ``executemany`` elsewhere. No per-row model or SQL compilation.
    """
    stamp = utc(now)
    with write_transaction(session):
        get_campaign(session, campaign_id)
        connection = session.connection()
        dialect = connection.dialect
        customer_table = Customer.__table__  # type: ignore[attr-defined]
        link_table = CampaignCustomer.__table__  # type: ignore[attr-defined]
        count = len(customers)
        customer_ids = _new_ids(session, "customer", count)
        link_ids = _new_ids(session, "campaign_customer", count)
        blocked = _blocked_phones(session, [c["phone"] for c in customers])
        postgres = dialect.name == "postgresql"
        when: Any = stamp if postgres else _bound(customer_table.c.created_at, stamp, dialect)
        registered = CustomerStatus.REGISTERED.value
        dnc = DoneReason.DO_NOT_CONTACT.value
        done_yes: Any = True if postgres else _bound(link_table.c.done, True, dialect)
        done_no: Any = False if postgres else _bound(link_table.c.done, False, dialect)
        people = [(i, c["name"], c["phone"], c["email"], c["code"], json.dumps(c["extra"]),
                   c["timezone"], when) for i, c in zip(customer_ids, customers, strict=True)]
        links = [(link, campaign_id, person, registered, when, 0,
                  *((done_yes, dnc, None) if c["phone"] in blocked else (done_no, None, when)),
                  when)
                 for link, person, c in zip(link_ids, customer_ids, customers, strict=True)]
        if postgres:
            _copy(connection, "customer", _CUSTOMER_COLUMNS, people)
            _copy(connection, "campaign_customer", _LINK_COLUMNS, links)
        else:
            _executemany(connection, "customer", _CUSTOMER_COLUMNS, people)
            _executemany(connection, "campaign_customer", _LINK_COLUMNS, links)
        if count >= _ANALYZE_AFTER:
            for table in ("customer", "campaign_customer"):
                session.execute(sa.text(f"ANALYZE {table}"))
    return link_ids


def _bound(column: sa.Column[Any], value: Any, dialect: sa.Dialect) -> Any:
    """``value`` as the driver receives it for ``column`` (its type's bind processing)."""
    process = column.type.bind_processor(dialect)
    return process(value) if process is not None else value


def _new_ids(session: Session, table: str, count: int) -> list[int]:
    if count == 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        drawn = session.execute(sa.text(
            "SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
            "FROM generate_series(1, :count)"), {"table": table, "count": count})
        return [int(i) for i in drawn.scalars()]
    first = 1 + int(session.execute(sa.text(
        f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one())
    return list(range(first, first + count))


def _blocked_phones(session: Session, phones: list[str]) -> set[str]:
    """The numbers of ``phones`` on the Do-Not-Contact list."""
    unique = list(dict.fromkeys(phones))
    found: set[str] = set()
    for start in range(0, len(unique), _DNC_LOOKUP_BATCH):
        batch = unique[start:start + _DNC_LOOKUP_BATCH]
        found.update(session.execute(sa.select(col(DoNotContact.phone))
                                     .where(col(DoNotContact.phone).in_(batch))).scalars())
    return found


def _copy(connection: sa.Connection, table: str, columns: tuple[str, ...],
          rows: list[tuple[Any, ...]]) -> None:
    """PostgreSQL ``COPY ... FROM STDIN`` on the transaction's own connection."""
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    finally:
        cursor.close()


def _executemany(connection: sa.Connection, table: str, columns: tuple[str, ...],
                 rows: list[tuple[Any, ...]]) -> None:
    if rows:
        marks = ", ".join("?" * len(columns))
        connection.exec_driver_sql(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def _link_customers(session: Session, campaign_id: int, customer_ids: list[int],
                    stamp: datetime) -> dict[int, int]:
    """Insert the campaign rows of ``customer_ids``; map customer id -> campaign row id."""
    cc, cu = CampaignCustomer.__table__, Customer.__table__  # type: ignore[attr-defined]
    blocked = sa.exists().where(DoNotContact.phone == cu.c.phone)
    when = sa.literal(stamp, UTCDateTime())
    rows = sa.select(
        sa.literal(campaign_id), cu.c.id,
        sa.literal(CustomerStatus.REGISTERED, StrEnumType(CustomerStatus)), when,
        sa.literal(0), blocked,
        sa.case((blocked, sa.literal(DoneReason.DO_NOT_CONTACT.value)), else_=sa.null()),
        sa.case((blocked, sa.null()), else_=when), when,
    ).where(cu.c.id.in_(customer_ids))
    statement = (sa.insert(cc)
                 .from_select(["campaign_id", "customer_id", "status", "status_changed_at",
                               "attempts", "done", "done_reason", "next_attempt_at",
                               "created_at"], rows)
                 .returning(cc.c.customer_id, cc.c.id))
    return {int(customer): int(row) for customer, row in session.execute(statement)}


# --- people's side ----------------------------------------------------------------------


def change_status(session: Session, campaign_customer_id: int, to: CustomerStatus,
                  source: StatusSource, actor: str | None, *, now: datetime,
                  attempt_id: int | None = None,
                  also: Callable[[Session, StatusChange, int], None] | None = None) -> StatusChange:
    """Move a customer's status: by a person (manager, agent, import) or, with
    ``attempt_id``, by the caller's answer during that call.

    Raises :class:`scripts_dsl.errors.StatusChangeRefused`, whose message lists the allowed
    moves, when the status rules forbid it; nothing is written then. ``also(session, change,
    campaign_id)`` runs inside the same transaction (the webhook outbox uses it).
    """
    stamp = utc(now)
    with write_transaction(session):
        cc = lock_customer(session, campaign_customer_id)
        check_move(cc.status, CustomerStatus(to))
        change = StatusChange(campaign_customer_id=campaign_customer_id, from_status=cc.status,
                              to_status=CustomerStatus(to), source=StatusSource(source),
                              actor=actor, at=stamp, attempt_id=attempt_id)
        _log.info("campaign customer %s: status %s -> %s (%s %s)", campaign_customer_id,
                  cc.status.value, change.to_status.value, change.source.value, actor)
        cc.status = change.to_status
        cc.status_changed_at = stamp
        session.add(cc)
        session.add(change)
        if also is not None:
            session.flush()
            also(session, change, cc.campaign_id)
    return change


def add_dnc(session: Session, phone: str, reason: str, *, now: datetime,
            created_by: str | None = None) -> DoNotContact:
    """Put an E.164 number on the Do-Not-Contact list (again: returns the existing entry).

    Campaign customers with that number that are not done and not in a call become done;
    one in a call is made done when that call finishes.
    """
    if not E164.match(phone):
        raise InvalidData(f"phone: {phone!r} is not in E.164 form (e.g. +84912345678)")
    with write_transaction(session):
        entry = session.exec(select(DoNotContact).where(DoNotContact.phone == phone)).first()
        if entry is None:
            entry = DoNotContact(phone=phone, reason=reason, created_at=utc(now),
                                 created_by=created_by)
            session.add(entry)
        cc = CampaignCustomer
        session.execute(
            sa.update(cc)
            .where(col(cc.done) == sa.false(), col(cc.lease_owner).is_(None),
                   col(cc.customer_id).in_(sa.select(col(Customer.id))
                                           .where(col(Customer.phone) == phone)))
            .values(done=True, done_reason=DoneReason.DO_NOT_CONTACT, next_attempt_at=None)
            .execution_options(synchronize_session=False))
    return entry
