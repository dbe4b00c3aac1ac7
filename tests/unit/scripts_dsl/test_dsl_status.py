import pytest

from scripts_dsl.errors import ScriptError, StatusChangeRefused
from scripts_dsl.status import (
    CustomerStatus as S,
    allowed_moves,
    can_move,
    check_move,
    cumulative_totals,
)

RULES = {
    S.REGISTERED: {S.CONFIRMED, S.JOINED, S.CANCELLED},
    S.CONFIRMED: {S.JOINED, S.CANCELLED},
    S.JOINED: {S.CANCELLED},
    S.CANCELLED: set(),
}


@pytest.mark.parametrize("source", list(S))
@pytest.mark.parametrize("target", list(S))
def test_every_pair_follows_the_manual(source: S, target: S) -> None:
    assert can_move(source, target) == (target in RULES[source])
    if target in RULES[source]:
        check_move(source, target)
    else:
        with pytest.raises(StatusChangeRefused):
            check_move(source, target)


def test_allowed_moves_match_the_manual() -> None:
    assert {s: set(allowed_moves(s)) for s in S} == RULES


def test_refusal_lists_the_allowed_moves() -> None:
    with pytest.raises(StatusChangeRefused) as caught:
        check_move(S.JOINED, S.CONFIRMED)
    assert isinstance(caught.value, ScriptError)
    assert "Joined -> Confirmed is not an allowed change" in str(caught.value)
    assert "can only move to: Cancelled" in str(caught.value)
    with pytest.raises(StatusChangeRefused, match="Confirmed, Joined, Cancelled"):
        check_move(S.REGISTERED, S.REGISTERED)


def test_final_status_says_so() -> None:
    with pytest.raises(StatusChangeRefused, match="Cancelled is final"):
        check_move(S.CANCELLED, S.JOINED)


def test_check_move_accepts_plain_strings() -> None:
    check_move("Registered", "Joined")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "status"),
    [("registered", S.REGISTERED), ("Đăng kí", S.REGISTERED), ("đăng ký", S.REGISTERED),
     ("XÁC NHẬN", S.CONFIRMED), ("tham gia", S.JOINED), ("Hủy", S.CANCELLED),
     (" cancelled ", S.CANCELLED)],
)
def test_parse_english_and_vietnamese_names(text: str, status: S) -> None:
    assert S.parse(text) is status


def test_parse_unknown_status_lists_the_names() -> None:
    with pytest.raises(ValueError, match="Registered \\(Đăng kí\\)"):
        S.parse("Canceled")


def test_cumulative_totals_follow_the_report_definition() -> None:
    totals = cumulative_totals({S.REGISTERED: 5, S.CONFIRMED: 3, S.JOINED: 2, S.CANCELLED: 1})
    assert totals == {S.REGISTERED: 11, S.CONFIRMED: 5, S.JOINED: 2, S.CANCELLED: 1}
    assert cumulative_totals({}) == dict.fromkeys(S, 0)
