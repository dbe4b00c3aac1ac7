"""Golden files: validator messages for broken scripts, drawings of the examples.

Regenerate after an intended change with ``DSL_UPDATE_GOLDEN=1`` and review the diff.
"""

import os
from pathlib import Path

import pytest
from dsl_helpers import CASES, EXAMPLES, GOLDEN

from scripts_dsl.graph import to_dot, to_mermaid
from scripts_dsl.validator import validate_file

UPDATE = os.environ.get("DSL_UPDATE_GOLDEN") == "1"


def check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"missing golden file {name}: run with DSL_UPDATE_GOLDEN=1"
    assert actual == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir()))
def test_validator_messages(case: str) -> None:
    report = validate_file(CASES / case)
    assert not report.ok
    text = "".join(f"{problem}\n" for problem in report.problems)
    check_golden(Path(case).stem + ".problems.txt", text)


@pytest.mark.parametrize("example", ["event_confirmation_vi", "event_confirmation_en"])
def test_example_graphs(example: str) -> None:
    report = validate_file(EXAMPLES / f"{example}.yaml")
    assert report.script is not None
    check_golden(f"{example}.dot", to_dot(report.script, report.version))
    check_golden(f"{example}.mmd", to_mermaid(report.script))


def test_graph_of_a_broken_script_marks_missing_blocks() -> None:
    report = validate_file(CASES / "graph_mistakes.yaml")
    assert report.script is not None
    check_golden("graph_mistakes.dot", to_dot(report.script))
    check_golden("graph_mistakes.mmd", to_mermaid(report.script))
