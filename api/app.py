"""The FastAPI application: :func:`create_app` wires settings, database, routes, error
handlers and (optionally) the campaign dialer.

Everything the process is configured with comes in through :class:`~api.settings.ApiSettings`
(checked at start-up); the engine and the clock may be handed in by tests. On start-up the
store's migrations run (``settings.migrate``); with ``settings.run_dialer`` a
:class:`~api.dialer.CampaignDialer` starts, and with ``settings.run_webhooks`` a
:class:`~api.webhooks.WebhookSender`; both stop on shutdown.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI
from sqlalchemy import Engine

from api.auth import TokenCodec
from api.deps import API_PREFIX
from api.dialer import CampaignDialer, DialerConfig
from api.errors import ERROR_RESPONSES, install_error_handlers
from api.routes import (
    audit,
    calls,
    campaigns,
    customers,
    exports,
    imports,
    login,
    metrics,
    reports,
    scripts,
    trunks,
    users,
    webhooks,
)
from api.settings import ApiSettings
from api.webhooks import WebhookSender
from callbot.campaign.worker import WorkerSettings
from callbot.store.db import make_engine, upgrade

__all__ = ["create_app", "API_PREFIX"]

_log = logging.getLogger(__name__)

TAGS = [
    {"name": "login", "description": "Sign in: exchange a user name and password for a token."},
    {"name": "users", "description": "People who use the API, and their roles."},
    {"name": "trunks", "description": "SIP trunks the dialer calls through."},
    {"name": "campaigns", "description": "Campaigns, their settings and lifecycle."},
    {"name": "scripts", "description": "Call scripts: upload, validate, versions, diagram."},
    {"name": "customer lists", "description": "Importing customer lists (XLSX, CSV)."},
    {"name": "customers", "description": "A campaign's customers, statuses, notes, history."},
    {"name": "calls", "description": "Call attempts with outcome, timings and events."},
    {"name": "audit", "description": "Who changed what, when."},
]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def create_app(settings: ApiSettings, *, engine: Engine | None = None,
               clock: Callable[[], datetime] = _utcnow) -> FastAPI:
    """The API application for ``settings``.

    ``engine`` defaults to one made from ``settings.database_url`` (and disposed of on
    shutdown); ``clock`` gives the current UTC time to every service.
    """
    own_engine = engine is None
    db = engine if engine is not None else make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.migrate:
            upgrade(db)
        dialer: CampaignDialer | None = None
        if settings.run_dialer:
            dialer = CampaignDialer(db, DialerConfig(
                worker=WorkerSettings(worker_id=settings.worker_id,
                                      speech_model=settings.speech_model,
                                      prompt_cache=settings.prompt_cache,
                                      recordings_dir=settings.recordings_dir),
                sip_host=settings.sip_host, sip_port=settings.sip_port,
                poll_s=settings.dialer_poll_s), clock=clock)
            dialer.start()
        sender: WebhookSender | None = None
        if settings.run_webhooks:
            sender = WebhookSender(db, clock=clock)
            sender.start()
        app.state.dialer = dialer
        app.state.webhook_sender = sender
        try:
            yield
        finally:
            if sender is not None:
                await sender.stop()
            if dialer is not None:
                await dialer.stop()
            if own_engine:
                db.dispose()

    app = FastAPI(title=settings.project_name, version="1", lifespan=lifespan,
                  openapi_tags=TAGS, openapi_url=f"{API_PREFIX}/openapi.json",
                  docs_url="/docs", redoc_url=None)
    app.state.settings = settings
    app.state.engine = db
    app.state.clock = clock
    app.state.tokens = TokenCodec(settings.secret_key, settings.token_minutes,
                                  settings.token_algorithm)
    app.state.dialer = None
    app.state.webhook_sender = None
    install_error_handlers(app)
    for module in (login, users, trunks, campaigns, scripts, imports, customers, calls, audit,
                   reports, exports, webhooks):
        app.include_router(module.router, prefix=API_PREFIX, responses=ERROR_RESPONSES)
    app.include_router(metrics.router)
    return app
