"""The retry policy, as a pure function of rules, outcome, attempts and time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from callbot.store.retry import (
    DoneReason,
    RetryClass,
    RetryDecision,
    RetryRule,
    RetryRules,
    classify,
    decide,
    decide_abandoned,
)
from dialer.outcome import CallOutcome, HangupBy
from store_helpers import NOW, RULES


@pytest.mark.parametrize(("outcome", "seconds"), [
    (CallOutcome.BUSY, 600), (CallOutcome.NO_ANSWER, 1800), (CallOutcome.FAILED, 300),
    (CallOutcome.CANCELLED, 300)])
def test_retryable_outcome_is_called_again_after_its_interval(outcome: CallOutcome,
                                                              seconds: int) -> None:
    decision = decide(RULES, 5, outcome, 1, NOW)
    assert decision == RetryDecision(done=False, next_attempt_at=NOW + timedelta(seconds=seconds),
                                     retry_class=classify(RULES, outcome, 0))


@pytest.mark.parametrize(("outcome", "reason"), [
    (CallOutcome.DECLINED, DoneReason.DECLINED), (CallOutcome.REJECTED, DoneReason.REJECTED)])
def test_declined_and_rejected_are_final(outcome: CallOutcome, reason: DoneReason) -> None:
    assert decide(RULES, 5, outcome, 1, NOW) == RetryDecision.finished(reason)


def test_answered_call_that_ran_its_course_is_done() -> None:
    decision = decide(RULES, 5, CallOutcome.ANSWERED, 1, NOW, talk_ms=5000,
                      hangup_by=HangupBy.REMOTE)
    assert decision == RetryDecision.finished(DoneReason.ANSWERED)


def test_customer_hanging_up_early_is_retried_under_its_rule() -> None:
    decision = decide(RULES, 5, CallOutcome.ANSWERED, 1, NOW, talk_ms=4999,
                      hangup_by=HangupBy.REMOTE)
    assert decision.retry_class is RetryClass.HUNG_UP_EARLY
    assert decision.next_attempt_at == NOW + timedelta(seconds=3600)


def test_a_short_call_the_bot_ended_is_not_hung_up_early() -> None:
    assert classify(RULES, CallOutcome.ANSWERED, 1000, HangupBy.US) is None
    assert classify(RULES, CallOutcome.ANSWERED, 1000, None) is RetryClass.HUNG_UP_EARLY


def test_rule_max_counts_retries_after_the_first_call() -> None:
    # busy: max=2 -> a first call and two retries, then exhausted.
    assert not decide(RULES, 10, CallOutcome.BUSY, 1, NOW).done
    assert not decide(RULES, 10, CallOutcome.BUSY, 2, NOW).done
    assert decide(RULES, 10, CallOutcome.BUSY, 3, NOW) == RetryDecision.finished(
        DoneReason.RETRIES_EXHAUSTED, RetryClass.BUSY)


def test_campaign_max_attempts_wins_over_the_rule() -> None:
    assert decide(RULES, 2, CallOutcome.BUSY, 2, NOW) == RetryDecision.finished(
        DoneReason.MAX_ATTEMPTS, RetryClass.BUSY)


def test_abandoned_attempt_waits_the_longest_interval() -> None:
    decision = decide_abandoned(RULES, 3, 1, NOW)
    assert decision.next_attempt_at == NOW + timedelta(seconds=3600)
    assert decide_abandoned(RULES, 3, 3, NOW) == RetryDecision.finished(
        DoneReason.MAX_ATTEMPTS, RetryClass.ABANDONED)


def test_decision_is_either_done_or_scheduled() -> None:
    with pytest.raises(ValueError, match="needs a reason"):
        RetryDecision(done=True)
    with pytest.raises(ValueError, match="next_attempt_at"):
        RetryDecision(done=False)


def test_rules_round_trip_through_json_and_refuse_unknown_fields() -> None:
    assert RetryRules.model_validate(RULES.model_dump(mode="json")) == RULES
    with pytest.raises(ValidationError, match="busy"):
        RetryRules.model_validate({"busy": {"max": -1, "after_s": 10}})
    with pytest.raises(ValidationError, match="Extra inputs"):
        RetryRules.model_validate({"busyy": {"max": 1, "after_s": 10}})
    assert RetryRule(max=0, after_s=0).max == 0
