"""Retry policy: when a campaign customer is called again, or why they are done.

Pure: rules, the attempt's outcome, the number of attempts so far and the current time go
in; a :class:`RetryDecision` comes out. The store applies it; the dialer never re-reads it.

Each retryable class of result has a rule ``{max, after_s}``: after that result the customer
is retried at most ``max`` times (counting every earlier attempt, so ``max=2`` allows a first
call and two more), each ``after_s`` seconds after the attempt ended, and never beyond the
campaign's ``max_attempts``. "Hung up early" is an answered call that the customer ended
before ``early_hangup_s`` seconds of talk. Declined and rejected calls, and answered calls
that ran their course, are not retried. An attempt left by a worker that died
(:attr:`RetryClass.ABANDONED`) has no known result: it is retried after the longest of the
rule intervals, so nobody is called twice within any retry interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from dialer.outcome import CallOutcome, HangupBy

__all__ = [
    "RetryRule",
    "RetryRules",
    "RetryClass",
    "DoneReason",
    "RetryDecision",
    "classify",
    "decide",
    "decide_abandoned",
]


class RetryRule(BaseModel):
    """How often and how soon to call again after one kind of result."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max: int = Field(default=2, ge=0, le=100, description="retries after this result")
    after_s: int = Field(default=1800, ge=0, le=30 * 86400, description="wait before the retry")


class RetryRules(BaseModel):
    """A campaign's retry rules, stored as JSON on the campaign."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    busy: RetryRule = RetryRule(max=3, after_s=600)
    no_answer: RetryRule = RetryRule(max=2, after_s=1800)
    failed: RetryRule = RetryRule(max=2, after_s=300)
    hung_up_early: RetryRule = RetryRule(max=1, after_s=3600)
    early_hangup_s: int = Field(default=5, ge=0, le=600,
                                description="an answered call shorter than this is 'hung up early'")

    def longest_interval_s(self) -> int:
        return max(self.busy.after_s, self.no_answer.after_s, self.failed.after_s,
                   self.hung_up_early.after_s)


class RetryClass(StrEnum):
    """The kinds of result that have a retry rule."""

    BUSY = "busy"
    NO_ANSWER = "no_answer"
    FAILED = "failed"
    HUNG_UP_EARLY = "hung_up_early"
    ABANDONED = "abandoned"


class DoneReason(StrEnum):
    """Why a campaign customer will not be called again."""

    ANSWERED = "answered"
    DECLINED = "declined"
    REJECTED = "rejected"
    RETRIES_EXHAUSTED = "retries_exhausted"
    MAX_ATTEMPTS = "max_attempts"
    DO_NOT_CONTACT = "do_not_contact"
    CAMPAIGN_ENDED = "campaign_ended"


@dataclass(frozen=True)
class RetryDecision:
    """Either ``done`` with a ``reason``, or not done with ``next_attempt_at``."""

    done: bool
    reason: DoneReason | None = None
    next_attempt_at: datetime | None = None
    retry_class: RetryClass | None = None

    def __post_init__(self) -> None:
        if self.done and (self.reason is None or self.next_attempt_at is not None):
            raise ValueError("a finished customer needs a reason and no next attempt")
        if not self.done and self.next_attempt_at is None:
            raise ValueError("a customer to call again needs next_attempt_at")

    @classmethod
    def finished(cls, reason: DoneReason, retry_class: RetryClass | None = None) -> RetryDecision:
        return cls(done=True, reason=reason, retry_class=retry_class)

    @classmethod
    def retry_at(cls, when: datetime, retry_class: RetryClass | None = None) -> RetryDecision:
        return cls(done=False, next_attempt_at=when, retry_class=retry_class)


_BY_OUTCOME = {
    CallOutcome.BUSY: RetryClass.BUSY,
    CallOutcome.NO_ANSWER: RetryClass.NO_ANSWER,
    CallOutcome.FAILED: RetryClass.FAILED,
    # We gave up before an answer (shutdown, pause): nothing was learned, retry as a failure.
    CallOutcome.CANCELLED: RetryClass.FAILED,
}

_FINAL = {
    CallOutcome.DECLINED: DoneReason.DECLINED,
    CallOutcome.REJECTED: DoneReason.REJECTED,
}


def classify(rules: RetryRules, outcome: CallOutcome, talk_ms: int,
             hangup_by: HangupBy | None = None) -> RetryClass | None:
    """The retry class of a result, or None when the result is final.

    An answered call counts as hung up early when it lasted less than ``early_hangup_s`` and
    we were not the side that ended it (a script that ends quickly is a complete call).
    """
    outcome = CallOutcome(outcome)
    if outcome is CallOutcome.ANSWERED:
        early = talk_ms < rules.early_hangup_s * 1000 and hangup_by is not HangupBy.US
        return RetryClass.HUNG_UP_EARLY if early else None
    return _BY_OUTCOME.get(outcome)


def _rule(rules: RetryRules, kind: RetryClass) -> RetryRule:
    rule: RetryRule = getattr(rules, kind.value)
    return rule


def decide(rules: RetryRules, max_attempts: int, outcome: CallOutcome, attempts: int,
           now: datetime, *, talk_ms: int = 0, hangup_by: HangupBy | None = None) -> RetryDecision:
    """Decide what follows an attempt that ended at ``now``.

    ``attempts`` counts every attempt made so far, this one included.
    """
    kind = classify(rules, outcome, talk_ms, hangup_by)
    if kind is None:
        return RetryDecision.finished(_FINAL.get(CallOutcome(outcome), DoneReason.ANSWERED))
    if attempts >= max_attempts:
        return RetryDecision.finished(DoneReason.MAX_ATTEMPTS, kind)
    rule = _rule(rules, kind)
    if attempts > rule.max:
        return RetryDecision.finished(DoneReason.RETRIES_EXHAUSTED, kind)
    return RetryDecision.retry_at(now + timedelta(seconds=rule.after_s), kind)


def decide_abandoned(rules: RetryRules, max_attempts: int, attempts: int,
                     now: datetime) -> RetryDecision:
    """What follows an attempt whose worker died: its result is unknown, so wait the longest
    retry interval before calling again, within ``max_attempts``."""
    if attempts >= max_attempts:
        return RetryDecision.finished(DoneReason.MAX_ATTEMPTS, RetryClass.ABANDONED)
    return RetryDecision.retry_at(now + timedelta(seconds=rules.longest_interval_s()),
                                  RetryClass.ABANDONED)
