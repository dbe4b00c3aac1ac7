"""``callbot campaign run|work`` as real processes against simulated phones on loopback.

The far end is :class:`dialer.simphone.PhoneSimulator`, run in this test process on an event
loop of its own (:class:`SimulatedCarrier`), so every INVITE, keypress and hangup it sees is
recorded with the monotonic time it happened. The dialer is a child process started with
``python -m callbot campaign ...`` and stopped by its PID at teardown (:class:`CampaignProcesses`).

This module also holds the helpers the other campaign tests import
(``test_campaign_crash.py``, ``test_campaign_workers_pg.py``).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from callbot.campaign.setup import CampaignSpec, create_campaign
from callbot.store import repo
from callbot.store.db import make_engine, upgrade
from callbot.store.models import (
    AttemptState,
    CallAttempt,
    Campaign,
    CampaignCustomer,
    CampaignState,
    Customer,
    StatusChange,
    StatusSource,
)
from dialer.simphone import (
    Action,
    Behaviour,
    CallEnded,
    IncomingCall,
    PhoneSimulator,
    PressDigit,
    SimEvent,
    SimulatorConfig,
)

from .processes import PeerError, PeerProcess

pytestmark = pytest.mark.interop

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIRM_SCRIPT = Path(__file__).resolve().parent / "scripts" / "campaign_confirm.yaml"
"""Key 1 confirms (then a thank-you prompt), key 2 cancels; a customer already Confirmed
only hears goodbye."""

START_TIMEOUT = 10.0
POLL_SECONDS = 0.05


# --------------------------------------------------------------------------- the far end


@dataclass(frozen=True)
class Seen:
    """A simulator event and the ``time.monotonic()`` at which the simulator reported it."""

    at: float
    event: SimEvent


class SimulatedCarrier:
    """A :class:`PhoneSimulator` on its own event loop in a background thread, recording every
    event it reports (one :class:`IncomingCall` per new INVITE, retransmissions excluded).

        with SimulatedCarrier(config) as carrier:
            ...  # dial 127.0.0.1:{carrier.port}
    """

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.port = 0
        self._seen: list[Seen] = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="simulated-carrier", daemon=True)

    def __enter__(self) -> SimulatedCarrier:
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise PeerError(f"the simulated carrier did not start within {START_TIMEOUT:g} s")
        if self._failure is not None:
            raise PeerError(f"the simulated carrier did not start: {self._failure!r}") from self._failure
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(START_TIMEOUT)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread in __enter__
            self._failure = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with PhoneSimulator(self.config, on_event=self._record) as sim:
            self.port = sim.port
            self._ready.set()
            await self._stop.wait()

    def _record(self, event: SimEvent) -> None:
        with self._lock:
            self._seen.append(Seen(time.monotonic(), event))

    # --- what the phones saw

    def seen(self) -> list[Seen]:
        with self._lock:
            return list(self._seen)

    def invites(self) -> list[tuple[float, IncomingCall]]:
        """Every INVITE the phones received, in order, with its time."""
        return [(s.at, s.event) for s in self.seen() if isinstance(s.event, IncomingCall)]

    def invite_times(self) -> dict[str, list[float]]:
        """INVITE times per dialed number (as the Request-URI carried it)."""
        times: dict[str, list[float]] = defaultdict(list)
        for at, call in self.invites():
            times[call.number].append(at)
        return dict(times)

    def call_ids(self) -> set[str]:
        return {call.call_id for _, call in self.invites()}

    def presses(self) -> list[tuple[float, str, str]]:
        """``(time, number, digit)`` for every key a phone pressed."""
        numbers = {call.call_id: call.number for _, call in self.invites()}
        return [(s.at, numbers[s.event.call_id], s.event.digit) for s in self.seen()
                if isinstance(s.event, PressDigit)]

    def ended(self) -> dict[str, float]:
        """End time per Call-ID of the calls that have ended."""
        return {s.event.call_id: s.at for s in self.seen() if isinstance(s.event, CallEnded)}


def answer_and_press(key: str) -> Behaviour:
    """A phone that rings 0.3 s, answers, presses ``key`` 1 s later and waits for our BYE."""
    return Behaviour(Action.ANSWER, ring_seconds=0.3, press=key, digits_after=1.0)


BUSY = Behaviour(Action.BUSY, ring_seconds=0.0)
NO_ANSWER = Behaviour(Action.NO_ANSWER)


# --------------------------------------------------------------------------- the dialer


class CampaignProcesses:
    """``python -m callbot ...`` child processes of one test; every one is stopped by its PID
    (SIGTERM, then SIGKILL after a bounded wait) when the test ends."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._processes: list[PeerProcess] = []

    def start(self, name: str, args: Sequence[str]) -> PeerProcess:
        """Start ``python -m callbot ARGS``; stdout goes to ``NAME.out``, stderr to ``NAME.log``."""
        out_path, log_path = self.workdir / f"{name}.out", self.workdir / f"{name}.log"
        env = {**os.environ, "COLUMNS": "300", "PYTHONUNBUFFERED": "1"}
        with out_path.open("wb") as out, log_path.open("wb") as log:
            popen = subprocess.Popen(
                [sys.executable, "-m", "callbot", *args], cwd=REPO_ROOT, env=env,
                stdin=subprocess.DEVNULL, stdout=out, stderr=log, start_new_session=True,
            )
        process = PeerProcess(name=name, popen=popen, log_path=log_path, extra_logs=[out_path])
        self._processes.append(process)
        return process

    def worker(self, campaign_id: int, db_url: str, worker_id: str, *, lease: float | None = None,
               prompt_cache: Path | None = None) -> PeerProcess:
        """``callbot campaign work`` for one campaign (verbose: its log shows every call)."""
        args = ["campaign", "work", "--campaign", str(campaign_id), "--db", db_url,
                "--worker-id", worker_id, "--verbose"]
        if lease is not None:
            args += ["--lease", f"{lease:g}"]
        if prompt_cache is not None:
            args += ["--prompt-cache", str(prompt_cache)]
        return self.start(worker_id, args)

    def run(self, name: str, args: Sequence[str], timeout: float) -> tuple[int, str, str]:
        """Run ``python -m callbot ARGS`` to its end (bounded): exit status, stdout, stderr."""
        process = self.start(name, args)
        code = process.wait(timeout)
        return code, (self.workdir / f"{name}.out").read_text(), process.log_path.read_text()

    @staticmethod
    def kill(process: PeerProcess) -> None:
        """SIGKILL by PID, as a crash would end it, and reap it."""
        os.kill(process.pid, signal.SIGKILL)
        process.popen.wait(timeout=START_TIMEOUT)

    def describe(self) -> str:
        return "\n".join(p.describe() for p in self._processes)

    def close(self) -> None:
        errors: list[BaseException] = []
        for process in reversed(self._processes):
            try:
                process.stop()
            except Exception as exc:  # noqa: BLE001 - keep stopping the others, re-raise below
                errors.append(exc)
        self._processes.clear()
        if errors:
            raise errors[0]


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[CampaignProcesses]:
    procs = CampaignProcesses(tmp_path)
    try:
        yield procs
    finally:
        procs.close()


def wait_for(condition: Callable[[], bool], what: str, timeout: float,
             watched: Sequence[PeerProcess] = ()) -> None:
    """Poll ``condition`` until true (bounded); fail early if a watched process exits."""
    deadline = time.monotonic() + timeout
    while not condition():
        for process in watched:
            if not process.running:
                raise PeerError(f"{process.name} exited while waiting for {what}\n{process.describe()}")
        if time.monotonic() > deadline:
            details = "\n".join(p.describe() for p in watched)
            raise PeerError(f"no {what} within {timeout:g} s\n{details}")
        time.sleep(POLL_SECONDS)


# --------------------------------------------------------------------------- the campaign


def local_number(i: int) -> str:
    """The i-th test customer's number as a Vietnamese list would write it."""
    return f"0912{i:06d}"


def e164(i: int) -> str:
    return f"+84912{i:06d}"


def write_customers(path: Path, rows: Sequence[tuple[str, str]]) -> Path:
    """A CSV customer list with Vietnamese headers (``Họ tên``, ``SĐT``)."""
    path.write_text("Họ tên,SĐT\n" + "".join(f"{name},{phone}\n" for name, phone in rows), encoding="utf-8")
    return path


def sqlite_url(workdir: Path) -> str:
    url = f"sqlite:///{workdir / 'campaign.db'}"
    upgrade(url)
    return url


def new_campaign(db_url: str, workdir: Path, port: int, customers: int, *, max_concurrent: int = 8,
                 cps: float = 10.0, retry_after_s: int = 600, max_attempts: int = 3,
                 name: str = "interop") -> int:
    """A running campaign of ``customers`` customers (numbers :func:`local_number`) on the
    confirm script, dialing the simulated carrier at ``127.0.0.1:port``."""
    csv = write_customers(workdir / "customers.csv",
                          [(f"Customer {i}", local_number(i)) for i in range(customers)])
    spec = CampaignSpec(name=name, script=CONFIRM_SCRIPT, customers=csv, trunk_host="127.0.0.1",
                        trunk_port=port, max_concurrent=max_concurrent, cps=cps,
                        max_attempts=max_attempts, retry_after_s=retry_after_s, ring_timeout_s=5)
    engine = make_engine(db_url)
    try:
        campaign_id, imported = create_campaign(engine, spec)
    finally:
        engine.dispose()
    assert len(imported.imported) == customers and not imported.skipped
    return campaign_id


def attempts_of(engine: sa.Engine, campaign_id: int) -> list[CallAttempt]:
    with Session(engine) as session:
        rows = session.exec(select(CallAttempt).where(CallAttempt.campaign_id == campaign_id)
                            .order_by(col(CallAttempt.id))).all()
        session.expunge_all()
        return list(rows)


def customers_of(engine: sa.Engine, campaign_id: int) -> dict[str, CampaignCustomer]:
    """Campaign customers by E.164 phone number."""
    with Session(engine) as session:
        rows = session.exec(select(Customer.phone, CampaignCustomer)
                            .join(CampaignCustomer, col(CampaignCustomer.customer_id) == col(Customer.id))
                            .where(CampaignCustomer.campaign_id == campaign_id)).all()
        session.expunge_all()
        return {phone: cc for phone, cc in rows}


def campaign_state(engine: sa.Engine, campaign_id: int) -> CampaignState:
    with Session(engine) as session:
        state = session.exec(select(Campaign.state).where(Campaign.id == campaign_id)).one()
        return CampaignState(state)


def status_changes(engine: sa.Engine, campaign_id: int) -> list[StatusChange]:
    with Session(engine) as session:
        rows = session.exec(select(StatusChange).join(
            CampaignCustomer, col(CampaignCustomer.id) == col(StatusChange.campaign_customer_id))
            .where(CampaignCustomer.campaign_id == campaign_id)).all()
        session.expunge_all()
        return list(rows)


def report_json(processes: CampaignProcesses, campaign_id: int, db_url: str) -> dict[str, Any]:
    """``callbot campaign report --json`` as a process; its one JSON object."""
    code, out, err = processes.run("report", ["campaign", "report", "--campaign", str(campaign_id),
                                              "--db", db_url, "--json"], timeout=60)
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


def check_report_totals(report: dict[str, Any], customers: int) -> None:
    """The report's own arithmetic: cumulative totals exactly as PRODUCT.md defines them, and
    attempts = finished (per outcome) + abandoned + in progress."""
    by_status, totals = report["by_status"], report["totals"]
    assert sum(by_status.values()) == report["customers"] == customers
    assert totals == {
        "Registered": by_status["Registered"] + by_status["Confirmed"] + by_status["Joined"] + by_status["Cancelled"],
        "Confirmed": by_status["Confirmed"] + by_status["Joined"],
        "Joined": by_status["Joined"],
        "Cancelled": by_status["Cancelled"],
    }
    assert totals["Registered"] == customers
    finished = sum(report["by_outcome"].values())
    assert report["attempts"] == finished + report["abandoned"] + report["in_progress"]
    answered = report["by_outcome"].get("answered", 0)
    assert report["answer_rate"] == pytest.approx(answered / finished)


# --------------------------------------------------------------------------- the tests


def _mixed_config() -> SimulatorConfig:
    return SimulatorConfig(numbers={
        local_number(1): answer_and_press("1"),
        local_number(2): answer_and_press("1"),
        local_number(3): answer_and_press("2"),
        local_number(4): BUSY,
        local_number(5): Behaviour(Action.DECLINE, ring_seconds=0.3),
        local_number(6): NO_ANSWER,
        local_number(7): Behaviour(Action.REJECT, ring_seconds=0.0, status=404),
        local_number(8): Behaviour(Action.SILENT, ring_seconds=0.3),
    })


def test_campaign_run_json_report(tmp_path: Path, processes: CampaignProcesses) -> None:
    """A whole campaign from files: every behaviour ends in the report as it should, the bad
    row is skipped with its row and column named, retries happen within --max-attempts."""
    rows = [(f"Khách {i}", local_number(i)) for i in range(1, 4)]
    rows.append(("Số sai", "0912"))  # spreadsheet row 5 (the header is row 1)
    rows += [(f"Khách {i}", local_number(i)) for i in range(4, 9)]
    csv = write_customers(tmp_path / "khach_hang.csv", rows)
    db_url = f"sqlite:///{tmp_path / 'run.db'}"
    with SimulatedCarrier(_mixed_config()) as carrier:
        code, out, err = processes.run("campaign-run", [
            "campaign", "run", "--script", str(CONFIRM_SCRIPT), "--customers", str(csv),
            "--trunk", f"127.0.0.1:{carrier.port}", "--max-concurrent", "8", "--cps", "10",
            "--max-attempts", "2", "--retry-after", "3", "--ring-timeout", "5",
            "--prompt-cache", str(tmp_path / "prompts"), "--db", db_url, "--json",
        ], timeout=120)
        invites = carrier.invite_times()
    assert code == 0, processes.describe()
    words = " ".join(err.split())
    assert "skipped row 5, column SĐT: '0912' is not a valid phone number (too short)" in words, err
    assert "8 customers imported, 1 skipped" in words, err
    assert len(out.strip().splitlines()) == 1, out  # one JSON object, nothing else on stdout
    report = json.loads(out)

    check_report_totals(report, customers=8)
    assert report["by_status"] == {"Registered": 5, "Confirmed": 2, "Joined": 0, "Cancelled": 1}
    assert report["totals"] == {"Registered": 8, "Confirmed": 2, "Joined": 0, "Cancelled": 1}
    # busy and no answer are retried once (--max-attempts 2); the others are final.
    assert report["by_outcome"] == {"answered": 4, "busy": 2, "no_answer": 2, "declined": 1, "rejected": 1}
    assert report["attempts"] == 10 and report["abandoned"] == 0 and report["in_progress"] == 0
    assert report["answer_rate"] == pytest.approx(0.4)
    assert report["avg_talk_s"] is not None and report["avg_talk_s"] > 1.0
    assert (report["called"], report["done"], report["remaining"]) == (8, 8, 0)

    # The phones saw exactly those calls: the retried numbers twice, at least 3 s apart.
    counts = {number: len(times) for number, times in invites.items()}
    assert counts == {e164(i): 2 if i in (4, 6) else 1 for i in range(1, 9)}
    for i in (4, 6):
        first, second = invites[e164(i)]
        assert second - first >= 3.0

    engine = make_engine(db_url)
    try:
        customers = customers_of(engine, report["campaign_id"])
        statuses = {phone: cc.status.value for phone, cc in customers.items()}
        assert statuses == {e164(1): "Confirmed", e164(2): "Confirmed", e164(3): "Cancelled",
                            **{e164(i): "Registered" for i in range(4, 9)}}
        changes = status_changes(engine, report["campaign_id"])
        assert len(changes) == 3
        assert all(c.source is StatusSource.KEYPRESS and c.attempt_id is not None and c.applied for c in changes)
        assert campaign_state(engine, report["campaign_id"]) is CampaignState.COMPLETED
    finally:
        engine.dispose()


def test_pause_stops_new_calls_and_resume_continues(tmp_path: Path, processes: CampaignProcesses) -> None:
    """A manager pauses a running campaign (repo.move_campaign from another process): the
    worker places no new call while paused, lets the calls in progress finish, and goes on
    when the campaign runs again."""
    customers = 12
    config = SimulatorConfig(numbers={}, default=answer_and_press("2"))
    db_url = sqlite_url(tmp_path)
    engine = make_engine(db_url)
    try:
        with SimulatedCarrier(config) as carrier:
            campaign_id = new_campaign(db_url, tmp_path, carrier.port, customers, max_concurrent=3)
            worker = processes.worker(campaign_id, db_url, "pause-worker",
                                      prompt_cache=tmp_path / "prompts")
            wait_for(lambda: len(carrier.invites()) >= 3, "first calls", 30, [worker])
            with Session(engine) as session:
                repo.move_campaign(session, campaign_id, CampaignState.PAUSED, now=datetime.now(timezone.utc))
            paused_at = time.monotonic()
            # Calls in progress run to their end; nothing new starts.
            wait_for(lambda: set(carrier.ended()) >= carrier.call_ids(), "calls in progress to end", 30, [worker])
            time.sleep(2.0)
            during_pause = carrier.invites()
            late = [call.number for at, call in during_pause if at > paused_at + 1.0]
            assert late == [], f"INVITEs sent more than 1 s after the pause: {late}"
            attempts = attempts_of(engine, campaign_id)
            assert len(attempts) == len(during_pause) < customers
            assert all(a.state is AttemptState.FINISHED for a in attempts)
            assert worker.running and campaign_state(engine, campaign_id) is CampaignState.PAUSED

            with Session(engine) as session:
                repo.move_campaign(session, campaign_id, CampaignState.RUNNING, now=datetime.now(timezone.utc))
            resumed_at = time.monotonic()
            assert worker.wait(90) == 0, worker.describe()
            invites = carrier.invites()
        assert len(invites) == customers
        assert sorted(call.number for _, call in invites) == sorted(e164(i) for i in range(customers))
        assert all(at > resumed_at for at, _ in invites[len(during_pause):])
        assert campaign_state(engine, campaign_id) is CampaignState.COMPLETED
        statuses = {cc.status.value for cc in customers_of(engine, campaign_id).values()}
        assert statuses == {"Cancelled"}
    finally:
        engine.dispose()


def test_run_refuses_a_list_without_customers_columns(tmp_path: Path, processes: CampaignProcesses) -> None:
    """A customer list without a phone column stops ``campaign run`` before any call, with a
    message naming the missing column (exit status 2)."""
    csv = tmp_path / "no_phone.csv"
    csv.write_text("Họ tên,Email\nAn,an@example.com\n", encoding="utf-8")
    code, out, err = processes.run("campaign-run-bad", [
        "campaign", "run", "--script", str(CONFIRM_SCRIPT), "--customers", str(csv),
        "--trunk", "127.0.0.1:5999", "--db", f"sqlite:///{tmp_path / 'bad.db'}", "--json",
    ], timeout=60)
    assert code == 2, err
    assert out == ""
    words = " ".join(err.split())
    assert "no column for the required field 'phone'" in words, err
    assert "columns found: 'Họ tên', 'Email'" in words, err


def test_work_on_a_missing_campaign_says_so(tmp_path: Path, processes: CampaignProcesses) -> None:
    """``campaign work`` for a campaign id that does not exist: a one-line error, exit 2."""
    code, out, err = processes.run("work-missing", [
        "campaign", "work", "--campaign", "999", "--db", sqlite_url(tmp_path)], timeout=60)
    assert (code, out) == (2, "")
    assert " ".join(err.split()) == "error: campaign 999 does not exist"
