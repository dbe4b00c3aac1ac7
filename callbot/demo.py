"""The demo campaign: the Vietnamese event-confirmation script called to 50 simulated
customers with mixed behaviours, on the embedded SQLite, with live progress and the report.

Everything runs on loopback in one process: a simulated carrier (:mod:`dialer.simphone`)
and a campaign worker (:mod:`callbot.campaign.worker`) with our own SIP stack.
"""

from __future__ import annotations

import asyncio
import csv
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.live import Live
from sqlmodel import Session

from callbot.campaign.cli import progress_table, report_tables
from callbot.campaign.setup import CampaignSpec, create_campaign
from callbot.campaign.worker import CampaignWorker, WorkerSettings
from callbot.store.db import make_engine, upgrade
from callbot.store.report import CampaignReport, report
from dialer.phone import Softphone
from dialer.simphone import Action, Behaviour, PhoneSimulator, SimulatorConfig

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCRIPT = EXAMPLES / "event_confirmation_vi.yaml"

NAMES = (
    "Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung", "Hoàng Văn Em", "Vũ Thị Giang",
    "Đặng Văn Hải", "Bùi Thị Hoa", "Đỗ Văn Hùng", "Ngô Thị Lan", "Dương Văn Long", "Lý Thị Mai",
    "Phan Văn Minh", "Võ Thị Nga", "Trương Văn Phúc", "Hồ Thị Quỳnh", "Đinh Văn Sơn", "Mai Thị Thảo",
)


@dataclass(frozen=True)
class Persona:
    """A kind of customer in the demo: how many, and what their phone does."""

    label: str
    count: int
    behaviour: Behaviour


# Timings fit the Vietnamese script: the greeting lasts about 6 s, the menu follows.
PERSONAS = (
    Persona("confirms, then will attend (1, 1)", 16,
            Behaviour(Action.ANSWER, ring_seconds=1.0, press="11", digits_after=7.5, digit_interval=3.0)),
    Persona("confirms, not sure yet (1, 2)", 8,
            Behaviour(Action.ANSWER, ring_seconds=1.5, press="12", digits_after=7.5, digit_interval=3.0)),
    Persona("cancels (2)", 8, Behaviour(Action.ANSWER, ring_seconds=1.0, press="2", digits_after=7.5)),
    Persona("busy", 5, Behaviour(Action.BUSY)),
    Persona("does not answer", 4, Behaviour(Action.NO_ANSWER)),
    Persona("declines", 3, Behaviour(Action.DECLINE)),
    Persona("wrong number (404)", 2, Behaviour(Action.REJECT, status=404)),
    Persona("hangs up at once", 2, Behaviour(Action.ANSWER, ring_seconds=0.5, hangup_after=1.5)),
    Persona("says nothing", 2, Behaviour(Action.ANSWER, ring_seconds=1.0)),
)


def write_customers(folder: Path, personas: tuple[Persona, ...] = PERSONAS) -> tuple[Path, SimulatorConfig]:
    """The customer list (CSV) and the simulated phones behind its numbers."""
    path = folder / "khach_hang.csv"
    numbers: dict[str, Behaviour] = {}
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["Họ và tên", "Số điện thoại", "event_name", "event_date"])
        index = 0
        for persona in personas:
            for _ in range(persona.count):
                index += 1
                number = f"0912{index:06d}"
                numbers[number] = persona.behaviour
                writer.writerow([NAMES[index % len(NAMES)], number, "Hội thảo AI", "20/12"])
    return path, SimulatorConfig(numbers=numbers)


async def run_demo(db_url: str, folder: Path, console: Console, personas: tuple[Persona, ...] = PERSONAS) -> CampaignReport:
    customers, config = write_customers(folder, personas)
    upgrade(db_url)
    db = make_engine(db_url)
    async with PhoneSimulator(config) as carrier:
        spec = CampaignSpec(
            name="Xác nhận tham gia Hội thảo AI (demo)", script=SCRIPT, customers=customers,
            trunk_host="127.0.0.1", trunk_port=carrier.port, max_concurrent=20, cps=10,
            max_attempts=2, retry_after_s=5, ring_timeout_s=6, max_duration_s=120,
        )
        campaign_id, imported = await asyncio.to_thread(create_campaign, db, spec)
        console.print(f"Campaign {campaign_id}: {len(imported.imported)} customers from {customers.name}, "
                      f"simulated carrier at 127.0.0.1:{carrier.port}")
        async with Softphone("127.0.0.1", 0) as phone:
            worker = CampaignWorker(db, campaign_id, phone, WorkerSettings(worker_id="demo", media_timeout=10))
            with Live(progress_table(worker.progress, len(imported.imported)), console=console, refresh_per_second=4) as live:
                worker.on_progress = lambda p: live.update(progress_table(p, len(imported.imported)))
                await worker.run()
            console.print()
    with Session(db) as session:
        return report(session, campaign_id)


def demo(db: str | None = None, console: Console | None = None) -> CampaignReport:
    console = console or Console()
    console.rule("callbot demo: Vietnamese event confirmation, 50 simulated customers")
    console.print("Customers answer by keypress. Spoken answers (có / không) need a Vietnamese Vosk "
                  "model, which is not installed: unpack one (e.g. vosk-model-small-vn) and pass "
                  "--speech-model DIR to `callbot campaign run` to use them.")
    with tempfile.TemporaryDirectory(prefix="callbot-demo-") as tmp:
        folder = Path(tmp)
        db_url = db or f"sqlite:///{folder / 'demo.db'}"
        rep = asyncio.run(run_demo(db_url, folder, console))
    for table in report_tables(rep):
        console.print(table)
    return rep
