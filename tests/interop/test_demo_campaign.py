"""The README's main command: the demo campaign runs to the end and reports the right totals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session

from callbot.demo import PERSONAS
from callbot.store.db import make_engine
from callbot.store.report import report
from scripts_dsl import CustomerStatus

pytestmark = [pytest.mark.interop, pytest.mark.timeout(240)]

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_demo_campaign_reaches_every_customer(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    proc = subprocess.run([sys.executable, "-m", "callbot", "demo", "--db", db], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=220)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Customers per status" in proc.stdout and "Tham gia" in proc.stdout
    with Session(make_engine(db)) as session:
        rep = report(session, 1)
    counts = {p.label: p.count for p in PERSONAS}
    joined = counts["confirms, then will attend (1, 1)"]
    confirmed_only = counts["confirms, not sure yet (1, 2)"]
    cancelled = counts["cancels (2)"]
    assert rep.customers == sum(counts.values()) and rep.remaining == 0
    assert rep.by_status[CustomerStatus.JOINED] == joined
    assert rep.by_status[CustomerStatus.CONFIRMED] == confirmed_only
    assert rep.by_status[CustomerStatus.CANCELLED] == cancelled
    # The manual's cumulative totals.
    assert rep.totals[CustomerStatus.REGISTERED] == rep.customers
    assert rep.totals[CustomerStatus.CONFIRMED] == joined + confirmed_only
    assert rep.totals[CustomerStatus.JOINED] == joined
    # Busy and unanswered numbers were tried twice (max attempts), the rest once.
    retried = counts["busy"] + counts["does not answer"] + counts["hangs up at once"]
    assert rep.attempts == rep.customers + retried
