"""Row helpers shared by the store's service modules."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from callbot.store.errors import NotFound
from callbot.store.models import Campaign, CampaignCustomer

__all__ = ["get_campaign", "lock_customer", "insert_returning_ids"]


def get_campaign(session: Session, campaign_id: int, *, lock: bool = False) -> Campaign:
    """The campaign ``campaign_id`` (row-locked with ``lock``), or :class:`NotFound`."""
    query = select(Campaign).where(Campaign.id == campaign_id)
    if lock:
        query = query.with_for_update()
    campaign = session.exec(query).first()
    if campaign is None:
        raise NotFound("campaign", campaign_id)
    return campaign


def lock_customer(session: Session, campaign_customer_id: int) -> CampaignCustomer:
    """The campaign customer, row-locked until the transaction ends, or :class:`NotFound`."""
    row = session.exec(select(CampaignCustomer).where(CampaignCustomer.id == campaign_customer_id)
                       .with_for_update()).first()
    if row is None:
        raise NotFound("campaign customer", campaign_customer_id)
    return row


def insert_returning_ids(session: Session, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` with multi-row statements; their ids in the order given.

    PostgreSQL numbers them from the sequence and returns the ids in parameter order. SQLite
    cannot promise the order of RETURNING rows (SQLAlchemy then inserts one row per
    statement), so there the ids are given explicitly: inside ``BEGIN IMMEDIATE`` nobody
    else can insert until we commit.
    """
    if not rows:
        return []
    table = model.__table__
    if session.get_bind().dialect.name == "sqlite":
        first = 1 + int(session.execute(
            sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one())
        ids = list(range(first, first + len(rows)))
        session.execute(sa.insert(table),
                        [{**row, "id": i} for row, i in zip(rows, ids, strict=True)])
        return ids
    statement = sa.insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return [int(i) for i in session.execute(statement, rows).scalars()]
