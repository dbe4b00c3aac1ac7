"""The outbox of webhook events: what the dialer and the API queue, in the same transaction
as the change they tell of. Sending (signing, retries) is :mod:`api.webhooks`' job; this
module only inserts :class:`WebhookDelivery` rows, so a call never waits for a receiver.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from callbot.store.models import StatusChange
from callbot.store.models_api import Webhook, WebhookDelivery, WebhookEvent
from callbot.store.types import utc
from dialer.outcome import CallResult
from scripts_dsl.status import CustomerStatus

__all__ = ["envelope", "enqueue_event", "status_changed_payload", "call_finished_payload"]


def envelope(campaign_id: int, event: WebhookEvent | str, payload: Mapping[str, Any],
             now: datetime) -> dict[str, Any]:
    """What a delivery's body holds (besides its ``delivery_id``)."""
    return {"event": WebhookEvent(event).value, "campaign_id": campaign_id,
            "occurred_at": utc(now).isoformat(), "data": dict(payload)}


def enqueue_event(session: Session, campaign_id: int, event: WebhookEvent | str,
                  payload: Mapping[str, Any], *, now: datetime | None = None) -> list[int]:
    """Queue ``event`` for every active webhook of the campaign that subscribed to it.

    Adds the delivery rows to the session's current transaction (and flushes them): the
    caller commits, so a delivery exists exactly when the change it tells of was committed.
    Sends nothing and waits for nothing. ``payload`` must be JSON-serializable. Returns the
    new delivery ids (empty when nobody listens).
    """
    kind = WebhookEvent(event)
    stamp = utc(now) if now is not None else datetime.now(UTC)
    hooks = session.exec(select(Webhook).where(Webhook.campaign_id == campaign_id,
                                               col(Webhook.active) == sa.true())).all()
    body = envelope(campaign_id, kind, payload, stamp)
    json.dumps(body)  # refuse what cannot be sent now, not in the sender later
    rows = [WebhookDelivery(webhook_id=h.id, event=kind.value, payload=body, attempts=0,
                            next_attempt_at=stamp, created_at=stamp)
            for h in hooks if h.id is not None and kind in {WebhookEvent(e) for e in h.events}]
    session.add_all(rows)
    if rows:
        session.flush()
    return [r.id for r in rows if r.id is not None]


def status_changed_payload(change: StatusChange) -> dict[str, Any]:
    """The ``data`` of a ``status.changed`` event, from the store's audit row."""
    return {"campaign_customer_id": change.campaign_customer_id,
            "from": change.from_status.value, "to": change.to_status.value,
            "source": change.source.value, "actor": change.actor,
            "at": utc(change.at).isoformat(), "attempt_id": change.attempt_id,
            "applied": change.applied, "message": change.message}


def call_finished_payload(attempt_id: int, campaign_customer_id: int, result: CallResult,
                          status: CustomerStatus) -> dict[str, Any]:
    """The ``data`` of a ``call.finished`` event (no keypresses: they may be secrets)."""
    return {"attempt_id": attempt_id, "campaign_customer_id": campaign_customer_id,
            "outcome": result.outcome.value, "sip_status": result.sip_status,
            "ring_ms": result.ring_ms, "talk_ms": result.talk_ms,
            "reason": result.reason.value, "message": result.message,
            "status": CustomerStatus(status).value}


