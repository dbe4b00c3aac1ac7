import json
from pathlib import Path

import pytest
from scripts_dsl.source import load_text
from dsl_helpers import EXAMPLES, MINI, codes_of, dedent, line_of, problems_of

from scripts_dsl.errors import ScriptInvalid
from scripts_dsl.model import Script
from scripts_dsl.problems import CODES
from scripts_dsl.status import CustomerStatus
from scripts_dsl.validator import validate_data, validate_file, validate_script, validate_text


def where(text: str, code: str, **options: object) -> list[tuple[str | None, str | None, int | None]]:
    return [(p.block_id, p.field, p.line) for p in problems_of(text, **options) if p.code == code]


@pytest.mark.parametrize("name", ["event_confirmation_vi.yaml", "event_confirmation_en.yaml"])
def test_examples_are_valid(name: str) -> None:
    report = validate_file(EXAMPLES / name)
    assert report.problems == ()
    assert report.ok and report.version is not None and len(report.version) == 64


def test_examples_are_valid_for_any_starting_status() -> None:
    report = validate_file(EXAMPLES / "event_confirmation_vi.yaml", start_statuses=list(CustomerStatus))
    assert report.ok


def test_version_ignores_formatting_and_format() -> None:
    text = dedent(MINI)
    data = load_text(text).data
    base = validate_text(text).version
    assert base is not None
    assert validate_text("# a comment\n" + text).version == base
    assert validate_text(json.dumps(data, ensure_ascii=False, indent=1), name="s.json").version == base
    assert validate_data(data).version == base
    changed = text.replace("Đang chuyển", "Vui lòng chờ")
    assert validate_text(changed).version != base


def test_unknown_next_block_names_field_line_and_suggestion() -> None:
    text = MINI.replace("next: bye\n  - id: cancel", "next: bey\n  - id: cancel")
    [problem] = [p for p in problems_of(text) if p.code == "unknown_block"]
    assert (problem.block_id, problem.field, problem.line) == ("ok", "next", line_of(text, "next: bey"))
    assert "no block 'bey'" in problem.message and "did you mean 'bye'" in problem.message


def test_unreachable_block() -> None:
    text = MINI + "  - id: lost\n    type: hangup\n"
    assert where(text, "unreachable") == [("lost", "id", line_of(text, "id: lost"))]


def test_block_without_way_out() -> None:
    text = """
    name: t
    blocks:
      - id: a
        type: play
        text: hi
      - id: b
        type: set_variable
        name: x
        value: "1"
        next: a
    """
    problems = problems_of(text)
    assert ("a", "next", 3) in [(p.block_id, p.field, p.line) for p in problems if p.code == "no_way_out"]
    assert "add 'next: <block id>'" in next(p.message for p in problems if p.code == "no_way_out")


def test_hangup_and_transfer_may_end_a_script() -> None:
    text = """
    name: t
    blocks:
      - id: a
        type: transfer
        address: sip:agent@example.com
    """
    assert codes_of(text) == []


def test_loop_without_caller_input() -> None:
    text = """
    name: t
    blocks:
      - id: a
        type: play
        text: one
        next: b
      - id: b
        type: set_variable
        name: n
        value: x
        next: a
    """
    [problem] = problems_of(text)
    assert problem.code == "input_free_loop"
    assert (problem.block_id, problem.line) == ("a", 6)
    assert "a -> b -> a" in problem.message


def test_loop_through_a_menu_key_is_fine() -> None:
    text = MINI.replace('"2": cancel', '"2": hello')
    assert "input_free_loop" not in codes_of(text)
    assert "silent_loop" not in codes_of(text)


def test_loop_a_silent_caller_never_leaves() -> None:
    text = MINI.replace("no_input: {retries: 1, prompt: \"Tôi không nghe thấy\", next: bye}",
                        "no_input: {retries: 1, next: hello}")
    assert where(text, "silent_loop") == [("ask", "no_input.next", line_of(text, "no_input:"))]


def test_status_change_that_no_path_allows() -> None:
    text = """
    name: t
    blocks:
      - id: join
        type: set_status
        status: Joined
        next: back
      - id: back
        type: set_status
        status: Confirmed
        next: end
      - id: end
        type: hangup
    """
    [problem] = problems_of(text)
    assert (problem.code, problem.block_id, problem.field, problem.line) == (
        "status_never_legal", "back", "status", 9)
    assert "Joined -> Confirmed" in problem.message and "Cancelled" in problem.message


def test_status_check_uses_the_starting_statuses() -> None:
    text = """
    name: t
    blocks:
      - id: c
        type: set_status
        status: Confirmed
        next: end
      - id: end
        type: hangup
    """
    assert codes_of(text) == []
    assert codes_of(text, start_statuses=[CustomerStatus.JOINED]) == ["status_never_legal"]
    assert codes_of(text, start_statuses=[CustomerStatus.JOINED, CustomerStatus.REGISTERED]) == []


def test_status_condition_narrows_the_possible_statuses() -> None:
    text = """
    name: t
    blocks:
      - id: route
        type: condition
        branches:
          - {variable: status, op: in, value: [Joined, Cancelled], next: end}
        else: confirm
      - id: confirm
        type: set_status
        status: Confirmed
        next: end
      - id: end
        type: hangup
    """
    assert codes_of(text, start_statuses=list(CustomerStatus)) == []


def test_unknown_variables() -> None:
    text = MINI.replace("Cảm ơn {customer.name}", "Cảm ơn {customer.nam} {vars.x}")
    found = [(p.block_id, p.field, p.line, p.message) for p in problems_of(text)
             if p.code == "unknown_variable"]
    assert [f[:3] for f in found] == [("bye", "prompt", line_of(text, "Cảm ơn {"))] * 2
    assert "did you mean 'name'" in found[0][3]
    assert "variables.vars" in found[1][3]


def test_variables_set_by_the_script_are_known() -> None:
    text = """
    name: t
    blocks:
      - id: s
        type: set_variable
        name: code
        value: "A{customer.id}"
        next: m
      - id: m
        type: menu
        prompt: "Mã {vars.code}, chọn {vars.choice}"
        keys: {"1": end}
        save_as: choice
        no_input: {next: end}
        no_match: {next: end}
      - id: end
        type: hangup
    """
    assert where(text, "unknown_variable") == [("s", "value", 6)]


def test_duplicate_menu_key_is_reported_with_both_lines() -> None:
    text = MINI.replace('keys: {"1": ok, "2": cancel, "0": agent}',
                        'keys:\n      "1": ok\n      "2": cancel\n      "1": agent')
    [problem] = [p for p in problems_of(text) if p.code == "duplicate_key"]
    assert (problem.block_id, problem.field, problem.line) == ("ask", "keys.1", 15)
    assert "lines 13 and 15" in problem.message


def test_same_key_as_number_and_text_is_a_duplicate() -> None:
    text = MINI.replace('keys: {"1": ok, "2": cancel, "0": agent}',
                        'keys: {1: ok, "1": cancel, "0": agent}')
    assert "duplicate_key" in codes_of(text)


def test_key_that_is_not_a_phone_key() -> None:
    text = MINI.replace('"0": agent', '"10": agent')
    assert where(text, "invalid_key") == [("ask", "keys.10", 12)]


def test_missing_no_input_and_no_match() -> None:
    text = MINI.replace('    no_input: {retries: 1, prompt: "Tôi không nghe thấy", next: bye}\n', "")
    text = text.replace("no_match: {retries: 1, next: bye}", "no_match: {retries: 1}")
    found = [(p.code, p.field) for p in problems_of(text)]
    assert ("missing_no_input", "no_input") in found
    assert ("missing_no_match", "no_match.next") in found


def test_keyword_in_two_intents() -> None:
    text = MINI.replace("[không, không đồng ý]", "[không, Có]")
    assert where(text, "duplicate_keyword") == [("ask", "intents.no.keywords[1]", 15)]


def test_keywords_checked_against_a_vocabulary() -> None:
    problems = problems_of(MINI, vocabulary={"có", "không", "đồng"})
    found = [(p.field, p.message) for p in problems if p.code == "keyword_not_in_vocabulary"]
    assert [f[0] for f in found] == ["intents.yes.keywords[1]", "intents.no.keywords[1]"]
    assert "“ý”" in found[0][1]


def test_keywords_checked_against_a_model_directory(tmp_path: Path) -> None:
    (tmp_path / "graph").mkdir()
    (tmp_path / "graph" / "words.txt").write_text("có 1\nkhông 2\nđồng 3\ný 4\n", encoding="utf-8")
    assert codes_of(MINI, speech_model=tmp_path) == []


def test_model_without_word_list_is_a_problem(tmp_path: Path) -> None:
    [problem] = problems_of(MINI, speech_model=tmp_path)
    assert problem.code == "speech_model_unreadable"
    assert "no readable word list" in problem.message


def test_schema_problems_name_the_field_and_line() -> None:
    text = MINI.replace("type: set_status\n    status: Confirmed", "type: set_status\n    status: Confirmd")
    [problem] = problems_of(text)
    assert (problem.code, problem.block_id, problem.field, problem.line) == ("schema", "ok", "status", line_of(text, "Confirmd"))
    assert "use one of Registered" in problem.message


def test_a_malformed_block_does_not_hide_other_problems() -> None:
    text = MINI.replace("type: hangup", "type: hangup\n    colour: red").replace(
        "next: bye\n  - id: cancel", "next: nowhere\n  - id: cancel")
    assert sorted(codes_of(text)) == ["schema", "unknown_block"]


def test_every_problem_has_a_known_code_and_says_what_to_change() -> None:
    for case in (Path(__file__).parent / "cases").iterdir():
        for problem in validate_file(case).problems:
            assert problem.code in CODES
            assert ":" in problem.message or problem.message.startswith("add ")


def test_not_a_mapping() -> None:
    [problem] = problems_of("- just\n- a list\n")
    assert problem.code == "schema" and "'name' and 'blocks'" in problem.message


def test_unreadable_file(tmp_path: Path) -> None:
    [problem] = validate_file(tmp_path / "nope.yaml").problems
    assert problem.code == "syntax" and "cannot read nope.yaml" in problem.message


def test_valid_script_raises_with_every_problem() -> None:
    report = validate_text(dedent(MINI).replace("next: bye", "next: gone"))
    with pytest.raises(ScriptInvalid) as caught:
        report.valid_script()
    assert len(caught.value.problems) == 4
    assert "4 problems" in str(caught.value)


def test_validate_script_built_in_code() -> None:
    script = Script.model_validate(load_text(dedent(MINI)).data)
    report = validate_script(script)
    assert report.ok and report.version == validate_text(dedent(MINI)).version
