"""Webhooks: signed notifications of a campaign's status changes and finished calls.

The outbox pattern keeps calls from ever waiting on a customer's web server:

1. whoever makes the change (the dialer when a call finishes or a status moves, the API on a
   manual change) calls :func:`enqueue_event` inside its own database transaction; it only
   inserts one :class:`~callbot.store.models_api.WebhookDelivery` row per subscribed webhook
   and sends nothing;
2. :class:`WebhookSender`, a background task of the API process, claims due rows, POSTs them
   with :class:`httpx.AsyncClient`, and records the result: delivered, or retried later with
   exponential backoff (:func:`backoff_delay`), or given up after
   :attr:`SenderConfig.max_attempts` attempts. Rows are leased while in flight (their
   ``next_attempt_at`` moves :attr:`SenderConfig.lease_s` ahead), so a sender killed mid-way
   loses nothing: the rows come due again after the lease, and a restart picks them up. On
   PostgreSQL several senders share the outbox with ``FOR UPDATE SKIP LOCKED``.

Signing (HMAC-SHA256, RFC 2104, with the webhook's secret): the request carries
``X-Callbot-Timestamp: <unix seconds>`` and ``X-Callbot-Signature: sha256=<hex>``, the HMAC of
``"<timestamp>." + body``. A receiver recomputes it, compares in constant time and refuses
timestamps older than a few minutes, which stops replays (:func:`verify_signature` does all
three). ``X-Callbot-Delivery`` (the row id, the same on every retry) lets a receiver drop
duplicates; ``X-Callbot-Event`` names the event.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import httpx
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from api import metrics
from api.errors import NotFoundError, Unprocessable
from api.services.audit import record, snapshot
from callbot.store.db import write_transaction
from callbot.store.outbox import call_finished_payload, enqueue_event, envelope, status_changed_payload
from callbot.store.models_api import (
    User,
    Webhook,
    WebhookBase,
    WebhookCreate,
    WebhookDelivery,
    WebhookEvent,
    WebhookPublic,
    WebhookUpdate,
)
from callbot.store.types import utc

__all__ = [
    "SIGNATURE_HEADER", "TIMESTAMP_HEADER", "EVENT_HEADER", "DELIVERY_HEADER",
    "WebhookError", "SignatureInvalid",
    "sign", "verify_signature", "enqueue_event", "backoff_delay", "envelope",
    "status_changed_payload", "call_finished_payload",
    "SenderConfig", "DeliveryJob", "WebhookSender", "claim_due", "record_result",
    "delivery_state", "WebhookCreated", "WebhookDeliveryPublic",
    "create_webhook", "list_webhooks", "get_webhook", "update_webhook", "delete_webhook",
    "list_deliveries",
]

_log = logging.getLogger(__name__)

SIGNATURE_HEADER: Final = "X-Callbot-Signature"
TIMESTAMP_HEADER: Final = "X-Callbot-Timestamp"
EVENT_HEADER: Final = "X-Callbot-Event"
DELIVERY_HEADER: Final = "X-Callbot-Delivery"
REPLAY_TOLERANCE_S: Final = 300
"""How old a signed timestamp a receiver should accept (five minutes)."""


class WebhookError(Exception):
    """Base class of the webhook errors."""


class SignatureInvalid(WebhookError):
    """A received webhook's signature or timestamp does not check out."""


# --- signing ----------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Callbot-Signature`` value: ``sha256=`` and the hex HMAC-SHA256 (RFC 2104) of
    ``"<timestamp>." + body`` keyed with the webhook's secret."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body,
                   hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(secret: str, timestamp: str | None, signature: str | None, body: bytes,
                     *, now: datetime, tolerance_s: int = REPLAY_TOLERANCE_S) -> None:
    """Check a received webhook as a receiver should; raises :class:`SignatureInvalid`."""
    if not timestamp or not signature:
        raise SignatureInvalid(f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header")
    try:
        stamp = int(timestamp)
    except ValueError as exc:
        raise SignatureInvalid(f"{TIMESTAMP_HEADER} {timestamp!r} is not unix seconds") from exc
    age = utc(now).timestamp() - stamp
    if abs(age) > tolerance_s:
        raise SignatureInvalid(f"timestamp is {age:.0f} s away from now (more than "
                               f"{tolerance_s} s): a replay, or a clock far off")
    if not hmac.compare_digest(sign(secret, stamp, body), signature):
        raise SignatureInvalid("signature does not match the body and the secret")


# --- the producer side: callbot.store.outbox (re-exported here) -------------------------


# --- the sender -------------------------------------------------------------------------


@dataclass(frozen=True)
class SenderConfig:
    """How the sender retries: attempt ``n`` (1-based) that fails is retried after
    ``min(max_delay_s, base_delay_s * 2 ** (n - 1))``, spread by +-``jitter``."""

    max_attempts: int = 10
    base_delay_s: float = 10.0
    max_delay_s: float = 6 * 3600.0
    jitter: float = 0.1
    timeout_s: float = 10.0
    lease_s: float = 120.0
    batch: int = 50
    poll_s: float = 1.0
    concurrency: int = 10


def backoff_delay(attempts: int, config: SenderConfig,
                  rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt (exponential backoff)."""
    delay = min(config.max_delay_s, config.base_delay_s * 2 ** max(0, attempts - 1))
    return delay * (1 + config.jitter * (2 * rand() - 1))


@dataclass(frozen=True)
class DeliveryJob:
    """A claimed delivery, ready to send."""

    delivery_id: int
    webhook_id: int
    url: str
    secret: str
    event: str
    attempts: int
    body: bytes


def _body(row: WebhookDelivery) -> bytes:
    data = {"delivery_id": row.id, **row.payload}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"),
                      sort_keys=True).encode("utf-8")


def claim_due(session: Session, *, now: datetime, limit: int,
              lease_s: float) -> list[DeliveryJob]:
    """Lease up to ``limit`` due deliveries of active webhooks, oldest due first."""
    stamp = utc(now)
    d = WebhookDelivery
    with write_transaction(session):
        rows = session.exec(
            select(d, Webhook).join(Webhook, col(Webhook.id) == col(d.webhook_id))
            .where(col(d.delivered_at).is_(None), col(d.next_attempt_at).is_not(None),
                   col(d.next_attempt_at) <= stamp, col(Webhook.active) == sa.true())
            .order_by(col(d.next_attempt_at), col(d.id)).limit(limit)
            .with_for_update(skip_locked=True, of=d)).all()
        jobs = []
        for delivery, hook in rows:
            assert delivery.id is not None and hook.id is not None
            delivery.next_attempt_at = stamp + timedelta(seconds=lease_s)
            session.add(delivery)
            jobs.append(DeliveryJob(delivery.id, hook.id, hook.url, hook.secret,
                                    delivery.event, delivery.attempts, _body(delivery)))
    return jobs


def record_result(session: Session, job: DeliveryJob, error: str | None, *, now: datetime,
                  config: SenderConfig, rand: Callable[[], float] = random.random) -> None:
    """Write the outcome of one attempt: delivered (``error`` None), retried after the
    backoff, or given up (``next_attempt_at`` None) after the last attempt."""
    stamp = utc(now)
    with write_transaction(session):
        row = session.exec(select(WebhookDelivery)
                           .where(WebhookDelivery.id == job.delivery_id)
                           .with_for_update()).first()
        if row is None or row.delivered_at is not None:
            return  # the webhook was deleted meanwhile, or another sender delivered it
        row.attempts = job.attempts + 1
        if error is None:
            row.delivered_at = stamp
            row.next_attempt_at = None
            row.last_error = None
        else:
            row.last_error = error[:2000]
            if row.attempts >= config.max_attempts:
                row.next_attempt_at = None
                _log.warning("webhook %s delivery %s given up after %d attempts: %s",
                             job.webhook_id, job.delivery_id, row.attempts, error)
            else:
                delay = backoff_delay(row.attempts, config, rand)
                row.next_attempt_at = stamp + timedelta(seconds=delay)
        session.add(row)


class WebhookSender:
    """The background task that delivers queued webhooks.

    ``start()`` inside a running event loop, ``await stop()`` on shutdown; or drive it with
    :meth:`run_once` (tests, one-shot tools). Database work runs in threads, HTTP on the
    loop; a slow or dead receiver only delays its own deliveries.
    """

    def __init__(self, engine: Engine, config: SenderConfig = SenderConfig(), *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 client: httpx.AsyncClient | None = None,
                 rand: Callable[[], float] = random.random) -> None:
        self.engine = engine
        self.config = config
        self.clock = clock
        self.rand = rand
        self._client = client
        self._own_client = client is None
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()

    def start(self) -> None:
        """Start delivering in the background of the running loop."""
        if self._task is None:
            self._stop.clear()
            self._task = asyncio.get_running_loop().create_task(self._run(),
                                                                name="webhook-sender")

    async def stop(self) -> None:
        """Stop after the deliveries in flight; close the HTTP client if it is ours."""
        self._stop.set()
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    def wake(self) -> None:
        """Look for due deliveries now instead of at the next poll."""
        self._wake.set()

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                sent = await self.run_once()
            except Exception:  # noqa: BLE001 - a broken database must not end the task
                _log.exception("webhook sender: a round failed; trying again")
                sent = 0
            if sent:
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.config.poll_s)
            except TimeoutError:
                pass
            self._wake.clear()

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self.config.timeout_s, follow_redirects=False,
                headers={"User-Agent": "callbot-webhooks/1"})
        return self._client

    def _claim(self) -> list[DeliveryJob]:
        with Session(self.engine) as session:
            return claim_due(session, now=self.clock(), limit=self.config.batch,
                             lease_s=self.config.lease_s)

    def _record(self, job: DeliveryJob, error: str | None) -> None:
        with Session(self.engine) as session:
            record_result(session, job, error, now=self.clock(), config=self.config,
                          rand=self.rand)

    async def run_once(self) -> int:
        """Claim the due deliveries and attempt each once; returns how many were tried."""
        jobs = await asyncio.to_thread(self._claim)
        if not jobs:
            return 0
        limit = asyncio.Semaphore(self.config.concurrency)

        async def one(job: DeliveryJob) -> None:
            async with limit:
                error = await self._send(job)
            metrics.webhook_delivered(error is None)
            await asyncio.to_thread(self._record, job, error)

        async with asyncio.TaskGroup() as group:
            for job in jobs:
                group.create_task(one(job))
        return len(jobs)

    async def _send(self, job: DeliveryJob) -> str | None:
        """POST one delivery; None when the receiver answered 2xx, else what went wrong."""
        stamp = int(self.clock().timestamp())
        headers = {
            "Content-Type": "application/json",
            EVENT_HEADER: job.event,
            DELIVERY_HEADER: str(job.delivery_id),
            TIMESTAMP_HEADER: str(stamp),
            SIGNATURE_HEADER: sign(job.secret, stamp, job.body),
        }
        try:
            response = await self._http().post(job.url, content=job.body, headers=headers)
        except httpx.TimeoutException:
            return f"no answer within {self.config.timeout_s:g} s"
        except httpx.HTTPError as exc:
            return f"could not reach the URL: {exc.__class__.__name__}: {exc}"
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}: {response.text[:300]}"


def delivery_state(row: WebhookDelivery) -> str:
    """``delivered``, ``pending`` (will be tried again) or ``failed`` (given up)."""
    if row.delivered_at is not None:
        return "delivered"
    return "pending" if row.next_attempt_at is not None else "failed"



# --- registering webhooks (the API's service functions) ---------------------------------


class WebhookCreated(WebhookPublic):
    """A new webhook, with the secret its receiver verifies signatures with (shown once)."""

    secret: str


class WebhookDeliveryPublic(SQLModel):
    """One queued event of a webhook and how its delivery went."""

    id: int
    webhook_id: int
    event: str
    state: str = Field(description="delivered, pending (will be tried again) or failed")
    attempts: int
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_error: str | None
    created_at: datetime
    payload: dict[str, Any]


def _check_events(events: Sequence[WebhookEvent | str]) -> list[WebhookEvent]:
    chosen = sorted({WebhookEvent(e) for e in events}, key=lambda e: e.value)
    if not chosen:
        raise Unprocessable("events: choose at least one of "
                            + ", ".join(e.value for e in WebhookEvent), field="events")
    return chosen


def create_webhook(session: Session, actor: User, campaign_id: int, data: WebhookCreate, *,
                   now: datetime) -> WebhookCreated:
    """Register a URL for the campaign's events; a secret is generated when none is given."""
    secret = data.secret or secrets.token_urlsafe(32)
    with write_transaction(session):
        hook = Webhook(campaign_id=campaign_id, url=data.url, events=_check_events(data.events),
                       active=data.active, secret=secret, created_at=utc(now))
        session.add(hook)
        session.flush()
        record(session, actor, "create", "webhook", hook.id, now=now, after=snapshot(hook))
    return WebhookCreated.model_validate(hook, update={"secret": secret})


def list_webhooks(session: Session, campaign_id: int) -> list[Webhook]:
    return list(session.exec(select(Webhook).where(Webhook.campaign_id == campaign_id)
                             .order_by(col(Webhook.id))).all())


def get_webhook(session: Session, campaign_id: int, webhook_id: int) -> Webhook:
    hook = session.get(Webhook, webhook_id)
    if hook is None or hook.campaign_id != campaign_id:
        raise NotFoundError(f"campaign {campaign_id} has no webhook {webhook_id}")
    hook.events = [WebhookEvent(e) for e in hook.events]  # JSON gives them back as strings
    return hook


def update_webhook(session: Session, actor: User, campaign_id: int, webhook_id: int,
                   data: WebhookUpdate, *, now: datetime) -> Webhook:
    """Change a webhook's URL, events or active flag (its secret stays)."""
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    with write_transaction(session):
        hook = get_webhook(session, campaign_id, webhook_id)
        before = snapshot(hook)
        merged = {**hook.model_dump(include=set(WebhookBase.model_fields)), **changes}
        try:
            checked = WebhookBase.model_validate(merged)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(p) for p in error["loc"]) or None
            raise Unprocessable(f"{field}: {error['msg'].removeprefix('Value error, ')}",
                                field=field) from exc
        hook.url = checked.url
        hook.events = _check_events(checked.events)
        hook.active = checked.active
        session.add(hook)
        record(session, actor, "update", "webhook", webhook_id, now=now, before=before,
               after=snapshot(hook))
    return hook


def delete_webhook(session: Session, actor: User, campaign_id: int, webhook_id: int, *,
                   now: datetime) -> None:
    """Remove a webhook and its queued deliveries."""
    with write_transaction(session):
        hook = get_webhook(session, campaign_id, webhook_id)
        before = snapshot(hook)
        session.execute(sa.delete(WebhookDelivery)
                        .where(col(WebhookDelivery.webhook_id) == webhook_id))
        session.delete(hook)
        record(session, actor, "delete", "webhook", webhook_id, now=now, before=before)


def list_deliveries(session: Session, campaign_id: int, webhook_id: int, *,
                    state: str | None = None, offset: int = 0,
                    limit: int = 50) -> list[WebhookDeliveryPublic]:
    """A webhook's deliveries, newest first; ``state`` keeps delivered, pending or failed."""
    get_webhook(session, campaign_id, webhook_id)
    d = WebhookDelivery
    query = select(d).where(d.webhook_id == webhook_id)
    if state == "delivered":
        query = query.where(col(d.delivered_at).is_not(None))
    elif state == "pending":
        query = query.where(col(d.delivered_at).is_(None), col(d.next_attempt_at).is_not(None))
    elif state == "failed":
        query = query.where(col(d.delivered_at).is_(None), col(d.next_attempt_at).is_(None))
    rows = session.exec(query.order_by(col(d.id).desc()).offset(offset).limit(limit)).all()
    return [WebhookDeliveryPublic.model_validate(r, update={"state": delivery_state(r)})
            for r in rows]
