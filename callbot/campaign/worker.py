"""A campaign worker: claims due customers from the store, calls them through the dialer,
runs the campaign's script on each answered call and records every result exactly once.

Crash safety comes from the store's order of writes:

1. :func:`~callbot.store.repo.claim_due` leases the customer and records a pending attempt,
   in one transaction, before anything is sent;
2. :func:`~callbot.store.repo.mark_dialing` records the Call-ID just before the INVITE
   leaves (a worker whose lease was taken back does not dial);
3. status changes are written the moment the caller makes them (keypress or speech), so an
   answered call's result survives a crash in the middle of the call;
4. :func:`~callbot.store.repo.finish_attempt` writes the outcome, the events and the next
   attempt time in one transaction; finishing twice changes nothing.

A worker killed at any point leaves leases that expire; the next claim recovers them as
abandoned attempts and schedules those customers after the retry interval, never at once.
Several workers (processes, machines) may share a campaign on PostgreSQL: claims use
``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from callbot.engine import CallEngine
from callbot.prerender import customer_texts, static_texts
from callbot.prompts import AudioFileCache, Prompt, PromptRenderer
from callbot.store import outbox, repo
from callbot.store.models_api import WebhookEvent
from callbot.store.errors import CampaignStateRefused, InvalidData, LeaseLost
from callbot.store.retry import DoneReason, RetryDecision
from callbot.store.models import Campaign, CampaignCustomer, CampaignState, Customer, ScriptVersion, StatusSource
from callbot.store.models import Trunk as TrunkRow
from dialer.campaign.hours import CallingHours
from dialer.campaign.pacing import Limit, Pacer
from dialer.outcome import CallOutcome, CallResult, EndReason
from dialer.phone import InbandDtmf, Softphone
from dialer.sip.ua import Trunk
from scripts_dsl import CompiledScript, CustomerDataMissing, ScriptRun, compile_text
from scripts_dsl import actions as act
from scripts_dsl.errors import StatusChangeRefused

log = logging.getLogger("callbot.campaign")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class WorkerSettings:
    worker_id: str
    lease_seconds: float = 60.0
    poll_interval: float = 0.25
    zone_refresh: float = 60.0
    speech_model: Path | None = None
    prompt_cache: Path | None = None
    inband_dtmf: InbandDtmf = InbandDtmf.AUTO
    media_timeout: float = 20.0
    recordings_dir: Path | None = None  # where record blocks keep the caller's audio


@dataclass
class Progress:
    """What a worker has done so far (for a live display)."""

    active: int = 0
    placed: int = 0
    finished: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    waiting: str = ""
    next_due: datetime | None = None


class CampaignWorker:
    def __init__(
        self,
        db: sa.Engine,
        campaign_id: int,
        phone: Softphone,
        settings: WorkerSettings,
        *,
        on_progress: Callable[[Progress], None] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.campaign_id = campaign_id
        self.phone = phone
        self.settings = settings
        self.on_progress = on_progress
        self.clock = clock
        self.progress = Progress()
        self._tasks: set[asyncio.Task[None]] = set()
        self._active: dict[int, int] = {}  # attempt id -> campaign customer id

    # ------------------------------------------------------------------ setup
    def _load(self) -> tuple[Campaign, CompiledScript, Trunk, TrunkRow]:
        with Session(self.db) as session:
            campaign = session.get(Campaign, self.campaign_id)
            if campaign is None:
                raise repo.NotFound("campaign", self.campaign_id)
            if campaign.script_version_id is None or campaign.trunk_id is None:
                raise InvalidData(f"campaign {campaign.name!r} is {campaign.state.value}: it has no pinned script "
                                  "version or no trunk yet; start it first (move it to running)")
            version = session.get(ScriptVersion, campaign.script_version_id)
            row = session.get(TrunkRow, campaign.trunk_id)
            assert version is not None and row is not None
            compiled = compile_text(version.source, fmt=version.format.value)
            trunk = Trunk(host=row.host, port=row.port, username=row.username, password=row.password,
                          register=row.registration, caller_id=campaign.caller_id or row.caller_id)
            session.expunge_all()
            return campaign, compiled, trunk, row

    def _zones(self, campaign: Campaign) -> set[str]:
        with Session(self.db) as session:
            rows = session.execute(
                sa.select(sa.func.coalesce(Customer.timezone, campaign.timezone)).distinct()
                .join(CampaignCustomer, CampaignCustomer.customer_id == Customer.id)
                .where(CampaignCustomer.campaign_id == self.campaign_id)
            ).scalars()
            return set(rows)

    def _state(self) -> CampaignState:
        with Session(self.db) as session:
            state = session.execute(select(Campaign.state).where(Campaign.id == self.campaign_id)).scalar_one()
            return CampaignState(state)

    def _remaining(self) -> tuple[int, datetime | None]:
        """Customers not done, and the earliest time one of them is due."""
        with Session(self.db) as session:
            count, due = session.execute(
                sa.select(sa.func.count(), sa.func.min(CampaignCustomer.next_attempt_at))
                .where(CampaignCustomer.campaign_id == self.campaign_id, CampaignCustomer.done == sa.false())
            ).one()
            return int(count), due

    # ------------------------------------------------------------------ main loop
    async def run(self) -> None:
        campaign, compiled, trunk, trunk_row = await asyncio.to_thread(self._load)
        hours = CallingHours.parse(campaign.hours_start, campaign.hours_end,
                                   ",".join(("mon", "tue", "wed", "thu", "fri", "sat", "sun")[d - 1] for d in campaign.calling_days),
                                   campaign.timezone)
        voice = compiled.voice or compiled.language
        prompts = PromptRenderer(self.settings.prompt_cache)
        audio_files = AudioFileCache(self.settings.prompt_cache / "audio" if self.settings.prompt_cache else None)
        await prompts.prerender(Prompt(t, voice) for t in static_texts(compiled))
        listeners = None
        if self.settings.speech_model is not None:
            from callbot.listening import VoskListenerFactory

            listeners = await asyncio.to_thread(VoskListenerFactory, self.settings.speech_model)
        pacer = Pacer(Limit(campaign.max_concurrent, campaign.cps), Limit(trunk_row.max_concurrent, trunk_row.cps))
        if trunk.register:
            registration = await self.phone.register(trunk)
            if not registration.registered:
                raise RuntimeError(f"registration with the trunk failed: {registration.message}")
        loop = asyncio.get_running_loop()
        zones: set[str] = set()
        zones_at = -1e9
        renewed_at = loop.time()
        context = _CallContext(compiled, trunk, campaign, prompts, audio_files, voice, listeners, pacer)
        try:
            while True:
                state = await asyncio.to_thread(self._state)
                if state in (CampaignState.STOPPED, CampaignState.COMPLETED):
                    break
                now_mono = loop.time()
                if now_mono - zones_at > self.settings.zone_refresh:
                    zones, zones_at = await asyncio.to_thread(self._zones, campaign), now_mono
                if now_mono - renewed_at > self.settings.lease_seconds / 3 and self._active:
                    await asyncio.to_thread(self._renew)
                    renewed_at = now_mono
                claimed = 0
                if state is CampaignState.RUNNING:
                    now = self.clock()
                    open_zones = {z for z in zones if hours.is_open(now, z)}
                    room = pacer.room(now_mono)
                    if room and open_zones:
                        claims = await asyncio.to_thread(self._claim, room, now, open_zones)
                        claimed = len(claims)
                        for claim in claims:
                            pacer.started(loop.time())
                            self._spawn(self._call(claim, context))
                    self.progress.waiting = "" if open_zones else "outside calling hours"
                if not claimed and not self._active and state is CampaignState.RUNNING:
                    remaining, next_due = await asyncio.to_thread(self._remaining)
                    if remaining == 0:
                        await asyncio.to_thread(self._complete)
                        break
                    self.progress.next_due = next_due
                self._report()
                await asyncio.sleep(self.settings.poll_interval if not claimed else 0)
        finally:
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
        self._report()

    def _claim(self, room: int, now: datetime, zones: set[str]) -> list[repo.Claim]:
        with Session(self.db) as session:
            return repo.claim_due(session, self.campaign_id, self.settings.worker_id, now=now, limit=room,
                                  lease_seconds=self.settings.lease_seconds, open_timezones=zones)

    def _renew(self) -> None:
        with Session(self.db) as session:
            repo.renew_lease(session, self.settings.worker_id, now=self.clock(),
                             lease_seconds=self.settings.lease_seconds,
                             campaign_customer_ids=list(self._active.values()))

    def _complete(self) -> None:
        with Session(self.db) as session:
            try:
                repo.move_campaign(session, self.campaign_id, CampaignState.COMPLETED, now=self.clock())
            except CampaignStateRefused:
                pass  # another worker completed it (or a manager stopped it)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _report(self) -> None:
        self.progress.active = len(self._active)
        if self.on_progress is not None:
            self.on_progress(self.progress)

    # ------------------------------------------------------------------ one call
    async def _call(self, claim: repo.Claim, ctx: "_CallContext") -> None:
        self._active[claim.attempt_id] = claim.campaign_customer_id
        try:
            result, events, retry = await self._place(claim, ctx)
            report = await asyncio.to_thread(self._finish, claim, result, events, retry)
            self.progress.finished += 1
            self.progress.outcomes[result.outcome.value] += 1
            self.progress.statuses[report.status.value] += 1
        except LeaseLost as exc:
            log.warning("attempt %s not dialed: %s", claim.attempt_id, exc)
        except Exception:  # noqa: BLE001 - one customer's failure must not stop the campaign
            log.exception("attempt %s failed inside the worker; it stays leased and will be recovered", claim.attempt_id)
        finally:
            self._active.pop(claim.attempt_id, None)
            ctx.pacer.finished()

    async def _place(
        self, claim: repo.Claim, ctx: "_CallContext"
    ) -> tuple[CallResult, list[repo.EventRecord], RetryDecision | None]:
        fields = {k: "" if v is None else str(v) for k, v in claim.fields.items()}
        try:
            run = ScriptRun(ctx.compiled, fields, claim.status)
        except CustomerDataMissing as exc:
            # Calling would fail the same way every time: the customer's data must be fixed.
            return _not_called(f"Not called: {exc}"), [], RetryDecision.finished(DoneReason.REJECTED)
        call_id = self.phone.new_call_id()
        run.call_id = call_id
        await asyncio.to_thread(self._mark_dialing, claim.attempt_id, call_id)
        self.progress.placed += 1
        call = await self.phone.dial(
            claim.phone, trunk=ctx.trunk, ring_timeout=ctx.campaign.ring_timeout_s,
            max_duration=ctx.campaign.max_duration_s, media_timeout=self.settings.media_timeout,
            inband_dtmf=self.settings.inband_dtmf, call_id=call_id,
        )
        ringing = asyncio.create_task(ctx.prompts.prerender(Prompt(t, ctx.voice) for t in customer_texts(ctx.compiled, run.customer)))
        events: list[repo.EventRecord] = []
        writes: list[asyncio.Task[None]] = []

        def on_status(change: act.SetStatus) -> None:
            """Write the change now, after the call's earlier changes (they must land in order)."""
            previous = writes[-1] if writes else None

            async def write() -> None:
                if previous is not None:
                    await asyncio.gather(previous, return_exceptions=True)
                await asyncio.to_thread(self._status_now, claim, change)

            writes.append(asyncio.create_task(write()))

        if await call.wait_answered():
            engine = CallEngine(call, run, prompts=ctx.prompts, audio_files=ctx.audio_files, voice=ctx.voice,
                                listeners=ctx.listeners, on_status=on_status,
                                recordings_dir=str(self.settings.recordings_dir) if self.settings.recordings_dir else None)
            outcome = await engine.execute()
            events = [repo.EventRecord(e["t_ms"], e["kind"], {k: v for k, v in e.items() if k not in ("t_ms", "kind")})
                      for e in outcome.events]
        result = await call.wait_ended()
        if not ringing.done():
            ringing.cancel()
        await asyncio.gather(ringing, return_exceptions=True)
        for outcome in await asyncio.gather(*writes, return_exceptions=True):
            if isinstance(outcome, BaseException):
                log.error("attempt %s: a status change could not be written: %r", claim.attempt_id, outcome)
        return result, events, None

    def _mark_dialing(self, attempt_id: int, call_id: str) -> None:
        with Session(self.db) as session:
            repo.mark_dialing(session, attempt_id, call_id, now=self.clock())

    def _status_now(self, claim: repo.Claim, change: act.SetStatus) -> None:
        try:
            source = StatusSource(change.source)
        except ValueError:
            source = StatusSource.SCRIPT
        with Session(self.db) as session:
            try:
                repo.change_status(session, claim.campaign_customer_id, change.to_status, source, "callbot",
                                   now=self.clock(), attempt_id=claim.attempt_id, also=self._tell_status)
            except StatusChangeRefused as exc:
                log.info("attempt %s: status change refused: %s", claim.attempt_id, exc)

    def _finish(self, claim: repo.Claim, result: CallResult, events: list[repo.EventRecord],
                retry: RetryDecision | None) -> repo.FinishReport:
        def tell(session: Session, report: repo.FinishReport, campaign_id: int) -> None:
            outbox.enqueue_event(session, campaign_id, WebhookEvent.CALL_FINISHED,
                                 outbox.call_finished_payload(claim.attempt_id, claim.campaign_customer_id,
                                                              result, report.status), now=self.clock())

        with Session(self.db) as session:
            return repo.finish_attempt(session, claim.attempt_id, result, now=self.clock(), events=events,
                                       retry=retry, also=tell)

    def _tell_status(self, session: Session, change: Any, campaign_id: int) -> None:
        outbox.enqueue_event(session, campaign_id, WebhookEvent.STATUS_CHANGED,
                             outbox.status_changed_payload(change), now=self.clock())


@dataclass
class _CallContext:
    compiled: CompiledScript
    trunk: Trunk
    campaign: Campaign
    prompts: PromptRenderer
    audio_files: AudioFileCache
    voice: str
    listeners: Any
    pacer: Pacer


def _not_called(message: str) -> CallResult:
    return CallResult(outcome=CallOutcome.CANCELLED, sip_status=None, hangup_by=None, ring_ms=0, talk_ms=0,
                      reason=EndReason.CANCELLED, message=message)
