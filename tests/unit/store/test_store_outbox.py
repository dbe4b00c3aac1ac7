"""Webhook events are queued in the same transaction as the change they tell of."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from callbot.store import outbox, repo
from callbot.store.models import StatusSource
from callbot.store.models_api import Webhook, WebhookDelivery, WebhookEvent
from dialer.outcome import CallOutcome
from scripts_dsl.errors import StatusChangeRefused
from scripts_dsl.status import CustomerStatus
from store_helpers import NOW, result, running_campaign


def _listen(session: Session, campaign_id: int) -> None:
    session.add(Webhook(campaign_id=campaign_id, url="http://127.0.0.1:9/hook", secret="s" * 32,
                        events=[WebhookEvent.STATUS_CHANGED, WebhookEvent.CALL_FINISHED], created_at=NOW))
    session.commit()


def _deliveries(session: Session) -> list[tuple[str, dict]]:
    return [(d.event, d.payload["data"]) for d in session.exec(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()]


def test_status_change_and_finished_call_are_queued_with_the_change(session: Session) -> None:
    campaign_id, ids = running_campaign(session, 1)
    _listen(session, campaign_id)
    [claim] = repo.claim_due(session, campaign_id, "w", now=NOW, limit=1, lease_seconds=60)

    def tell_status(s: Session, change, cid: int) -> None:  # type: ignore[no-untyped-def]
        outbox.enqueue_event(s, cid, WebhookEvent.STATUS_CHANGED, outbox.status_changed_payload(change), now=NOW)

    repo.change_status(session, ids[0], CustomerStatus.CONFIRMED, StatusSource.KEYPRESS, "callbot",
                       now=NOW, attempt_id=claim.attempt_id, also=tell_status)

    def tell_call(s: Session, report: repo.FinishReport, cid: int) -> None:
        outbox.enqueue_event(s, cid, WebhookEvent.CALL_FINISHED,
                             outbox.call_finished_payload(claim.attempt_id, ids[0], result(CallOutcome.ANSWERED), report.status),
                             now=NOW)

    repo.finish_attempt(session, claim.attempt_id, result(CallOutcome.ANSWERED, talk_ms=9000),
                        now=NOW + timedelta(seconds=10), also=tell_call)
    events = _deliveries(session)
    assert [e for e, _ in events] == ["status.changed", "call.finished"]
    assert events[0][1]["to"] == "Confirmed" and events[0][1]["source"] == "keypress"
    assert events[1][1]["status"] == "Confirmed" and events[1][1]["outcome"] == "answered"


def test_a_refused_change_queues_nothing(session: Session) -> None:
    campaign_id, ids = running_campaign(session, 1)
    _listen(session, campaign_id)
    repo.change_status(session, ids[0], CustomerStatus.JOINED, StatusSource.MANAGER, "m", now=NOW)
    with pytest.raises(StatusChangeRefused):
        repo.change_status(session, ids[0], CustomerStatus.CONFIRMED, StatusSource.MANAGER, "m", now=NOW,
                           also=lambda s, change, cid: outbox.enqueue_event(
                               s, cid, WebhookEvent.STATUS_CHANGED, outbox.status_changed_payload(change), now=NOW))
    assert _deliveries(session) == []
