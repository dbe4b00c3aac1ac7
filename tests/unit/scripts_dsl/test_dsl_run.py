import dataclasses
import json
import logging

import pytest
from dsl_helpers import EXAMPLES, MINI, VI_CUSTOMER, compiled

from scripts_dsl import actions as act
from scripts_dsl.compiler import compile_file, compile_text
from scripts_dsl.errors import CustomerDataMissing, ScriptInvalid, ScriptRunError
from scripts_dsl.events import (
    CallerHangup,
    Digit,
    NoInput,
    NoMatch,
    PromptFinished,
    RecordFinished,
    Speech,
    TransferResult,
)
from scripts_dsl.run import ScriptRun
from scripts_dsl.status import CustomerStatus as S


def kinds(actions: list[act.Action]) -> list[str]:
    return [type(a).__name__ for a in actions]


def at_menu(status: S = S.REGISTERED) -> ScriptRun:
    run = ScriptRun(compiled(), {"name": "An"}, status, call_id="c1")
    assert kinds(run.start()) == ["Play"]
    assert kinds(run.handle(PromptFinished())) == ["Branch", "Play", "CollectDigits", "Listen"]
    return run


def test_start_plays_the_greeting_with_variables_filled() -> None:
    run = ScriptRun(compiled(), {"name": "An"})
    [play] = run.start()
    assert isinstance(play, act.Play)
    assert (play.block_id, play.text, play.barge_in) == ("hello", "Xin chào An", False)
    assert run.current_block == "hello" and run.waiting_for == "prompt"
    assert not run.finished and run.final_status is None


def test_menu_asks_for_keys_and_speech() -> None:
    run = ScriptRun(compiled(), {"name": "An"})
    run.start()
    actions = run.handle(PromptFinished())
    assert actions[0] == act.Branch("hello", "ask", "prompt finished")
    collect = actions[2]
    listen = actions[3]
    assert isinstance(collect, act.CollectDigits) and collect.keys == {"0", "1", "2"}
    assert isinstance(listen, act.Listen)
    assert dict(listen.intents) == {"yes": ("có", "đồng ý"), "no": ("không", "không đồng ý")}
    assert listen.keywords == ("có", "đồng ý", "không", "không đồng ý")


def test_keypress_changes_status_and_hangs_up() -> None:
    run = at_menu()
    actions = run.handle(Digit("1"))
    assert kinds(actions) == ["Branch", "SetStatus", "Branch", "Hangup"]
    assert actions[1] == act.SetStatus("ok", S.REGISTERED, S.CONFIRMED, "keypress")
    hangup = actions[3]
    assert isinstance(hangup, act.Hangup) and hangup.text == "Cảm ơn An"
    assert run.finished and run.final_status is S.CONFIRMED and run.end_reason == "hangup block"
    assert run.handle(PromptFinished()) == []


def test_speech_is_matched_against_keywords() -> None:
    run = at_menu()
    actions = run.handle(Speech("Không đồng ý đâu"))
    assert actions[0] == act.Branch("ask", "cancel", "caller said “Không đồng ý đâu” (no)")
    assert actions[1] == act.SetStatus("cancel", S.REGISTERED, S.CANCELLED, "speech")


def test_intent_from_the_recognizer_wins_over_text() -> None:
    run = at_menu()
    run.handle(Speech("ừ", intent="yes"))
    assert run.final_status is S.CONFIRMED


def test_barge_in_answer_while_the_prompt_plays() -> None:
    run = at_menu()
    assert run.state == "ask/prompt"
    run.handle(Digit("2"))
    assert run.final_status is S.CANCELLED


def test_no_barge_in_ignores_answers_during_the_prompt() -> None:
    run = ScriptRun(compiled(MINI.replace("no_match: {retries: 1, next: bye}",
                                          "no_match: {retries: 1, next: bye}\n    barge_in: false")),
                    {"name": "An"})
    run.start()
    run.handle(PromptFinished())
    assert run.handle(Digit("1")) == []
    assert run.handle(PromptFinished()) == []
    assert run.waiting_for == "answer"
    run.handle(Digit("1"))
    assert run.final_status is S.CONFIRMED


def test_no_input_retries_with_the_retry_prompt_then_leaves() -> None:
    run = at_menu()
    run.handle(PromptFinished())
    retry = run.handle(NoInput())
    assert kinds(retry) == ["Branch", "Play", "CollectDigits", "Listen"]
    play = retry[1]
    assert isinstance(play, act.Play) and play.text == "Tôi không nghe thấy"
    run.handle(PromptFinished())
    last = run.handle(NoInput())
    assert last[0] == act.Branch("ask", "bye", "no answer before the timeout; no retries left")
    assert run.finished and run.final_status is S.REGISTERED


def test_invalid_key_retries_with_the_main_prompt() -> None:
    run = at_menu()
    retry = run.handle(Digit("7"))
    assert "key 7 is not offered" in retry[0].why  # type: ignore[union-attr]
    play = retry[1]
    assert isinstance(play, act.Play) and play.text == "Nhấn 1 để xác nhận, 2 để hủy"
    run.handle(NoMatch())
    assert run.finished and run.current_block == "bye"


def test_retry_counters_are_separate_and_reset_on_a_new_visit() -> None:
    run = at_menu()
    run.handle(NoInput())
    run.handle(Digit("9"))
    assert run.current_block == "ask" and not run.finished
    run.handle(Speech("gì cơ"))
    assert run.current_block == "bye"


def test_stale_prompt_finished_is_ignored() -> None:
    run = ScriptRun(compiled(), {"name": "An"})
    [play] = run.start()
    assert isinstance(play, act.Play)
    assert run.handle(PromptFinished(prompt_id=play.prompt_id + 5)) == []
    assert run.current_block == "hello"
    assert run.handle(PromptFinished(prompt_id=play.prompt_id))


def test_transfer_success_ends_the_script() -> None:
    run = at_menu()
    actions = run.handle(Digit("0"))
    assert kinds(actions) == ["Branch", "Play"] and run.waiting_for == "prompt"
    assert run.handle(PromptFinished()) == [act.Transfer("agent", "sales", None, 30.0)]
    assert run.waiting_for == "transfer"
    assert run.handle(TransferResult(ok=True)) == []
    assert run.finished and run.end_reason == "transferred"


def test_transfer_failure_goes_to_no_agent_block() -> None:
    run = at_menu()
    run.handle(Digit("0"))
    run.handle(PromptFinished())
    actions = run.handle(TransferResult(ok=False, reason="busy"))
    assert actions[0] == act.Branch("agent", "bye", "no agent free: busy")
    assert run.current_block == "bye"


def test_transfer_failure_without_no_agent_hangs_up() -> None:
    text = "name: t\nblocks:\n  - id: t\n    type: transfer\n    queue: q\n"
    run = ScriptRun(compile_text(text), {})
    assert run.start() == [act.Transfer("t", "q", None, 30.0)]
    [hangup] = run.handle(TransferResult(ok=False))
    assert isinstance(hangup, act.Hangup) and hangup.reason == "no agent free"
    assert run.finished


def test_caller_hangup_ends_anywhere() -> None:
    run = at_menu()
    assert run.handle(CallerHangup()) == []
    assert run.finished and run.end_reason == "caller hung up"
    assert run.final_status is S.REGISTERED


def test_status_change_refused_at_run_time_keeps_the_status() -> None:
    run = at_menu(S.JOINED)
    actions = run.handle(Digit("1"))
    kept = actions[1]
    assert isinstance(kept, act.StatusKept)
    assert (kept.status, kept.wanted) == (S.JOINED, S.CONFIRMED)
    assert "can only move to: Cancelled" in kept.reason
    assert run.final_status is S.JOINED


def test_every_status_change_is_logged_with_the_call_id(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="scripts_dsl.run")
    run = at_menu()
    run.handle(Digit("1"))
    text = caplog.text
    assert "call c1: status Registered -> Confirmed (keypress, block ok)" in text
    assert "call c1: ask/prompt -[key:1]-> ok (caller pressed 1)" in text


def test_missing_customer_fields_are_refused() -> None:
    with pytest.raises(CustomerDataMissing, match="name"):
        ScriptRun(compiled(), {"name": "  "})


def test_customer_defaults_fill_missing_fields() -> None:
    text = MINI.replace("customer: [name]", "customer: {name: quý khách}")
    run = ScriptRun(compiled(text), {})
    [play] = run.start()
    assert isinstance(play, act.Play) and play.text == "Xin chào quý khách"


def test_events_before_start_and_double_start_are_errors() -> None:
    run = ScriptRun(compiled(), {"name": "An"})
    with pytest.raises(ScriptRunError):
        run.handle(PromptFinished())
    run.start()
    with pytest.raises(ScriptRunError):
        run.start()


CONDITIONS = """
name: cond
variables:
  customer: {tier: "", city: ""}
  vars: [note]
blocks:
  - id: mark
    type: set_variable
    name: note
    value: "{customer.city}-x"
    next: route
  - id: route
    type: condition
    branches:
      - {variable: customer.tier, op: equals, value: VIP, next: vip}
      - {variable: vars.note, op: in, value: [Hà Nội-x, Huế-x], next: north}
      - {variable: status, op: not_equals, value: Registered, next: known}
      - {variable: customer.tier, op: is_empty, next: plain}
    else: other
  - {id: vip, type: hangup, prompt: vip}
  - {id: north, type: hangup, prompt: north}
  - {id: known, type: hangup, prompt: known}
  - {id: plain, type: hangup, prompt: plain}
  - {id: other, type: hangup, prompt: other}
"""


@pytest.mark.parametrize(
    ("customer", "status", "end"),
    [({"tier": "vip"}, S.REGISTERED, "vip"),
     ({"city": "Hà Nội"}, S.REGISTERED, "north"),
     ({"city": "Sài Gòn"}, S.CONFIRMED, "known"),
     ({"city": "Sài Gòn"}, S.REGISTERED, "plain"),
     ({"tier": "gold"}, S.REGISTERED, "other")],
)
def test_condition_branches(customer: dict[str, str], status: S, end: str) -> None:
    run = ScriptRun(compiled(CONDITIONS), customer, status)
    actions = run.start()
    assert isinstance(actions[0], act.SetVariable)
    assert run.current_block == end and run.finished


def test_record_stores_the_recording() -> None:
    compiled_en = compile_file(EXAMPLES / "event_confirmation_en.yaml")
    run = ScriptRun(compiled_en, {"name": "A", "event_name": "E", "event_date": "D"})
    run.start()
    run.handle(PromptFinished())
    run.handle(Digit("2"))
    assert run.waiting_for == "prompt"
    assert run.handle(PromptFinished()) == [act.Record("ask_reason", 30.0, True)]
    assert run.waiting_for == "recording"
    run.handle(RecordFinished("rec-1.wav", 4.2))
    assert run.variables["cancel_reason"] == "rec-1.wav"
    assert run.finished and run.final_status is S.CANCELLED


def test_invalid_script_does_not_compile() -> None:
    with pytest.raises(ScriptInvalid, match="no block 'nowhere'"):
        compile_text(MINI.replace("next: ask", "next: nowhere"))


def test_compiled_script_is_immutable_and_exports_plain_data() -> None:
    script = compile_file(EXAMPLES / "event_confirmation_vi.yaml")
    with pytest.raises(dataclasses.FrozenInstanceError):
        script.name = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        script.nodes["greet"] = script.nodes["route"]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        script.nodes["greet"].id = "x"  # type: ignore[misc]
    exported = script.to_dict()
    assert json.loads(json.dumps(exported)) == exported
    assert exported["start"] == "greet" and exported["initial_state"] == "(idle)"
    assert exported["nodes"]["confirmed"] == {"node": "StatusNode", "id": "confirmed",
                                              "status": "Confirmed", "next": "ask_attend"}
    assert {"source": "ask_confirm/wait", "trigger": "key:1", "dest": "confirmed",
            "label": "key 1"} in exported["transitions"]
    states = set(exported["states"])
    assert all(t["source"] in states and t["dest"] in states for t in exported["transitions"])


def test_runs_of_one_compiled_script_are_independent() -> None:
    script = compile_file(EXAMPLES / "event_confirmation_vi.yaml")
    first, second = ScriptRun(script, VI_CUSTOMER), ScriptRun(script, VI_CUSTOMER)
    first.start()
    second.start()
    first.handle(PromptFinished())
    assert first.current_block == "ask_confirm" and second.current_block == "greet"


def test_barge_in_on_a_play_block_ends_the_prompt_early() -> None:
    run = ScriptRun(compiled(MINI.replace('next: ask\n', 'next: ask\n    barge_in: true\n', 1)),
                    {"name": "An"})
    run.start()
    actions = run.handle(Digit("5"))
    assert actions[0] == act.Branch("hello", "ask", "caller interrupted the prompt")
    assert run.current_block == "ask" and run.waiting_for == "prompt"


def test_play_without_barge_in_ignores_keys() -> None:
    run = ScriptRun(compiled(), {"name": "An"})
    run.start()
    assert run.handle(Digit("1")) == [] and run.current_block == "hello"


def test_status_change_after_no_answer_is_credited_to_the_script() -> None:
    text = MINI.replace("no_input: {retries: 1, prompt: \"Tôi không nghe thấy\", next: bye}",
                        "no_input: {retries: 0, next: cancel}")
    run = ScriptRun(compiled(text), {"name": "An"})
    run.start()
    run.handle(PromptFinished())
    actions = run.handle(NoInput())
    assert act.SetStatus("cancel", S.REGISTERED, S.CANCELLED, "script") in actions
