"""A campaign's customers: list and filter, status changes, Do-Not-Contact, assignment,
notes, history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status

from api.deps import CurrentUser, IdPath, IdQuery, ManagerUser, NowDep, Offset, SessionDep
from api.schemas import (
    AssignIn,
    AssignOut,
    CampaignCustomerOut,
    CustomerHistory,
    DoNotContactIn,
    DoNotContactOut,
    NoteOut,
    Page,
    StatusChangeIn,
    StatusChangeOut,
)
from api.services import customers as service
from api.services.customers import CustomerFilter, DateField
from callbot.store.models_api import NoteCreate
from dialer.outcome import CallOutcome
from scripts_dsl.status import CustomerStatus

router = APIRouter(prefix="/campaigns/{campaign_id}/customers", tags=["customers"])

_REFUSED = {409: {"description": "the status rules forbid the change; `allowed` lists the "
                                 "moves that are"}}


@router.get("", response_model=Page[CampaignCustomerOut])
def list_customers(
    session: SessionDep, user: CurrentUser, campaign_id: IdPath,
    status: Annotated[list[CustomerStatus] | None, Query()] = None,
    last_outcome: Annotated[list[CallOutcome] | None, Query()] = None,
    called: Annotated[bool | None, Query(description="called at least once, or never")] = None,
    done: Annotated[bool | None, Query(description="no further call planned")] = None,
    date_field: DateField = DateField.STATUS_CHANGED,
    date_from: Annotated[datetime | None, Query(description="inclusive, with time zone")] = None,
    date_to: Annotated[datetime | None, Query(description="exclusive, with time zone")] = None,
    q: Annotated[str | None, Query(max_length=200, description="name or phone")] = None,
    agent_id: IdQuery = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> Page[CampaignCustomerOut]:
    """The campaign's customers (an agent sees only those assigned to them)."""
    filters = CustomerFilter(status=status, last_outcome=last_outcome, called=called, done=done,
                             date_field=date_field, date_from=date_from, date_to=date_to, q=q,
                             agent_id=agent_id)
    items, total = service.list_customers(session, user, campaign_id, filters, offset=offset,
                                          limit=limit)
    return Page(items=items, total=total, offset=offset, limit=limit)


@router.post("/assign", response_model=AssignOut)
def assign(session: SessionDep, user: ManagerUser, now: NowDep, campaign_id: IdPath,
           data: AssignIn) -> AssignOut:
    """Assign customers to an agent (or unassign them with ``agent_id: null``)."""
    return service.assign(session, user, campaign_id, data.agent_id, data.customer_ids,
                          now=now)


@router.get("/{customer_id}", response_model=CampaignCustomerOut)
def read_customer(session: SessionDep, user: CurrentUser, campaign_id: IdPath,
                  customer_id: IdPath) -> CampaignCustomerOut:
    return service.get_customer(session, user, campaign_id, customer_id)


@router.post("/{customer_id}/status", response_model=StatusChangeOut, responses=_REFUSED)
def change_status(session: SessionDep, user: CurrentUser, now: NowDep, campaign_id: IdPath,
                  customer_id: IdPath, data: StatusChangeIn) -> StatusChangeOut:
    """Registered -> Confirmed, Joined, Cancelled; Confirmed -> Joined, Cancelled;
    Joined -> Cancelled. Anything else is refused."""
    return service.change_status(session, user, campaign_id, customer_id, data.status, now=now)


@router.post("/{customer_id}/do-not-contact", response_model=DoNotContactOut)
def do_not_contact(session: SessionDep, user: CurrentUser, now: NowDep, campaign_id: IdPath,
                   customer_id: IdPath, data: DoNotContactIn) -> DoNotContactOut:
    """Never call this customer's number again (in any campaign)."""
    return service.do_not_contact(session, user, campaign_id, customer_id, data.reason, now=now)


@router.get("/{customer_id}/history", response_model=CustomerHistory)
def history(session: SessionDep, user: CurrentUser, campaign_id: IdPath,
            customer_id: IdPath) -> CustomerHistory:
    """Calls with their events, status changes and notes."""
    return service.history(session, user, campaign_id, customer_id)


@router.get("/{customer_id}/notes", response_model=list[NoteOut])
def list_notes(session: SessionDep, user: CurrentUser, campaign_id: IdPath,
               customer_id: IdPath) -> list[NoteOut]:
    return service.notes(session, user, campaign_id, customer_id)


@router.post("/{customer_id}/notes", response_model=NoteOut,
             status_code=status.HTTP_201_CREATED)
def add_note(session: SessionDep, user: CurrentUser, now: NowDep, campaign_id: IdPath,
             customer_id: IdPath, data: NoteCreate) -> NoteOut:
    return service.add_note(session, user, campaign_id, customer_id, data, now=now)
