"""Campaigns: create, read, change settings, list, and move along the lifecycle."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import Session, col, select

from api.errors import Conflict, NotFoundError, Unprocessable
from api.schemas import CampaignIn, CampaignUpdate
from api.services.access import campaign_to_manage, visible_campaign_ids
from api.services.audit import entry, on_commit, record, snapshot
from callbot.store import repo
from callbot.store.db import write_transaction
from callbot.store.models import (
    Campaign,
    CampaignBase,
    CampaignCreate,
    CampaignState,
    Script,
    Trunk,
)
from callbot.store.models_api import AuditLog, ListSettings, ListSettingsBase, User

__all__ = ["create_campaign", "update_campaign", "list_campaigns", "move_campaign",
           "list_settings", "update_list_settings", "LIFECYCLE"]

LIFECYCLE: Final[dict[str, tuple[CampaignState, tuple[CampaignState, ...]]]] = {
    "start": (CampaignState.RUNNING, (CampaignState.DRAFT,)),
    "pause": (CampaignState.PAUSED, (CampaignState.RUNNING,)),
    "resume": (CampaignState.RUNNING, (CampaignState.PAUSED,)),
    "stop": (CampaignState.STOPPED, (CampaignState.DRAFT, CampaignState.RUNNING,
                                     CampaignState.PAUSED)),
}
"""Each lifecycle action: the state it moves to and the states it may start from."""

_OVER: Final = (CampaignState.COMPLETED, CampaignState.STOPPED)
_DRAFT_ONLY: Final = frozenset({"script_id"})


def _check_refs(session: Session, script_id: int | None, trunk_id: int | None) -> None:
    if script_id is not None and session.get(Script, script_id) is None:
        raise Unprocessable(f"script {script_id} does not exist", field="script_id",
                            code="unknown_script")
    if trunk_id is not None and session.get(Trunk, trunk_id) is None:
        raise Unprocessable(f"trunk {trunk_id} does not exist", field="trunk_id",
                            code="unknown_trunk")


def create_campaign(session: Session, actor: User, data: CampaignIn, *,
                    now: datetime) -> Campaign:
    """A new draft campaign owned by ``actor``."""
    _check_refs(session, data.script_id, data.trunk_id)
    create = CampaignCreate.model_validate(data.model_dump(), update={"owner_id": actor.id})

    def audit(sess: Session) -> list[AuditLog]:
        rows = [o for o in sess.new if isinstance(o, Campaign)]
        sess.flush()
        return [entry(actor, "create", "campaign", c.id, now=now, after=snapshot(c))
                for c in rows]

    with on_commit(session, audit):
        return repo.create_campaign(session, create, now=now)


def update_campaign(session: Session, actor: User, campaign_id: int, data: CampaignUpdate, *,
                    now: datetime) -> Campaign:
    """Change a campaign's settings. A finished campaign cannot change; the script can be
    changed only before the first start (a running campaign keeps its script version)."""
    changes = data.model_dump(exclude_unset=True)
    with write_transaction(session):
        campaign = campaign_to_manage(session, actor, campaign_id)
        session.refresh(campaign, with_for_update=True)
        if campaign.state in _OVER:
            raise Conflict(f"campaign {campaign_id} is {campaign.state.value}: its settings "
                           "can no longer change", field="state", code="campaign_over")
        late = sorted(_DRAFT_ONLY & changes.keys())
        if late and campaign.state is not CampaignState.DRAFT and any(
                changes[k] != getattr(campaign, k) for k in late):
            raise Conflict(f"the script of a {campaign.state.value} campaign cannot change: it "
                           "keeps the version it started with", field=late[0],
                           code="script_pinned")
        _check_refs(session, changes.get("script_id"), changes.get("trunk_id"))
        before = snapshot(campaign)
        merged: dict[str, Any] = {**campaign.model_dump(include=set(CampaignBase.model_fields)),
                                  **changes}
        try:
            checked = CampaignBase.model_validate(merged)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(p) for p in error["loc"]) or None
            raise Unprocessable(f"{field}: {error['msg'].removeprefix('Value error, ')}",
                                field=field) from exc
        campaign.sqlmodel_update({k: getattr(checked, k) for k in changes})
        session.add(campaign)
        record(session, actor, "update", "campaign", campaign_id, now=now, before=before,
               after=snapshot(campaign))
    return campaign


def list_campaigns(session: Session, user: User, *, state: CampaignState | None = None,
                   q: str | None = None, offset: int = 0,
                   limit: int = 50) -> tuple[list[Campaign], int]:
    """The campaigns the user may see, newest first."""
    query = select(Campaign)
    visible = visible_campaign_ids(session, user)
    if visible is not None:
        query = query.where(col(Campaign.id).in_(visible))
    if state is not None:
        query = query.where(Campaign.state == state)
    if q:
        query = query.where(sa.func.lower(col(Campaign.name)).contains(q.lower(),
                                                                         autoescape=True))
    total = session.exec(select(sa.func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(col(Campaign.id).desc()).offset(offset).limit(limit))
    return list(rows), int(total)


def move_campaign(session: Session, actor: User, campaign_id: int, action: str, *,
                  now: datetime) -> Campaign:
    """Start, pause, resume or stop a campaign (:data:`LIFECYCLE`)."""
    if action not in LIFECYCLE:
        raise NotFoundError(f"no campaign action {action!r}: use one of "
                            f"{', '.join(LIFECYCLE)}")
    target, sources = LIFECYCLE[action]
    campaign = campaign_to_manage(session, actor, campaign_id)
    if campaign.state not in sources:
        possible = [name for name, (_, frm) in LIFECYCLE.items() if campaign.state in frm]
        raise Conflict(f"a {campaign.state.value} campaign cannot {action}; it can: "
                       f"{', '.join(possible) or 'nothing (it is over)'}", field="state",
                       code="campaign_state_refused",
                       extra={"current": campaign.state.value, "allowed": possible})
    if target is CampaignState.RUNNING and campaign.trunk_id is None:
        raise Conflict(f"campaign {campaign_id} has no trunk to call through: set trunk_id "
                       "first", field="trunk_id", code="no_trunk")
    before = snapshot(campaign, only=("state", "script_version_id", "started_at",
                                      "finished_at"))

    def audit(sess: Session) -> list[AuditLog]:
        moved = sess.get(Campaign, campaign_id)
        return [entry(actor, action, "campaign", campaign_id, now=now, before=before,
                      after=snapshot(moved, only=("state", "script_version_id", "started_at",
                                                  "finished_at")))]

    with on_commit(session, audit):
        return repo.move_campaign(session, campaign_id, target, now=now)


def list_settings(session: Session, campaign_id: int) -> ListSettingsBase:
    """The campaign's customer-list rules (the defaults when never changed)."""
    row = session.get(ListSettings, campaign_id)
    return ListSettingsBase.model_validate(row) if row is not None else ListSettingsBase()


def update_list_settings(session: Session, actor: User, campaign_id: int,
                         data: ListSettingsBase, *, now: datetime) -> ListSettingsBase:
    with write_transaction(session):
        campaign_to_manage(session, actor, campaign_id)
        row = session.get(ListSettings, campaign_id)
        before = snapshot(row)
        if row is None:
            row = ListSettings(campaign_id=campaign_id, **data.model_dump())
        else:
            row.sqlmodel_update(data.model_dump())
        session.add(row)
        record(session, actor, "update", "campaign_list_settings", campaign_id, now=now,
               before=before, after=snapshot(row))
    return ListSettingsBase.model_validate(row)
