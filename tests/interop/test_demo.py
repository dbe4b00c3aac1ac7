"""`python -m callbot demo` end to end: a real process, real sockets, the printed table."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.interop

REPO_ROOT = Path(__file__).resolve().parents[2]


def _rows(stdout: str) -> dict[str, list[str]]:
    """Table rows by number: the cells between the box-drawing separators."""
    rows: dict[str, list[str]] = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        if len(cells) >= 10 and cells[0].isdigit():
            rows[cells[0]] = cells
    return rows


def test_demo_calls_every_simulated_phone() -> None:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "callbot", "demo-calls"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=90,
    )
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert elapsed < 60
    rows = _rows(proc.stdout)
    # number, behaviour, outcome, SIP, hangup by, digits, ring ms, talk ms, RTP sent/recv, check
    answered = rows["0912345678"]
    assert (answered[2], answered[3], answered[5]) == ("answered", "200", "12")
    sent, received = (int(n) for n in answered[8].split("/"))
    assert sent > 100 and received > 100
    assert (rows["0922222222"][2], rows["0922222222"][3]) == ("busy", "486")
    assert (rows["0933333333"][2], rows["0933333333"][3]) == ("declined", "603")
    assert (rows["0944444444"][2], rows["0944444444"][3]) == ("no_answer", "487")
    assert all(cells[9] == "ok" for cells in rows.values()), proc.stdout
    assert "phone: pressed 1" in proc.stdout and "dialer: heard key 2" in proc.stdout
