import json

from hypothesis import given, settings
from hypothesis import strategies as st

from scripts_dsl.source import detect_format, load_text

YAML = """\
name: demo
blocks:
  - id: a
    type: menu
    keys:
      1: b
      "2": c
      1: d
    intents:
      yes: {keywords: [có], next: b}
      no: {keywords: [không], next: c}
    barge_in: off
  - id: b
    type: hangup
"""


def test_yaml_lines_are_recorded_for_every_value() -> None:
    loaded = load_text(YAML)
    lines = loaded.source_map
    assert lines.line(("name",)) == 1
    assert lines.line(("blocks", 0)) == 3
    assert lines.line(("blocks", 0, "keys", "2")) == 7
    assert lines.line(("blocks", 0, "intents", "no", "next")) == 11
    assert lines.line(("blocks", 1, "type")) == 14
    # unknown paths fall back to their closest known parent
    assert lines.line(("blocks", 1, "nothing", "here")) == 13


def test_yaml_int_keys_are_found_by_their_text() -> None:
    assert load_text(YAML).source_map.line(("blocks", 0, "keys", "1")) == 6


def test_duplicate_keys_are_reported_and_the_first_is_kept() -> None:
    loaded = load_text(YAML)
    assert loaded.data["blocks"][0]["keys"][1] == "b"
    [dup] = loaded.duplicates
    assert dup.path == ("blocks", 0, "keys", 1)
    assert (dup.first_line, dup.again_line) == (6, 8)


def test_yes_no_on_off_stay_text() -> None:
    block = load_text(YAML).data["blocks"][0]
    assert set(block["intents"]) == {"yes", "no"}
    assert block["barge_in"] == "off"
    assert load_text("a: true\nb: False\n").data == {"a": True, "b": False}


def test_yaml_syntax_error_names_the_line() -> None:
    loaded = load_text("name: x\nblocks:\n  - id: a\n    text: 'open\n")
    assert loaded.data is None
    assert loaded.syntax_error is not None
    assert loaded.syntax_error.code == "syntax"
    assert loaded.syntax_error.line == 5
    assert "not valid YAML" in loaded.syntax_error.message


def test_json_gets_lines_from_the_yaml_reading() -> None:
    text = '{\n  "name": "j",\n  "blocks": [\n    {"id": "a",\n     "type": "hangup"}\n  ]\n}\n'
    loaded = load_text(text, name="s.json")
    assert loaded.data == json.loads(text)
    assert loaded.source_map.line(("blocks", 0, "type")) == 5
    assert loaded.source_map.line(("name",)) == 2


def test_json_duplicates_are_reported() -> None:
    loaded = load_text('{"name": "a",\n "name": "b", "blocks": []}')
    assert loaded.data["name"] == "a"
    assert [d.path for d in loaded.duplicates] == [("name",)]
    assert loaded.duplicates[0].again_line == 2


def test_json_that_yaml_reads_differently_keeps_json_meaning_without_lines() -> None:
    # A tab after a comma is fine JSON; PyYAML refuses tabs there, so no line numbers.
    text = '{"name": "t",\t"blocks": [{"id": "a", "type": "hangup"}]}'
    loaded = load_text(text)
    assert loaded.data == json.loads(text)
    assert loaded.syntax_error is None


def test_json_syntax_error_names_the_line() -> None:
    loaded = load_text('{\n "name": "x",\n "blocks": [\n}', name="x.json")
    assert loaded.syntax_error is not None and loaded.syntax_error.line == 4
    assert "not valid JSON" in loaded.syntax_error.message


def test_format_detection() -> None:
    assert detect_format("{}", "a.yaml") == "yaml"
    assert detect_format("name: x", "a.JSON") == "json"
    assert detect_format("  {\"a\": 1}") == "json"
    assert detect_format("a: 1") == "yaml"


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_loading_any_text_never_raises(text: str) -> None:
    for fmt in ("yaml", "json"):
        loaded = load_text(text, fmt)  # type: ignore[arg-type]
        assert (loaded.syntax_error is None) or (loaded.data is None)
