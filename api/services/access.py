"""Who may see and change what: the role and ownership checks every route goes through.

- a manager reads and changes the campaigns they own (``campaign.owner_id``);
- a supervisor reads every campaign, its customers, calls and reports, and changes nothing;
- an agent reads and works only the campaign customers assigned to them
  (``campaign_customer.assigned_agent_id``), in campaigns where they have such customers.

A refusal is :class:`~api.errors.Forbidden` (403) with a message naming the rule; a missing
row is :class:`~api.errors.NotFoundError` (404).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col, select

from api.errors import Forbidden, NotFoundError
from callbot.store.models import Campaign, CampaignCustomer
from callbot.store.models_api import User, UserRole

__all__ = [
    "campaign_to_read", "campaign_to_manage", "campaign_to_work", "customer_to_read",
    "customer_to_work", "agent_has_customers",
]


def _campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFoundError(f"campaign {campaign_id} does not exist")
    return campaign


def _not_owner(campaign: Campaign) -> Forbidden:
    return Forbidden(f"campaign {campaign.id} belongs to another manager: you can only "
                     "see and change your own campaigns", code="not_owner")


def agent_has_customers(session: Session, campaign_id: int, agent_id: int) -> bool:
    """Whether any customer of the campaign is assigned to the agent."""
    return session.exec(select(CampaignCustomer.id).where(
        CampaignCustomer.campaign_id == campaign_id,
        CampaignCustomer.assigned_agent_id == agent_id).limit(1)).first() is not None


def campaign_to_read(session: Session, user: User, campaign_id: int) -> Campaign:
    """A campaign whose settings and reports the user may read (managers: their own;
    supervisors: any). Agents are refused: they read their customers instead."""
    campaign = _campaign(session, campaign_id)
    if user.role is UserRole.SUPERVISOR:
        return campaign
    if user.role is UserRole.MANAGER:
        if campaign.owner_id != user.id:
            raise _not_owner(campaign)
        return campaign
    raise Forbidden("Agents cannot read campaign settings or reports: they see the "
                    "customers assigned to them", code="role_forbidden")


def campaign_to_manage(session: Session, user: User, campaign_id: int) -> Campaign:
    """A campaign the user may change: only its owning manager."""
    if user.role is not UserRole.MANAGER:
        raise Forbidden(f"Only the campaign's manager may change it; you are signed in as "
                        f"{user.role.value}.", code="role_forbidden")
    campaign = _campaign(session, campaign_id)
    if campaign.owner_id != user.id:
        raise _not_owner(campaign)
    return campaign


def campaign_to_work(session: Session, user: User, campaign_id: int) -> Campaign:
    """A campaign whose customers the user may list: as :func:`campaign_to_read`, and for an
    agent a campaign with at least one customer assigned to them."""
    if user.role is not UserRole.AGENT:
        return campaign_to_read(session, user, campaign_id)
    campaign = _campaign(session, campaign_id)
    assert user.id is not None
    if not agent_has_customers(session, campaign_id, user.id):
        raise Forbidden(f"No customer of campaign {campaign_id} is assigned to you.",
                        code="not_assigned")
    return campaign


def _customer(session: Session, campaign_id: int, customer_id: int) -> CampaignCustomer:
    row = session.exec(select(CampaignCustomer).where(
        CampaignCustomer.id == customer_id,
        CampaignCustomer.campaign_id == campaign_id)).first()
    if row is None:
        raise NotFoundError(f"campaign {campaign_id} has no customer {customer_id}")
    return row


def customer_to_read(session: Session, user: User, campaign_id: int,
                     customer_id: int) -> tuple[Campaign, CampaignCustomer]:
    """A campaign customer the user may read."""
    if user.role is UserRole.AGENT:
        campaign = _campaign(session, campaign_id)
        row = _customer(session, campaign_id, customer_id)
        if row.assigned_agent_id != user.id:
            raise Forbidden(f"customer {customer_id} is not assigned to you",
                            code="not_assigned")
        return campaign, row
    campaign = campaign_to_read(session, user, campaign_id)
    return campaign, _customer(session, campaign_id, customer_id)


def customer_to_work(session: Session, user: User, campaign_id: int,
                     customer_id: int) -> tuple[Campaign, CampaignCustomer]:
    """A campaign customer the user may change (status, notes, Do-Not-Contact): the
    campaign's manager, or the agent the customer is assigned to. Supervisors only read."""
    if user.role is UserRole.SUPERVISOR:
        raise Forbidden("Supervisors read campaigns and reports; they cannot change "
                        "customers.", code="role_forbidden")
    if user.role is UserRole.MANAGER:
        campaign = campaign_to_manage(session, user, campaign_id)
        return campaign, _customer(session, campaign_id, customer_id)
    return customer_to_read(session, user, campaign_id, customer_id)


def visible_campaign_ids(session: Session, user: User) -> sa.Select[tuple[int]] | None:
    """A subquery of campaign ids the user may list, or None for every campaign."""
    if user.role is UserRole.SUPERVISOR:
        return None
    if user.role is UserRole.MANAGER:
        return sa.select(col(Campaign.id)).where(col(Campaign.owner_id) == user.id)
    return (sa.select(col(CampaignCustomer.campaign_id))
            .where(col(CampaignCustomer.assigned_agent_id) == user.id).distinct())
