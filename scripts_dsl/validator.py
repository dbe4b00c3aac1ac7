"""Validate a script before any call uses it, reporting every problem at once.

Entry points: :func:`validate_text`, :func:`validate_file`, :func:`validate_data` (for JSON
already decoded by the API) and :func:`validate_script`. Each returns a
:class:`ValidationReport`; a script with no problems gets a stable version id, the SHA-256 of
its canonical JSON (defaults filled in, keys sorted), so formatting, comments and YAML-vs-JSON
do not change it.

Checks that need the whole graph (reachability, loops, statuses) still run when some blocks
are malformed: those blocks take part through the targets that could be read from them.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from scripts_dsl.checks import Context, Unit, graph_checks
from scripts_dsl.content import content_checks
from scripts_dsl.edges import block_edges, field_name, raw_edges
from scripts_dsl.errors import ScriptInvalid, VocabularyUnavailable
from scripts_dsl.model import BLOCK_TYPES, Block, Script, ScriptHeader
from scripts_dsl.problems import Problem, sort_problems
from scripts_dsl.source import Duplicate, Format, Path, SourceMap, load_text
from scripts_dsl.speech import Vocabulary
from scripts_dsl.status import CustomerStatus

__all__ = [
    "ValidationReport",
    "validate_text",
    "validate_file",
    "validate_data",
    "validate_script",
    "version_id",
]

_BLOCK = TypeAdapter(Block)
_TYPES = ", ".join(BLOCK_TYPES)


@dataclass(frozen=True)
class ValidationReport:
    """Outcome of validation. ``script`` is set when the file has the right shape;
    ``version`` only when there are no problems at all."""

    problems: tuple[Problem, ...]
    script: Script | None
    version: str | None

    @property
    def ok(self) -> bool:
        return not self.problems

    def valid_script(self) -> Script:
        """The script, or :class:`ScriptInvalid` listing every problem."""
        if self.problems or self.script is None:
            raise ScriptInvalid(self.problems)
        return self.script


def version_id(script: Script) -> str:
    """SHA-256 (hex) of the script's canonical JSON."""
    canonical = json.dumps(script.model_dump(mode="json", by_alias=True), sort_keys=True,
                           ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _model_fields(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _block_model(kind: str) -> type[BaseModel] | None:
    for option in Block.__origin__.__args__:  # type: ignore[attr-defined]
        if option.model_fields["type"].annotation.__args__[0] == kind:
            return option  # type: ignore[no-any-return]
    return None


_KIND_TEXT = {
    "float_parsing": "must be a number", "float_type": "must be a number",
    "int_parsing": "must be a whole number", "int_type": "must be a whole number",
    "int_from_float": "must be a whole number", "bool_parsing": "must be true or false",
    "bool_type": "must be true or false", "string_type": "must be a text",
    "dict_type": "must be a mapping (name: value)", "list_type": "must be a list",
    "model_type": "must be a mapping of fields", "model_attributes_type": "must be a mapping of fields",
    "literal_error": "is not one of the accepted values",
}


def _schema_message(error: Mapping[str, Any], loc: list[Any], model: type[BaseModel] | None) -> str:
    kind = error["type"]
    name = str(loc[-1]) if loc else "type"
    got = repr(error.get("input"))
    got = got if len(got) <= 40 else got[:37] + "..."
    if kind == "missing":
        return f"add the required field '{name}'"
    if kind == "extra_forbidden":
        hint = ""
        if model is not None and len(loc) == 1:
            close = difflib.get_close_matches(name, _model_fields(model), n=1)
            hint = (f" (did you mean '{close[0]}'?)" if close
                    else f" (known fields: {', '.join(_model_fields(model))})")
        return f"'{name}' is not a known field here{hint}: remove it or fix its spelling"
    if kind == "union_tag_invalid":
        return f"'{error['input'].get('type')}' is not a block type: use one of {_TYPES}"
    if kind == "union_tag_not_found":
        return f"add 'type' (one of {_TYPES})"
    if kind == "string_pattern_mismatch":
        if name == "id":
            return f"{got} is not a usable block id: use letters, digits, '_', '-' and '.'"
        if name == "address":
            return f"{got} is not a SIP address: write it as sip:agent@example.com"
        return (f"{got} is not a usable variable name: start with a letter or '_' and use only "
                "letters, digits and '_'")
    if kind == "too_short":
        least = (error.get("ctx") or {}).get("min_length", 1)
        return f"add at least {least} entr{'y' if least == 1 else 'ies'} to '{name}'"
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind == "value_error":
        return message
    if kind in _KIND_TEXT:
        return f"'{name}' {_KIND_TEXT[kind]} (got {got}): change this value"
    if message.startswith("Input should"):
        message = f"'{name}' should" + message.removeprefix("Input should")
    return f"{message} (got {got}): change this value"


def _schema_problems(exc: ValidationError, base: Path, block_id: str | None,
                     model: type[BaseModel] | None, source_map: SourceMap) -> list[Problem]:
    problems = []
    for error in exc.errors():
        loc = list(error["loc"])
        if block_id is not None and loc and loc[0] in BLOCK_TYPES:
            loc = loc[1:]  # drop the union tag pydantic puts first
        if error["type"].startswith("union_tag"):
            loc = ["type"]
        path: Path = tuple(loc)
        full = base + path
        line = source_map.line(full)
        field = field_name(path if block_id is not None else full) or None
        message = _schema_message(error, loc, model)
        problems.append(Problem(block_id, field, line, "schema", message))
    return problems


def _recover(raw: dict[str, Any], exc: ValidationError,
             model: type[BaseModel] | None) -> Block | None:
    """The block without its malformed optional fields, so other checks can still see it."""
    if model is None:
        return None
    names = {(f.alias or n): f for n, f in model.model_fields.items()}
    bad = set()
    for error in exc.errors():
        loc = [p for p in error["loc"] if p not in BLOCK_TYPES][:1]
        if not loc:
            return None
        field = names.get(str(loc[0]))
        if field is not None and field.is_required():
            return None
        bad.add(loc[0])
    try:
        return _BLOCK.validate_python({k: v for k, v in raw.items() if k not in bad})
    except ValidationError:
        return None


def _duplicate_problems(dups: Iterable[Duplicate], data: Any) -> list[Problem]:
    problems = []
    for dup in dups:
        block_id, path = None, dup.path
        blocks = data.get("blocks") if isinstance(data, dict) else None
        if len(path) >= 3 and path[0] == "blocks" and isinstance(blocks, list):
            raw = blocks[path[1]] if isinstance(path[1], int) and path[1] < len(blocks) else {}
            if isinstance(raw, dict) and isinstance(raw.get("id"), str):
                block_id, path = raw["id"], path[2:]
        key = str(path[-1])
        path = (*path[:-1], key)
        where = ""
        if dup.first_line and dup.first_line != dup.again_line:
            where = f" (lines {dup.first_line} and {dup.again_line})"
        elif dup.first_line:
            where = f" (both on line {dup.first_line})"
        if len(path) == 2 and path[0] == "keys":
            message = (f"key {key} is listed twice in this menu{where}: keep one entry per key; "
                       "only the first one would count")
        else:
            message = f"'{key}' is written twice in the same place{where}: keep only one"
        problems.append(Problem(block_id, field_name(path), dup.again_line, "duplicate_key",
                                message))
    return problems


def _load_vocabulary(vocabulary: Iterable[str] | Vocabulary | None,
                     speech_model: str | FsPath | None) -> tuple[Vocabulary | None, list[Problem]]:
    if isinstance(vocabulary, Vocabulary):
        return vocabulary, []
    if vocabulary is not None:
        return Vocabulary.from_words(vocabulary), []
    if speech_model is None:
        return None, []
    try:
        return Vocabulary.from_model_dir(speech_model), []
    except VocabularyUnavailable as exc:
        return None, [Problem(None, None, None, "speech_model_unreadable", str(exc))]


def validate_data(data: Any, source_map: SourceMap | None = None, duplicates: Iterable[Duplicate] = (),
                  *, start_statuses: Iterable[CustomerStatus] | None = None,
                  vocabulary: Iterable[str] | Vocabulary | None = None,
                  speech_model: str | FsPath | None = None) -> ValidationReport:
    """Validate a decoded script document (dicts and lists, as from JSON or YAML)."""
    smap = source_map or SourceMap()
    problems = _duplicate_problems(duplicates, data)
    vocab, vocab_problems = _load_vocabulary(vocabulary, speech_model)
    problems += vocab_problems
    if not isinstance(data, dict):
        problems.append(Problem(None, None, smap.line(()), "schema",
                                "a script is a mapping with 'name' and 'blocks': start from an "
                                "example in examples/"))
        return ValidationReport(sort_problems(problems), None, None)
    header_data = {k: v for k, v in data.items() if k != "blocks"}
    header: ScriptHeader | None = None
    try:
        header = ScriptHeader.model_validate(header_data)
    except ValidationError as exc:
        problems += _schema_problems(exc, (), None, ScriptHeader, smap)
    raw_blocks = data.get("blocks")
    units: list[Unit] = []
    raws: dict[int, Any] = {}
    if not isinstance(raw_blocks, list) or not raw_blocks:
        problems.append(Problem(None, "blocks", smap.line(("blocks",)), "schema",
                                "add 'blocks': a list with at least one block"))
        raw_blocks = []
    first_line: dict[str, int | None] = {}
    all_shaped = True
    for index, raw in enumerate(raw_blocks):
        base: Path = ("blocks", index)
        raws[index] = raw
        if not isinstance(raw, dict):
            problems.append(Problem(None, field_name(base), smap.line(base), "schema",
                                    "each block is a mapping with 'id' and 'type'"))
            continue
        raw_id = raw.get("id")
        block_id = raw_id if isinstance(raw_id, str) and raw_id else None
        raw_kind = raw.get("type")
        kind = raw_kind if isinstance(raw_kind, str) else ""
        block: Block | None = None
        shaped = True
        try:
            block = _BLOCK.validate_python(raw)
        except ValidationError as exc:
            shaped = False
            model = _block_model(kind)
            problems += _schema_problems(exc, base, block_id or f"#{index + 1}", model, smap)
            block = _recover(raw, exc, model)
        if block_id is None:
            continue
        if block_id in first_line:
            problems.append(Problem(block_id, "id", smap.line(base + ("id",)), "duplicate_block_id",
                                    f"another block (line {first_line[block_id]}) already has id "
                                    f"'{block_id}': give each block its own id"))
            continue
        first_line[block_id] = smap.line(base + ("id",))
        edges = block_edges(block) if block is not None else raw_edges(block_id, raw)
        units.append(Unit(index, block_id, kind, block, edges))
        all_shaped = all_shaped and shaped
    statuses = frozenset(start_statuses or {CustomerStatus.REGISTERED})
    ctx = Context(units, header, smap, statuses)
    problems += graph_checks(ctx)
    problems += content_checks(ctx, raws, vocab)
    script: Script | None = None
    if header is not None and units and all_shaped and len(units) == len(raw_blocks):
        try:
            script = Script.model_validate(data)
        except ValidationError as exc:
            problems += _schema_problems(exc, (), None, Script, smap)
    ordered = sort_problems(problems)
    version = version_id(script) if script is not None and not ordered else None
    return ValidationReport(ordered, script, version)


def validate_text(text: str, *, name: str = "", fmt: Format | None = None,
                  start_statuses: Iterable[CustomerStatus] | None = None,
                  vocabulary: Iterable[str] | Vocabulary | None = None,
                  speech_model: str | FsPath | None = None) -> ValidationReport:
    """Validate the text of a YAML or JSON script (format from ``fmt``, ``name`` or content)."""
    loaded = load_text(text, fmt, name)
    if loaded.syntax_error is not None:
        return ValidationReport((loaded.syntax_error,), None, None)
    return validate_data(loaded.data, loaded.source_map, loaded.duplicates,
                         start_statuses=start_statuses, vocabulary=vocabulary,
                         speech_model=speech_model)


def validate_file(path: str | FsPath, **options: Any) -> ValidationReport:
    """Validate a script file; an unreadable file is reported as a problem."""
    file = FsPath(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return ValidationReport(
            (Problem(None, None, None, "syntax",
                     f"cannot read {file.name} ({reason}): check the path and that the file is "
                     "UTF-8 text"),), None, None)
    return validate_text(text, name=file.name, **options)


def validate_script(script: Script, **options: Any) -> ValidationReport:
    """Validate a script built in code (problems then carry no line numbers)."""
    return validate_data(script.model_dump(mode="json", by_alias=True), **options)
