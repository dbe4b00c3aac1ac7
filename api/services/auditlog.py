"""Reading the audit log (managers: entries about their campaigns and their own actions;
supervisors: everything)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from api.services.access import visible_campaign_ids
from api.services.params import utc_param
from callbot.store.models import CampaignCustomer
from callbot.store.models_api import AuditLog, AuditLogPublic, User, UserRole

__all__ = ["list_entries"]


def list_entries(session: Session, user: User, *, entity: str | None = None,
                 entity_id: str | None = None, user_id: int | None = None,
                 since: datetime | None = None, offset: int = 0,
                 limit: int = 100) -> tuple[list[AuditLogPublic], int]:
    """Audit entries, newest first."""
    since = utc_param("since", since)
    where: list[Any] = []
    if user.role is UserRole.MANAGER:
        mine = visible_campaign_ids(session, user)
        assert mine is not None
        text_ids = sa.cast(mine.subquery().c.id, sa.String)
        customers = sa.select(sa.cast(col(CampaignCustomer.id), sa.String)).where(
            col(CampaignCustomer.campaign_id).in_(mine))
        where.append(sa.or_(
            col(AuditLog.user_id) == user.id,
            sa.and_(col(AuditLog.entity) == "campaign", col(AuditLog.entity_id).in_(
                sa.select(text_ids))),
            sa.and_(col(AuditLog.entity) == "campaign_customer",
                    col(AuditLog.entity_id).in_(customers))))
    if entity:
        where.append(col(AuditLog.entity) == entity)
    if entity_id:
        where.append(col(AuditLog.entity_id) == entity_id)
    if user_id is not None:
        where.append(col(AuditLog.user_id) == user_id)
    if since is not None:
        where.append(col(AuditLog.at) >= since)
    total = session.execute(sa.select(sa.func.count()).select_from(AuditLog).where(*where)
                            ).scalar_one()
    rows = session.exec(select(AuditLog).where(*where)
                        .order_by(col(AuditLog.at).desc(), col(AuditLog.id).desc())
                        .offset(offset).limit(limit))
    return [AuditLogPublic.model_validate(r, from_attributes=True) for r in rows], int(total)
