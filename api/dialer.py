"""The campaign dialer inside the API process: one :class:`CampaignWorker` per running
campaign, all sharing one SIP softphone.

:class:`CampaignDialer` looks for campaigns in the running or paused state every
``poll_s`` seconds and starts a worker for each that has none; a worker ends by itself when
its campaign is stopped or completed (it reads the state on every loop), and a worker that
fails is logged and started again after ``retry_s``. Workers' progress feeds the
Prometheus metrics (active calls, attempts by outcome, dialer lag). Every task belongs to one
``asyncio.TaskGroup``; :meth:`CampaignDialer.stop` cancels the group, which hangs up the
calls in progress (the store's leases then expire and the attempts are recovered).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import sqlalchemy as sa
from sqlmodel import Session, col, select

from api import metrics
from callbot.campaign.worker import CampaignWorker, Progress, WorkerSettings
from callbot.store.models import Campaign, CampaignState
from dialer.phone import Softphone

__all__ = ["CampaignDialer", "DialerConfig"]

_log = logging.getLogger(__name__)
_ACTIVE: Final = (CampaignState.RUNNING, CampaignState.PAUSED)


@dataclass(frozen=True)
class DialerConfig:
    """Where the dialer's SIP socket binds, how it polls, and its workers' settings."""

    worker: WorkerSettings
    sip_host: str = "127.0.0.1"
    sip_port: int = 0
    poll_s: float = 2.0
    retry_s: float = 60.0


def _utcnow() -> datetime:
    return datetime.now(UTC)


class _Meter:
    """Turns a worker's progress into the process metrics (:mod:`api.metrics`)."""

    def __init__(self, campaign_id: int, clock: Callable[[], datetime]) -> None:
        self.campaign_id = campaign_id
        self.clock = clock
        self.seen: Counter[str] = Counter()

    def __call__(self, progress: Progress) -> None:
        metrics.set_active_calls(self.campaign_id, progress.active)
        for outcome, count in progress.outcomes.items():
            for _ in range(count - self.seen[outcome]):
                metrics.CALL_ATTEMPTS.labels(campaign=str(self.campaign_id),
                                             outcome=outcome).inc()
            self.seen[outcome] = count
        lag = 0.0
        if progress.next_due is not None and not progress.waiting:
            lag = (self.clock() - progress.next_due).total_seconds()
        metrics.set_dialer_lag(self.campaign_id, lag)


class CampaignDialer:
    """Runs the workers of the running campaigns until :meth:`stop`."""

    def __init__(self, engine: sa.Engine, config: DialerConfig, *,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self.engine = engine
        self.config = config
        self.clock = clock
        self.workers: dict[int, asyncio.Task[None]] = {}
        self._failed_at: dict[int, float] = {}
        self._task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()

    def start(self) -> None:
        """Start in the background on the running loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run(), name="dialer")

    async def stop(self, timeout: float = 10.0) -> None:
        """Cancel every worker and close the softphone (bounded wait)."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        await asyncio.wait({task}, timeout=timeout)
        if task.done() and not task.cancelled() and task.exception() is not None:
            _log.error("the dialer ended with an error", exc_info=task.exception())

    def _active_campaigns(self) -> list[int]:
        with Session(self.engine) as session:
            ids = session.exec(select(Campaign.id).where(
                col(Campaign.state).in_([s.value for s in _ACTIVE]),
                col(Campaign.trunk_id).is_not(None),
                col(Campaign.script_version_id).is_not(None))).all()
        return [i for i in ids if i is not None]

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        async with Softphone(self.config.sip_host, self.config.sip_port) as phone:
            _log.info("dialer ready: SIP on %s:%s", self.config.sip_host, phone.endpoint.port)
            async with asyncio.TaskGroup() as group:
                self.ready.set()
                while True:
                    for campaign_id in await asyncio.to_thread(self._active_campaigns):
                        running = self.workers.get(campaign_id)
                        if running is not None and not running.done():
                            continue
                        failed = self._failed_at.get(campaign_id)
                        if failed is not None and loop.time() - failed < self.config.retry_s:
                            continue
                        self.workers[campaign_id] = group.create_task(
                            self._work(phone, campaign_id), name=f"campaign-{campaign_id}")
                    await asyncio.sleep(self.config.poll_s)

    async def _work(self, phone: Softphone, campaign_id: int) -> None:
        worker = CampaignWorker(self.engine, campaign_id, phone, self.config.worker,
                                clock=self.clock, on_progress=_Meter(campaign_id, self.clock))
        _log.info("campaign %s: worker started", campaign_id)
        try:
            await worker.run()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - one campaign's failure must not stop the others
            _log.exception("campaign %s: worker failed; retrying in %.0f s", campaign_id,
                           self.config.retry_s)
            self._failed_at[campaign_id] = asyncio.get_running_loop().time()
        else:
            self._failed_at.pop(campaign_id, None)
            _log.info("campaign %s: worker finished", campaign_id)
