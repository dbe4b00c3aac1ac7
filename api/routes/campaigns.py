"""Campaigns: settings, list, lifecycle (start / pause / resume / stop), list rules."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from api.deps import CurrentUser, IdPath, ManagedCampaign, ManagerUser, NowDep, Offset, SessionDep
from api.schemas import CampaignIn, CampaignUpdate, Page
from api.services import campaigns as service
from api.services.access import campaign_to_work
from callbot.store.models import CampaignPublic, CampaignState
from callbot.store.models_api import ListSettingsBase

router = APIRouter(prefix="/campaigns", tags=["campaigns"])


@router.get("", response_model=Page[CampaignPublic])
def list_campaigns(session: SessionDep, user: CurrentUser, state: CampaignState | None = None,
                   q: Annotated[str | None, Query(max_length=200,
                                                  description="text in the name")] = None,
                   offset: Offset = 0,
                   limit: Annotated[int, Query(ge=1, le=500)] = 50) -> Page[CampaignPublic]:
    """Campaigns you may see: a manager's own, all for a supervisor, an agent's assigned."""
    rows, total = service.list_campaigns(session, user, state=state, q=q, offset=offset,
                                         limit=limit)
    return Page(items=[CampaignPublic.model_validate(c) for c in rows], total=total,
                offset=offset, limit=limit)


@router.post("", response_model=CampaignPublic, status_code=status.HTTP_201_CREATED)
def create_campaign(session: SessionDep, actor: ManagerUser, now: NowDep,
                    data: CampaignIn) -> CampaignPublic:
    """A new campaign, in the draft state, owned by you."""
    return CampaignPublic.model_validate(service.create_campaign(session, actor, data, now=now))


@router.get("/{campaign_id}", response_model=CampaignPublic)
def read_campaign(session: SessionDep, user: CurrentUser, campaign_id: IdPath) -> CampaignPublic:
    return CampaignPublic.model_validate(campaign_to_work(session, user, campaign_id))


@router.patch("/{campaign_id}", response_model=CampaignPublic)
def update_campaign(session: SessionDep, actor: ManagerUser, now: NowDep, campaign_id: IdPath,
                    data: CampaignUpdate) -> CampaignPublic:
    """Change settings: trunk, caller ID, concurrency, calls per second, calling hours and
    time zone, retry rules ... (the script only while the campaign is a draft)."""
    return CampaignPublic.model_validate(
        service.update_campaign(session, actor, campaign_id, data, now=now))


def _move(action: str, summary: str) -> None:
    def move(session: SessionDep, actor: ManagerUser, now: NowDep,
             campaign_id: IdPath) -> CampaignPublic:
        return CampaignPublic.model_validate(
            service.move_campaign(session, actor, campaign_id, action, now=now))

    move.__name__ = f"{action}_campaign"
    router.post(f"/{{campaign_id}}/{action}", response_model=CampaignPublic, summary=summary,
                responses=_REFUSED)(move)


_REFUSED = {409: {"description": "the campaign's state does not allow this; `allowed` lists "
                                 "what it can do"}}
_move("start", "Start a draft campaign (pins the latest script version)")
_move("pause", "Pause a running campaign (calls in progress finish)")
_move("resume", "Resume a paused campaign")
_move("stop", "Stop a campaign for good")


@router.get("/{campaign_id}/list-settings", response_model=ListSettingsBase)
def read_list_settings(session: SessionDep, user: CurrentUser,
                       campaign_id: IdPath) -> ListSettingsBase:
    """Required fields and duplicate-check fields of the campaign's customer lists."""
    campaign_to_work(session, user, campaign_id)
    return service.list_settings(session, campaign_id)


@router.put("/{campaign_id}/list-settings", response_model=ListSettingsBase)
def update_list_settings(session: SessionDep, actor: ManagerUser, now: NowDep,
                         campaign: ManagedCampaign,
                         data: ListSettingsBase) -> ListSettingsBase:
    assert campaign.id is not None
    return service.update_list_settings(session, actor, campaign.id, data, now=now)
