"""A campaign's customers: list with filters, status changes, Do-Not-Contact, assignment,
notes and history. Agents only ever see and touch the customers assigned to them."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

import sqlalchemy as sa
from sqlmodel import Session, col, select

from api.errors import Unprocessable
from api.schemas import (
    AssignOut,
    CallAttemptDetail,
    CallEventOut,
    CampaignCustomerOut,
    CustomerHistory,
    DoNotContactOut,
    NoteOut,
    StatusChangeOut,
)
from api.services.access import (
    campaign_to_manage,
    campaign_to_work,
    customer_to_read,
    customer_to_work,
)
from api.services.audit import entry, on_commit, record
from api.services.params import utc_param
from api.webhooks import enqueue_event
from callbot.store import repo
from callbot.store.db import write_transaction
from callbot.store.models import (
    CallAttempt,
    CallEvent,
    CampaignCustomer,
    Customer,
    DoNotContact,
    StatusChange,
    StatusSource,
)
from callbot.store.models_api import AuditLog, Note, NoteCreate, User, UserRole, WebhookEvent
from dialer.outcome import CallOutcome
from scripts_dsl.status import CustomerStatus

__all__ = ["DateField", "CustomerFilter", "list_customers", "get_customer", "change_status",
           "do_not_contact", "assign", "add_note", "notes", "history", "phone_pattern",
           "attempt_details"]

_DIGITS: Final = re.compile(r"\D")


class DateField(StrEnum):
    """Which date a date-range filter applies to."""

    STATUS_CHANGED = "status_changed"
    CREATED = "created"


class CustomerFilter:
    """The list filters (all optional, combined with AND)."""

    def __init__(self, *, status: list[CustomerStatus] | None = None,
                 last_outcome: list[CallOutcome] | None = None, called: bool | None = None,
                 done: bool | None = None, date_field: DateField = DateField.STATUS_CHANGED,
                 date_from: datetime | None = None, date_to: datetime | None = None,
                 q: str | None = None, agent_id: int | None = None) -> None:
        date_from = utc_param("date_from", date_from)
        date_to = utc_param("date_to", date_to)
        if date_from is not None and date_to is not None and date_to < date_from:
            raise Unprocessable("date_to is before date_from", field="date_to")
        self.status = status or []
        self.last_outcome = last_outcome or []
        self.called = called
        self.done = done
        self.date_field = date_field
        self.date_from = date_from
        self.date_to = date_to
        self.q = (q or "").strip()
        self.agent_id = agent_id


def phone_pattern(text: str) -> str | None:
    """The digits to look for in stored E.164 numbers when someone searches ``text``:
    ``0912 345`` and ``+84 912 345`` both find ``+84912345...``."""
    digits = _DIGITS.sub("", text)
    if len(digits) < 3:
        return None
    return digits[1:] if digits.startswith("0") else digits


def _dnc() -> Any:
    return sa.exists().where(col(DoNotContact.phone) == col(Customer.phone))


def _out(cc: CampaignCustomer, cu: Customer, dnc: bool) -> CampaignCustomerOut:
    assert cc.id is not None
    return CampaignCustomerOut(
        id=cc.id, campaign_id=cc.campaign_id, customer_id=cc.customer_id, name=cu.name,
        phone=cu.phone, email=cu.email, code=cu.code, extra=cu.extra, timezone=cu.timezone,
        status=cc.status, status_changed_at=cc.status_changed_at, attempts=cc.attempts,
        last_outcome=cc.last_outcome, next_attempt_at=cc.next_attempt_at, done=cc.done,
        done_reason=cc.done_reason, assigned_agent_id=cc.assigned_agent_id,
        do_not_contact=bool(dnc), created_at=cc.created_at)


def list_customers(session: Session, user: User, campaign_id: int, filters: CustomerFilter, *,
                   offset: int = 0, limit: int = 50) -> tuple[list[CampaignCustomerOut], int]:
    """One page of the campaign's customers matching ``filters``, by id."""
    campaign_to_work(session, user, campaign_id)
    cc, cu = CampaignCustomer, Customer
    where: list[Any] = [col(cc.campaign_id) == campaign_id]
    if user.role is UserRole.AGENT:
        where.append(col(cc.assigned_agent_id) == user.id)
    elif filters.agent_id is not None:
        where.append(col(cc.assigned_agent_id) == filters.agent_id)
    if filters.status:
        where.append(col(cc.status).in_([s.value for s in filters.status]))
    if filters.last_outcome:
        where.append(col(cc.last_outcome).in_([o.value for o in filters.last_outcome]))
    if filters.called is not None:
        where.append(col(cc.attempts) > 0 if filters.called else col(cc.attempts) == 0)
    if filters.done is not None:
        where.append(col(cc.done) == (sa.true() if filters.done else sa.false()))
    stamp = col(cc.status_changed_at if filters.date_field is DateField.STATUS_CHANGED
                else cc.created_at)
    if filters.date_from is not None:
        where.append(stamp >= filters.date_from)
    if filters.date_to is not None:
        where.append(stamp < filters.date_to)
    if filters.q:
        text = sa.func.lower(col(cu.name)).contains(filters.q.lower(), autoescape=True)
        digits = phone_pattern(filters.q)
        where.append(sa.or_(text, col(cu.phone).contains(digits, autoescape=True))
                     if digits else text)
    base = sa.select(cc, cu, _dnc()).join(cu, col(cu.id) == col(cc.customer_id)).where(*where)
    total = session.execute(sa.select(sa.func.count()).select_from(cc)
                            .join(cu, col(cu.id) == col(cc.customer_id)).where(*where)
                            ).scalar_one()
    rows = session.execute(base.order_by(col(cc.id)).offset(offset).limit(limit)).all()
    return [_out(a, b, d) for a, b, d in rows], int(total)


def _load(session: Session, cc: CampaignCustomer) -> CampaignCustomerOut:
    customer = session.get(Customer, cc.customer_id)
    assert customer is not None
    dnc = session.exec(select(DoNotContact.id).where(
        DoNotContact.phone == customer.phone)).first() is not None
    return _out(cc, customer, dnc)


def get_customer(session: Session, user: User, campaign_id: int,
                 customer_id: int) -> CampaignCustomerOut:
    _, cc = customer_to_read(session, user, campaign_id, customer_id)
    return _load(session, cc)


def _source(user: User) -> StatusSource:
    return StatusSource.AGENT if user.role is UserRole.AGENT else StatusSource.MANAGER


def change_status(session: Session, user: User, campaign_id: int, customer_id: int,
                  to: CustomerStatus, *, now: datetime) -> StatusChangeOut:
    """Move the customer's status by hand; refused (with the allowed moves) when the status
    rules forbid it. The audit entry and the ``status.changed`` webhook deliveries are
    written in the same transaction as the change."""
    customer_to_work(session, user, campaign_id, customer_id)

    def audit(sess: Session) -> list[AuditLog]:
        changes = [c for c in sess.new if isinstance(c, StatusChange)]
        for change in changes:
            enqueue_event(sess, campaign_id, WebhookEvent.STATUS_CHANGED, {
                "campaign_customer_id": customer_id, "from": change.from_status.value,
                "to": change.to_status.value, "source": change.source.value,
                "actor": change.actor, "at": change.at.isoformat()}, now=now)
        return [entry(user, "change_status", "campaign_customer", customer_id, now=now,
                      before={"status": c.from_status.value},
                      after={"status": c.to_status.value, "source": c.source.value})
                for c in changes]

    with on_commit(session, audit):
        change = repo.change_status(session, customer_id, to, _source(user), user.username,
                                    now=now)
    return StatusChangeOut.model_validate(change, from_attributes=True)


def do_not_contact(session: Session, user: User, campaign_id: int, customer_id: int,
                   reason: str, *, now: datetime) -> DoNotContactOut:
    """Put the customer's number on the Do-Not-Contact list: the dialer never calls it
    again, in any campaign."""
    _, cc = customer_to_work(session, user, campaign_id, customer_id)
    customer = session.get(Customer, cc.customer_id)
    assert customer is not None
    phone = customer.phone

    def audit(sess: Session) -> list[AuditLog]:
        return [entry(user, "do_not_contact", "campaign_customer", customer_id, now=now,
                      before={"done": cc.done, "do_not_contact": False},
                      after={"phone": phone, "reason": reason, "do_not_contact": True})]

    with on_commit(session, audit):
        row = repo.add_dnc(session, phone, reason, now=now, created_by=user.username)
    return DoNotContactOut(phone=row.phone, reason=row.reason, created_at=row.created_at,
                           created_by=row.created_by)


def assign(session: Session, user: User, campaign_id: int, agent_id: int | None,
           customer_ids: list[int], *, now: datetime) -> AssignOut:
    """Assign customers of the campaign to an agent, or unassign them (``agent_id`` None)."""
    wanted = sorted(set(customer_ids))
    with write_transaction(session):
        campaign_to_manage(session, user, campaign_id)
        if agent_id is not None:
            agent = session.get(User, agent_id)
            if agent is None or agent.role is not UserRole.AGENT or not agent.active:
                raise Unprocessable(f"user {agent_id} is not an active agent",
                                    field="agent_id", code="not_an_agent")
        found = session.execute(sa.select(col(CampaignCustomer.id),
                                          col(CampaignCustomer.assigned_agent_id)).where(
            col(CampaignCustomer.campaign_id) == campaign_id,
            col(CampaignCustomer.id).in_(wanted))).all()
        missing = sorted(set(wanted) - {i for i, _ in found})
        if missing:
            raise Unprocessable(f"campaign {campaign_id} has no customer {missing[0]}"
                                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
                                field="customer_ids", code="unknown_customer")
        session.execute(sa.update(CampaignCustomer)
                        .where(col(CampaignCustomer.id).in_(wanted))
                        .values(assigned_agent_id=agent_id)
                        .execution_options(synchronize_session=False))
        for cid, previous in found:
            if previous != agent_id:
                record(session, user, "assign", "campaign_customer", cid, now=now,
                       before={"assigned_agent_id": previous},
                       after={"assigned_agent_id": agent_id})
    return AssignOut(agent_id=agent_id, assigned=len(wanted))


def add_note(session: Session, user: User, campaign_id: int, customer_id: int,
             data: NoteCreate, *, now: datetime) -> NoteOut:
    with write_transaction(session):
        customer_to_work(session, user, campaign_id, customer_id)
        note = Note(campaign_customer_id=customer_id, user_id=user.id, at=now, text=data.text)
        session.add(note)
        session.flush()
        record(session, user, "create", "note", note.id, now=now,
               after={"campaign_customer_id": customer_id, "text": data.text})
    return NoteOut.model_validate(note, from_attributes=True)


def notes(session: Session, user: User, campaign_id: int, customer_id: int) -> list[NoteOut]:
    customer_to_read(session, user, campaign_id, customer_id)
    rows = session.exec(select(Note).where(Note.campaign_customer_id == customer_id)
                        .order_by(col(Note.at), col(Note.id)))
    return [NoteOut.model_validate(n, from_attributes=True) for n in rows]


def attempt_details(session: Session, attempts: list[CallAttempt]) -> list[CallAttemptDetail]:
    """Attempts with their events (one query for all events)."""
    ids = [a.id for a in attempts if a.id is not None]
    events: dict[int, list[CallEventOut]] = {i: [] for i in ids}
    if ids:
        for event in session.exec(select(CallEvent).where(col(CallEvent.attempt_id).in_(ids))
                                  .order_by(col(CallEvent.attempt_id), col(CallEvent.seq))):
            events[event.attempt_id].append(CallEventOut.model_validate(
                event, from_attributes=True))
    return [CallAttemptDetail.model_validate(
        {**a.model_dump(), "events": events.get(a.id or 0, [])}) for a in attempts]


def history(session: Session, user: User, campaign_id: int,
            customer_id: int) -> CustomerHistory:
    """The customer's calls (with events), status changes and notes."""
    _, cc = customer_to_read(session, user, campaign_id, customer_id)
    customer = _load(session, cc)
    attempts = list(session.exec(select(CallAttempt)
                                 .where(CallAttempt.campaign_customer_id == customer_id)
                                 .order_by(col(CallAttempt.attempt_no))))
    changes = session.exec(select(StatusChange)
                           .where(StatusChange.campaign_customer_id == customer_id)
                           .order_by(col(StatusChange.at), col(StatusChange.id)))
    dnc = session.exec(select(DoNotContact).where(DoNotContact.phone == customer.phone)).first()
    return CustomerHistory(
        customer=customer, calls=attempt_details(session, attempts),
        status_changes=[StatusChangeOut.model_validate(c, from_attributes=True)
                        for c in changes],
        notes=notes(session, user, campaign_id, customer_id),
        do_not_contact=DoNotContactOut.model_validate(dnc, from_attributes=True)
        if dnc else None)

