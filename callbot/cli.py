"""The ``callbot`` console command."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from api.cli import serve_app, user_app
from callbot.campaign.cli import campaign_app
from callbot.cli_script import script_app
from callbot.engine import EngineResult
from callbot.prompts import PromptError
from callbot.speech.errors import SpeechError
from callbot.scriptcall import ScriptCallOptions, run_script_call
from callbot.testcall import TestCallOptions, run_test_call
from scripts_dsl import CustomerStatus
from dialer.errors import ConfigError, DialerError
from dialer.phone import InbandDtmf
from dialer.outcome import CallOutcome, CallResult
from dialer.phone import Softphone
from dialer.rtp.audio import load_wav
from dialer.rtp.session import DigitReceived
from dialer.simphone import (
    Action,
    Behaviour,
    ByeSent,
    CallAnswered,
    CallEnded,
    IncomingCall,
    PhoneSimulator,
    PressDigit,
    SimEvent,
    SimulatorConfig,
)
from dialer.sip.message import reason_phrase
from dialer.sip.ua import Trunk

app = typer.Typer(
    name="callbot",
    help="Telephony-first callbot: place SIP calls, run call scripts, run outbound campaigns.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.add_typer(script_app, name="script", help="Validate, draw and simulate call scripts.")
app.add_typer(campaign_app, name="campaign", help="Run outbound campaigns: from files, as a worker, reports.")
app.add_typer(serve_app, name="serve", help="Serve the CRM API (and run the dialer for running campaigns).")
app.add_typer(user_app, name="user", help="Manage API users (create the first manager).")

err = Console(stderr=True)


@app.callback()
def _root() -> None:
    """Telephony-first callbot: place SIP calls, run call scripts, run outbound campaigns."""


def parse_hostport(value: str, option: str, default_port: int = 5060) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep:
        host, port = value, str(default_port)
    lowest = 0 if default_port == 0 else 1
    if not host or not (port.isascii() and port.isdigit()) or not lowest <= int(port) < 65536:
        raise typer.BadParameter(f"expected HOST:PORT, got {value!r}", param_hint=option)
    return host, int(port)


@app.command()
def call(
    number: Annotated[str, typer.Argument(help="Phone number (sent to the trunk) or a full sip: URI.")],
    trunk: Annotated[Optional[str], typer.Option("--trunk", help="Carrier / SIP proxy as HOST:PORT.")] = None,
    username: Annotated[Optional[str], typer.Option(help="Digest username for the trunk.")] = None,
    password: Annotated[Optional[str], typer.Option(help="Digest password for the trunk.")] = None,
    register: Annotated[bool, typer.Option("--register", help="REGISTER with the trunk before calling.")] = False,
    caller_id: Annotated[Optional[str], typer.Option("--caller-id", help="Caller ID (the From user).")] = None,
    ring_timeout: Annotated[float, typer.Option("--ring-timeout", min=0.1, help="Seconds to let it ring before CANCEL.")] = 30.0,
    max_duration: Annotated[float, typer.Option("--max-duration", min=0.1, help="Hang up after this many seconds of talk.")] = 60.0,
    play: Annotated[Optional[Path], typer.Option("--play", exists=True, dir_okay=False, help="WAV file to play once answered.")] = None,
    hangup_after_digits: Annotated[Optional[int], typer.Option("--hangup-after-digits", min=1, help="Hang up after receiving N keypresses.")] = None,
    media_timeout: Annotated[float, typer.Option("--media-timeout", min=0.1, help="End the call after this many seconds without RTP.")] = 30.0,
    bind: Annotated[str, typer.Option("--bind", help="Local SIP address HOST:PORT (port 0: any free port).")] = "127.0.0.1:0",
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log SIP and call state changes to stderr.")] = False,
    script: Annotated[Optional[Path], typer.Option("--script", exists=True, dir_okay=False, help="Run this call script (YAML/JSON) once answered.")] = None,
    customer_field: Annotated[Optional[list[str]], typer.Option("--customer-field", "-c", help="A customer field for the script, NAME=VALUE (repeatable).")] = None,
    status: Annotated[str, typer.Option("--status", help="The customer's campaign status when the call starts.")] = "Registered",
    voice: Annotated[Optional[str], typer.Option("--voice", help="TTS voice (default: the script's voice or language).")] = None,
    speech_model: Annotated[Optional[Path], typer.Option("--speech-model", exists=True, file_okay=False, help="Vosk model folder for listen blocks.")] = None,
    prompt_cache: Annotated[Optional[Path], typer.Option("--prompt-cache", file_okay=False, help="Folder for rendered prompts (default: the user cache).")] = None,
    inband_dtmf: Annotated[InbandDtmf, typer.Option("--inband-dtmf", help="Hear keypress tones in the audio: auto (when the far end has no telephone-event), on, off.")] = InbandDtmf.AUTO,
) -> None:
    """Place one call and report how it ended; with --script, run a call script on it.

    Exit status 0 for every completed attempt (busy or no answer are results, not errors);
    2 for bad arguments, 1 for an internal error.
    """
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    bind_host, bind_port = parse_hostport(bind, "--bind", default_port=0)
    trunk_addr = parse_hostport(trunk, "--trunk") if trunk else None
    if (username is None) != (password is None):
        raise typer.BadParameter("give both --username and --password, or neither", param_hint="--username")
    if register and trunk_addr is None:
        raise typer.BadParameter("--register needs --trunk", param_hint="--register")
    options = TestCallOptions(
        target=number,
        trunk=trunk_addr,
        username=username,
        password=password,
        register=register,
        caller_id=caller_id,
        ring_timeout=ring_timeout,
        max_duration=max_duration,
        play=play,
        hangup_after_digits=hangup_after_digits,
        media_timeout=media_timeout,
        bind=(bind_host, bind_port),
        inband_dtmf=inband_dtmf,
    )
    extra: dict[str, object] = {}
    try:
        if script is not None:
            result, engine_result = asyncio.run(
                run_script_call(options, _script_options(script, customer_field or [], status, voice, speech_model, prompt_cache))
            )
            extra = _engine_json(engine_result)
        else:
            result = asyncio.run(run_test_call(options))
    except ConfigError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    except (DialerError, PromptError, SpeechError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    if json_output:
        sys.stdout.write(json.dumps({**result.to_json(), **extra}, ensure_ascii=False) + "\n")
    else:
        out = Console()
        out.print(f"[bold]{result.outcome}[/bold]  SIP {result.sip_status}  hangup by {result.hangup_by}")
        out.print(f"ring {result.ring_ms} ms, talk {result.talk_ms} ms, RTP sent {result.rtp_sent} / received {result.rtp_received}")
        if result.digits:
            out.print(f"digits: {result.digits}")
        if result.message:
            out.print(result.message)
        if extra:
            out.print(f"final status: [bold]{extra['final_status']}[/bold]")
            for entry in extra["transcripts"]:  # type: ignore[attr-defined]
                out.print(f"heard: {entry['text']!r} -> {entry['intent']}")


def _script_options(
    script: Path, fields: list[str], status: str, voice: str | None, model: Path | None, cache: Path | None
) -> ScriptCallOptions:
    customer: dict[str, str] = {}
    for item in fields:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint="--customer-field")
        customer[name.strip()] = value
    try:
        start = CustomerStatus(status)
    except ValueError:
        allowed = ", ".join(s.value for s in CustomerStatus)
        raise typer.BadParameter(f"{status!r} is not a status; use one of {allowed}", param_hint="--status") from None
    return ScriptCallOptions(script=script, customer=customer, status=start, voice=voice, speech_model=model, prompt_cache=cache)


def _engine_json(engine_result: EngineResult | None) -> dict[str, object]:
    if engine_result is None:
        return {"final_status": None, "events": [], "transcripts": []}
    return {
        "final_status": engine_result.final_status.value,
        "status_changes": engine_result.status_changes,
        "events": engine_result.events,
        "transcripts": engine_result.transcripts,
    }


# --- the demo and the simulated carrier -----------------------------------------------------------

SOUNDS = Path(__file__).resolve().parent.parent / "sounds"
DEMO_PROMPT = SOUNDS / "hello.wav"
DEMO_RING_TIMEOUT = 3.0  # our CANCEL for the phone that never answers
DEMO_DEADLINE = 45.0  # the whole demo, a bound on every wait


@dataclass(frozen=True)
class DemoNumber:
    """One call of the demo: the number, what its phone does (None: no such phone) and the
    outcome our dialer must report."""

    number: str
    behaviour: Behaviour | None
    expected: CallOutcome
    digits: str = ""


DEMO_PLAN: tuple[DemoNumber, ...] = (
    DemoNumber(
        "0912345678",
        Behaviour(Action.ANSWER, ring_seconds=1.0, press="12", digits_after=1.5, digit_interval=0.3, hangup_after=4.0),
        CallOutcome.ANSWERED,
        digits="12",
    ),
    DemoNumber("0922222222", Behaviour(Action.BUSY, ring_seconds=0.0), CallOutcome.BUSY),
    DemoNumber("0933333333", Behaviour(Action.DECLINE, ring_seconds=1.5), CallOutcome.DECLINED),
    DemoNumber("0944444444", Behaviour(Action.NO_ANSWER), CallOutcome.NO_ANSWER),
    DemoNumber("0955555555", None, CallOutcome.REJECTED),
)


def demo_config(plan: tuple[DemoNumber, ...] = DEMO_PLAN) -> SimulatorConfig:
    return SimulatorConfig(numbers={d.number: d.behaviour for d in plan if d.behaviour is not None})


def _phone_says(event: SimEvent) -> str | None:
    """What the simulated phone did, in words, for the progress lines."""
    if isinstance(event, IncomingCall):
        action = event.behaviour.action
        return "phone: ringing" if action is Action.NO_ANSWER or event.behaviour.ring_seconds > 0 else None
    if isinstance(event, CallAnswered):
        return "phone: picked up (200 OK)"
    if isinstance(event, PressDigit):
        return f"phone: pressed {event.digit}"
    if isinstance(event, ByeSent):
        return "phone: hung up (BYE)"
    if isinstance(event, CallEnded):
        if event.status is not None and event.status >= 300:
            return f"phone: sent {event.status} {reason_phrase(event.status)}"
    return None


async def _run_demo(console: Console, plan: tuple[DemoNumber, ...]) -> list[tuple[DemoNumber, CallResult]]:
    loop = asyncio.get_running_loop()
    started = loop.time()

    def show(number: str, text: str) -> None:
        console.print(f"[dim]{loop.time() - started:5.1f}s[/dim]  {number}  {text}")

    numbers: dict[str, str] = {}  # Call-ID -> number, for the phone's events

    def on_phone_event(event: SimEvent) -> None:
        if isinstance(event, IncomingCall):
            numbers[event.call_id] = event.number
        text = _phone_says(event)
        if text:
            show(numbers.get(event.call_id, "?"), text)

    prompt = await asyncio.to_thread(load_wav, DEMO_PROMPT) if DEMO_PROMPT.is_file() else None
    results: dict[str, CallResult] = {}
    async with PhoneSimulator(demo_config(plan), on_event=on_phone_event) as sim, Softphone() as phone:
        host, port = sim.address
        console.print(f"Simulated phones on [bold]sip:{host}:{port}[/bold]; our dialer calls each number.\n")
        trunk = Trunk(host, port)

        async def place(entry: DemoNumber) -> None:
            call = await phone.dial(entry.number, trunk=trunk, ring_timeout=DEMO_RING_TIMEOUT, max_duration=20.0, media_timeout=10.0)
            show(entry.number, "dialer: INVITE sent")
            if await call.wait_answered():
                if prompt is not None:
                    call.play(prompt)
                    show(entry.number, f"dialer: answered, playing {DEMO_PROMPT.name}")
                async for event in call.events():
                    if isinstance(event, DigitReceived):
                        show(entry.number, f"dialer: heard key {event.digit}")
            result = await call.wait_ended()
            results[entry.number] = result
            show(entry.number, f"dialer: call ended, {result.outcome} (SIP {result.sip_status})")

        with console.status("Calling...", spinner="dots"):
            async with asyncio.timeout(DEMO_DEADLINE):
                async with asyncio.TaskGroup() as group:
                    for entry in plan:
                        group.create_task(place(entry))
    return [(entry, results[entry.number]) for entry in plan]


def _demo_table(rows: list[tuple[DemoNumber, CallResult]]) -> tuple[Table, bool]:
    table = Table(title="Demo calls")
    for name in ("number", "behaviour", "outcome", "SIP", "hangup by", "digits", "ring ms", "talk ms", "RTP sent/recv", "check"):
        table.add_column(name, justify="right" if name.endswith(("ms", "recv", "SIP")) else "left")
    all_ok = True
    for entry, result in rows:
        ok = result.outcome is entry.expected and result.digits == entry.digits
        all_ok &= ok
        table.add_row(
            entry.number,
            entry.behaviour.describe() if entry.behaviour is not None else "no such number",
            str(result.outcome),
            str(result.sip_status or "-"),
            str(result.hangup_by or "-"),
            result.digits or "-",
            str(result.ring_ms),
            str(result.talk_ms),
            f"{result.rtp_sent}/{result.rtp_received}",
            "ok" if ok else f"FAIL (expected {entry.expected}{' ' + entry.digits if entry.digits else ''})",
        )
    return table, all_ok


@app.command()
def demo(
    db: Annotated[Optional[str], typer.Option("--db", help="Keep the demo's database here (e.g. sqlite:///demo.db); default: a temporary file.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log calls to stderr.")] = False,
) -> None:
    """Run the demo campaign: the Vietnamese event-confirmation script called to 50 simulated
    customers (confirm, cancel, busy, no answer, decline, wrong number...), with live progress
    and the final report. Needs nothing but this machine: SQLite and phones on loopback."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from callbot.demo import demo as run_campaign_demo

    out = Console()
    if not out.is_terminal:
        out = Console(width=max(out.width, 132))
    try:
        rep = run_campaign_demo(db, out)
    except (DialerError, PromptError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    if rep.remaining:
        err.print(f"[red]{rep.remaining} customers were not finished[/red]")
        raise typer.Exit(1)


@app.command("demo-calls")
def demo_calls(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log SIP and call state changes to stderr.")] = False,
) -> None:
    """Call simulated phones on loopback through our dialer and show how each call ended.

    The phones: one answers and presses 1 then 2, one is busy, one declines, one never
    answers (we cancel after 3 s), and one number does not exist. Exit status 0 when every
    call ended as expected, 1 otherwise.
    """
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    out = Console()
    if not out.is_terminal:
        out = Console(width=max(out.width, 132))  # a pipe or a log file: room for the whole table
    try:
        rows = asyncio.run(_run_demo(out, DEMO_PLAN))
    except TimeoutError as exc:
        err.print(f"[red]error:[/red] the demo did not finish within {DEMO_DEADLINE:g} s")
        raise typer.Exit(1) from exc
    except DialerError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    table, all_ok = _demo_table(rows)
    out.print()
    out.print(table)
    if not all_ok:
        err.print("[red]some calls did not end as expected[/red]")
        raise typer.Exit(1)


@app.command("simulate-carrier")
def simulate_carrier(
    config: Annotated[Optional[Path], typer.Option("--config", exists=True, dir_okay=False, help="YAML file: numbers and what their phones do (default: the demo numbers).")] = None,
    bind: Annotated[str, typer.Option("--bind", help="SIP address HOST:PORT to listen on (port 0: any free port).")] = "127.0.0.1:0",
    duration: Annotated[Optional[float], typer.Option("--duration", min=0.1, help="Stop after this many seconds (default: run until Ctrl-C).")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log SIP and call state changes to stderr.")] = False,
) -> None:
    """Run simulated phones behind one SIP address until Ctrl-C, like a carrier's network.

    Each number (the Request-URI user) rings, answers, presses keys, hangs up, is busy,
    declines or never answers as the --config file says.
    """
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    host, port = parse_hostport(bind, "--bind", default_port=0)
    try:
        settings = SimulatorConfig.load(config) if config is not None else demo_config()
    except ConfigError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    out = Console()

    def on_event(event: SimEvent) -> None:
        if isinstance(event, IncomingCall):
            out.print(f"{event.number}: INVITE from {event.caller} ({event.behaviour.describe()})")
        elif isinstance(event, PressDigit):
            out.print(f"call {event.call_id}: pressed {event.digit}")
        elif isinstance(event, CallEnded):
            out.print(f"{event.number}: ended, {event.reason} (SIP {event.status}), talk {event.talk_seconds:.1f} s")

    async def serve() -> None:
        async with PhoneSimulator(settings, host, port, on_event=on_event) as sim:
            sim_host, sim_port = sim.address
            out.print(f"Simulated carrier listening on [bold]sip:{sim_host}:{sim_port}[/bold] (UDP)")
            for number, behaviour in settings.numbers.items():
                out.print(f"  {number}: {behaviour.describe()}")
            if settings.default is not None:
                out.print(f"  any other number: {settings.default.describe()}")
            out.print("Ctrl-C to stop." if duration is None else f"Stopping after {duration:g} s.")
            await asyncio.sleep(duration if duration is not None else math.inf)

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        out.print("stopped")
    except ConfigError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    except DialerError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc


def main() -> None:
    app()
