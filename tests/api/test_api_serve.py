"""``callbot serve``: the API and the campaign dialer in one process.

In-process: an app with the dialer on, a campaign created, filled and started through HTTP,
called through a simulated carrier on loopback (:class:`dialer.simphone.PhoneSimulator`, on
its own event loop in a thread); the customers' key presses move their statuses. As a real
process: the command refuses a default secret, serves the API and stops on SIGTERM.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from api.cli import serve_app
from api_support import SECRET, ApiClient, Clock, make_client, seed_users, wipe
from dialer.simphone import Action, Behaviour, PhoneSimulator, SimulatorConfig

REPO_ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 60.0

SCRIPT = """\
name: confirm_en
language: en
voice: en
blocks:
  - id: ask
    type: menu
    prompt: "Press 1 to confirm."
    barge_in: true
    keys:
      "1": confirmed
    timeout: 4
    no_input: {retries: 0, next: bye}
    no_match: {retries: 0, next: bye}
  - id: confirmed
    type: set_status
    status: Confirmed
    next: bye
  - id: bye
    type: hangup
    prompt: "Goodbye."
"""


class Carrier:
    """A phone simulator on an event loop of its own (a daemon thread), stopped on exit."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.port = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)

    async def _serve(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        async with PhoneSimulator(self.config) as sim:
            self.port = sim.port
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> Carrier:
        self._thread.start()
        assert self._ready.wait(10), "the simulated carrier did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


def _wait(condition: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"no {what} within {timeout:g} s"
        time.sleep(0.2)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def test_running_campaign_is_dialed_by_the_api_process(engine: Engine, tmp_path: Path) -> None:
    wipe(engine)
    ids = seed_users(engine)
    behaviour = Behaviour(Action.ANSWER, ring_seconds=0.2, press="1", digits_after=0.8)
    with Carrier(SimulatorConfig(default=behaviour)) as carrier, \
            make_client(engine, _utcnow, run_dialer=True, dialer_poll_s=0.2,
                        prompt_cache=tmp_path / "prompts") as client:  # type: ignore[arg-type]
        api = ApiClient(client, engine, Clock(), ids)
        assert client.app.state.dialer is not None  # type: ignore[attr-defined]
        trunk = api.ok(api.post("/trunks", json={"name": "sim", "host": "127.0.0.1",
                                                 "port": carrier.port}), 201)["id"]
        script = api.script(SCRIPT, "confirm_en.yaml")["script_id"]
        cid = api.ok(api.post("/campaigns", json={
            "name": "Live", "trunk_id": trunk, "script_id": script, "hours_start": "00:00",
            "hours_end": "00:00", "calling_days": [1, 2, 3, 4, 5, 6, 7], "cps": 5}), 201)["id"]
        api.ok(api.import_csv(cid, "Họ tên,SĐT\nAn,0912345671\nBình,0912345672\n"))
        api.ok(api.post(f"/campaigns/{cid}/start"))

        def confirmed() -> bool:
            items = api.customers(cid)["items"]
            return all(c["status"] == "Confirmed" for c in items)

        _wait(confirmed, "confirmed customers")
        _wait(lambda: api.ok(api.get(f"/campaigns/{cid}"))["state"] == "completed",
              "completed campaign")
        calls = api.ok(api.get(f"/campaigns/{cid}/calls"))["items"]
        assert [c["outcome"] for c in calls] == ["answered", "answered"]
        history = api.ok(api.get(f"/campaigns/{cid}/customers/{calls[0]['campaign_customer_id']}"
                                 "/history"))
        assert history["status_changes"][0]["source"] == "keypress"
        assert history["calls"][0]["events"], history
        metrics = client.get("/metrics").text
        assert f'campaign="{cid}",outcome="answered"' in metrics


def test_serve_refuses_a_default_secret() -> None:
    result = CliRunner().invoke(serve_app, ["--port", "0"],
                                env={"CALLBOT_SECRET_KEY": "changeme"})
    assert result.exit_code == 2
    assert "secret_key is the placeholder 'changeme'" in result.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = _free_port()
    env = {**os.environ, "CALLBOT_SECRET_KEY": SECRET, "PYTHONUNBUFFERED": "1"}
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-c", "from api.cli import serve_app; serve_app()", "--port", str(port),
         "--db", f"sqlite:///{tmp_path / 'served.db'}", "--sip-port", "0"],
        cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
        start_new_session=True)
    try:
        yield port, process
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)
        log.close()


def test_serve_runs_the_api_and_stops_on_sigterm(served: tuple[int, Any],
                                                 tmp_path: Path) -> None:
    port, process = served

    def up() -> bool:
        assert process.poll() is None, (tmp_path / "serve.log").read_text()
        try:
            return httpx.get(f"http://127.0.0.1:{port}/api/v1/openapi.json",
                             timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    _wait(up, "API answering", 30)
    assert httpx.get(f"http://127.0.0.1:{port}/api/v1/campaigns").status_code == 401
    os.kill(process.pid, signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert process.wait(20) in (0, -signal.SIGTERM)
    log = (tmp_path / "serve.log").read_text()
    assert "dialer ready" in log and "Application shutdown complete" in log, log
