"""PostgreSQL for the store tests: a throwaway database per run, and the claiming worker
that the multi-process test starts (it must live in an importable module for ``spawn``)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from sqlmodel import Session

from callbot.store import repo
from callbot.store.db import make_engine
from callbot.store.models import CampaignCreate, CampaignState, CustomerCreate, ScriptFormat
from dialer.outcome import CallOutcome, CallResult, EndReason, HangupBy

HOST, PORT, USER, ADMIN_DB = "127.0.0.1", 5432, "postgres", "test"
NOW = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)


def _admin() -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(host=HOST, port=PORT, user=USER, dbname=ADMIN_DB,
                               autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {HOST}:{PORT} (user {USER}, database {ADMIN_DB}): "
            f"{exc}. The store's PostgreSQL tests need it: start the local cluster "
            "(.ci/run does: pg_ctlcluster <version> main start).", pytrace=False)


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new, empty database for this run; dropped afterwards. Yields its SQLAlchemy URL."""
    name = f"callbot_store_{os.getpid()}_{secrets.token_hex(4)}"
    admin = _admin()
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql+psycopg://{USER}@{HOST}:{PORT}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


def phone(i: int) -> str:
    return f"+8491{i:07d}"


def running_campaign(session: Session, customers: int, name: str, max_attempts: int = 3,
                     max_concurrent: int = 10_000, cps: float = 1000) -> tuple[int, list[int]]:
    """A running campaign; pacing limits are generous unless a test sets them."""
    version = repo.create_script_version(session, f"script-{name}", "name: demo\n",
                                         ScriptFormat.YAML, f"sha-{name}", now=NOW)
    campaign = repo.create_campaign(session, CampaignCreate(
        name=name, script_id=version.script_id, max_attempts=max_attempts,
        max_concurrent=max_concurrent, cps=cps), now=NOW)
    assert campaign.id is not None
    ids = repo.add_customers(session, campaign.id, [
        CustomerCreate(name=f"Customer {i}", phone=phone(i), extra={"row": i})
        for i in range(customers)], now=NOW)
    repo.move_campaign(session, campaign.id, CampaignState.RUNNING, now=NOW)
    return campaign.id, ids


def answered(talk_ms: int = 12_000) -> CallResult:
    return CallResult(outcome=CallOutcome.ANSWERED, sip_status=200, hangup_by=HangupBy.REMOTE,
                      ring_ms=2000, talk_ms=talk_ms, reason=EndReason.REMOTE_BYE)


def claim_worker(url: str, campaign_id: int, worker_id: str, barrier: Any, results: Any) -> None:
    """Claim, dial and finish customers until none is due; report what was claimed."""
    engine = make_engine(url)
    mine: list[int] = []
    try:
        with Session(engine) as session:
            barrier.wait(timeout=120)
            for _ in range(10_000):
                claims = repo.claim_due(session, campaign_id, worker_id, now=NOW, limit=2,
                                        lease_seconds=60)
                if not claims:
                    break
                for claim in claims:
                    repo.mark_dialing(session, claim.attempt_id, f"{worker_id}-{claim.attempt_id}",
                                      now=NOW)
                    repo.finish_attempt(session, claim.attempt_id, answered(), now=NOW)
                    mine.append(claim.campaign_customer_id)
    finally:
        engine.dispose()
        results.put((worker_id, mine))
