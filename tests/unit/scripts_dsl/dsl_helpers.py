"""Shared helpers for the script-language tests (a plain module, imported by name)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from scripts_dsl.compiler import CompiledScript, compile_text
from scripts_dsl.problems import Problem
from scripts_dsl.validator import validate_text

HERE = Path(__file__).parent
ROOT = HERE.parents[2]
EXAMPLES = ROOT / "examples"
CASES = HERE / "cases"
GOLDEN = HERE / "golden"

VI_CUSTOMER = {"name": "An", "event_name": "Hội thảo AI", "event_date": "20/11"}
EN_CUSTOMER = {"name": "Anna", "event_name": "AI Summit", "event_date": "November 20"}

MINI = """
name: mini
variables:
  customer: [name]
blocks:
  - id: hello
    type: play
    text: "Xin chào {customer.name}"
    next: ask
  - id: ask
    type: menu
    prompt: "Nhấn 1 để xác nhận, 2 để hủy"
    keys: {"1": ok, "2": cancel, "0": agent}
    intents:
      yes: {keywords: [có, đồng ý], next: ok}
      no: {keywords: [không, không đồng ý], next: cancel}
    no_input: {retries: 1, prompt: "Tôi không nghe thấy", next: bye}
    no_match: {retries: 1, next: bye}
  - id: ok
    type: set_status
    status: Confirmed
    next: bye
  - id: cancel
    type: set_status
    status: Cancelled
    next: bye
  - id: agent
    type: transfer
    queue: sales
    prompt: "Đang chuyển"
    no_agent: bye
  - id: bye
    type: hangup
    prompt: "Cảm ơn {customer.name}"
"""


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def problems_of(text: str, **options: object) -> tuple[Problem, ...]:
    return validate_text(dedent(text), name="script.yaml", **options).problems  # type: ignore[arg-type]


def codes_of(text: str, **options: object) -> list[str]:
    return [p.code for p in problems_of(text, **options)]


def compiled(text: str = MINI) -> CompiledScript:
    return compile_text(dedent(text), name="script.yaml")


def line_of(text: str, needle: str, after: str = "") -> int:
    """1-based line of the first line containing ``needle`` (after the line with ``after``)."""
    lines = dedent(text).splitlines()
    start = next(i for i, line in enumerate(lines) if after in line) if after else 0
    return next(i for i, line in enumerate(lines) if i >= start and needle in line) + 1
