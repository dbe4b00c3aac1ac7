"""The ways out of each block, as edges of the script graph.

Used by the validator (targets, reachability, loops, statuses), the compiler and the
drawings, so that all three agree on what a block can lead to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scripts_dsl.model import (
    Block,
    Condition,
    Hangup,
    Listen,
    Menu,
    Play,
    Record,
    SetStatus,
    SetVariable,
    Transfer,
)
from scripts_dsl.source import Path

__all__ = ["Edge", "block_edges", "raw_edges", "field_name", "WAITS_FOR_CALLER", "TERMINAL"]

WAITS_FOR_CALLER: frozenset[str] = frozenset({"menu", "listen", "record"})
"""Block types that wait for the caller (a keypress, speech or a recording)."""

TERMINAL: frozenset[str] = frozenset({"hangup", "transfer"})
"""Block types that may end a script."""


@dataclass(frozen=True)
class Edge:
    """``source`` may go to ``target`` because of the field at ``path`` (inside the block).

    ``silent`` edges are the ones a caller who never answers can take.
    """

    source: str
    target: str
    path: Path
    label: str
    silent: bool

    @property
    def field(self) -> str:
        return field_name(self.path)


def field_name(path: Path) -> str:
    """``("branches", 0, "next")`` -> ``branches[0].next``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _keywords(words: list[str], limit: int = 3) -> str:
    shown = ", ".join(f"“{w}”" for w in words[:limit])
    return shown + (", …" if len(words) > limit else "")


def _retries(count: int) -> str:
    return f" (after {count} {'retry' if count == 1 else 'retries'})" if count else ""


def _branch_label(variable: str, op: str, value: str | list[str] | None) -> str:
    if op == "equals":
        return f"if {variable} = {value}"
    if op == "not_equals":
        return f"if {variable} ≠ {value}"
    if op in ("in", "not_in"):
        values = ", ".join(value or []) if isinstance(value, list) else str(value)
        word = "in" if op == "in" else "not in"
        return f"if {variable} {word} [{values}]"
    return f"if {variable} {'is set' if op == 'is_set' else 'is empty'}"


def block_edges(block: Block) -> list[Edge]:
    """Every way out of ``block`` that names a target, in the order written."""
    edges: list[Edge] = []

    def add(target: str | None, path: Path, label: str, silent: bool) -> None:
        if target is not None:
            edges.append(Edge(block.id, target, path, label, silent))

    match block:
        case Play() | SetStatus() | SetVariable():
            add(block.next, ("next",), "", True)
        case Record():
            add(block.next, ("next",), "recorded", True)
        case Menu() | Listen():
            for key, target in block.keys.items():
                add(target, ("keys", key), f"key {key}", False)
            for name, intent in block.intents.items():
                add(intent.next, ("intents", name, "next"), f"{name}: {_keywords(intent.keywords)}",
                    False)
            if block.no_input is not None:
                add(block.no_input.next, ("no_input", "next"),
                    f"no input{_retries(block.no_input.retries)}", True)
            if block.no_match is not None:
                what = "invalid key" if isinstance(block, Menu) else "not understood"
                add(block.no_match.next, ("no_match", "next"),
                    f"{what}{_retries(block.no_match.retries)}", False)
        case Condition():
            for index, branch in enumerate(block.branches):
                add(branch.next, ("branches", index, "next"),
                    _branch_label(branch.variable, branch.op, branch.value), True)
            add(block.else_, ("else",), "else", True)
        case Transfer():
            add(block.no_agent, ("no_agent",), "no agent free", True)
        case Hangup():
            pass
    return edges


def _text_at(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) else None


def raw_edges(block_id: str, data: Mapping[str, Any]) -> list[Edge]:
    """Best-effort ways out of a block whose fields are malformed.

    Lets reachability still be checked around a block with a typing mistake, so that one
    mistake does not hide the others.
    """
    found: list[tuple[str | None, Path]] = [
        (_text_at(data, "next"), ("next",)),
        (_text_at(data, "else"), ("else",)),
        (_text_at(data, "no_agent"), ("no_agent",)),
    ]
    keys = data.get("keys")
    if isinstance(keys, Mapping):
        found += [(v if isinstance(v, str) else None, ("keys", str(k))) for k, v in keys.items()]
    for group in ("intents",):
        items = data.get(group)
        if isinstance(items, Mapping):
            found += [
                (_text_at(v, "next"), (group, str(k), "next"))
                for k, v in items.items()
                if isinstance(v, Mapping)
            ]
    for handler in ("no_input", "no_match"):
        value = data.get(handler)
        if isinstance(value, Mapping):
            found.append((_text_at(value, "next"), (handler, "next")))
    branches = data.get("branches")
    if isinstance(branches, list):
        found += [
            (_text_at(b, "next"), ("branches", i, "next"))
            for i, b in enumerate(branches)
            if isinstance(b, Mapping)
        ]
    return [Edge(block_id, t, p, "", False) for t, p in found if t is not None]
