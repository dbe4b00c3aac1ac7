"""Compile a valid script into an immutable state machine.

Every block becomes one or two states (a menu has ``<id>/prompt`` and ``<id>/wait``; a play
block is one state) and every way out becomes a transition ``(source, trigger, dest)``; the
table is what a :class:`scripts_dsl.run.ScriptRun` loads into a `transitions` machine. Nodes
hold exactly what the runtime needs (keywords already normalized). :meth:`to_dict` exports it
all as plain data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path as FsPath
from types import MappingProxyType
from typing import Any

from scripts_dsl import model as m
from scripts_dsl.edges import block_edges
from scripts_dsl.speech import normalize
from scripts_dsl.status import CustomerStatus
from scripts_dsl.validator import ValidationReport, validate_file, validate_script, validate_text

__all__ = [
    "CompiledScript", "Transition", "Prompt", "Retry", "IntentRoute", "BranchRoute", "Node",
    "PlayNode", "AskNode", "StatusNode", "VariableNode", "ConditionNode", "TransferNode",
    "RecordNode", "HangupNode", "IDLE", "ENDED", "compile_script", "compile_text",
    "compile_file", "compile_report",
]

IDLE = "(idle)"
ENDED = "(ended)"


@dataclass(frozen=True)
class Prompt:
    text: str | None
    audio: str | None


@dataclass(frozen=True)
class Retry:
    retries: int
    prompt: Prompt | None
    next: str


@dataclass(frozen=True)
class IntentRoute:
    name: str
    keywords: tuple[str, ...]
    next: str


@dataclass(frozen=True)
class BranchRoute:
    variable: str
    op: str
    value: str | tuple[str, ...] | None
    next: str
    label: str


@dataclass(frozen=True)
class Node:
    id: str


@dataclass(frozen=True)
class PlayNode(Node):
    prompt: Prompt
    barge_in: bool
    next: str


@dataclass(frozen=True)
class AskNode(Node):
    """A menu or listen block."""

    kind: str
    prompt: Prompt
    keys: tuple[tuple[str, str], ...]
    intents: tuple[IntentRoute, ...]
    timeout: float
    barge_in: bool
    no_input: Retry
    no_match: Retry
    save_as: str | None


@dataclass(frozen=True)
class StatusNode(Node):
    status: CustomerStatus
    next: str


@dataclass(frozen=True)
class VariableNode(Node):
    name: str
    value: str
    next: str


@dataclass(frozen=True)
class ConditionNode(Node):
    branches: tuple[BranchRoute, ...]
    otherwise: str


@dataclass(frozen=True)
class TransferNode(Node):
    queue: str | None
    address: str | None
    prompt: Prompt | None
    timeout: float
    no_agent: str | None


@dataclass(frozen=True)
class RecordNode(Node):
    prompt: Prompt | None
    max_length: float
    beep: bool
    save_as: str | None
    next: str


@dataclass(frozen=True)
class HangupNode(Node):
    prompt: Prompt | None


@dataclass(frozen=True)
class Transition:
    """``trigger`` moves the machine from ``source`` to ``dest``; ``label`` says why, for
    people (``key 1``, ``yes: “có”``, ``no input ×3``)."""

    source: str
    trigger: str
    dest: str
    label: str


def _prompt(text: str | None, audio: str | None) -> Prompt | None:
    return None if text is None and audio is None else Prompt(text, audio)


def _retry(handler: m.Handler | None) -> Retry:
    assert handler is not None and handler.next is not None, "validated scripts have handlers"
    return Retry(handler.retries, _prompt(handler.prompt, None), handler.next)


def _node(block: m.Block) -> Node:
    match block:
        case m.Play():
            return PlayNode(block.id, Prompt(block.text, block.audio), block.barge_in,
                            _need(block.next))
        case m.Menu() | m.Listen():
            intents = tuple(
                IntentRoute(name, tuple(dict.fromkeys(normalize(k) for k in i.keywords)),
                            _need(i.next))
                for name, i in block.intents.items()
            )
            return AskNode(block.id, block.type, Prompt(block.prompt, block.audio),
                           tuple(block.keys.items()), intents, block.timeout, block.barge_in,
                           _retry(block.no_input), _retry(block.no_match), block.save_as)
        case m.SetStatus():
            return StatusNode(block.id, block.status, _need(block.next))
        case m.SetVariable():
            return VariableNode(block.id, block.name, block.value, _need(block.next))
        case m.Condition():
            labels = [e.label for e in block_edges(block)]
            branches = tuple(
                BranchRoute(b.variable.strip(), b.op,
                            tuple(b.value) if isinstance(b.value, list) else b.value,
                            _need(b.next), labels[i])
                for i, b in enumerate(block.branches)
            )
            return ConditionNode(block.id, branches, _need(block.else_))
        case m.Transfer():
            return TransferNode(block.id, block.queue, block.address, _prompt(block.prompt, None),
                                block.timeout, block.no_agent)
        case m.Record():
            return RecordNode(block.id, _prompt(block.prompt, block.audio), block.max_length,
                              block.beep, block.save_as, _need(block.next))
        case m.Hangup():
            return HangupNode(block.id, _prompt(block.prompt, block.audio))
    raise AssertionError(f"unknown block {block!r}")


def _need(target: str | None) -> str:
    assert target is not None, "validated scripts have every way out"
    return target


def entry_state(node: Node) -> str:
    """The state a node starts in."""
    if isinstance(node, AskNode):
        return f"{node.id}/prompt"
    if isinstance(node, (TransferNode, RecordNode)):
        return f"{node.id}/prompt" if node.prompt is not None else f"{node.id}/{_waiting(node)}"
    return node.id


def _waiting(node: Node) -> str:
    return "recording" if isinstance(node, RecordNode) else "wait"


def _states_and_moves(nodes: Mapping[str, Node]) -> tuple[list[str], list[Transition]]:
    states, moves = [IDLE], []

    def to(target: str) -> str:
        return entry_state(nodes[target])

    for node in nodes.values():
        match node:
            case PlayNode():
                states.append(node.id)
                moves.append(Transition(node.id, "prompt_finished", to(node.next), ""))
                if node.barge_in:
                    moves.append(Transition(node.id, "barge_in", to(node.next), "interrupted"))
            case AskNode():
                prompt, wait = f"{node.id}/prompt", f"{node.id}/wait"
                states += [prompt, wait]
                answer_from = [prompt, wait] if node.barge_in else [wait]
                moves.append(Transition(prompt, "prompt_finished", wait, ""))
                for source in answer_from:
                    moves += [Transition(source, f"key:{k}", to(t), f"key {k}") for k, t in node.keys]
                    moves += [Transition(source, f"intent:{i.name}", to(i.next), f"intent {i.name}")
                              for i in node.intents]
                    moves.append(Transition(source, "no_match:retry", prompt, "no match, again"))
                    moves.append(Transition(source, "no_match", to(node.no_match.next), "no match"))
                for source in (prompt, wait):
                    moves.append(Transition(source, "no_input:retry", prompt, "no input, again"))
                    moves.append(Transition(source, "no_input", to(node.no_input.next), "no input"))
            case StatusNode() | VariableNode():
                states.append(node.id)
                moves.append(Transition(node.id, "next", to(node.next), ""))
            case ConditionNode():
                states.append(node.id)
                moves += [Transition(node.id, f"branch:{i}", to(b.next), b.label)
                          for i, b in enumerate(node.branches)]
                moves.append(Transition(node.id, "else", to(node.otherwise), "else"))
            case TransferNode() | RecordNode():
                wait = f"{node.id}/{_waiting(node)}"
                if node.prompt is not None:
                    states.append(f"{node.id}/prompt")
                    moves.append(Transition(f"{node.id}/prompt", "prompt_finished", wait, ""))
                states.append(wait)
                if isinstance(node, TransferNode):
                    moves.append(Transition(wait, "transfer_ok", ENDED, "transferred"))
                    failed = to(node.no_agent) if node.no_agent is not None else ENDED
                    moves.append(Transition(wait, "transfer_failed", failed, "no agent free"))
                else:
                    moves.append(Transition(wait, "recorded", to(node.next), "recorded"))
                    moves.append(Transition(wait, "no_input", to(node.next), "nothing recorded"))
            case HangupNode():
                states.append(node.id)
    finals = {n.id for n in nodes.values() if isinstance(n, HangupNode)}
    moves += [Transition(state, "caller_hangup", ENDED, "caller hung up")
              for state in states if state != IDLE and state not in finals]
    states.append(ENDED)
    return states, moves


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        out = {"node": type(value).__name__} if isinstance(value, Node) else {}
        out.update({f.name: _plain(getattr(value, f.name)) for f in fields(value)})
        return out
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, CustomerStatus):
        return value.value
    return value


@dataclass(frozen=True, eq=False)
class CompiledScript:
    """A validated script as an immutable state machine."""

    name: str
    version: str
    language: str
    voice: str | None
    start: str
    customer_fields: Mapping[str, str | None]
    variables: Mapping[str, str]
    nodes: Mapping[str, Node]
    states: tuple[str, ...]
    transitions: tuple[Transition, ...]

    @property
    def initial_state(self) -> str:
        return IDLE

    _index: Mapping[tuple[str, str], Transition] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        index = MappingProxyType({(t.source, t.trigger): t for t in self.transitions})
        object.__setattr__(self, "_index", index)

    def move(self, source: str, trigger: str) -> Transition:
        """The transition ``trigger`` takes from ``source`` (KeyError if there is none)."""
        return self._index[(source, trigger)]

    def node_of(self, state: str) -> Node | None:
        """The node a state belongs to (None for the idle and ended states)."""
        return self.nodes.get(state.split("/", 1)[0])

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain dicts, lists, strings and numbers (JSON-ready)."""
        return {
            "name": self.name,
            "version": self.version,
            "language": self.language,
            "voice": self.voice,
            "start": self.start,
            "initial_state": IDLE,
            "customer_fields": dict(self.customer_fields),
            "variables": dict(self.variables),
            "nodes": {k: _plain(v) for k, v in self.nodes.items()},
            "states": list(self.states),
            "transitions": [_plain(t) for t in self.transitions],
        }


def compile_report(report: ValidationReport) -> CompiledScript:
    """Compile the script of a validation report (:class:`ScriptInvalid` if it has problems)."""
    script = report.valid_script()
    assert report.version is not None
    nodes = {block.id: _node(block) for block in script.blocks}
    states, moves = _states_and_moves(nodes)
    moves.insert(0, Transition(IDLE, "start", entry_state(nodes[script.start_id]), "start"))
    return CompiledScript(
        name=script.name,
        version=report.version,
        language=script.language,
        voice=script.voice,
        start=script.start_id,
        customer_fields=MappingProxyType(dict(script.variables.customer)),
        variables=MappingProxyType(dict(script.variables.vars)),
        nodes=MappingProxyType(nodes),
        states=tuple(states),
        transitions=tuple(moves),
    )


def compile_script(script: m.Script, **validation: Any) -> CompiledScript:
    """Validate and compile a script built in code."""
    return compile_report(validate_script(script, **validation))


def compile_text(text: str, **validation: Any) -> CompiledScript:
    """Validate and compile YAML/JSON text (see :func:`validate_text` for options)."""
    return compile_report(validate_text(text, **validation))


def compile_file(path: str | FsPath, **validation: Any) -> CompiledScript:
    """Validate and compile a script file."""
    return compile_report(validate_file(path, **validation))
