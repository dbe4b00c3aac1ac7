"""``callbot campaign ...``: run a whole campaign from files, or join one as a worker."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table
from sqlmodel import Session

from callbot.campaign.setup import CampaignSpec, create_campaign
from callbot.campaign.worker import CampaignWorker, Progress, WorkerSettings
from callbot.imports import CustomerImportError
from callbot.prompts import PromptError
from callbot.speech.errors import SpeechError
from callbot.store import repo
from callbot.store.errors import InvalidData
from callbot.store.db import make_engine, upgrade
from callbot.store.report import CampaignReport, report as campaign_report
from dialer.campaign.hours import CallingHoursError, parse_days
from dialer.errors import ConfigError, DialerError
from dialer.phone import InbandDtmf, Softphone
from scripts_dsl import CustomerStatus

campaign_app = typer.Typer(help="Run outbound campaigns.", no_args_is_help=True)
err = Console(stderr=True)

DEFAULT_DB = "sqlite:///callbot.db"


def _hostport(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        raise typer.BadParameter(f"expected HOST:PORT, got {value!r}", param_hint="--trunk")
    return host, int(port)


def _hours(value: str) -> tuple[str, str]:
    start, sep, end = value.partition("-")
    if not sep:
        raise typer.BadParameter(f"expected HH:MM-HH:MM, got {value!r}", param_hint="--hours")
    return start.strip(), end.strip()


def _worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def progress_table(progress: Progress, total: int) -> Table:
    table = Table(title="Campaign progress", show_header=True)
    table.add_column("customers")
    table.add_column("finished calls")
    table.add_column("in progress")
    table.add_column("outcomes")
    table.add_column("statuses after the call")
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(progress.outcomes.items())) or "-"
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(progress.statuses.items())) or "-"
    table.add_row(str(total), str(progress.finished), str(progress.active), outcomes, statuses)
    if progress.waiting:
        table.caption = progress.waiting
    elif progress.next_due and not progress.active:
        table.caption = f"waiting for retries due at {progress.next_due:%H:%M:%S} UTC"
    return table


def report_tables(rep: CampaignReport) -> list[Table | str]:
    statuses = Table(title="Customers per status")
    statuses.add_column("status")
    statuses.add_column("now", justify="right")
    statuses.add_column("total (cumulative)", justify="right")
    for status in CustomerStatus:
        statuses.add_row(f"{status.value} ({status.vietnamese})", str(rep.by_status.get(status, 0)), str(rep.totals.get(status, 0)))
    attempts = Table(title="Call attempts")
    attempts.add_column("outcome")
    attempts.add_column("attempts", justify="right")
    for outcome, count in sorted(rep.by_outcome.items(), key=lambda kv: -kv[1]):
        attempts.add_row(outcome.value, str(count))
    attempts.add_row("[bold]all[/bold]", str(rep.attempts))
    rate = "-" if rep.answer_rate is None else f"{rep.answer_rate:.0%}"
    talk = "-" if rep.avg_talk_s is None else f"{rep.avg_talk_s:.1f} s"
    summary = (f"Answer rate {rate}, average talk time {talk}; "
               f"{rep.customers} customers, {rep.done} done, {rep.remaining} remaining.")
    return [statuses, attempts, summary]


async def _work(db_url: str, campaign_id: int, settings: WorkerSettings, bind: tuple[str, int],
                live: bool, total: int) -> None:
    db = make_engine(db_url)
    console = Console(stderr=True)
    async with Softphone(bind[0], bind[1]) as phone:
        worker = CampaignWorker(db, campaign_id, phone, settings)
        if live:
            with Live(progress_table(worker.progress, total), console=console, refresh_per_second=4) as display:
                worker.on_progress = lambda p: display.update(progress_table(p, total))
                await worker.run()
        else:
            await worker.run()


def _final_report(db_url: str, campaign_id: int) -> CampaignReport:
    with Session(make_engine(db_url)) as session:
        return campaign_report(session, campaign_id)


@campaign_app.command("run")
def run(
    script: Annotated[Path, typer.Option("--script", exists=True, dir_okay=False, help="The call script (YAML/JSON).")],
    customers: Annotated[Path, typer.Option("--customers", exists=True, dir_okay=False, help="Customer list: CSV or XLSX.")],
    trunk: Annotated[str, typer.Option("--trunk", help="Carrier as HOST:PORT.")],
    username: Annotated[Optional[str], typer.Option(help="Digest username for the trunk.")] = None,
    password: Annotated[Optional[str], typer.Option(help="Digest password for the trunk.")] = None,
    register: Annotated[bool, typer.Option("--register", help="REGISTER with the trunk first.")] = False,
    caller_id: Annotated[Optional[str], typer.Option("--caller-id", help="Caller ID (From user).")] = None,
    max_concurrent: Annotated[int, typer.Option("--max-concurrent", min=1, help="Calls at once.")] = 10,
    cps: Annotated[float, typer.Option("--cps", min=0.01, help="New calls per second.")] = 2.0,
    hours: Annotated[str, typer.Option("--hours", help="Calling hours HH:MM-HH:MM in each customer's time zone (equal: all day).")] = "00:00-00:00",
    days: Annotated[str, typer.Option("--days", help="Calling days, e.g. mon-fri or mon,wed,fri.")] = "mon-sun",
    timezone_name: Annotated[str, typer.Option("--timezone", help="Zone for customers whose own zone is unknown.")] = "Asia/Ho_Chi_Minh",
    max_attempts: Annotated[int, typer.Option("--max-attempts", min=1, help="Attempts per customer at most.")] = 3,
    retry_after: Annotated[int, typer.Option("--retry-after", min=0, help="Seconds before retrying busy / no answer / failed.")] = 600,
    ring_timeout: Annotated[int, typer.Option("--ring-timeout", min=5, help="Seconds to ring before giving up.")] = 30,
    max_duration: Annotated[int, typer.Option("--max-duration", min=10, help="Longest call in seconds.")] = 600,
    speech_model: Annotated[Optional[Path], typer.Option("--speech-model", exists=True, file_okay=False, help="Vosk model folder for listen blocks.")] = None,
    prompt_cache: Annotated[Optional[Path], typer.Option("--prompt-cache", file_okay=False, help="Folder for rendered prompts.")] = None,
    recordings: Annotated[Optional[Path], typer.Option("--recordings", file_okay=False, help="Keep what record blocks record in this folder.")] = None,
    db: Annotated[str, typer.Option("--db", help="Database URL (SQLite file or PostgreSQL).")] = DEFAULT_DB,
    name: Annotated[Optional[str], typer.Option("--name", help="Campaign name (default: the script's).")] = None,
    inband_dtmf: Annotated[InbandDtmf, typer.Option("--inband-dtmf", help="Keypress tones in the audio: auto, on, off.")] = InbandDtmf.AUTO,
    bind: Annotated[str, typer.Option("--bind", help="Local SIP address HOST:PORT.")] = "127.0.0.1:0",
    json_output: Annotated[bool, typer.Option("--json", help="Print the final report as one JSON object.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log calls to stderr.")] = False,
) -> None:
    """Create a campaign from a script and a customer list, call everyone, print the report."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    host, port = _hostport(trunk)
    start, end = _hours(hours)
    try:
        day_list = sorted(d + 1 for d in parse_days(days))
        upgrade(db)
        spec = CampaignSpec(
            name=name or script.stem, script=script, customers=customers, trunk_host=host, trunk_port=port,
            username=username, password=password, register=register, caller_id=caller_id,
            max_concurrent=max_concurrent, cps=cps, hours_start=start, hours_end=end, days=day_list,
            timezone=timezone_name, max_attempts=max_attempts, retry_after_s=retry_after,
            ring_timeout_s=ring_timeout, max_duration_s=max_duration, speech_model=speech_model,
        )
        campaign_id, imported = create_campaign(make_engine(db), spec)
    except (ConfigError, CustomerImportError, CallingHoursError, SpeechError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    for skipped in imported.skipped:
        err.print(f"[yellow]skipped[/yellow] {skipped}")
    err.print(f"campaign {campaign_id}: {len(imported.imported)} customers imported, {len(imported.skipped)} skipped")
    settings = WorkerSettings(worker_id=_worker_id(), speech_model=speech_model, prompt_cache=prompt_cache,
                              inband_dtmf=inband_dtmf, recordings_dir=recordings)
    bind_host, bind_port = _hostport(bind) if bind.rpartition(":")[2] != "0" else (bind.rpartition(":")[0], 0)
    try:
        asyncio.run(_work(db, campaign_id, settings, (bind_host, bind_port), not json_output, len(imported.imported)))
    except (DialerError, PromptError, SpeechError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    rep = _final_report(db, campaign_id)
    if json_output:
        sys.stdout.write(json.dumps(rep.to_json(), ensure_ascii=False) + "\n")
    else:
        console = Console()
        for table in report_tables(rep):
            console.print(table)


@campaign_app.command("work")
def work(
    campaign: Annotated[int, typer.Option("--campaign", help="The id of a running campaign.")],
    db: Annotated[str, typer.Option("--db", help="Database URL shared by the workers.")] = DEFAULT_DB,
    worker_id: Annotated[Optional[str], typer.Option("--worker-id", help="Unique name of this worker (default: host-pid).")] = None,
    speech_model: Annotated[Optional[Path], typer.Option("--speech-model", exists=True, file_okay=False)] = None,
    prompt_cache: Annotated[Optional[Path], typer.Option("--prompt-cache", file_okay=False)] = None,
    lease: Annotated[float, typer.Option("--lease", min=5, help="Seconds a claimed customer stays leased without renewal.")] = 60.0,
    bind: Annotated[str, typer.Option("--bind", help="Local SIP address HOST:PORT.")] = "127.0.0.1:0",
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Join a running campaign as one more worker (several may share one PostgreSQL)."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = WorkerSettings(worker_id=worker_id or _worker_id(), speech_model=speech_model,
                              prompt_cache=prompt_cache, lease_seconds=lease)
    host, _, port = bind.rpartition(":")
    try:
        asyncio.run(_work(db, campaign, settings, (host, int(port or 0)), False, 0))
    except (repo.NotFound, InvalidData) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    except (DialerError, PromptError, SpeechError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc


@campaign_app.command("report")
def report_command(
    campaign: Annotated[int, typer.Option("--campaign", help="Campaign id.")],
    db: Annotated[str, typer.Option("--db")] = DEFAULT_DB,
    json_output: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Print a campaign's report: customers per status (cumulative totals), outcomes, rates."""
    try:
        rep = _final_report(db, campaign)
    except repo.NotFound as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    if json_output:
        sys.stdout.write(json.dumps(rep.to_json(), ensure_ascii=False) + "\n")
    else:
        for table in report_tables(rep):
            Console().print(table)
