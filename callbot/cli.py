"""The ``callbot`` console command."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from callbot.testcall import TestCallOptions, run_test_call
from dialer.errors import ConfigError, DialerError

app = typer.Typer(
    name="callbot",
    help="Telephony-first callbot: place SIP calls, run call scripts, run outbound campaigns.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

try:
    from callbot.cli_script import script_app

    app.add_typer(script_app, name="script", help="Validate, draw and simulate call scripts.")
except ImportError:  # the script commands are optional while the scripts package is absent
    pass

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
) -> None:
    """Place one call and report how it ended.

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
    )
    try:
        result = asyncio.run(run_test_call(options))
    except ConfigError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    except DialerError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    if json_output:
        sys.stdout.write(json.dumps(result.to_json()) + "\n")
    else:
        out = Console()
        out.print(f"[bold]{result.outcome}[/bold]  SIP {result.sip_status}  hangup by {result.hangup_by}")
        out.print(f"ring {result.ring_ms} ms, talk {result.talk_ms} ms, RTP sent {result.rtp_sent} / received {result.rtp_received}")
        if result.digits:
            out.print(f"digits: {result.digits}")
        if result.message:
            out.print(result.message)


def main() -> None:
    app()
