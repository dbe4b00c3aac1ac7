"""Walk a compiled script with scripted caller answers: testing a script without a phone.

Prompts finish by themselves; when the script waits for an answer the next input is used,
and once the inputs run out the caller stays silent. A transfer succeeds unless the next
input says ``transfer:fail``; a recording finishes unless the next input is ``noinput``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scripts_dsl.actions import Action, Branch
from scripts_dsl.compiler import CompiledScript
from scripts_dsl.errors import SimulationInputError
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
from scripts_dsl.run import ScriptRun
from scripts_dsl.status import CustomerStatus

__all__ = ["parse_input", "parse_customer", "Step", "Simulation", "simulate", "INPUT_HELP"]

INPUT_HELP = (
    "a key (1, *, #), speech:<words>, intent:<name>, noinput, nomatch, hangup, transfer:ok, "
    "transfer:fail or record[:<seconds>]"
)

_ANSWERS = (Digit, Speech, NoInput, NoMatch)


def parse_input(text: str) -> Event:
    """Read one simulated caller input (see :data:`INPUT_HELP`)."""
    raw = text.strip()
    kind, _, value = raw.partition(":")
    kind = kind.strip().lower()
    if len(raw) == 1 and raw in "0123456789*#":
        return Digit(raw)
    if kind in ("digit", "key") and len(value.strip()) == 1 and value.strip() in "0123456789*#":
        return Digit(value.strip())
    if kind == "speech" and value.strip():
        return Speech(value.strip())
    if kind == "intent" and value.strip():
        return Speech("", intent=value.strip())
    if kind in ("noinput", "no_input", "silence") and not value:
        return NoInput()
    if kind in ("nomatch", "no_match") and not value:
        return NoMatch()
    if kind == "hangup" and not value:
        return CallerHangup()
    if kind == "transfer" and value.strip().lower() in ("ok", "fail", "failed"):
        return TransferResult(value.strip().lower() == "ok")
    if kind == "record":
        try:
            seconds = float(value) if value.strip() else 3.0
        except ValueError:
            seconds = -1.0
        if seconds >= 0:
            return RecordFinished("simulated-recording.wav", seconds)
    raise SimulationInputError(f"cannot read input {text!r}: write {INPUT_HELP}")


def parse_customer(pairs: Iterable[str]) -> dict[str, str]:
    """``["name=An", "event=Hội thảo"]`` -> a customer record."""
    customer: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise SimulationInputError(f"cannot read customer field {pair!r}: write field=value")
        customer[name.strip()] = value
    return customer


@dataclass(frozen=True)
class Step:
    """One event and the actions it caused; ``auto`` when the simulator supplied the event
    (a prompt ending, silence, a default transfer result) rather than an input."""

    event: Event | None
    actions: tuple[Action, ...]
    auto: bool
    block_id: str | None


@dataclass(frozen=True)
class Simulation:
    steps: tuple[Step, ...]
    finished: bool
    final_status: CustomerStatus
    end_reason: str | None
    unused_inputs: tuple[Event, ...]

    @property
    def path(self) -> tuple[str, ...]:
        """Blocks visited, in order (repeats included)."""
        visited: list[str] = []
        for step in self.steps:
            for action in step.actions:
                if isinstance(action, Branch):
                    visited.append(action.to_block)
        return tuple(visited)


def _next_event(run: ScriptRun, queue: deque[Event], strict: bool,
                transfer_ok: bool) -> tuple[Event, bool]:
    waiting = run.waiting_for
    while queue:
        head = queue[0]
        fits = (
            isinstance(head, CallerHangup)
            or (waiting == "answer" and isinstance(head, _ANSWERS))
            or (waiting == "transfer" and isinstance(head, TransferResult))
            or (waiting == "recording" and isinstance(head, (RecordFinished, NoInput)))
        )
        if fits:
            return queue.popleft(), False
        if waiting == "prompt":
            break
        if strict:
            what = {"answer": "an answer (key or speech)", "transfer": "a transfer result",
                    "recording": "a recording"}[waiting or "answer"]
            raise SimulationInputError(
                f"input {head} does not fit: block '{run.current_block}' is waiting for {what}"
            )
        queue.popleft()
    if waiting == "prompt":
        return PromptFinished(), True
    if waiting == "transfer":
        return TransferResult(transfer_ok), True
    if waiting == "recording":
        return RecordFinished("simulated-recording.wav", 3.0), True
    return NoInput(), True


def simulate(compiled: CompiledScript, customer: Mapping[str, Any], inputs: Sequence[Event],
             *, status: CustomerStatus = CustomerStatus.REGISTERED, strict: bool = True,
             transfer_ok: bool = True, max_steps: int = 1000) -> Simulation:
    """Run the script with ``inputs`` as the caller's answers.

    ``strict``: an input that does not fit what the script waits for raises
    :class:`SimulationInputError`; otherwise it is skipped.
    """
    run = ScriptRun(compiled, customer, status, call_id="simulation")
    steps = [Step(None, tuple(run.start()), True, run.current_block)]
    queue = deque(inputs)
    while not run.finished and len(steps) < max_steps:
        event, auto = _next_event(run, queue, strict, transfer_ok)
        block = run.current_block
        steps.append(Step(event, tuple(run.handle(event)), auto, block))
    return Simulation(tuple(steps), run.finished, run.status, run.end_reason, tuple(queue))
