"""Routes of the webhooks resource, mounted under ``/api/v1`` by :func:`api.app.create_app`.

A campaign's manager registers, changes and removes the URLs told of the campaign's status
changes and finished calls; the manager and supervisors list them and their deliveries.
Delivery, signing and retries: :mod:`api.webhooks`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from api import webhooks as service
from api.deps import (
    CurrentUser,
    IdPath,
    ManagedCampaign,
    NowDep,
    Offset,
    ReadableCampaign,
    SessionDep,
)
from callbot.store.models_api import WebhookCreate, WebhookPublic, WebhookUpdate

router = APIRouter(prefix="/campaigns/{campaign_id}/webhooks", tags=["webhooks"])


@router.post("", response_model=service.WebhookCreated, status_code=status.HTTP_201_CREATED,
             summary="Register a webhook")
def create_webhook(campaign: ManagedCampaign, session: SessionDep, actor: CurrentUser,
                   now: NowDep, data: WebhookCreate) -> service.WebhookCreated:
    """The answer carries the signing secret once: keep it to verify
    ``X-Callbot-Signature`` (HMAC-SHA256 of ``"<X-Callbot-Timestamp>." + body``)."""
    assert campaign.id is not None
    return service.create_webhook(session, actor, campaign.id, data, now=now)


@router.get("", response_model=list[WebhookPublic], summary="A campaign's webhooks")
def list_webhooks(campaign: ReadableCampaign, session: SessionDep) -> list[WebhookPublic]:
    assert campaign.id is not None
    return [WebhookPublic.model_validate(h) for h in service.list_webhooks(session, campaign.id)]


@router.get("/{webhook_id}", response_model=WebhookPublic, summary="One webhook")
def read_webhook(campaign: ReadableCampaign, session: SessionDep,
                 webhook_id: IdPath) -> WebhookPublic:
    assert campaign.id is not None
    return WebhookPublic.model_validate(service.get_webhook(session, campaign.id, webhook_id))


@router.patch("/{webhook_id}", response_model=WebhookPublic, summary="Change a webhook")
def update_webhook(campaign: ManagedCampaign, session: SessionDep, actor: CurrentUser,
                   now: NowDep, webhook_id: IdPath, data: WebhookUpdate) -> WebhookPublic:
    assert campaign.id is not None
    return WebhookPublic.model_validate(
        service.update_webhook(session, actor, campaign.id, webhook_id, data, now=now))


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT,
               response_class=Response, summary="Remove a webhook")
def delete_webhook(campaign: ManagedCampaign, session: SessionDep, actor: CurrentUser,
                   now: NowDep, webhook_id: IdPath) -> Response:
    """Its queued deliveries are dropped with it."""
    assert campaign.id is not None
    service.delete_webhook(session, actor, campaign.id, webhook_id, now=now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{webhook_id}/deliveries", response_model=list[service.WebhookDeliveryPublic],
            summary="A webhook's deliveries")
def list_deliveries(
    campaign: ReadableCampaign, session: SessionDep, webhook_id: IdPath,
    state: Annotated[Literal["delivered", "pending", "failed"] | None, Query(
        description="only deliveries in this state")] = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[service.WebhookDeliveryPublic]:
    """Newest first, with attempts, the next attempt time and the last error."""
    assert campaign.id is not None
    return service.list_deliveries(session, campaign.id, webhook_id, state=state,
                                   offset=offset, limit=limit)
