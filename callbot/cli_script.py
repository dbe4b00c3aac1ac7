"""``callbot script ...``: validate, draw and simulate call scripts without a phone."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from scripts_dsl import actions as act
from scripts_dsl.compiler import compile_report
from scripts_dsl.errors import ScriptError, ScriptRunError, SimulationInputError
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
from scripts_dsl.graph import render
from scripts_dsl.problems import Problem
from scripts_dsl.simulate import INPUT_HELP, Simulation, parse_customer, parse_input, simulate
from scripts_dsl.status import CustomerStatus
from scripts_dsl.validator import ValidationReport, validate_file

__all__ = ["script_app"]

script_app = typer.Typer(
    name="script",
    help="Check, draw and try out call scripts (YAML or JSON) before any call is placed.",
    no_args_is_help=True,
)

FileArg = Annotated[Path, typer.Argument(help="Script file (.yaml, .yml or .json).")]
StatusOpt = Annotated[
    list[str] | None,
    typer.Option("--status", help="Customer status at the start of the call (repeatable for "
                 "validate). Default: Registered."),
]
ModelOpt = Annotated[
    Path | None,
    typer.Option("--speech-model", help="Vosk model directory: check listen keywords against "
                 "its vocabulary."),
]


def _console(stderr: bool = False) -> Console:
    return Console(file=sys.stderr if stderr else sys.stdout, highlight=False, soft_wrap=True)


def _statuses(values: list[str] | None) -> list[CustomerStatus]:
    try:
        return [CustomerStatus.parse(v) for v in values or ["Registered"]]
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--status") from exc


def _report(file: Path, statuses: list[CustomerStatus], model: Path | None) -> ValidationReport:
    if model is None:
        return validate_file(file, start_statuses=statuses)
    from callbot.scriptcall import model_vocabulary
    from callbot.speech.errors import SpeechModelError

    try:
        vocabulary = model_vocabulary(model)
    except SpeechModelError as exc:
        report = validate_file(file, start_statuses=statuses)
        problem = Problem(None, "speech_model", None, "speech_model_unreadable", str(exc))
        return ValidationReport((problem, *report.problems), None, None)
    return validate_file(file, start_statuses=statuses, vocabulary=vocabulary)


def _print_problems(console: Console, file: Path, problems: tuple[Problem, ...]) -> None:
    count = len(problems)
    console.print(f"[bold red]{escape(str(file))}: {count} problem{'s' if count != 1 else ''}"
                  "[/]")
    table = Table(show_header=True, header_style="bold", show_lines=False, expand=False)
    for column in ("line", "block", "field", "what to change"):
        table.add_column(column, overflow="fold")
    for p in problems:
        table.add_row(str(p.line or ""), escape(p.block_id or ""), escape(p.field or ""),
                      f"{escape(p.message)} [dim]({p.code})[/]")
    console.print(table)


@script_app.command("validate")
def validate_command(
    file: FileArg,
    status: StatusOpt = None,
    speech_model: ModelOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Report every problem of a script at once; a valid script gets its version id."""
    report = _report(file, _statuses(status), speech_model)
    if as_json:
        payload = {"file": str(file), "valid": report.ok, "version": report.version,
                   "problems": [p.as_dict() for p in report.problems]}
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    elif report.ok:
        _console().print(f"[bold green]✓ {escape(str(file))} is valid[/] — version "
                         f"{report.version}")
    else:
        _print_problems(_console(), file, report.problems)
    raise typer.Exit(0 if report.ok else 1)


@script_app.command("graph")
def graph_command(
    file: FileArg,
    fmt: Annotated[str, typer.Option("--format", "-f", help="svg, png, dot or mermaid.")] = "svg",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Where to write the "
                      "drawing; dot and mermaid go to the terminal without it, svg and png to "
                      "FILE's name with the new extension.")] = None,
) -> None:
    """Draw the script: blocks, keys and intents on the arrows, status changes marked."""
    if fmt not in ("svg", "png", "dot", "mermaid"):
        raise typer.BadParameter("use svg, png, dot or mermaid", param_hint="--format")
    report = validate_file(file)
    if report.script is None:
        _print_problems(_console(stderr=True), file, report.problems)
        raise typer.Exit(1)
    try:
        drawing = render(report.script, fmt, report.version)  # type: ignore[arg-type]
    except ScriptError as exc:
        _console(stderr=True).print(f"[bold red]{escape(str(exc))}[/]")
        raise typer.Exit(1) from exc
    if not report.ok:
        _console(stderr=True).print(f"[yellow]note: the script has {len(report.problems)} "
                                    "problem(s); run 'callbot script validate' to see them[/]")
    target = output
    if target is None and fmt in ("svg", "png"):
        target = Path(file.stem + "." + fmt)
    if target is None:
        typer.echo(drawing.decode("utf-8"), nl=False)
        return
    target.write_bytes(drawing)
    _console(stderr=True).print(f"wrote {escape(str(target))}")


def _event_text(event: Event) -> str:
    match event:
        case Digit():
            return f"caller presses {event.digit}"
        case Speech() if event.text:
            return f"caller says “{event.text}”"
        case Speech():
            return f"caller answers with intent {event.intent}"
        case NoInput():
            return "caller says nothing"
        case NoMatch():
            return "caller's answer is not understood"
        case CallerHangup():
            return "caller hangs up"
        case TransferResult():
            return "an agent takes the call" if event.ok else "no agent is free"
        case RecordFinished():
            return f"caller records {event.duration:g} s"
        case PromptFinished():
            return "prompt finished"
    return str(event)


def _action_text(action: act.Action) -> str | None:
    match action:
        case act.Play():
            said = f"“{action.text}”" if action.text is not None else f"♪ {action.audio}"
            return f"[cyan]▶ {escape(action.block_id)}[/]: {escape(said)}"
        case act.CollectDigits():
            keys = ", ".join(sorted(action.keys))
            return f"  [dim]waits for a key: {keys} ({action.timeout:g} s)[/]"
        case act.Listen():
            heard = "; ".join(f"{name}: {', '.join(words)}" for name, words in action.intents.items())
            return f"  [dim]listens for {escape(heard)} ({action.timeout:g} s)[/]"
        case act.Branch():
            return f"[magenta]↳ {escape(action.block_id)} → {escape(action.to_block)}[/]: " \
                   f"{escape(action.why)}"
        case act.SetStatus():
            return (f"[bold green]★ status {action.from_status.value} → {action.to_status.value}"
                    f"[/] ({action.source})")
        case act.StatusKept():
            return f"[yellow]★ status stays {action.status.value}[/]: {escape(action.reason)}"
        case act.SetVariable():
            return f"[blue]= vars.{action.name}[/] = “{escape(action.value)}”"
        case act.Transfer():
            target = f"queue {action.queue}" if action.queue else action.address
            return f"[bold]☎ transfer to {escape(str(target))}[/]"
        case act.Record():
            return f"[bold]● recording up to {action.max_length:g} s[/]"
        case act.Hangup():
            said = f" after “{action.text}”" if action.text else ""
            return f"[bold]■ hang up{escape(said)}[/] ({escape(action.reason)})"
    return None


def _print_simulation(console: Console, result: Simulation) -> None:
    for step in result.steps:
        if step.event is not None and not isinstance(step.event, PromptFinished):
            note = " (no more inputs)" if step.auto and isinstance(step.event, NoInput) else ""
            default = " (default)" if step.auto and isinstance(step.event, TransferResult) else ""
            console.print(f"[bold yellow]» {escape(_event_text(step.event))}{note}{default}[/]")
        for action in step.actions:
            text = _action_text(action)
            if text is not None:
                console.print(text)
    if result.finished:
        console.print(f"[bold]Finished[/] ({escape(result.end_reason or '')}). Final status: "
                      f"[bold]{result.final_status.value}[/]")
    else:
        console.print(f"[bold red]Stopped after {len(result.steps)} steps without reaching the "
                      "end[/]")
    if result.unused_inputs:
        unused = ", ".join(_event_text(e) for e in result.unused_inputs)
        console.print(f"[yellow]Inputs not used: {escape(unused)}[/]")


def _jsonable(value: Any) -> Any:
    if isinstance(value, (frozenset, set)):
        return sorted(value)
    if isinstance(value, CustomerStatus):
        return value.value
    if hasattr(value, "__dataclass_fields__"):
        return {"kind": type(value).__name__,
                **{k: _jsonable(getattr(value, k)) for k in value.__dataclass_fields__}}
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


@script_app.command("simulate")
def simulate_command(
    file: FileArg,
    customer: Annotated[list[str] | None, typer.Option("--customer", "-c",
                        help="A customer field, field=value (repeatable).")] = None,
    inputs: Annotated[list[str] | None, typer.Option("--input", "-i",
                      help=f"A caller answer, in order (repeatable): {INPUT_HELP}.")] = None,
    status: Annotated[str, typer.Option("--status", help="Customer status when the call "
                      "starts.")] = "Registered",
    as_json: Annotated[bool, typer.Option("--json", help="Print the walk as JSON.")] = False,
) -> None:
    """Walk the script with the given answers, printing prompts, branches and status changes."""
    start = _statuses([status])[0]
    # The script must be valid for new customers; a later status only makes some changes
    # impossible for this customer, which the walk then shows.
    report = validate_file(file, start_statuses=[CustomerStatus.REGISTERED, start])
    if not report.ok:
        _print_problems(_console(stderr=True), file, report.problems)
        raise typer.Exit(1)
    try:
        record = parse_customer(customer or [])
        events = [parse_input(text) for text in inputs or []]
        result = simulate(compile_report(report), record, events, status=start)
    except (SimulationInputError, ScriptRunError) as exc:
        _console(stderr=True).print(f"[bold red]{escape(str(exc))}[/]")
        raise typer.Exit(2) from exc
    if as_json:
        payload = {
            "script": report.script.name if report.script else None,
            "version": report.version,
            "finished": result.finished,
            "end_reason": result.end_reason,
            "final_status": result.final_status.value,
            "path": list(result.path),
            "steps": [{"event": _jsonable(s.event), "auto": s.auto, "block": s.block_id,
                       "actions": _jsonable(s.actions)} for s in result.steps],
        }
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        console = _console()
        name = report.script.name if report.script else file.name
        console.print(f"[bold]Simulating {escape(name)}[/] (version {str(report.version)[:12]}), "
                      f"status at start: {start.value}")
        _print_simulation(console, result)
    raise typer.Exit(0 if result.finished else 1)
