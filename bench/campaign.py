"""A whole campaign against the simulated carrier, run by real ``callbot campaign work`` processes.

    .venv/bin/python -m bench.campaign [--quick] [--profile] [--no-write]

Every part runs as in production, each in its own process: the carrier (a fresh one per run)
is ``python -m callbot simulate-carrier --config FILE`` (:class:`dialer.simphone.PhoneSimulator`,
SIP over UDP and RTP on loopback) and the dialers are ``python -m callbot campaign work``
workers. This module writes the inputs, creates the campaign through
:func:`callbot.campaign.setup.create_campaign` (the code ``callbot campaign run`` uses), watches
the database and reads the results back.

The customers (2,000; ``--quick``: 300) have deterministic phones, one behaviour per number:

* 92 % answer after a 300 ms ring and press 1 (RFC 4733) half a second after the answer; the
  script (``bench/scripts/campaign_confirm.yaml``: a menu with a short prompt, key 1 ->
  set_status Confirmed -> hangup without a prompt) writes the status change during the call
  and hangs up;
* 4 % are busy (486 at once), 2 % never answer (our CANCEL after the campaign's ring timeout,
  5 s), 2 % decline (603 after 500 ms).

The campaign allows two attempts and retries busy and unanswered customers after 3 s, so every
customer has an exact expected number of attempts: 1 for answering and declining phones, 2 for
busy and silent ones. Five runs, each on a fresh database: at the campaign's limits (``--limits``,
default 100 calls at once and 50 new calls per second), SQLite (WAL) with one worker, then
PostgreSQL (a database created for the run on the local server, dropped after it) with one
worker and with two; then the scaling pair on PostgreSQL, one worker against two, with limits
no worker reaches on this machine (``--raised``, default 300 and 200/s), so that the workers,
not the campaign's limits, set the pace. The limits are the campaign's, shared by its workers
(:func:`callbot.store.dialing.claim_due` counts them under the campaign's row lock).

Measured per run:

* **concurrency held**: attempts in state ``dialing`` (marked just before the INVITE, until the
  result is written), sampled from the database every 0.5 s by a thread of this process; max,
  and p50 over the steady part;
* **calls per second**: attempts dialed per second in the steady part (between the 10th and
  the 90th percentile of the dial times, leaving out the start burst and the tail of retries
  and 5 s no-answer calls), and over the whole campaign;
* **time to complete**: from the first attempt recorded to the last one finished (database
  timestamps);
* **failures**: attempts with outcome ``failed`` (their messages are listed), abandoned
  attempts, error lines in the workers' logs;
* **CPU** of every worker process (``/proc/PID/stat`` utime + stime, read when it has exited
  but before it is reaped; start-up included), of the carrier during the run and, on
  PostgreSQL, of the server processes serving the run's database (sampled every 0.5 s);
* **where a call's time goes**: claim -> INVITE, ring and talk as the dialer saw them, the mean
  holding time (Little's law: ``max_concurrent / holding`` bounds the dial rate), keypresses
  that never reached the dialer and, for those calls, how much longer the carrier's call lasted
  than ours (our 200 OK processing was late by about that much); keys that reached the script
  engine only after the menu had timed out, and when.

Correctness is checked on the same run: each customer's attempts equal the expected number and
every attempt's outcome is the expected one (no double calls, no lost calls), and nobody is
called again within the retry interval or beyond the maximum of attempts; the carrier saw
exactly one INVITE per attempt for each number (its own log, independent of our database); a
customer is Confirmed exactly when the script engine of one of their calls confirmed them (its
``status_change`` event; no result lost); the sampled concurrency stays within the campaign's
limit and the dials of the steady part within its cps (plus one second's worth at once); the
campaign report's totals agree with the rows; the workers exit 0 without errors. The scaling
pair pushes the machine beyond what it sustains: a late answer may become a no-answer (our
CANCEL at the ring timeout) and be retried, and an INVITE may be lost in a full socket buffer,
so there the planned outcomes, attempt counts and delivered INVITEs are reported, not
required; the carrier must still never see a call we have not recorded.

``--profile`` attaches py-spy (``--gil --nonblocking``; install it into the venv, it is not a
project dependency) to every worker and adds where the worker's GIL time went to the notes.
Prints rich tables; unless ``--no-write``, the figures replace (or are appended as) the section
"Campaigns" of BENCHMARKS.md, re-read right before the one write. Every process is stopped by
its PID with a bounded wait.
"""

from __future__ import annotations

from bench import sections

import argparse
import asyncio
import csv
import os
import platform
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import sqlalchemy as sa
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlmodel import Session

from callbot.campaign.setup import CampaignSpec, create_campaign
from callbot.prerender import static_texts
from callbot.prompts import Prompt, PromptRenderer
from callbot.scriptcall import ScriptCallOptions, load_script
from callbot.store.db import make_engine, upgrade
from callbot.store.models import AttemptState, CallAttempt, CallEvent, CampaignCustomer, Customer
from callbot.store.report import report as campaign_report
from dialer.outcome import CallOutcome
from scripts_dsl import CustomerStatus

BENCH_DIR: Final = Path(__file__).resolve().parent
ROOT: Final = BENCH_DIR.parent
SCRIPT: Final = BENCH_DIR / "scripts" / "campaign_confirm.yaml"
BENCHMARKS: Final = ROOT / "BENCHMARKS.md"
SECTION: Final = "## Campaigns (issue: campaigns)"

PG_HOST, PG_PORT, PG_USER, PG_ADMIN_DB = "127.0.0.1", 5432, "postgres", "test"
SAMPLE_EVERY: Final = 0.5  # seconds between two concurrency samples
RING_TIMEOUT_S: Final = 5  # the campaign's ring timeout (the store's minimum): our CANCEL
RETRY_AFTER_S: Final = 3  # busy and unanswered customers are called again this much later
MAX_ATTEMPTS: Final = 2
STEADY: Final = (0.10, 0.90)  # the steady part: between these quantiles of the dial times
START_BOUND: Final = 30.0  # seconds the carrier may take to start
STOP_BOUND: Final = 10.0  # seconds a process may take to stop after a signal
CLK_TCK: Final = os.sysconf("SC_CLK_TCK")
MAX_PROBLEMS: Final = 3  # customers listed by name per failed check
LATE_ANSWER_MS: Final = 400  # a 200 OK processed this late lets the key (0.5 s later) arrive first
EXPECTATIONS: Final = ("attempts per customer as planned", "every attempt's outcome as planned",
                       "every attempt's INVITE reached the carrier")
HOLD_BY_PHONES: Final = 0.3 + 0.5 + 0.1  # ring, key after the answer, key length (s)


class BenchError(RuntimeError):
    """The benchmark could not run (a process that did not start, a database out of reach)."""


# --- the customers and their phones ---------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """One behaviour of a simulated phone and what the campaign must make of it."""

    name: str
    behaviour: dict[str, Any]
    outcome: CallOutcome
    attempts: int  # attempts the campaign must make (MAX_ATTEMPTS allows one retry)


ANSWER: Final = Kind("answer, press 1", {"action": "answer", "ring_seconds": 0.3, "press": "1",
                                         "digits_after": 0.5, "hangup_after": 15}, CallOutcome.ANSWERED, 1)
BUSY: Final = Kind("busy", {"action": "busy", "ring_seconds": 0}, CallOutcome.BUSY, 2)
NO_ANSWER: Final = Kind("no answer", {"action": "no_answer"}, CallOutcome.NO_ANSWER, 2)
DECLINE: Final = Kind("decline", {"action": "decline", "ring_seconds": 0.5}, CallOutcome.DECLINED, 1)


def kind_of(index: int) -> Kind:
    """Per 50 customers: 2 busy, 1 no answer, 1 decline, 46 answer."""
    slot = index % 50
    return BUSY if slot < 2 else NO_ANSWER if slot == 2 else DECLINE if slot == 3 else ANSWER


def phone_of(index: int) -> str:
    return f"+8491{index:07d}"


def write_inputs(folder: Path, customers: int) -> tuple[Path, Path]:
    """The customer list (CSV) and the carrier's configuration (YAML, numbers in the E.164
    form the dialer sends, so the simulator finds each by an exact match)."""
    customer_csv = folder / "customers.csv"
    with customer_csv.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "phone"])
        writer.writerows([f"Customer {i:04d}", phone_of(i)] for i in range(customers))
    carrier_yaml = folder / "carrier.yaml"
    numbers = {phone_of(i): kind_of(i).behaviour for i in range(customers)}
    carrier_yaml.write_text(yaml.safe_dump({"numbers": numbers}, sort_keys=False), encoding="utf-8")
    return customer_csv, carrier_yaml


# --- processes ------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (also of a zombie, which keeps its final counts)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def exited(pid: int) -> bool:
    """True once the child has exited; it is not reaped (its /proc entry stays readable)."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def stop_process(proc: subprocess.Popen[bytes], first: int = signal.SIGINT) -> None:
    """Signal ``proc`` by its PID, wait a bounded time, then kill it."""
    if proc.poll() is not None:
        return
    os.kill(proc.pid, first)
    try:
        proc.wait(timeout=STOP_BOUND)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=STOP_BOUND)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["COLUMNS"] = "400"  # one line per carrier event in its log (rich wraps at the width)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


class Carrier:
    """``callbot simulate-carrier`` as a child process; its log tells which numbers got an
    INVITE and how long each answered call lasted on the carrier's side."""

    INVITE = re.compile(r"^(\+\d+): INVITE from ")
    TALK = re.compile(r"^(\+\d+): ended, caller_bye \(SIP 200\), talk ([\d.]+) s")
    LISTENING = re.compile(r"listening on sip:([\d.]+):(\d+)")

    def __init__(self, config: Path, log: Path) -> None:
        self.config, self.log = config, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self) -> int:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "callbot", "simulate-carrier", "--config", str(self.config),
                 "--bind", "127.0.0.1:0"], stdout=out, stderr=subprocess.STDOUT, env=_env(), cwd=ROOT)
        deadline = time.monotonic() + START_BOUND
        while time.monotonic() < deadline:
            found = self.LISTENING.search(self.log.read_text(encoding="utf-8", errors="replace"))
            if found:
                self.port = int(found.group(2))
                return self.port
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise BenchError(f"the simulated carrier did not start: {self.log.read_text(errors='replace')[-2000:]}")

    def offset(self) -> int:
        return self.log.stat().st_size

    def lines(self, since: int) -> list[str]:
        with self.log.open("rb") as handle:
            handle.seek(since)
            return handle.read().decode("utf-8", errors="replace").splitlines()

    def invites(self, lines: list[str]) -> Counter[str]:
        """INVITEs per number."""
        return Counter(m.group(1) for line in lines if (m := self.INVITE.match(line)))

    def talks(self, lines: list[str]) -> dict[str, float]:
        """Talk seconds of answered calls that we ended (BYE from the caller), per number."""
        return {m.group(1): float(m.group(2)) for line in lines if (m := self.TALK.match(line))}

    def cpu(self) -> float:
        assert self.proc is not None
        return cpu_seconds(self.proc.pid) or 0.0

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)


# --- databases ------------------------------------------------------------------------------------


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new database on the local PostgreSQL for one run, dropped afterwards."""
    import psycopg

    name = f"callbot_bench_campaign_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=PG_ADMIN_DB,
                                autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise BenchError(f"PostgreSQL is not reachable at {PG_HOST}:{PG_PORT}: {exc}") from exc
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


@contextmanager
def sqlite_database(folder: Path, label: str) -> Iterator[str]:
    yield f"sqlite:///{folder / (label + '.db')}"


class Sampler(threading.Thread):
    """Counts the campaign's attempts in state ``dialing`` every :data:`SAMPLE_EVERY` s; on
    PostgreSQL also follows the CPU time of the server processes serving the run's database
    (other than this sampler's own), which live only as long as their connections."""

    def __init__(self, engine: sa.Engine, campaign_id: int) -> None:
        super().__init__(name="concurrency-sampler", daemon=True)
        self.engine, self.campaign_id = engine, campaign_id
        self.samples: list[tuple[float, int]] = []  # (unix time, attempts dialing)
        self.server_cpu: dict[int, float] = {}  # PostgreSQL backend pid -> CPU seconds seen last
        self.errors = 0
        self._halt = threading.Event()
        ca = CallAttempt.__table__  # type: ignore[attr-defined]
        self.query = sa.select(sa.func.count()).select_from(ca).where(
            ca.c.campaign_id == campaign_id, ca.c.state == AttemptState.DIALING.value)
        self.backends = sa.text("SELECT pid FROM pg_stat_activity "
                                "WHERE datname = current_database() AND pid <> pg_backend_pid()")

    def run(self) -> None:
        postgres = self.engine.dialect.name == "postgresql"
        while not self._halt.is_set():
            try:
                with self.engine.connect() as connection:
                    count = int(connection.execute(self.query).scalar_one())
                    pids = list(connection.execute(self.backends).scalars()) if postgres else []
                self.samples.append((time.time(), count))
                for pid in pids:
                    cpu = cpu_seconds(int(pid))
                    if cpu is not None:
                        self.server_cpu[int(pid)] = cpu
            except sa.exc.OperationalError:
                self.errors += 1
            self._halt.wait(SAMPLE_EVERY)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=STOP_BOUND)


# --- one run --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """A campaign's pacing: calls at once and new calls per second."""

    max_concurrent: int
    cps: float

    def __str__(self) -> str:
        return f"{self.max_concurrent} at once, {self.cps:g}/s"


@dataclass(frozen=True)
class Settings:
    customers: int
    limits: Limits  # the campaign runs
    raised: Limits  # the scaling runs: limits a worker should not reach on this machine
    profile: bool = False


@dataclass(frozen=True)
class Run:
    """One campaign of the benchmark. ``strict``: every customer's outcome and number of
    attempts must be the expected ones; with limits above what the machine sustains, late
    answers may legitimately become no-answers (our CANCEL at the ring timeout) and be retried,
    so only the invariants are checked (no call we do not know of, no result lost, totals)."""

    label: str
    database: str  # "sqlite" or "postgresql"
    workers: int
    limits: Limits
    strict: bool


@dataclass
class WorkerStat:
    worker_id: str
    returncode: int | None
    cpu_s: float
    lifetime_s: float
    attempts: int
    error_lines: int
    profile: Path | None = None
    first_error: str = ""


@dataclass(frozen=True)
class Timings:
    """Where a call's time goes, from the attempts' rows and the carrier's log (ms)."""

    claim_to_invite: tuple[float, float]  # p50, p99: attempt recorded -> marked dialing
    ring: tuple[float, float]  # INVITE -> 200 OK as we saw it (the phones ring 300 ms)
    talk: tuple[float, float]  # answered calls: 200 OK -> our BYE
    holding_s: float  # mean time an attempt stays dialing (INVITE -> result written)
    keys_lost: int  # answered calls that got no keypress (the phone pressed 1 on every one)
    late_answer_ms: float  # p50 over those: the carrier's talk minus ours (200 OK processed late)
    keys_late: int  # answered calls whose key reached the engine after the menu had ended
    late_key_ms: float  # p50 over those: when the key reached the engine, ms after the answer
    claim_gap_ms: float  # p50 time between two claims (the workers' claim transactions)
    claims_at_window: float  # share of claims after which the last second held cps attempts


@dataclass
class RunResult:
    label: str
    limits: Limits
    strict: bool
    database: str
    workers: list[WorkerStat]
    timed_out: bool
    complete_s: float  # first attempt recorded -> last attempt finished
    process_s: float  # workers started -> last worker exited
    attempts: int
    dialed: int
    steady_cps: float
    overall_cps: float
    concurrency_max: int
    concurrency_p50: float
    outcomes: Counter[str]
    failed: int
    abandoned: int
    carrier_cpu_s: float
    server_cpu_s: float | None  # PostgreSQL backends of the run (None on SQLite)
    timings: Timings
    checks: dict[str, bool]
    problems: list[str] = field(default_factory=list)

    @property
    def worker_cpu_s(self) -> float:
        return sum(w.cpu_s for w in self.workers)

    @property
    def ok(self) -> bool:
        return not self.timed_out and all(ok for name, ok in self.checks.items()
                                          if self.strict or name not in EXPECTATIONS)


def _prerender(cache: Path) -> None:
    """Render the script's prompts once into the shared cache (workers then only read it)."""
    compiled = load_script(ScriptCallOptions(script=SCRIPT))
    voice = compiled.voice or compiled.language
    asyncio.run(PromptRenderer(cache).prerender(Prompt(t, voice) for t in static_texts(compiled)))


def py_spy() -> str | None:
    """py-spy next to this interpreter (pip install py-spy into the venv) or on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def run_campaign(run: Run, url: str, settings: Settings, carrier: Carrier, customer_csv: Path,
                 workdir: Path, console: Console) -> RunResult:
    label, workers, limits = run.label, run.workers, run.limits
    upgrade(url)
    engine = make_engine(url)
    spec = CampaignSpec(
        name=f"bench {label}", script=SCRIPT, customers=customer_csv, trunk_host="127.0.0.1",
        trunk_port=carrier.port, max_concurrent=limits.max_concurrent, cps=limits.cps,
        max_attempts=MAX_ATTEMPTS, retry_after_s=RETRY_AFTER_S, ring_timeout_s=RING_TIMEOUT_S,
        max_duration_s=60,
    )
    campaign_id, imported = create_campaign(engine, spec)
    if len(imported.imported) != settings.customers:
        raise BenchError(f"{label}: {imported.describe()}; expected {settings.customers} customers")
    bound = 120.0 + 8.0 * settings.customers / min(limits.cps, settings.limits.cps)
    console.print(f"[bold]{label}[/bold]: campaign {campaign_id}, {settings.customers} customers, "
                  f"{workers} worker(s), limits {limits}, at most {bound:.0f} s")
    log_offset = carrier.offset()
    carrier_cpu0 = carrier.cpu()
    sampler = Sampler(make_engine(url), campaign_id)
    sampler.start()
    procs: list[tuple[str, subprocess.Popen[bytes], Path]] = []
    profilers: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
    spy = py_spy() if settings.profile else None
    began = time.monotonic()
    for index in range(workers):
        worker_id = f"bench-{re.sub(r'[^a-z0-9]+', '-', label.lower()).strip('-')}-w{index + 1}"
        log = workdir / f"{worker_id}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "callbot", "campaign", "work", "--campaign", str(campaign_id),
                 "--db", url, "--worker-id", worker_id, "--prompt-cache", str(workdir / "prompts"),
                 "--bind", "127.0.0.1:0"],
                stdout=out, stderr=subprocess.STDOUT, env=_env(), cwd=ROOT)
        procs.append((worker_id, proc, log))
        if spy is not None:
            # Attached by PID, so the worker's own CPU time stays its own; --nonblocking does
            # not pause the worker to take a sample.
            raw = workdir / f"{worker_id}.pyspy"
            with (workdir / f"{worker_id}.pyspy.log").open("wb") as out:
                profilers[worker_id] = (subprocess.Popen(
                    [spy, "record", "--pid", str(proc.pid), "--gil", "--nonblocking", "--rate", str(PROFILE_RATE),
                     "--format", "raw", "-o", str(raw)], stdout=out, stderr=subprocess.STDOUT), raw)
    ended: dict[str, tuple[float, float]] = {}  # worker id -> (cpu s, lifetime s)
    timed_out = False
    try:
        while len(ended) < len(procs):
            for worker_id, proc, _ in procs:
                if worker_id not in ended and exited(proc.pid):
                    ended[worker_id] = (cpu_seconds(proc.pid) or 0.0, time.monotonic() - began)
                    proc.wait(timeout=STOP_BOUND)
            if time.monotonic() - began > bound:
                timed_out = True
                break
            time.sleep(0.1)
    finally:
        for worker_id, proc, _ in procs:
            if worker_id not in ended:
                ended[worker_id] = (cpu_seconds(proc.pid) or 0.0, time.monotonic() - began)
                stop_process(proc, signal.SIGTERM)
        for profiler, _ in profilers.values():
            try:
                profiler.wait(timeout=STOP_BOUND)  # py-spy writes its file when the worker exits
            except subprocess.TimeoutExpired:
                stop_process(profiler)
        sampler.stop()
    process_s = time.monotonic() - began
    carrier_cpu = carrier.cpu() - carrier_cpu0
    time.sleep(0.5)  # the carrier's last log lines
    lines = carrier.lines(log_offset)
    workers_stats = []
    for worker_id, proc, log in procs:
        cpu, lifetime = ended[worker_id]
        text = log.read_text(encoding="utf-8", errors="replace")
        errors = [line for line in text.splitlines() if " ERROR " in line or line.startswith("Traceback")]
        raw_profile = profilers[worker_id][1] if worker_id in profilers else None
        workers_stats.append(WorkerStat(worker_id, proc.returncode, cpu, lifetime, 0, len(errors),
                                        raw_profile if raw_profile is not None and raw_profile.exists() else None,
                                        first_error=errors[0].partition(" ERROR ")[2][:300] if errors else ""))
    try:
        return analyse(run, engine, campaign_id, settings, workers_stats, timed_out, process_s,
                       sampler.samples, carrier.invites(lines), carrier.talks(lines), carrier_cpu,
                       sum(sampler.server_cpu.values()) if engine.dialect.name == "postgresql" else None)
    finally:
        engine.dispose()
        sampler.engine.dispose()


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def analyse(run: Run, engine: sa.Engine, campaign_id: int, settings: Settings, workers: list[WorkerStat],
            timed_out: bool, process_s: float, samples: list[tuple[float, int]], invites: Counter[str],
            carrier_talks: dict[str, float], carrier_cpu: float, server_cpu: float | None) -> RunResult:
    tables = (CallAttempt, CampaignCustomer, Customer, CallEvent)
    ca, cc, cu, ce = (m.__table__ for m in tables)  # type: ignore[attr-defined]
    with Session(engine) as session:
        attempts = session.execute(
            sa.select(ca.c.id, ca.c.campaign_customer_id, ca.c.state, ca.c.outcome, ca.c.worker_id, ca.c.created_at,
                      ca.c.started_at, ca.c.ended_at, ca.c.ring_ms, ca.c.talk_ms, ca.c.digits, ca.c.message)
            .where(ca.c.campaign_id == campaign_id)).all()
        customers = session.execute(
            sa.select(cc.c.id, cu.c.phone, cc.c.status, cc.c.attempts, cc.c.done)
            .join(cu, cu.c.id == cc.c.customer_id).where(cc.c.campaign_id == campaign_id)).all()
        # What each call's engine did with the keypress: the status change it made, or the
        # first key it logged (t_ms after the engine started, at the answer).
        engine_log = session.execute(
            sa.select(ce.c.attempt_id, ce.c.kind, ce.c.t_ms, ce.c.data)
            .join(ca, ca.c.id == ce.c.attempt_id)
            .where(ca.c.campaign_id == campaign_id, ce.c.kind.in_(("digit", "status_change")))
            .order_by(ce.c.attempt_id, ce.c.seq)).all()
        rep = campaign_report(session, campaign_id)
    confirmed_by_engine = {e.attempt_id for e in engine_log
                           if e.kind == "status_change" and (e.data or {}).get("to") == CustomerStatus.CONFIRMED.value}
    first_key: dict[int, tuple[int, str]] = {}
    for e in engine_log:
        if e.kind == "digit" and e.attempt_id not in first_key:
            first_key[e.attempt_id] = (int(e.t_ms), str((e.data or {}).get("block")))
    problems: list[str] = []
    by_customer: dict[int, list[Any]] = {}
    for row in attempts:
        by_customer.setdefault(row.campaign_customer_id, []).append(row)
    index_of = {phone_of(i): i for i in range(settings.customers)}
    wrong = Counter[str]()
    late_answers: list[float] = []
    late_keys: list[tuple[int, str]] = []  # (t_ms, block) of keys the engine got after the menu
    for row in customers:
        kind = kind_of(index_of[row.phone])
        mine = by_customer.get(row.id, [])
        dialed = sum(1 for a in mine if a.started_at is not None)
        # A customer is Confirmed exactly when the engine of one of their calls confirmed them
        # (its status_change event): the decision made on the call landed in the store. A key
        # that never came, or came after the menu had ended, is counted apart.
        decided = any(a.id in confirmed_by_engine for a in mine)
        expected_status = CustomerStatus.CONFIRMED if decided else CustomerStatus.REGISTERED
        findings = {
            "attempts": (len(mine) != kind.attempts or row.attempts != kind.attempts,
                         f"{len(mine)} attempts, expected {kind.attempts}"),
            "outcome": (any(str(a.outcome) != kind.outcome.value for a in mine),
                        f"outcomes {[str(a.outcome) for a in mine]}, expected {kind.outcome.value}"),
            "status": (str(row.status) != expected_status.value,
                       f"status {row.status}, expected {expected_status.value}"),
            "unknown calls": (invites.get(row.phone, 0) > dialed,
                              f"the carrier saw {invites.get(row.phone, 0)} INVITEs, we dialed {dialed}"),
            "INVITEs lost": (invites.get(row.phone, 0) < dialed,
                             f"the carrier saw {invites.get(row.phone, 0)} INVITEs, we dialed {dialed}"),
            "calls too close or too many": (not _spaced(mine),
                                            f"{len(mine)} attempts, retried sooner than {RETRY_AFTER_S} s after "
                                            f"the last or beyond {MAX_ATTEMPTS}"),
        }
        for name, (bad, text) in findings.items():
            if bad:
                wrong[name] += 1
                if wrong[name] <= MAX_PROBLEMS:
                    problems.append(f"{row.phone} ({kind.name}): {text}")
        for a in mine:
            if str(a.outcome) == CallOutcome.ANSWERED.value and not a.digits and row.phone in carrier_talks:
                late_answers.append(1000 * carrier_talks[row.phone] - a.talk_ms)
            if str(a.outcome) == CallOutcome.ANSWERED.value and a.digits and a.id not in confirmed_by_engine:
                late_keys.append(first_key.get(a.id, (-1, "?")))
    outcomes = Counter(str(a.outcome) for a in attempts)
    starts = np.sort(np.array([_ts(a.started_at) for a in attempts if a.started_at is not None]))
    created = [_ts(a.created_at) for a in attempts]
    finished = [_ts(a.ended_at) for a in attempts if a.ended_at is not None]
    complete_s = max(finished) - min(created) if finished and created else float("nan")
    steady_cps = overall_cps = float("nan")
    steady_from, steady_to = (starts[0], starts[-1]) if len(starts) else (0.0, 0.0)
    steady_dials, steady_allowed = 0, 0.0
    if len(starts) >= 10:
        lo, hi = int(STEADY[0] * (len(starts) - 1)), int(STEADY[1] * (len(starts) - 1))
        steady_from, steady_to = starts[lo], starts[hi]
        steady_cps = (hi - lo) / max(1e-9, steady_to - steady_from)
        overall_cps = (len(starts) - 1) / max(1e-9, starts[-1] - starts[0])
        # The token bucket allows one second's worth at once, then cps per second.
        steady_dials, steady_allowed = hi - lo, run.limits.cps * (steady_to - steady_from + 1.0)
    counts = [n for _, n in samples]
    steady = [n for t, n in samples if steady_from <= t <= steady_to] or counts or [0]
    per_worker = Counter(str(a.worker_id) for a in attempts)
    for worker in workers:
        worker.attempts = per_worker[worker.worker_id]
    answered = [a for a in attempts if str(a.outcome) == CallOutcome.ANSWERED.value]
    claim_to_invite = [1000 * (_ts(a.started_at) - _ts(a.created_at)) for a in attempts if a.started_at is not None]
    holding = [_ts(a.ended_at) - _ts(a.started_at) for a in attempts
               if a.started_at is not None and a.ended_at is not None]
    claim_times = np.array(sorted({_ts(a.created_at) for a in attempts}))  # one stamp per claim
    created_sorted = np.sort(np.array(created))
    at_window = [int(np.searchsorted(created_sorted, c, "right") - np.searchsorted(created_sorted, c - 1.0, "right"))
                 >= int(run.limits.cps + 1e-9) for c in claim_times]
    timings = Timings(
        claim_to_invite=(_pct(claim_to_invite, 50), _pct(claim_to_invite, 99)),
        ring=(_pct([a.ring_ms for a in answered], 50), _pct([a.ring_ms for a in answered], 99)),
        talk=(_pct([a.talk_ms for a in answered], 50), _pct([a.talk_ms for a in answered], 99)),
        holding_s=float(np.mean(holding)) if holding else float("nan"),
        keys_lost=sum(1 for a in answered if not a.digits),
        keys_late=len(late_keys),
        late_key_ms=_pct([float(t) for t, _ in late_keys if t >= 0], 50),
        late_answer_ms=_pct(late_answers, 50),
        claim_gap_ms=1000 * _pct(list(np.diff(claim_times)), 50),
        claims_at_window=float(np.mean(at_window)) if at_window else float("nan"),
    )
    checks = {
        EXPECTATIONS[0]: wrong["attempts"] == 0,
        EXPECTATIONS[1]: wrong["outcome"] == 0,
        "status Confirmed exactly where the call's engine confirmed (no result lost)": wrong["status"] == 0,
        "calls at once within the campaign's limit": max(counts, default=0) <= run.limits.max_concurrent,
        "dials within the campaign's cps (one second of burst allowed)": steady_dials <= steady_allowed,
        "the carrier saw no call we have not recorded": wrong["unknown calls"] == 0,
        f"no customer called again within {RETRY_AFTER_S} s, none beyond {MAX_ATTEMPTS} attempts":
            wrong["calls too close or too many"] == 0,
        EXPECTATIONS[2]: wrong["INVITEs lost"] == 0,
        "report: attempts = rows = sum of outcomes": (rep.attempts == len(attempts)
                                                      == sum(rep.by_outcome.values())
                                                      == sum(r.attempts for r in customers)),
        "report: every customer done, none in progress": (rep.done == rep.customers == settings.customers
                                                          and rep.in_progress == 0 and rep.remaining == 0),
        "workers exited 0 without errors": all(w.returncode == 0 and w.error_lines == 0 for w in workers),
    }
    for name, count in wrong.items():
        plural = name in ("unknown calls", "INVITEs lost", "calls too close or too many")
        problems.append(f"{count} customers with {name}" if plural else f"{count} customers with a wrong {name}")
    for message, count in Counter(str(a.message) for a in attempts
                                  if str(a.outcome) == CallOutcome.FAILED.value).most_common(3):
        problems.append(f"{count} failed attempts: {message}")
    unfinished = Counter(str(a.state) for a in attempts if a.outcome is None)
    if unfinished:
        problems.append("attempts without a result: " + ", ".join(f"{k} {v}" for k, v in unfinished.items()))
    for worker in workers:
        if worker.returncode != 0 or worker.error_lines:
            problems.append(f"{worker.worker_id}: exit {worker.returncode}, {worker.error_lines} error lines"
                            + (f", first: {worker.first_error}" if worker.first_error else ""))
    return RunResult(
        label=run.label, limits=run.limits, strict=run.strict, database=engine.dialect.name, workers=workers,
        timed_out=timed_out,
        complete_s=complete_s, process_s=process_s, attempts=len(attempts), dialed=len(starts),
        steady_cps=steady_cps, overall_cps=overall_cps, concurrency_max=max(counts, default=0),
        concurrency_p50=float(np.median(steady)), outcomes=outcomes,
        failed=outcomes.get(CallOutcome.FAILED.value, 0),
        abandoned=sum(1 for a in attempts if str(a.state) == AttemptState.ABANDONED.value),
        carrier_cpu_s=carrier_cpu, server_cpu_s=server_cpu, timings=timings, checks=checks, problems=problems,
    )


def _spaced(attempts: list[Any]) -> bool:
    """At most MAX_ATTEMPTS attempts, each recorded at least the retry interval after the
    previous one ended (the store schedules the retry from the end of the attempt)."""
    ordered = sorted(attempts, key=lambda a: _ts(a.created_at))
    return len(ordered) <= MAX_ATTEMPTS and all(
        earlier.ended_at is not None and _ts(later.created_at) - _ts(earlier.ended_at) >= RETRY_AFTER_S - 1e-3
        for earlier, later in zip(ordered, ordered[1:]))


def _ts(value: datetime | None) -> float:
    assert value is not None
    return value.timestamp()


# --- profile --------------------------------------------------------------------------------------

PROFILE_RATE: Final = 100  # py-spy samples per second
PROFILE_PARTS: Final = (  # (part, a frame that marks it), first match wins, innermost frames last
    ("start-up (imports, script, prompts)", ("_find_and_load", "CampaignWorker._load", "prerender")),
    ("store: finish_attempt", ("finish_attempt",)),
    ("store: mark_dialing", ("mark_dialing",)),
    ("store: status change during the call", ("change_status",)),
    ("store: claim_due", ("claim_due",)),
    ("store: campaign state, remaining, leases", ("CampaignWorker._state", "CampaignWorker._remaining",
                                                  "CampaignWorker._renew", "CampaignWorker._zones")),
    ("SIP (parse, transactions, dialogs)", ("SipEndpoint", "dialer/sip/", "UserAgent")),
    ("RTP and media clock", ("dialer/media.py", "dialer/rtp/", "dialer/codecs/")),
    ("script engine and ScriptRun", ("callbot/engine.py", "scripts_dsl/")),
    ("dialing (Softphone.dial, offer)", ("Softphone.dial", "dialer/sdp/")),
)


def profile_parts(raw: Path) -> tuple[int, Counter[str]]:
    """Samples (GIL held) of a py-spy raw profile, and how many fell in each part."""
    total, parts = 0, Counter[str]()
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        total += int(count)
        part = next((name for name, marks in PROFILE_PARTS if any(m in stack for m in marks)),
                    "asyncio loop, threads and other")
        parts[part] += int(count)
    return total, parts


def profile_note(result: RunResult) -> str | None:
    notes = []
    for worker in result.workers:
        if worker.profile is None:
            continue
        total, parts = profile_parts(worker.profile)
        if not total:
            continue
        held = total / PROFILE_RATE / max(worker.lifetime_s, 1e-9)
        top = ", ".join(f"{name} {100 * n / total:.0f} %" for name, n in parts.most_common())
        notes.append(f"{result.label} ({worker.worker_id.rsplit('-', 1)[1]}), py-spy --gil: the worker held the "
                     f"GIL {100 * held:.0f} % of its life; of that: {top}.")
    return " ".join(notes) or None


# --- output ---------------------------------------------------------------------------------------

COLUMNS: Final = ["run", "limits", "complete s", "dials/s steady", "dials/s overall", "calls at once max",
                  "at once p50", "attempts", "failed", "abandoned", "worker CPU s (% of a core)", "CPU ms/attempt",
                  "carrier CPU s", "PostgreSQL CPU s", "checks"]
TIME_COLUMNS: Final = ["run", "claim -> INVITE p50/p99 ms", "ring p50/p99 ms (phone: 300)",
                       "talk p50/p99 ms", "mean holding s", "max_concurrent / holding = rate bound /s",
                       "keypresses lost", "their 200 OK processed late by p50 ms",
                       "keys after the menu ended (p50 ms after the answer)", "claims: gap p50 ms",
                       "claims filling the 1 s cps window"]


def row_of(result: RunResult) -> list[str]:
    cores = ", ".join(f"{w.cpu_s:.0f} ({100 * w.cpu_s / max(w.lifetime_s, 1e-9):.0f} %)" for w in result.workers)
    return [result.label, str(result.limits), f"{result.complete_s:.1f}", f"{result.steady_cps:.1f}",
            f"{result.overall_cps:.1f}", str(result.concurrency_max), f"{result.concurrency_p50:.0f}",
            str(result.attempts), str(result.failed), str(result.abandoned), cores,
            f"{1000 * result.worker_cpu_s / max(result.attempts, 1):.1f}", f"{result.carrier_cpu_s:.0f}",
            "-" if result.server_cpu_s is None else f"{result.server_cpu_s:.0f}", "pass" if result.ok else "FAIL"]


def rate_bound(result: RunResult) -> float:
    """Little's law: places / mean holding time."""
    holding = result.timings.holding_s
    return result.limits.max_concurrent / holding if holding > 0 else float("nan")


def time_row_of(result: RunResult) -> list[str]:
    t = result.timings
    return [result.label, f"{t.claim_to_invite[0]:.0f} / {t.claim_to_invite[1]:.0f}",
            f"{t.ring[0]:.0f} / {t.ring[1]:.0f}",
            f"{t.talk[0]:.0f} / {t.talk[1]:.0f}", f"{t.holding_s:.2f}", f"{rate_bound(result):.1f}", str(t.keys_lost),
            "-" if t.keys_lost == 0 else f"{t.late_answer_ms:.0f}",
            str(t.keys_late) + ("" if t.keys_late == 0 else f" ({t.late_key_ms:.0f})"), f"{t.claim_gap_ms:.0f}",
            f"{100 * t.claims_at_window:.0f} %"]


def rich_table(title: str, columns: list[str], rows: list[list[str]]) -> Table:
    table = Table(title=title)
    for column in columns:
        table.add_column(column, justify="left" if column in ("run", "limits", "checks") else "right")
    for row in rows:
        table.add_row(*row, style="red" if row[-1] == "FAIL" else None)
    return table


def markdown_table(columns: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def write_section(path: Path, section: str) -> None:
    """This benchmark's section of BENCHMARKS.md (see :mod:`bench.sections`)."""
    sections.write_section(path, SECTION, section)


# --- main -----------------------------------------------------------------------------------------


def runs(settings: Settings) -> list[Run]:
    """The campaign at its limits on each database, then the scaling pair with raised limits."""
    return [
        Run("SQLite, 1 worker", "sqlite", 1, settings.limits, strict=True),
        Run("PostgreSQL, 1 worker", "postgresql", 1, settings.limits, strict=True),
        Run("PostgreSQL, 2 workers", "postgresql", 2, settings.limits, strict=True),
        Run("PostgreSQL, 1 worker, raised limits", "postgresql", 1, settings.raised, strict=False),
        Run("PostgreSQL, 2 workers, raised limits", "postgresql", 2, settings.raised, strict=False),
    ]


def bench(settings: Settings, workdir: Path, console: Console) -> list[RunResult]:
    if settings.profile and py_spy() is None:
        raise BenchError("--profile needs py-spy (.venv/bin/pip install py-spy; not a project dependency)")
    customer_csv, carrier_yaml = write_inputs(workdir, settings.customers)
    _prerender(workdir / "prompts")
    results: list[RunResult] = []
    for index, run in enumerate(runs(settings), start=1):
        # A fresh carrier per run: no run inherits the calls and the state of the one before.
        carrier = Carrier(carrier_yaml, workdir / f"carrier-{index}.log")
        port = carrier.start()
        try:
            database = sqlite_database(workdir, run.database) if run.database == "sqlite" else postgres_database()
            with database as url:
                console.print(f"simulated carrier on 127.0.0.1:{port}")
                result = run_campaign(run, url, settings, carrier, customer_csv, workdir, console)
        finally:
            carrier.stop()
        results.append(result)
        console.print(rich_table(run.label, COLUMNS, [row_of(result)]))
        for problem in result.problems:
            console.print(f"  [red]{escape(problem)}[/red]")
    return results


def _cpu_split(result: RunResult) -> tuple[float, str]:
    """CPU seconds per attempt of the whole run (workers, carrier, PostgreSQL) and its parts."""
    n = max(result.attempts, 1)
    server = result.server_cpu_s or 0.0
    total = (result.worker_cpu_s + result.carrier_cpu_s + server) / n
    parts = (f"workers {1000 * result.worker_cpu_s / n:.0f}, carrier {1000 * result.carrier_cpu_s / n:.0f}, "
             f"PostgreSQL {1000 * server / n:.0f}")
    return total, parts


def notes_for(results: list[RunResult], settings: Settings, load: tuple[float, float]) -> list[str]:
    """What the figures say: scaling and why, what holds the dial rate back, lost keys."""
    notes = []
    by_label = {r.label: r for r in results}
    cores = os.cpu_count() or 1
    one, two = by_label.get("PostgreSQL, 1 worker, raised limits"), by_label.get("PostgreSQL, 2 workers, raised limits")
    if one is not None and two is not None:
        per_attempt, parts = _cpu_split(two)
        carried = cores / per_attempt
        busy = ", ".join(f"{100 * w.cpu_s / max(w.lifetime_s, 1e-9):.0f} %" for w in two.workers)
        notes.append(
            f"**Scaling on PostgreSQL with limits no worker reaches here ({settings.raised}): two workers "
            f"against one, steady dial rate {two.steady_cps:.1f} / {one.steady_cps:.1f} = "
            f"{two.steady_cps / one.steady_cps:.2f}x**; time to complete {one.complete_s:.1f} s -> "
            f"{two.complete_s:.1f} s. One worker is one thread under one GIL: it used "
            f"{100 * one.worker_cpu_s / max(one.workers[0].lifetime_s, 1e-9):.0f} % of a core, "
            f"{one.timings.keys_lost + one.timings.keys_late} of its answered calls lost the keypress or got it "
            f"late (each then waits 3 s) and an "
            f"attempt held its place {one.timings.holding_s:.2f} s on average; two workers split that work "
            f"({busy} of a core; {two.timings.keys_lost + two.timings.keys_late} keypresses lost or late, "
            f"{two.timings.holding_s:.2f} s). Neither "
            f"can pass what the {cores} shared cores carry: an attempt costs {1000 * per_attempt:.0f} ms of CPU in "
            f"all ({parts}; worker start-up included), about {carried:.0f} attempts per second, and two workers "
            f"reached {100 * two.steady_cps / carried:.0f} % of that (load average {load[0]:.1f} before, "
            f"{load[1]:.1f} after, the machine being shared). More workers only pay on more cores.")
    lim_one, lim_two = by_label.get("PostgreSQL, 1 worker"), by_label.get("PostgreSQL, 2 workers")
    if lim_one is not None and lim_two is not None:
        notes.append(
            f"At the campaign's limits ({settings.limits}) two workers against one: "
            f"{lim_two.steady_cps:.1f} / {lim_one.steady_cps:.1f} = {lim_two.steady_cps / lim_one.steady_cps:.2f}x "
            f"(the limits are the campaign's, shared by its workers, so this ratio cannot pass "
            f"{settings.limits.cps / lim_one.steady_cps:.2f}).")
    for result in results:
        t = result.timings
        if result.strict and result.steady_cps < result.limits.cps * 0.95:
            notes.append(
                f"{result.label}: {result.steady_cps:.1f} dials/s against the {result.limits.cps:g} allowed. "
                f"Calls at once: an attempt holds a place for {t.holding_s:.2f} s on average (the phones account "
                f"for about {HOLD_BY_PHONES:.1f} s: 300 ms ring, key 0.5 s after the answer), so "
                f"{result.limits.max_concurrent} places allow {rate_bound(result):.1f}/s (Little's law); the rest "
                f"of the holding time is the worker's (claim -> INVITE p50 {t.claim_to_invite[0]:.0f} ms, ring as "
                f"seen p50 {t.ring[0]:.0f} ms, writing the result, {t.keys_lost + t.keys_late} calls waiting 3 s "
                f"for a key lost or late). "
                f"Rate: claims come every {t.claim_gap_ms:.0f} ms (p50) and {100 * t.claims_at_window:.0f} % of "
                f"them left the last second's window full (claim_due admits {result.limits.cps:g} attempts "
                f"created in any second).")
        if t.keys_lost:
            cause = (
                "the worker processed the 200 OK about that late, after the key (0.5 s after the 200 OK) had "
                "arrived, and RTP that arrives before the answer is processed is dropped (dialer/media.py "
                "MediaStream._on_datagram has no session yet)" if t.late_answer_ms >= LATE_ANSWER_MS else
                "the answer was processed in time, so the key was lost after it on the receive path (RTP "
                "socket, jitter buffer, digit detection) under this load: not explained by this benchmark")
            notes.append(
                f"{result.label}: {t.keys_lost} answered calls got no keypress although the phone pressed 1 on "
                f"every call (they wait 3 s for the menu timeout); on those calls the carrier's call lasted p50 "
                f"{t.late_answer_ms:.0f} ms longer than ours: {cause}.")
    for result in results:
        t = result.timings
        if t.keys_late:
            notes.append(
                f"{result.label}: on {t.keys_late} answered calls the key reached the script engine only after "
                f"the menu had timed out (p50 {t.late_key_ms:.0f} ms after the answer, against 500 ms at the "
                f"phone): the worker was reading that call's RTP seconds late. The call recorded the key but "
                f"nobody was asking any more, so the customer rightly stays Registered.")
    for result in results:
        failed = [name for name, ok in result.checks.items() if not ok]
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(result.outcomes.items()))
        split = ", ".join(f"{w.worker_id.rsplit('-', 1)[1]} {w.attempts}" for w in result.workers)
        verdict = "all checks passed" if not failed else (
            ("FAILED: " if result.strict or any(name not in EXPECTATIONS for name in failed) else
             "invariants held; beyond what the machine sustains, not as planned: ") + "; ".join(failed))
        notes.append(f"{result.label}: attempts by outcome {outcomes}; by worker {split}; {verdict}"
                     + (" (timed out)" if result.timed_out else "") + ".")
        profile = profile_note(result)
        if profile:
            notes.append(profile)
    notes.append("The campaign's limits hold across workers because claim_due counts them under the campaign "
                 "row lock (leased customers for calls at once, attempts created in the last second for the "
                 "rate); the checks on the sampled concurrency and on the dials of the steady part verify it.")
    return ["- " + note for note in notes]


def _limits(text: str) -> Limits:
    at_once, sep, rate = text.partition("/")
    if not sep or not at_once.isdigit():
        raise argparse.ArgumentTypeError(f"expected CALLS_AT_ONCE/CPS, e.g. 100/50, got {text!r}")
    return Limits(int(at_once), float(rate))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.campaign", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="300 customers instead of 2,000")
    parser.add_argument("--customers", type=int, help="customers (default 2000, quick 300)")
    parser.add_argument("--limits", type=_limits, default=Limits(100, 50.0),
                        help="the campaign's calls at once / new calls per second (default 100/50)")
    parser.add_argument("--raised", type=_limits, default=Limits(300, 200.0),
                        help="limits of the scaling runs, beyond what a worker reaches (default 300/200)")
    parser.add_argument("--profile", action="store_true", help="attach py-spy (--gil) to every worker")
    parser.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    parser.add_argument("--markdown", type=Path, default=BENCHMARKS, help="the file to update (default BENCHMARKS.md)")
    args = parser.parse_args(argv)
    settings = Settings(customers=args.customers or (300 if args.quick else 2000), limits=args.limits,
                        raised=args.raised, profile=args.profile)
    console = Console(width=max(160, Console().width))
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-campaign-") as tmp:
        try:
            results = bench(settings, Path(tmp), console)
            notes = notes_for(results, settings, (load_before[0], os.getloadavg()[0]))  # profiles are in tmp
        except BenchError as exc:
            console.print(f"[red]error:[/red] {exc}")
            return 2
    load_after = os.getloadavg()
    rows = [row_of(r) for r in results]
    time_rows = [time_row_of(r) for r in results]
    console.print(rich_table("Campaign against the simulated carrier", COLUMNS, rows))
    console.print(rich_table("Where a call's time goes", TIME_COLUMNS, time_rows))
    for note in notes:
        console.print(note, markup=False)
    context = (f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs shared "
               f"by the carrier, the workers, PostgreSQL and other work (load average {load_before[0]:.1f} before / "
               f"{load_after[0]:.1f} after)")
    console.print(context)
    if not args.no_write:
        header = (f"`python -m bench.campaign{' --quick' if args.quick else ''}{' --profile' if args.profile else ''}`"
                  f" on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {settings.customers} customers per run; the "
                  f"campaign's limits {settings.limits} (calls at once, new calls per second), and "
                  f"{settings.raised} for the scaling pair; {MAX_ATTEMPTS} attempts (busy and no answer retried "
                  f"after {RETRY_AFTER_S} s), ring timeout {RING_TIMEOUT_S} s; `callbot simulate-carrier` and "
                  f"`callbot campaign work` each in their own process on loopback. {context}.")
        section = "\n".join([SECTION, "", header, "", *markdown_table(COLUMNS, rows), "",
                             *markdown_table(TIME_COLUMNS, time_rows), "", *notes]) + "\n"
        write_section(args.markdown, section)
        console.print(f"updated {args.markdown}")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
