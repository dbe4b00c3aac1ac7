"""The validator's checks over a script's blocks.

Each check yields :class:`Problem` values and never raises; together they find everything
wrong at once. Graph checks work on :class:`Unit` views so that a block with a malformed field
still takes part in reachability (through its best-effort edges).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from scripts_dsl.edges import TERMINAL, WAITS_FOR_CALLER, Edge, field_name
from scripts_dsl.model import Block, Condition, Listen, Menu, ScriptHeader, SetStatus
from scripts_dsl.problems import Problem
from scripts_dsl.source import Path, SourceMap
from scripts_dsl.status import CustomerStatus, allowed_moves, can_move

__all__ = ["Unit", "Context", "graph_checks", "status_flow", "PHONE_KEYS"]

PHONE_KEYS = "0123456789*#"


@dataclass
class Unit:
    """One block as the checks see it; ``block`` is None when its fields are malformed."""

    index: int
    id: str
    kind: str
    block: Block | None
    edges: list[Edge]


@dataclass
class Context:
    units: list[Unit]
    header: ScriptHeader | None
    source_map: SourceMap
    start_statuses: frozenset[CustomerStatus]
    by_id: dict[str, Unit] = field(init=False)

    def __post_init__(self) -> None:
        self.by_id = {}
        for unit in self.units:
            self.by_id.setdefault(unit.id, unit)

    @property
    def start(self) -> str | None:
        if self.header is not None and self.header.start is not None:
            return self.header.start
        return self.units[0].id if self.units else None

    def problem(self, unit: Unit | None, path: Path, code: str, message: str) -> Problem:
        if unit is None:
            return Problem(None, field_name(path) or None, self.source_map.line(path), code, message)
        line = self.source_map.line(("blocks", unit.index, *path))
        return Problem(unit.id, field_name(path) or None, line, code, message)


def suggest(name: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _ids_text(ids: Sequence[str], limit: int = 6) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (", …" if len(ids) > limit else "")


def check_targets(ctx: Context) -> Iterator[Problem]:
    ids = list(ctx.by_id)
    start = ctx.start
    if ctx.header is not None and start is not None and start not in ctx.by_id:
        yield ctx.problem(None, ("start",), "unknown_block",
                          f"'start' names block '{start}', which does not exist{suggest(start, ids)}: "
                          f"use one of {_ids_text(ids)}")
    for unit in ctx.units:
        for edge in unit.edges:
            if edge.target not in ctx.by_id:
                yield ctx.problem(unit, edge.path, "unknown_block",
                                  f"there is no block '{edge.target}'{suggest(edge.target, ids)}: "
                                  f"point it at an existing block ({_ids_text(ids)})")


def reachable(ctx: Context, edges_of: Mapping[str, Sequence[Edge]] | None = None) -> set[str]:
    start = ctx.start
    if start is None or start not in ctx.by_id:
        return set()
    seen = {start}
    stack = [start]
    while stack:
        unit = ctx.by_id[stack.pop()]
        for edge in (edges_of[unit.id] if edges_of is not None else unit.edges):
            if edge.target in ctx.by_id and edge.target not in seen:
                seen.add(edge.target)
                stack.append(edge.target)
    return seen


def check_reachable(ctx: Context, seen: set[str]) -> Iterator[Problem]:
    if ctx.start is None or ctx.start not in ctx.by_id:
        return
    for unit in ctx.units:
        if unit.id not in seen and ctx.by_id[unit.id] is unit:
            yield ctx.problem(unit, ("id",), "unreachable",
                              f"no path from the start block '{ctx.start}' leads here: point a "
                              "'next', key or branch of another block at it, or delete it")


def check_way_out(ctx: Context) -> Iterator[Problem]:
    for unit in ctx.units:
        block = unit.block
        if block is None or unit.kind in TERMINAL:
            continue
        if isinstance(block, Condition) and block.else_ is None:
            yield ctx.problem(unit, ("else",), "missing_else",
                              "when no branch matches the call has nowhere to go: add 'else: "
                              "<block id>'")
        elif not unit.edges:
            yield ctx.problem(unit, ("next",), "no_way_out",
                              f"this {unit.kind} block leads nowhere: add 'next: <block id>' "
                              "(only hangup and transfer blocks may end a script)")


def check_handlers(ctx: Context) -> Iterator[Problem]:
    for unit in ctx.units:
        block = unit.block
        if not isinstance(block, (Menu, Listen)):
            continue
        silence = "the caller says nothing" if isinstance(block, Listen) else "no key is pressed"
        wrong = ("the answer matches no intent" if isinstance(block, Listen)
                 else "a key that is not in 'keys' is pressed")
        for name, handler, when in (("no_input", block.no_input, silence),
                                    ("no_match", block.no_match, wrong)):
            code = f"missing_{name}"
            if handler is None:
                yield ctx.problem(unit, (name,), code,
                                  f"say what happens when {when}: add '{name}:' with 'retries' "
                                  "and 'next: <block id>'")
            elif handler.next is None:
                yield ctx.problem(unit, (name, "next"), code,
                                  f"after the retries, when {when}, the call has nowhere to go: "
                                  f"add 'next: <block id>' under '{name}'")


def _cycles(nodes: Sequence[str], succ: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Strongly connected components that contain a cycle (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            nexts = succ.get(node, ())
            if i < len(nexts):
                work.append((node, i + 1))
                child = nexts[i]
                if child not in index:
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in succ.get(node, ()):
                    found.append(component)
    return found


def _loop_text(ctx: Context, members: Sequence[str]) -> tuple[Unit, str]:
    order = sorted(members, key=lambda m: ctx.by_id[m].index)
    first = ctx.by_id[order[0]]
    return first, " -> ".join([*order, order[0]]) if len(order) > 1 else f"{order[0]} -> {order[0]}"


def check_loops(ctx: Context) -> Iterator[Problem]:
    typed = [u for u in ctx.units if u.block is not None and ctx.by_id[u.id] is u]
    order = [u.id for u in typed]
    quick = {u.id: [e.target for e in u.edges if e.target in ctx.by_id
                    and ctx.by_id[e.target].block is not None
                    and ctx.by_id[e.target].kind not in WAITS_FOR_CALLER]
             for u in typed if u.kind not in WAITS_FOR_CALLER}
    for members in _cycles([n for n in order if n in quick], quick):
        unit, path = _loop_text(ctx, members)
        yield ctx.problem(unit, ("next",), "input_free_loop",
                          f"the blocks {path} form a loop that never waits for the caller, so "
                          "the call would repeat it forever: send one of these blocks to a "
                          "menu, listen, hangup or transfer block")
    silent = {u.id: [e.target for e in u.edges if e.silent and e.target in ctx.by_id
                     and ctx.by_id[e.target].block is not None]
              for u in typed}
    for members in _cycles(order, silent):
        waiting = sorted((m for m in members if ctx.by_id[m].kind in WAITS_FOR_CALLER),
                         key=lambda m: ctx.by_id[m].index)
        if not waiting:
            continue  # already reported as a loop that never waits
        _, path = _loop_text(ctx, members)
        unit = ctx.by_id[waiting[0]]
        yield ctx.problem(unit, ("next",) if unit.kind == "record" else ("no_input", "next"),
                          "silent_loop",
                          f"a caller who never answers would go round {path} forever: let the "
                          f"no-input path of '{unit.id}' end the call (hangup or transfer) "
                          "instead of coming back")


def _status_test(op: str, value: str | list[str] | None) -> set[CustomerStatus] | None:
    """Statuses for which a ``status`` branch holds; None when the value cannot be read."""
    try:
        values = {CustomerStatus.parse(v) for v in value} if isinstance(value, list) \
            else {CustomerStatus.parse(value)} if value is not None else set()
    except ValueError:
        return None
    every = set(CustomerStatus)
    return {"equals": values, "in": values, "not_equals": every - values,
            "not_in": every - values, "is_set": every, "is_empty": set()}.get(op)


def _condition_flow(block: Condition, now: set[CustomerStatus]) -> dict[Path, set[CustomerStatus]]:
    """Statuses leaving by each branch of a condition (branches on ``status`` filter them)."""
    remaining = set(now)
    out: dict[Path, set[CustomerStatus]] = {}
    for index, branch in enumerate(block.branches):
        holds = _status_test(branch.op, branch.value) if branch.variable.strip() == "status" \
            else None
        if holds is None:
            out[("branches", index, "next")] = set(remaining)
        else:
            out[("branches", index, "next")] = remaining & holds
            remaining -= holds
    out[("else",)] = remaining
    return out


def status_flow(ctx: Context) -> dict[str, frozenset[CustomerStatus]]:
    """The statuses the customer may have on arriving at each reachable block."""
    arrive: dict[str, set[CustomerStatus]] = {}
    start = ctx.start
    if start is None or start not in ctx.by_id:
        return {}
    arrive[start] = set(ctx.start_statuses)
    work = [start]
    while work:
        unit = ctx.by_id[work.pop()]
        now = arrive[unit.id]
        if isinstance(unit.block, SetStatus):
            wanted = unit.block.status
            now = {wanted if can_move(s, wanted) else s for s in now}
        by_path = _condition_flow(unit.block, now) if isinstance(unit.block, Condition) else {}
        for edge in unit.edges:
            leaving = by_path.get(edge.path, now)
            if edge.target not in ctx.by_id or not leaving:
                continue
            known = arrive.setdefault(edge.target, set())
            if not leaving <= known:
                known |= leaving
                work.append(edge.target)
    return {k: frozenset(v) for k, v in arrive.items()}


def check_statuses(ctx: Context, flow: Mapping[str, frozenset[CustomerStatus]]) -> Iterator[Problem]:
    for unit in ctx.units:
        block = unit.block
        if not isinstance(block, SetStatus) or not flow.get(unit.id):
            continue
        arriving = flow[unit.id]
        wanted = block.status
        if any(can_move(s, wanted) for s in arriving):
            continue
        names = [s.value for s in CustomerStatus if s in arriving]
        if arriving == {wanted}:
            message = (f"the customer is always {wanted.value} when this block runs, so it can "
                       "never change anything: remove it or choose another 'status'")
        else:
            options = sorted({m.value for s in arriving for m in allowed_moves(s)},
                             key=[s.value for s in CustomerStatus].index)
            fix = (f"set 'status' to {', '.join(options)}" if options
                   else f"{' / '.join(names)} is final, so remove this block")
            message = (f"on every path here the status is {' or '.join(names)}, and "
                       f"{' / '.join(names)} -> {wanted.value} is not an allowed change: "
                       f"{fix}, or move it before the change that rules it out")
        yield ctx.problem(unit, ("status",), "status_never_legal", message)


def graph_checks(ctx: Context) -> list[Problem]:
    """Targets, reachability, ways out, handlers, loops and statuses."""
    problems = [*check_targets(ctx), *check_way_out(ctx), *check_handlers(ctx)]
    problems += check_reachable(ctx, reachable(ctx))
    problems += check_loops(ctx)
    problems += check_statuses(ctx, status_flow(ctx))
    return problems

