"""Builders shared by the store tests: a campaign with customers, call results."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session

from callbot.store import repo
from callbot.store.models import CampaignCreate, CampaignState, CustomerCreate, ScriptFormat
from callbot.store.retry import RetryRule, RetryRules
from dialer.outcome import CallOutcome, CallResult, EndReason, HangupBy

NOW = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)  # a Monday, 09:00 in Ho Chi Minh City

RULES = RetryRules(
    busy=RetryRule(max=2, after_s=600),
    no_answer=RetryRule(max=2, after_s=1800),
    failed=RetryRule(max=1, after_s=300),
    hung_up_early=RetryRule(max=1, after_s=3600),
    early_hangup_s=5,
)


def phone(i: int) -> str:
    return f"+8491{i:07d}"


def running_campaign(session: Session, customers: int, *, name: str = "spring",
                     max_attempts: int = 3, rules: RetryRules = RULES,
                     timezones: dict[int, str] | None = None, max_concurrent: int = 10_000,
                     cps: float = 1000) -> tuple[int, list[int]]:
    """A running campaign (script pinned) with ``customers`` customers; returns its id and
    the campaign-customer ids. Pacing limits are generous unless a test sets them."""
    version = repo.create_script_version(session, f"script-{name}", "name: demo\n",
                                         ScriptFormat.YAML, f"sha-{name}", now=NOW)
    campaign = repo.create_campaign(session, CampaignCreate(
        name=name, script_id=version.script_id, max_attempts=max_attempts, retry_rules=rules,
        max_concurrent=max_concurrent, cps=cps),
        now=NOW)
    assert campaign.id is not None
    zones = timezones or {}
    ids = repo.add_customers(session, campaign.id, [
        CustomerCreate(name=f"Customer {i}", phone=phone(i), code=f"C{i}",
                       extra={"city": "Hanoi"}, timezone=zones.get(i))
        for i in range(customers)], now=NOW)
    repo.move_campaign(session, campaign.id, CampaignState.RUNNING, now=NOW)
    return campaign.id, ids


def result(outcome: CallOutcome, *, talk_ms: int = 0, ring_ms: int = 3000,
           hangup_by: HangupBy | None = None, sip_status: int | None = None,
           call_id: str = "") -> CallResult:
    statuses = {CallOutcome.ANSWERED: 200, CallOutcome.BUSY: 486, CallOutcome.NO_ANSWER: 480,
                CallOutcome.DECLINED: 603, CallOutcome.REJECTED: 404, CallOutcome.FAILED: 503,
                CallOutcome.CANCELLED: 487}
    reasons = {CallOutcome.ANSWERED: EndReason.REMOTE_BYE,
               CallOutcome.NO_ANSWER: EndReason.RING_TIMEOUT,
               CallOutcome.CANCELLED: EndReason.CANCELLED}
    if outcome is CallOutcome.ANSWERED and hangup_by is None:
        hangup_by = HangupBy.REMOTE
    return CallResult(outcome=outcome, sip_status=sip_status or statuses[outcome],
                      hangup_by=hangup_by, ring_ms=ring_ms, talk_ms=talk_ms,
                      reason=reasons.get(outcome, EndReason.FINAL_RESPONSE), call_id=call_id)
