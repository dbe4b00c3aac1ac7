"""Draw a script for people: Graphviz DOT (and svg/png through ``dot``) or Mermaid.

Nodes show the block id, its type and what it says; edges carry keys, intents with their
keywords, no-input/no-match paths and condition tests. Status changes stand out (orange
hexagons naming the new status); targets that do not exist are drawn in red.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Literal

from scripts_dsl.edges import Edge, block_edges
from scripts_dsl.errors import GraphvizMissing, ScriptError
from scripts_dsl.model import (
    Block,
    Condition,
    Hangup,
    Listen,
    Menu,
    Play,
    Record,
    Script,
    SetStatus,
    SetVariable,
    Transfer,
)

__all__ = ["to_dot", "to_mermaid", "render", "GraphFormat"]

GraphFormat = Literal["dot", "mermaid", "svg", "png"]
_TEXT_LIMIT = 48

# block type -> (dot shape, fill colour, mermaid shape opening, closing)
_STYLE = {
    "play": ("box", "#e7f1ff", '["', '"]'),
    "menu": ("box", "#e6fcf5", '{"', '"}'),
    "listen": ("box", "#e6fcf5", '{"', '"}'),
    "set_status": ("hexagon", "#fff3bf", '{{"', '"}}'),
    "set_variable": ("box", "#f8f9fa", '["', '"]'),
    "condition": ("diamond", "#f3f0ff", '{"', '"}'),
    "transfer": ("cds", "#ffe8cc", '[/"', '"/]'),
    "record": ("box", "#fff0f6", '["', '"]'),
    "hangup": ("doubleoctagon", "#ffe3e3", '(["', '"])'),
}


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _TEXT_LIMIT else flat[: _TEXT_LIMIT - 1] + "…"


def _said(text: str | None, audio: str | None) -> str | None:
    if text is not None:
        return f"“{_short(text)}”"
    return f"♪ {audio}" if audio is not None else None


def _describe(block: Block) -> list[str]:
    """Lines shown inside a block's node."""
    lines = [block.id]
    match block:
        case Play():
            lines += ["play", _said(block.text, block.audio) or ""]
        case Menu() | Listen():
            lines += [f"{block.type} ({block.timeout:g} s)", _said(block.prompt, block.audio) or ""]
        case SetStatus():
            lines += [f"★ status → {block.status.value}"]
        case SetVariable():
            lines += [f"vars.{block.name} = {_short(block.value)}"]
        case Condition():
            lines += ["condition"]
        case Transfer():
            target = f"queue {block.queue}" if block.queue else str(block.address)
            lines += [f"transfer to {target}"]
        case Record():
            lines += [f"record ≤ {block.max_length:g} s"]
        case Hangup():
            said = _said(block.prompt, block.audio)
            lines += ["hang up"] + ([said] if said else [])
    return [line for line in lines if line]


def _dashed(edge: Edge) -> bool:
    return edge.path[0] in ("no_input", "no_match", "no_agent")


def _edges(script: Script) -> list[Edge]:
    """Edges to draw: answers leading to the same block share one arrow."""
    merged: dict[tuple[str, str, bool], Edge] = {}
    for block in script.blocks:
        for edge in block_edges(block):
            key = (edge.source, edge.target, _dashed(edge))
            if key in merged and edge.label:
                first = merged[key]
                label = "\n".join(part for part in (first.label, edge.label) if part)
                merged[key] = Edge(first.source, first.target, first.path, label, first.silent)
            else:
                merged.setdefault(key, edge)
    return list(merged.values())


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(script: Script, version: str | None = None) -> str:
    """The script as a Graphviz digraph."""
    ids = {b.id for b in script.blocks}
    title = script.name + (f"  (version {version[:12]})" if version else "")
    out = [
        f"digraph {_dot_quote(script.name)} {{",
        f"  graph [rankdir=TB, labelloc=t, fontname=\"Helvetica\", label={_dot_quote(title)}];",
        '  node [fontname="Helvetica", fontsize=11, style="rounded,filled", penwidth=1];',
        '  edge [fontname="Helvetica", fontsize=10];',
        '  "(start)" [shape=circle, label="start", style=filled, fillcolor="#212529", '
        'fontcolor="#ffffff", fontsize=9];',
        f'  "(start)" -> {_dot_quote(script.start_id)};',
    ]
    for block in script.blocks:
        shape, fill, _, _ = _STYLE[block.type]
        extra = ', color="#e67700", penwidth=2' if isinstance(block, SetStatus) else ""
        label = "\n".join(_describe(block))
        out.append(f"  {_dot_quote(block.id)} [shape={shape}, fillcolor=\"{fill}\", "
                   f"label={_dot_quote(label)}{extra}];")
    missing = sorted({e.target for e in _edges(script) if e.target not in ids})
    for target in missing:
        out.append(f"  {_dot_quote(target)} [shape=box, style=\"dashed\", color=\"#e03131\", "
                   f"fontcolor=\"#e03131\", label={_dot_quote('missing: ' + target)}];")
    for edge in _edges(script):
        attrs = [f"label={_dot_quote(edge.label)}"] if edge.label else []
        if _dashed(edge):
            attrs.append("style=dashed")
        if edge.target not in ids:
            attrs.append('color="#e03131"')
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        out.append(f"  {_dot_quote(edge.source)} -> {_dot_quote(edge.target)}{suffix};")
    out.append("}")
    return "\n".join(out) + "\n"


def _mm_text(text: str) -> str:
    return (text.replace("&", "&amp;").replace('"', "#quot;").replace("<", "&lt;")
            .replace(">", "&gt;"))


def to_mermaid(script: Script) -> str:
    """The script as a Mermaid flowchart (renders in GitHub and most wikis)."""
    ids = {b.id: f"n{i}" for i, b in enumerate(script.blocks)}
    missing = sorted({e.target for e in _edges(script) if e.target not in ids})
    ids.update({target: f"missing{i}" for i, target in enumerate(missing)})
    out = ["flowchart TD", f"  start((start)) --> {ids[script.start_id]}"
           if script.start_id in ids else "  start((start))"]
    for block in script.blocks:
        _, _, left, right = _STYLE[block.type]
        label = "<br/>".join(_mm_text(line) for line in _describe(block))
        out.append(f"  {ids[block.id]}{left}{label}{right}")
    for target in missing:
        out.append(f"  {ids[target]}[\"missing: {_mm_text(target)}\"]")
    for edge in _edges(script):
        arrow = "-.->" if _dashed(edge) else "-->"
        text = "<br/>".join(_mm_text(part) for part in edge.label.split("\n"))
        label = f'|"{text}"|' if edge.label else ""
        out.append(f"  {ids[edge.source]} {arrow}{label} {ids[edge.target]}")
    out.append("  classDef status fill:#fff3bf,stroke:#e67700,stroke-width:2px")
    out.append("  classDef missing fill:#fff5f5,stroke:#e03131,stroke-dasharray:4")
    status_nodes = [ids[b.id] for b in script.blocks if isinstance(b, SetStatus)]
    if status_nodes:
        out.append(f"  class {','.join(status_nodes)} status")
    if missing:
        out.append(f"  class {','.join(ids[t] for t in missing)} missing")
    return "\n".join(out) + "\n"


def render(script: Script, fmt: GraphFormat, version: str | None = None) -> bytes:
    """The drawing in ``fmt``; svg and png run Graphviz's ``dot`` program."""
    if fmt == "mermaid":
        return to_mermaid(script).encode("utf-8")
    dot = to_dot(script, version)
    if fmt == "dot":
        return dot.encode("utf-8")
    program = shutil.which("dot")
    if program is None:
        raise GraphvizMissing(
            f"drawing {fmt} needs Graphviz's 'dot' program, which is not installed: install "
            "Graphviz (Debian/Ubuntu: apt install graphviz) or use --format dot or mermaid"
        )
    try:
        done = subprocess.run([program, f"-T{fmt}"], input=dot.encode("utf-8"),
                              capture_output=True, timeout=60, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ScriptError("Graphviz took more than 60 s to draw the script") from exc
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip()
        raise ScriptError(f"Graphviz could not draw the script: {reason}")
    return done.stdout
