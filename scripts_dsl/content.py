"""Checks of what blocks say: variables, phone keys, keywords and the speech vocabulary."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scripts_dsl.checks import PHONE_KEYS, Context, Unit, suggest
from scripts_dsl.model import (
    Block,
    Condition,
    Hangup,
    Listen,
    Menu,
    Play,
    Record,
    SetVariable,
    Transfer,
)
from scripts_dsl.problems import Problem
from scripts_dsl.source import Path
from scripts_dsl.speech import Vocabulary, tokens
from scripts_dsl.status import CustomerStatus
from scripts_dsl.templates import VariableRef, parse_template, parse_variable

__all__ = ["content_checks", "texts_of", "assigned_vars"]


def texts_of(block: Block) -> list[tuple[Path, str]]:
    """Every text of a block that may contain variables, with its field path."""
    found: list[tuple[Path, str | None]] = []
    match block:
        case Play():
            found.append((("text",), block.text))
        case Menu() | Listen():
            found.append((("prompt",), block.prompt))
            for name in ("no_input", "no_match"):
                handler = getattr(block, name)
                if handler is not None:
                    found.append(((name, "prompt"), handler.prompt))
        case SetVariable():
            found.append((("value",), block.value))
        case Transfer() | Record() | Hangup():
            found.append((("prompt",), block.prompt))
    return [(path, text) for path, text in found if text is not None]


def assigned_vars(block: Block) -> list[tuple[Path, str]]:
    if isinstance(block, SetVariable):
        return [(("name",), block.name)]
    if isinstance(block, (Menu, Listen, Record)) and block.save_as is not None:
        return [(("save_as",), block.save_as)]
    return []


class _Names:
    def __init__(self, ctx: Context) -> None:
        header = ctx.header
        self.customer = set(header.variables.customer) if header is not None else set()
        self.vars = set(header.variables.vars) if header is not None else set()
        for unit in ctx.units:
            if unit.block is not None:
                self.vars.update(name for _, name in assigned_vars(unit.block))

    def unknown(self, ref: VariableRef) -> str | None:
        if ref.namespace == "customer":
            if ref.name in self.customer:
                return None
            return (f"{{customer.{ref.name}}} is not a declared customer field"
                    f"{suggest(ref.name, self.customer)}: add '{ref.name}' under "
                    "variables.customer (the customer list must then provide it)")
        if ref.name in self.vars:
            return None
        return (f"{{vars.{ref.name}}} is never set{suggest(ref.name, self.vars)}: declare "
                f"'{ref.name}' under variables.vars, or set it with a set_variable block or "
                "'save_as'")


def _check_variables(ctx: Context, unit: Unit, block: Block, names: _Names) -> Iterator[Problem]:
    for path, text in texts_of(block):
        template = parse_template(text)
        for error in template.errors:
            yield ctx.problem(unit, path, "bad_template", error)
        for ref in dict.fromkeys(template.references):
            message = names.unknown(ref)
            if message is not None:
                yield ctx.problem(unit, path, "unknown_variable", message)
    if isinstance(block, Condition):
        for index, branch in enumerate(block.branches):
            yield from _check_branch(ctx, unit, index, branch.variable, branch.value, names)


def _check_branch(ctx: Context, unit: Unit, index: int, variable: str,
                  value: str | list[str] | None, names: _Names) -> Iterator[Problem]:
    path: Path = ("branches", index, "variable")
    if variable.strip() == "status":
        values = value if isinstance(value, list) else [value] if value is not None else []
        for item in values:
            try:
                CustomerStatus.parse(item)
            except ValueError as exc:
                yield ctx.problem(unit, ("branches", index, "value"), "unknown_status", str(exc))
        return
    ref = parse_variable(variable)
    if ref is None:
        yield ctx.problem(unit, path, "unknown_variable",
                          f"'{variable}' is not a variable: write customer.<field>, "
                          "vars.<name> or status")
        return
    message = names.unknown(ref)
    if message is not None:
        yield ctx.problem(unit, path, "unknown_variable", message)


def _check_keys(ctx: Context, unit: Unit, block: Menu | Listen, raw: Any) -> Iterator[Problem]:
    for key in block.keys:
        if len(key) != 1 or key not in PHONE_KEYS:
            yield ctx.problem(unit, ("keys", key), "invalid_key",
                              f"'{key}' is not a phone key: use one key of 0-9, * or # "
                              "(quote * and # in YAML: \"#\")")
    raw_keys = raw.get("keys") if isinstance(raw, dict) else None
    if isinstance(raw_keys, dict):
        seen: dict[str, Any] = {}
        for key in raw_keys:
            text = str(key)
            if text in seen:
                yield ctx.problem(unit, ("keys", text), "duplicate_key",
                                  f"key {text} is listed twice in this menu (as {seen[text]!r} "
                                  f"and {key!r}): keep one entry per key")
            seen.setdefault(text, key)


def _check_keywords(ctx: Context, unit: Unit, block: Menu | Listen,
                    vocabulary: Vocabulary | None) -> Iterator[Problem]:
    owner: dict[tuple[str, ...], str] = {}
    for name, intent in block.intents.items():
        for number, keyword in enumerate(intent.keywords):
            path: Path = ("intents", name, "keywords", number)
            words = tokens(keyword)
            if not words:
                yield ctx.problem(unit, path, "schema",
                                  f"keyword {keyword!r} has no words: remove it or write a word")
                continue
            other = owner.setdefault(words, name)
            if other != name:
                yield ctx.problem(unit, path, "duplicate_keyword",
                                  f"“{keyword}” is a keyword of both '{other}' and '{name}', so "
                                  "the answer would be ambiguous: keep it in one intent only")
            if vocabulary is not None:
                missing = vocabulary.unknown_words(keyword)
                if missing:
                    listed = ", ".join(f"“{w}”" for w in missing)
                    yield ctx.problem(unit, path, "keyword_not_in_vocabulary",
                                      f"the speech model cannot recognize {listed} (keyword "
                                      f"“{keyword}” of '{name}'): choose another keyword, or use "
                                      "a model whose vocabulary has it")


def content_checks(ctx: Context, raws: dict[int, Any],
                   vocabulary: Vocabulary | None) -> list[Problem]:
    """Variables, phone keys, keywords and vocabulary of every well-formed block."""
    names = _Names(ctx)
    problems: list[Problem] = []
    for unit in ctx.units:
        block = unit.block
        if block is None:
            continue
        problems += _check_variables(ctx, unit, block, names)
        if isinstance(block, (Menu, Listen)):
            problems += _check_keys(ctx, unit, block, raws.get(unit.index))
            problems += _check_keywords(ctx, unit, block, vocabulary)
    return problems
