"""The campaign report through HTTP: customers per status with the manual's cumulative
totals, attempts per outcome, answer rate, average talk time, answers per script block (kept
by the ``call_event`` trigger) and calls per hour; who may read it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session

from api.services.reports import AnswerStat, rebuild_answer_stats
from api_support import NOW, ApiClient
from callbot.store import repo
from callbot.store.models import (
    CampaignCreate,
    CampaignState,
    CustomerCreate,
    ScriptFormat,
    StatusSource,
)
from dialer.outcome import CallOutcome, CallResult, EndReason, HangupBy
from scripts_dsl.status import CustomerStatus


@dataclass(frozen=True)
class Call:
    """One finished call of the test campaign."""

    outcome: CallOutcome
    talk_ms: int = 0
    events: Sequence[repo.EventRecord] = ()
    statuses: Sequence[CustomerStatus] = ()
    at: datetime = field(default=NOW)


def _result(call: Call) -> CallResult:
    answered = call.outcome is CallOutcome.ANSWERED
    return CallResult(outcome=call.outcome, sip_status=200 if answered else 486,
                      hangup_by=HangupBy.REMOTE if answered else None, ring_ms=3000,
                      talk_ms=call.talk_ms,
                      reason=EndReason.REMOTE_BYE if answered else EndReason.FINAL_RESPONSE)


def campaign_with_calls(engine: Engine, manager_id: int, calls: Sequence[Call],
                        customers: int | None = None) -> int:
    """A running campaign owned by ``manager_id``; customer ``i`` gets call ``i``, through
    the dialer's own store functions (claim, dial, finish with events and status changes)."""
    with Session(engine) as session:
        version = repo.create_script_version(session, "bao_cao", "name: bao_cao\n",
                                             ScriptFormat.YAML, "v-report", now=NOW)
        campaign = repo.create_campaign(session, CampaignCreate(
            name="Báo cáo", script_id=version.script_id, owner_id=manager_id,
            max_attempts=1, max_concurrent=100, cps=1000), now=NOW)
        assert campaign.id is not None
        count = len(calls) if customers is None else customers
        repo.add_customers(session, campaign.id, [
            CustomerCreate(name=f"Khách {i}", phone=f"+8491234{i:04d}") for i in range(count)],
            now=NOW - timedelta(hours=1))
        repo.move_campaign(session, campaign.id, CampaignState.RUNNING, now=NOW)
        claims = repo.claim_due(session, campaign.id, "w1", now=NOW, limit=len(calls),
                                lease_seconds=3600)
        for claim, call in zip(sorted(claims, key=lambda c: c.campaign_customer_id), calls,
                               strict=True):
            repo.mark_dialing(session, claim.attempt_id, f"call-{claim.attempt_id}", now=NOW)
            changes = [repo.StatusChangeRequest(s, StatusSource.KEYPRESS) for s in call.statuses]
            repo.finish_attempt(session, claim.attempt_id, _result(call), now=call.at,
                                events=call.events, status_changes=changes)
        return campaign.id


def keypress(block: str, key: str, to: str) -> list[repo.EventRecord]:
    return [repo.EventRecord(100, "prompt_started", {"block": block, "prompt": "p"}),
            repo.EventRecord(900, "digit", {"digit": key, "block": block}),
            repo.EventRecord(901, "branch", {"block": block, "to": to, "why": f"key {key}"})]


def spoken(block: str, intent: str | None, to: str) -> list[repo.EventRecord]:
    """A speech answer: the transcript event names no block (the engine's log does not);
    the report credits it to the block of the latest earlier event."""
    transcript = {"text": intent or "ờ", "confidence": 0.8}
    if intent is not None:
        transcript["intent"] = intent
    return [repo.EventRecord(1000, "speech_started", {"block": block}),
            repo.EventRecord(1800, "transcript", transcript),
            repo.EventRecord(1801, "branch", {"block": block, "to": to, "why": "speech"})]


CALLS = [
    Call(CallOutcome.ANSWERED, 30_000,
         keypress("menu", "1", "confirm") + spoken("confirm", "yes", "joined"),
         [CustomerStatus.CONFIRMED, CustomerStatus.JOINED]),
    Call(CallOutcome.ANSWERED, 10_000, keypress("menu", "1", "confirm")
         + spoken("confirm", None, "confirm"), [CustomerStatus.CONFIRMED],
         at=NOW + timedelta(hours=1)),
    Call(CallOutcome.ANSWERED, 20_000, keypress("menu", "2", "cancel")
         + [repo.EventRecord(2000, "transfer", {"block": "cancel", "queue": "sales",
                                                "ok": False, "reason": "no agent"})],
         [CustomerStatus.CANCELLED], at=NOW + timedelta(hours=1)),
    Call(CallOutcome.BUSY, at=NOW + timedelta(hours=1)),
    Call(CallOutcome.NO_ANSWER, at=NOW + timedelta(hours=3)),
    Call(CallOutcome.NO_ANSWER, at=NOW + timedelta(hours=3)),
]


def test_report_counts_statuses_outcomes_answers_and_hours(api: ApiClient) -> None:
    cid = campaign_with_calls(api.engine, api.ids["manager"], CALLS, customers=7)
    body = api.ok(api.get(f"/campaigns/{cid}/report"))

    assert body["customers"] == 7
    assert body["by_status"] == {"Registered": 4, "Confirmed": 1, "Joined": 1, "Cancelled": 1}
    # The manual's cumulative totals: Registered counts everyone, Confirmed includes Joined.
    assert body["totals"] == {"Registered": 7, "Confirmed": 2, "Joined": 1, "Cancelled": 1}
    assert (body["called"], body["remaining"]) == (6, 1)
    assert body["attempts"] == 6 and body["in_progress"] == 0
    assert body["by_outcome"] == {"answered": 3, "busy": 1, "no_answer": 2}
    assert body["answer_rate"] == pytest.approx(0.5)
    assert body["avg_talk_s"] == pytest.approx(20.0)
    hours = [(datetime.fromisoformat(h["hour"]), h["attempts"]) for h in body["calls_per_hour"]]
    assert hours == [(NOW, 1), (NOW + timedelta(hours=1), 3), (NOW + timedelta(hours=3), 2)]

    answers = {b["block"]: b for b in body["answers"]}
    assert set(answers) == {"menu", "confirm", "cancel"}
    assert answers["menu"]["keys"] == {"1": 2, "2": 1}
    assert answers["menu"]["branches"] == {"confirm": 2, "cancel": 1}
    assert answers["confirm"]["intents"] == {"yes": 1, "": 1}
    assert answers["confirm"]["branches"] == {"joined": 1, "confirm": 1}
    assert answers["cancel"]["transfers"] == {"failed": 1}
    assert answers["cancel"]["keys"] == {} and answers["menu"]["intents"] == {}


def test_an_empty_campaign_reports_zeros_and_no_rates(api: ApiClient) -> None:
    cid = api.campaign()
    body = api.ok(api.get(f"/campaigns/{cid}/report"))
    assert body["customers"] == 0 and body["attempts"] == 0
    assert set(body["totals"].values()) == {0}
    assert body["answer_rate"] is None and body["avg_talk_s"] is None
    assert body["by_outcome"] == {} and body["calls_per_hour"] == [] and body["answers"] == []


def test_rebuilding_answer_stats_from_events_gives_what_the_trigger_kept(
        api: ApiClient) -> None:
    cid = campaign_with_calls(api.engine, api.ids["manager"], CALLS)
    query = (sa.select(AnswerStat.block, AnswerStat.kind, AnswerStat.answer, AnswerStat.count)
             .where(AnswerStat.campaign_id == cid).order_by("block", "kind", "answer"))
    with Session(api.engine) as session:
        kept = session.execute(query).all()
        session.execute(sa.update(AnswerStat).values(count=999))
        session.commit()
        rebuild_answer_stats(session, cid)
        assert session.execute(query).all() == kept
    assert ("confirm", "transcript", "yes", 1) in kept


def test_a_manual_status_change_moves_the_report(api: ApiClient) -> None:
    cid, ids = api.with_customers(3)
    api.ok(api.post(f"/campaigns/{cid}/customers/{ids[0]}/status", json={"status": "Joined"}))
    body = api.ok(api.get(f"/campaigns/{cid}/report", "supervisor"))
    assert body["by_status"]["Joined"] == 1 and body["by_status"]["Registered"] == 2
    assert body["totals"] == {"Registered": 3, "Confirmed": 1, "Joined": 1, "Cancelled": 0}


@pytest.mark.parametrize("who,status", [("supervisor", 200), ("manager", 200),
                                        ("manager2", 403), ("agent", 403), (None, 401)])
def test_who_may_read_a_report(api: ApiClient, who: str | None, status: int) -> None:
    cid = api.campaign()
    assert api.get(f"/campaigns/{cid}/report", who).status_code == status


def test_report_of_a_missing_campaign_is_404(api: ApiClient) -> None:
    response = api.get("/campaigns/4242/report", "supervisor")
    assert response.status_code == 404 and response.json()["error"] == "not_found"
