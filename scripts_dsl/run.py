"""Run a compiled script for one call: events in, actions out, no I/O.

``ScriptRun`` loads the compiled transition table into a `transitions` machine (so only
compiled moves can happen), decides which trigger an event means, fires it, and returns the
actions of the blocks it enters. Blocks that need no caller (set_status, set_variable,
condition) run straight through. Every move is logged with the call id and the reason.
"""

from __future__ import annotations

import itertools
import logging
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from transitions import Machine, MachineError

from scripts_dsl import actions as act
from scripts_dsl.compiler import (
    ENDED,
    IDLE,
    AskNode,
    CompiledScript,
    ConditionNode,
    HangupNode,
    Node,
    PlayNode,
    Prompt,
    RecordNode,
    StatusNode,
    TransferNode,
    VariableNode,
)
from scripts_dsl.errors import CustomerDataMissing, ScriptRunError, StatusChangeRefused
from scripts_dsl.events import (
    CallerHangup,
    Digit,
    Event,
    NoInput,
    NoMatch,
    PromptFinished,
    RecordFinished,
    Speech,
    TransferResult,
)
from scripts_dsl.speech import match_intent
from scripts_dsl.status import CustomerStatus, check_move
from scripts_dsl.templates import parse_variable, render

__all__ = ["ScriptRun"]

_log = logging.getLogger("scripts_dsl.run")


class _Cursor:
    """The model object the `transitions` machine moves."""

    state: str


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


class ScriptRun:
    """One call's walk through a compiled script.

    ``customer`` holds the customer's fields; ``status`` is their campaign status when the
    call starts. Raises :class:`CustomerDataMissing` when a field the script requires (no
    default) is absent or empty.
    """

    def __init__(self, compiled: CompiledScript, customer: Mapping[str, Any],
                 status: CustomerStatus = CustomerStatus.REGISTERED, *, call_id: str = "") -> None:
        self.compiled = compiled
        self.call_id = call_id
        self.customer = self._customer(compiled, customer)
        self.variables: dict[str, str] = dict(compiled.variables)
        self.status = CustomerStatus(status)
        self.end_reason: str | None = None
        self._cursor = _Cursor()
        self._machine = Machine(
            model=self._cursor,
            states=list(compiled.states),
            transitions=[{"trigger": t.trigger, "source": t.source, "dest": t.dest}
                         for t in compiled.transitions],
            initial=IDLE,
            auto_transitions=False,
        )
        self._prompt_ids = itertools.count(1)
        self._prompt_id = 0
        self._failures = {"no_input": 0, "no_match": 0}
        self._source = "script"
        self._retry_prompt: Prompt | None = None

    @staticmethod
    def _customer(compiled: CompiledScript, customer: Mapping[str, Any]) -> dict[str, str]:
        values = {str(k): "" if v is None else str(v) for k, v in customer.items()}
        missing = []
        for name, default in compiled.customer_fields.items():
            if values.get(name, "").strip():
                continue
            if default is None:
                missing.append(name)
            else:
                values[name] = default
        if missing:
            raise CustomerDataMissing(missing)
        return values

    @property
    def state(self) -> str:
        return self._cursor.state

    @property
    def finished(self) -> bool:
        node = self.compiled.node_of(self.state)
        return self.state == ENDED or isinstance(node, HangupNode)

    @property
    def final_status(self) -> CustomerStatus | None:
        """The customer's status once the script is finished (None before that)."""
        return self.status if self.finished else None

    @property
    def current_block(self) -> str | None:
        node = self.compiled.node_of(self.state)
        return node.id if node is not None else None

    @property
    def waiting_for(self) -> str | None:
        """What the run waits for: prompt, answer, transfer, recording, or None."""
        if self.state == IDLE or self.finished:
            return None
        node = self.compiled.node_of(self.state)
        if isinstance(node, PlayNode) or self.state.endswith("/prompt"):
            return "prompt"
        if isinstance(node, TransferNode):
            return "transfer"
        return "recording" if isinstance(node, RecordNode) else "answer"

    def start(self) -> list[act.Action]:
        if self.state != IDLE:
            raise ScriptRunError("this script run has already started; create a new ScriptRun")
        return self._fire("start", "call answered")

    def handle(self, event: Event) -> list[act.Action]:
        """Apply one call event; returns the actions to perform, in order."""
        if self.state == IDLE:
            raise ScriptRunError("call start() before sending events")
        if self.finished:
            _log.debug("call %s: %r after the script ended, ignored", self.call_id, event)
            return []
        if isinstance(event, CallerHangup):
            self.end_reason = "caller hung up"
            return self._fire("caller_hangup", "caller hung up")
        node = self.compiled.node_of(self.state)
        decided = self._decide(node, event)
        if decided is None:
            _log.debug("call %s: %r ignored in state %s", self.call_id, event, self.state)
            return []
        return self._fire(*decided)

    # -- deciding what an event means -------------------------------------------------

    def _decide(self, node: Node | None, event: Event) -> tuple[str, str] | None:
        in_prompt = self.state.endswith("/prompt") or isinstance(node, PlayNode)
        if isinstance(event, PromptFinished):
            current = event.prompt_id in (None, self._prompt_id)
            return ("prompt_finished", "prompt finished") if in_prompt and current else None
        if isinstance(node, PlayNode):
            if isinstance(event, (Digit, Speech)) and node.barge_in:
                return "barge_in", "caller interrupted the prompt"
            return None
        if isinstance(node, AskNode):
            if in_prompt and not node.barge_in and isinstance(event, (Digit, Speech, NoMatch)):
                return None
            return self._answer(node, event)
        if isinstance(node, TransferNode) and isinstance(event, TransferResult):
            if event.ok:
                self.end_reason = "transferred"
                return "transfer_ok", "an agent took the call"
            why = f"no agent free{': ' + event.reason if event.reason else ''}"
            if node.no_agent is None:
                self.end_reason = why
            return "transfer_failed", why
        if isinstance(node, RecordNode) and not in_prompt:
            if isinstance(event, RecordFinished):
                if node.save_as is not None:
                    self.variables[node.save_as] = event.recording
                return "recorded", f"recorded {event.duration:.1f} s"
            if isinstance(event, NoInput):
                return "no_input", "nothing was recorded"
        return None

    def _answer(self, node: AskNode, event: Event) -> tuple[str, str] | None:
        if isinstance(event, Digit):
            if event.digit in dict(node.keys):
                self._answered(node, event.digit, "keypress")
                return f"key:{event.digit}", f"caller pressed {event.digit}"
            return self._failed(node, "no_match", f"key {event.digit} is not offered")
        if isinstance(event, Speech):
            names = {i.name: i.keywords for i in node.intents}
            intent = event.intent if event.intent in names else match_intent(event.text, names)
            if intent is not None:
                self._answered(node, intent, "speech")
                return f"intent:{intent}", f"caller said “{event.text}” ({intent})"
            return self._failed(node, "no_match", f"“{event.text}” matches no answer")
        if isinstance(event, NoMatch):
            return self._failed(node, "no_match", "answer not recognized")
        if isinstance(event, NoInput):
            return self._failed(node, "no_input", "no answer before the timeout")
        return None

    def _answered(self, node: AskNode, value: str, source: str) -> None:
        """Remember the answer; later status changes are credited to ``source``."""
        self._source = source
        if node.save_as is not None:
            self.variables[node.save_as] = value

    def _failed(self, node: AskNode, kind: str, why: str) -> tuple[str, str]:
        handler = node.no_input if kind == "no_input" else node.no_match
        if self._failures[kind] < handler.retries:
            self._failures[kind] += 1
            self._retry_prompt = handler.prompt or node.prompt
            return f"{kind}:retry", f"{why}; asking again ({self._failures[kind]}/{handler.retries})"
        self._source = "script"
        return kind, f"{why}; no retries left"

    # -- moving and entering blocks ---------------------------------------------------

    def _fire(self, trigger: str, why: str) -> list[act.Action]:
        out: list[act.Action] = []
        for _ in range(len(self.compiled.states) + 1):
            source = self.state
            try:
                self.compiled.move(source, trigger)
                self._cursor.trigger(trigger)  # type: ignore[attr-defined]
            except (KeyError, MachineError) as exc:
                raise ScriptRunError(f"no move {trigger!r} from {source!r}") from exc
            _log.info("call %s: %s -[%s]-> %s (%s)", self.call_id, source, trigger, self.state, why)
            before, after = self.compiled.node_of(source), self.compiled.node_of(self.state)
            inside = trigger == "prompt_finished" and before is after
            if trigger != "start" and not inside and before is not None and after is not None:
                out.append(act.Branch(before.id, after.id, why))
            if trigger != "prompt_finished" and not trigger.endswith(":retry"):
                self._failures = {"no_input": 0, "no_match": 0}
                self._retry_prompt = None
            if self.state == ENDED:
                if trigger == "transfer_failed":
                    out.append(act.Hangup(before.id if before else None, None, None, why))
                return out
            following = self._enter(self.compiled.node_of(self.state), out)
            if following is None:
                return out
            trigger, why = following
        raise ScriptRunError("the script kept moving without waiting; it was not validated")

    def _text(self, prompt: Prompt | None) -> tuple[str | None, str | None]:
        if prompt is None:
            return None, None
        text = render(prompt.text, self.customer, self.variables) if prompt.text else prompt.text
        return text, prompt.audio

    def _play(self, node: Node, prompt: Prompt | None, barge_in: bool) -> act.Play:
        self._prompt_id = next(self._prompt_ids)
        text, audio = self._text(prompt)
        return act.Play(node.id, self._prompt_id, text, audio, barge_in)

    def _enter(self, node: Node | None, out: list[act.Action]) -> tuple[str, str] | None:
        part = self.state.split("/", 1)[1] if "/" in self.state else ""
        match node:
            case PlayNode():
                out.append(self._play(node, node.prompt, node.barge_in))
            case AskNode() if part == "prompt":
                out.append(self._play(node, self._retry_prompt or node.prompt, node.barge_in))
                if node.keys:
                    out.append(act.CollectDigits(node.id, frozenset(dict(node.keys)), node.timeout))
                if node.intents:
                    intents = MappingProxyType({i.name: i.keywords for i in node.intents})
                    out.append(act.Listen(node.id, intents, node.timeout))
            case StatusNode():
                self._set_status(node, out)
                return "next", "next"
            case VariableNode():
                value = render(node.value, self.customer, self.variables)
                self.variables[node.name] = value
                out.append(act.SetVariable(node.id, node.name, value))
                return "next", f"vars.{node.name} set"
            case ConditionNode():
                return self._branch(node)
            case TransferNode() | RecordNode() if part == "prompt":
                out.append(self._play(node, node.prompt, False))
            case TransferNode():
                out.append(act.Transfer(node.id, node.queue, node.address, node.timeout))
            case RecordNode():
                out.append(act.Record(node.id, node.max_length, node.beep))
            case HangupNode():
                text, audio = self._text(node.prompt)
                self.end_reason = "hangup block"
                out.append(act.Hangup(node.id, text, audio, "hangup block"))
        return None

    def _set_status(self, node: StatusNode, out: list[act.Action]) -> None:
        try:
            check_move(self.status, node.status)
        except StatusChangeRefused as exc:
            _log.info("call %s: block %s kept status %s: %s", self.call_id, node.id,
                      self.status.value, exc)
            out.append(act.StatusKept(node.id, self.status, node.status, str(exc)))
            return
        _log.info("call %s: status %s -> %s (%s, block %s)", self.call_id, self.status.value,
                  node.status.value, self._source, node.id)
        out.append(act.SetStatus(node.id, self.status, node.status, self._source))
        self.status = node.status

    def _value(self, variable: str) -> str:
        if variable == "status":
            return self.status.value
        ref = parse_variable(variable)
        if ref is None:
            return ""
        source = self.customer if ref.namespace == "customer" else self.variables
        return source.get(ref.name, "")

    def _branch(self, node: ConditionNode) -> tuple[str, str]:
        for index, branch in enumerate(node.branches):
            value = _fold(self._value(branch.variable))
            wanted = branch.value
            if branch.variable == "status" and wanted is not None:
                wanted = (tuple(CustomerStatus.parse(v).value for v in wanted)
                          if isinstance(wanted, tuple) else CustomerStatus.parse(wanted).value)
            if isinstance(wanted, tuple):
                hit = value in {_fold(v) for v in wanted}
            elif wanted is not None:
                hit = value == _fold(wanted)
            else:
                hit = bool(value)
            if branch.op in ("not_equals", "not_in", "is_empty"):
                hit = not hit
            if hit:
                return f"branch:{index}", branch.label
        return "else", "no branch matched"

