"""Running `callbot call ... --json` as the tests' caller, and checking its output contract.

The contract (issue 2): one JSON object with outcome, sip_status, digits, hangup_by, ring_ms,
talk_ms, rtp_sent, rtp_received; exit status 0 for every completed attempt.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

OUTCOMES = frozenset({"answered", "busy", "no_answer", "declined", "rejected", "failed", "cancelled"})
CONTRACT_FIELDS: dict[str, type | tuple[type, ...]] = {
    "outcome": str,
    "sip_status": (int, type(None)),
    "digits": str,
    "hangup_by": (str, type(None)),
    "ring_ms": int,
    "talk_ms": int,
    "rtp_sent": int,
    "rtp_received": int,
}


@dataclass(frozen=True)
class CallResult:
    """What one `callbot call` run printed, with the parsed JSON object."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    data: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def text(self) -> str:
        """Every human-readable word the dialer gave: string fields of the JSON and stderr."""
        words = [str(v) for v in self.data.values() if isinstance(v, str)]
        return " ".join([*words, self.stderr]).lower()

    def explain(self) -> str:
        return (
            f"callbot call {' '.join(self.argv)}\nexit {self.returncode}\n"
            f"stdout: {self.stdout.strip()}\nstderr: {self.stderr.strip()[-4000:]}"
        )


class RunningCall:
    """A `callbot call` child process, so a test can drive the peer while the call runs."""

    def __init__(self, args: Sequence[str]) -> None:
        self.args = tuple(args)
        self.argv = (sys.executable, "-m", "callbot", "call", *self.args, "--json")
        self._popen = subprocess.Popen(
            self.argv, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )

    @property
    def running(self) -> bool:
        return self._popen.poll() is None

    def result(self, timeout: float) -> CallResult:
        """Wait (bounded) for the call to end, then check the output contract."""
        try:
            stdout, stderr = self._popen.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._popen.kill()
            stdout, stderr = self._popen.communicate(timeout=10)
            pytest.fail(
                f"callbot call did not finish within {timeout:g} s (killed)\n"
                f"args: {' '.join(self.args)}\nstdout: {stdout}\nstderr: {stderr[-4000:]}"
            )
        return parse_result(self.args, self._popen.returncode, stdout, stderr)

    def kill(self) -> None:
        if self._popen.poll() is None:
            self._popen.kill()
            self._popen.communicate(timeout=10)


def parse_result(args: Sequence[str], returncode: int, stdout: str, stderr: str) -> CallResult:
    """Check exit status 0 and one JSON object holding every contract field, well typed."""
    shown = f"args: {' '.join(args)}\nstdout: {stdout.strip()[-2000:]}\nstderr: {stderr.strip()[-4000:]}"
    if returncode != 0:
        pytest.fail(f"callbot call exited with status {returncode} (the contract says 0 for any completed attempt)\n{shown}")
    try:
        data = json.loads(stdout)
    except json.JSONDecodeError as exc:
        pytest.fail(f"callbot call --json did not print one JSON object ({exc})\n{shown}")
    if not isinstance(data, dict):
        pytest.fail(f"callbot call --json printed {type(data).__name__}, not an object\n{shown}")
    missing = sorted(set(CONTRACT_FIELDS) - set(data))
    if missing:
        pytest.fail(f"callbot call --json lacks contract fields {missing}\n{shown}")
    for name, kind in CONTRACT_FIELDS.items():
        if not isinstance(data[name], kind) or isinstance(data[name], bool):
            pytest.fail(f"contract field {name}={data[name]!r} has the wrong type\n{shown}")
    if data["outcome"] not in OUTCOMES:
        pytest.fail(f"outcome {data['outcome']!r} is not one of {sorted(OUTCOMES)}\n{shown}")
    if data["hangup_by"] not in ("us", "remote", None):
        pytest.fail(f"hangup_by {data['hangup_by']!r} is not 'us' or 'remote'\n{shown}")
    return CallResult(tuple(args), returncode, stdout, stderr, data)


def place_call(args: Sequence[str], *, timeout: float = 60.0) -> CallResult:
    """Run `callbot call ARGS --json` to completion and return its checked result."""
    return RunningCall(args).result(timeout)
