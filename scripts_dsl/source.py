"""Reading script files while remembering where every field was written.

YAML is parsed with a SafeLoader variant into a node tree (``yaml.compose``); we walk the
nodes ourselves so that each value gets its path (``("blocks", 2, "keys", "1")``) and the line
it starts on, and so that a key written twice in one mapping is reported instead of silently
overwritten. Unlike plain YAML 1.1, ``yes``/``no``/``on``/``off`` stay strings (a menu intent
called ``yes`` must not turn into ``True``); only ``true``/``false`` are booleans.

JSON: the document is decoded with :mod:`json` (which is the authority on what it means, and
reports duplicate keys through ``object_pairs_hook``). JSON cannot tell us line numbers, so the
same text is also composed with the YAML loader above (JSON is, in practice, YAML); when both
readings agree we use the YAML line numbers, otherwise the problems carry no line. Either way
the data comes from :mod:`json`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from scripts_dsl.problems import Problem

__all__ = ["Path", "SourceMap", "LoadedSource", "Duplicate", "load_text", "detect_format"]

Path = tuple[str | int, ...]
Format = Literal["yaml", "json"]


@dataclass(frozen=True)
class SourceMap:
    """Line numbers (1-based) of values in the source text, by path."""

    lines: Mapping[Path, int] = field(default_factory=dict)

    def line(self, path: Path) -> int | None:
        """The line of ``path``, or of its closest ancestor that has one."""
        probe = tuple(path)
        while True:
            found = self.lines.get(probe)
            if found is not None:
                return found
            if not probe:
                return None
            probe = probe[:-1]


@dataclass(frozen=True)
class Duplicate:
    """A key written twice in one mapping; the first value is the one kept."""

    path: Path
    first_line: int | None
    again_line: int | None


@dataclass(frozen=True)
class LoadedSource:
    """The decoded document, where its parts were written, and what could not be read."""

    data: Any
    source_map: SourceMap
    duplicates: tuple[Duplicate, ...] = ()
    syntax_error: Problem | None = None


class _ScriptLoader(yaml.SafeLoader):
    """SafeLoader whose only booleans are true/false (YAML 1.2 core schema style)."""


_ScriptLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_ScriptLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def detect_format(text: str, name: str = "") -> Format:
    """JSON when the file name says so or the text starts with ``{``; YAML otherwise."""
    if name.lower().endswith(".json"):
        return "json"
    if name.lower().endswith((".yaml", ".yml")):
        return "yaml"
    return "json" if text.lstrip().startswith("{") else "yaml"


class _Walker:
    """Turns a composed YAML node tree into plain data plus a line map."""

    def __init__(self, loader: _ScriptLoader) -> None:
        self.loader = loader
        self.lines: dict[Path, int] = {}
        self.duplicates: list[tuple[Path, int, int]] = []

    def value(self, node: yaml.Node, path: Path) -> Any:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            self.loader.flatten_mapping(node)
            result: dict[Any, Any] = {}
            first_line: dict[Any, int] = {}
            for key_node, value_node in node.value:
                key = self.key(key_node)
                key_line = key_node.start_mark.line + 1
                if key in result:
                    self.duplicates.append((path + (key,), first_line[key], key_line))
                    continue
                first_line[key] = key_line
                self.lines[path + (key,)] = key_line
                if not isinstance(key, str):
                    self.lines.setdefault(path + (str(key),), key_line)
                result[key] = self.value(value_node, path + (key,))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.value(item, path + (index,)) for index, item in enumerate(node.value)]
        return self.loader.construct_object(node, deep=True)

    def key(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            key = self.loader.construct_object(node)
            return key if isinstance(key, (str, int, float, bool)) or key is None else str(key)
        shape = "list" if isinstance(node, yaml.SequenceNode) else "mapping"
        return f"<{shape} key at line {node.start_mark.line + 1}>"


def _compose_yaml(text: str) -> tuple[Any, dict[Path, int], list[tuple[Path, int, int]]]:
    loader = _ScriptLoader(text)
    try:
        root = loader.get_single_node()
        walker = _Walker(loader)
        data = None if root is None else walker.value(root, ())
        return data, walker.lines, walker.duplicates
    finally:
        loader.dispose()


def _load_yaml(text: str) -> LoadedSource:
    try:
        data, lines, dups = _compose_yaml(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = exc.problem or "unreadable YAML"
        if exc.context and exc.context_mark is not None:
            what = f"{what} {exc.context} that starts on line {exc.context_mark.line + 1}"
        message = f"the file is not valid YAML ({what}): fix the text near this line"
        return LoadedSource(None, SourceMap(), (), Problem(None, None, line, "syntax", message))
    except yaml.YAMLError as exc:
        message = f"the file is not valid YAML ({exc}): fix the text"
        return LoadedSource(None, SourceMap(), (), Problem(None, None, None, "syntax", message))
    return LoadedSource(data, SourceMap(lines), tuple(Duplicate(*d) for d in dups))


def _load_json(text: str) -> LoadedSource:
    duplicates: list[Duplicate] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                duplicates.append(Duplicate((key,), None, None))
            else:
                result[key] = value
        return result

    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        message = f"the file is not valid JSON ({exc.msg}, column {exc.colno}): fix the text"
        return LoadedSource(None, SourceMap(), (), Problem(None, None, exc.lineno, "syntax", message))
    try:
        same, lines, dups = _compose_yaml(text)
    except yaml.YAMLError:
        same, lines, dups = None, {}, []
    if same != data:
        # Without positions, json only tells us the duplicated key's name.
        return LoadedSource(data, SourceMap(), tuple(duplicates))
    return LoadedSource(data, SourceMap(lines), tuple(Duplicate(*d) for d in dups))


def load_text(text: str, fmt: Format | None = None, name: str = "") -> LoadedSource:
    """Decode a script document; reading problems are returned, never raised."""
    chosen = fmt or detect_format(text, name)
    return _load_json(text) if chosen == "json" else _load_yaml(text)
