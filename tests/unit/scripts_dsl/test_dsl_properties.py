"""Property tests on random script graphs.

- The validator never crashes, whatever the document.
- Scripts built to be valid are found valid (no false alarms), except for status changes
  that the random statuses make impossible.
- Every valid script's machine reaches its end on every event sequence: the caller's answers
  come first, then silence.
"""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from scripts_dsl import actions as act
from scripts_dsl.compiler import compile_report
from scripts_dsl.events import (
    CallerHangup,
    Digit,
    Event,
    NoInput,
    NoMatch,
    PromptFinished,
    RecordFinished,
    Speech,
    TransferResult,
)
from scripts_dsl.problems import CODES
from scripts_dsl.run import ScriptRun
from scripts_dsl.simulate import simulate
from scripts_dsl.status import CustomerStatus, can_move
from scripts_dsl.validator import validate_data, validate_text

WORDS = ["có", "không", "vâng", "yes", "no", "đồng ý", "chưa", "agent", "hủy"]
KINDS = ["play", "menu", "listen", "set_status", "set_variable", "condition", "transfer",
         "record", "hangup"]
SETTINGS = settings(max_examples=120, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@st.composite
def script_graphs(draw: st.DrawFn, loose: bool = False) -> dict[str, Any]:
    """Scripts valid by construction: every block leads to the next one, and edges a silent
    caller can take only point forward, so no loop can run without an answer.

    ``loose``: those edges may point anywhere, so some scripts loop; the validator must then
    refuse exactly the ones that could loop forever.
    """
    n = draw(st.integers(2, 8))
    ids = [f"b{i}" for i in range(n)]

    def forward(i: int) -> str:
        return ids[draw(st.integers(0 if loose else i + 1, n - 1))]

    def anywhere() -> str:
        return ids[draw(st.integers(0, n - 1))]

    def handler(i: int, silent: bool) -> dict[str, Any]:
        return {"retries": draw(st.integers(0, 3)), "next": forward(i) if silent else anywhere()}

    blocks: list[dict[str, Any]] = []
    for i in range(n):
        kind = "hangup" if i == n - 1 else draw(st.sampled_from(KINDS[:-1]))
        block: dict[str, Any] = {"id": ids[i], "type": kind}
        main = ids[i + 1] if i < n - 1 else None
        if kind == "play":
            block |= {"text": "Chào {customer.name}", "next": main,
                      "barge_in": draw(st.booleans())}
        elif kind in ("menu", "listen"):
            keys = draw(st.lists(st.sampled_from(list("0123456789*#")), min_size=1, max_size=4,
                                 unique=True))
            block["keys"] = {k: (main if j == 0 else anywhere()) for j, k in enumerate(keys)}
            if kind == "listen" or draw(st.booleans()):
                words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=4, unique=True))
                block["intents"] = {f"i{j}": {"keywords": [w], "next": anywhere()}
                                    for j, w in enumerate(words)}
            block |= {"prompt": "Chọn đi {vars.last}", "save_as": "last",
                      "barge_in": draw(st.booleans()), "no_input": handler(i, True),
                      "no_match": handler(i, False)}
        elif kind == "set_status":
            block |= {"status": draw(st.sampled_from(list(CustomerStatus))).value, "next": main}
        elif kind == "set_variable":
            block |= {"name": "last", "value": draw(st.sampled_from(["x", "{customer.name}"])),
                      "next": main}
        elif kind == "condition":
            branches = [{"variable": draw(st.sampled_from(["vars.last", "customer.name", "status"])),
                         "op": "equals", "value": draw(st.sampled_from(["1", "có", "Joined", "i0"])),
                         "next": forward(i)} for _ in range(draw(st.integers(1, 3)))]
            for branch in branches:
                if branch["variable"] == "status":
                    branch["value"] = draw(st.sampled_from(list(CustomerStatus))).value
            block |= {"branches": branches, "else": main}
        elif kind == "transfer":
            block |= {"queue": "sales", "no_agent": main}
        elif kind == "record":
            block |= {"max_length": 5, "next": main, "save_as": "rec"}
        blocks.append(block)
    return {"name": "random", "variables": {"customer": ["name"], "vars": ["last"]},
            "blocks": blocks}


def caller_events() -> st.SearchStrategy[Event]:
    return st.one_of(
        st.sampled_from(list("0123456789*#")).map(Digit),
        st.sampled_from(WORDS + ["gì cơ", "", "có không"]).map(Speech),
        st.just(NoInput()), st.just(NoMatch()), st.booleans().map(TransferResult),
        st.just(RecordFinished("r.wav", 1.0)), st.just(PromptFinished()),
        st.integers(0, 5).map(lambda i: PromptFinished(prompt_id=i)),
        st.sampled_from(["i0", "i1", "nope"]).map(lambda name: Speech("", intent=name)),
    )


def _silence(run: ScriptRun) -> Event:
    """What a silent caller produces: prompts end, nobody answers, no agent is free."""
    if run.waiting_for == "prompt":
        return PromptFinished()
    if run.waiting_for == "transfer":
        return TransferResult(False)
    return NoInput()


def _bound(data: dict[str, Any]) -> int:
    """Upper bound of events a silent caller needs to reach the end from anywhere."""
    return 4 * len(data["blocks"]) * (3 + 2)


def _status_changes_are_legal(actions: list[act.Action]) -> None:
    for action in actions:
        if isinstance(action, act.SetStatus):
            assert can_move(action.from_status, action.to_status)


@SETTINGS
@given(script_graphs(), st.sets(st.sampled_from(list(CustomerStatus)), min_size=1))
def test_scripts_built_valid_are_found_valid(data: dict[str, Any], starts: set[CustomerStatus]) -> None:
    report = validate_data(data, start_statuses=starts)
    assert {p.code for p in report.problems} <= {"status_never_legal"}, report.problems


any_graphs = st.one_of(script_graphs(), script_graphs(loose=True))


@SETTINGS
@given(any_graphs, st.lists(caller_events(), max_size=12),
       st.sampled_from(list(CustomerStatus)))
def test_simulation_always_reaches_the_end(data: dict[str, Any], inputs: list[Event],
                                           start: CustomerStatus) -> None:
    report = validate_data(data, start_statuses=[start])
    assume(report.ok)
    script = compile_report(report)
    result = simulate(script, {"name": "An"}, inputs, status=start, strict=False,
                      max_steps=(len(inputs) + 1) * _bound(data))
    assert result.finished
    for step in result.steps:
        _status_changes_are_legal(list(step.actions))


@SETTINGS
@given(any_graphs, st.lists(caller_events(), max_size=20), st.booleans())
def test_any_event_sequence_then_silence_reaches_the_end(
        data: dict[str, Any], events: list[Event], hang_up: bool) -> None:
    report = validate_data(data)
    assume(report.ok)
    run = ScriptRun(compile_report(report), {"name": "An"})
    _status_changes_are_legal(run.start())
    for event in events + ([CallerHangup()] if hang_up else []):
        _status_changes_are_legal(run.handle(event))
    for _ in range(_bound(data)):
        if run.finished:
            break
        _status_changes_are_legal(run.handle(_silence(run)))
    assert run.finished
    assert run.final_status in set(CustomerStatus)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 99) | st.floats(allow_nan=False)
    | st.text(max_size=8) | st.sampled_from(KINDS + ["b0", "b1", "next", "{customer.x}"]),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(["id", "type", "next", "keys", "intents", "prompt",
                                       "no_input", "branches", "else", "status", "text",
                                       "name", "blocks", "variables", "1", "yes"]),
                      inner, max_size=5),
    max_leaves=25,
)


@st.composite
def mutated_scripts(draw: st.DrawFn) -> Any:
    data = draw(script_graphs())
    for block in data["blocks"]:
        if draw(st.integers(0, 3)) == 0:
            key = draw(st.sampled_from(sorted(block)))
            if draw(st.booleans()):
                del block[key]
            else:
                block[key] = draw(json_values)
    return data


@SETTINGS
@given(st.one_of(json_values, mutated_scripts()))
def test_validator_never_crashes(data: Any) -> None:
    report = validate_data(data)
    assert all(p.code in CODES for p in report.problems)
    assert report.ok == (report.version is not None)
    text = yaml.safe_dump(data, allow_unicode=True)
    assert all(p.code in CODES for p in validate_text(text).problems)
