"""Call attempts of a campaign: outcome, timings, how they ended, and their events."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from api.errors import NotFoundError
from api.schemas import CallAttemptDetail, CallAttemptOut
from api.services.access import campaign_to_work, customer_to_read
from api.services.customers import attempt_details
from api.services.params import utc_param
from callbot.store.models import CallAttempt, CallEvent, CampaignCustomer
from callbot.store.models_api import User, UserRole
from dialer.outcome import CallOutcome

__all__ = ["list_calls", "get_call"]


def list_calls(session: Session, user: User, campaign_id: int, *,
               outcome: list[CallOutcome] | None = None, since: datetime | None = None,
               until: datetime | None = None, customer_id: int | None = None,
               offset: int = 0, limit: int = 50) -> tuple[list[CallAttemptOut], int]:
    """The campaign's attempts, newest first (an agent's: those of their customers)."""
    campaign_to_work(session, user, campaign_id)
    since, until = utc_param("since", since), utc_param("until", until)
    ca = CallAttempt
    where: list[Any] = [col(ca.campaign_id) == campaign_id]
    if user.role is UserRole.AGENT:
        where.append(col(ca.campaign_customer_id).in_(
            sa.select(col(CampaignCustomer.id)).where(
                col(CampaignCustomer.campaign_id) == campaign_id,
                col(CampaignCustomer.assigned_agent_id) == user.id)))
    if outcome:
        where.append(col(ca.outcome).in_([o.value for o in outcome]))
    if since is not None:
        where.append(col(ca.created_at) >= since)
    if until is not None:
        where.append(col(ca.created_at) < until)
    if customer_id is not None:
        where.append(col(ca.campaign_customer_id) == customer_id)
    total = session.execute(sa.select(sa.func.count()).select_from(ca).where(*where)
                            ).scalar_one()
    rows = session.exec(select(ca).where(*where).order_by(col(ca.id).desc())
                        .offset(offset).limit(limit))
    return [CallAttemptOut.model_validate(r, from_attributes=True) for r in rows], int(total)


def get_call(session: Session, user: User, campaign_id: int, attempt_id: int
             ) -> CallAttemptDetail:
    """One attempt with its events."""
    attempt = session.get(CallAttempt, attempt_id)
    if attempt is None or attempt.campaign_id != campaign_id:
        raise NotFoundError(f"campaign {campaign_id} has no call {attempt_id}")
    customer_to_read(session, user, campaign_id, attempt.campaign_customer_id)
    return attempt_details(session, [attempt])[0]


def recording_path(session: Session, user: User, campaign_id: int, attempt_id: int, name: str,
                   folder: Path) -> Path:
    """The file of a recording named by one of the call's ``record_finished`` events. Only
    names the call itself recorded are served, so no other file can be asked for."""
    get_call(session, user, campaign_id, attempt_id)  # the caller may read this call
    recorded = session.exec(
        select(CallEvent.data).where(CallEvent.attempt_id == attempt_id, CallEvent.kind == "record_finished")
    ).all()
    if name not in {d.get("recording") for d in recorded if isinstance(d, dict)} or "/" in name or "\\" in name:
        raise NotFoundError(f"call {attempt_id} has no recording named {name!r}")
    path = folder / name
    if not path.is_file():
        raise NotFoundError(f"the recording {name!r} of call {attempt_id} is no longer on disk")
    return path
