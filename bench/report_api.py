"""Campaign report speed over HTTP, one command: ``python -m bench.report_api [--quick]``.

Issue "CRM API": the report of a campaign with 1,000,000 call attempts answers in under
100 ms, on SQLite and on PostgreSQL. For each database a campaign is generated outside the
timings with fast bulk inserts (SQLite: ``executemany`` of plain tuples in one transaction;
PostgreSQL: ``COPY``): 400,000 customers spread over the four statuses, 1,000,000 finished
attempts over two weeks of calling hours with a realistic mix of outcomes, and the events of
the answered calls (a keypress and the branch it took in the menu block; for one call in four
a spoken answer in a confirm block as well). The events go in through the ``call_event``
trigger that keeps ``answer_stat``, as in production; the per-hour ``call_stat`` lines are
then rebuilt from the attempts (:func:`callbot.store.repo.rebuild_stats`).

The API then runs in uvicorn on a free loopback port, and ``GET
/api/v1/campaigns/{id}/report`` is timed warm (after a few requests) with a keep-alive
``httpx`` client: p50 and p95 of the wall time of each request; interleaved with them, the
report without HTTP, split into the store's :func:`callbot.store.report.report` and
:func:`api.services.reports.answers_per_block`. PostgreSQL is the local
cluster at 127.0.0.1:5432 (user postgres), in a throwaway database. The section "Reports
(issue: CRM API)" of BENCHMARKS.md is replaced (or appended) in one write at the end, the file
being read right before it.
"""

from __future__ import annotations

from bench import sections

import argparse
import json
import os
import platform
import random
import secrets
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import uvicorn
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine
from sqlmodel import Session

from api.app import create_app
from api.auth import hash_password
from api.services.reports import answers_per_block
from api.settings import ApiSettings
from callbot.store import repo
from callbot.store.db import make_engine, upgrade
from callbot.store.report import report
from callbot.store.models import Campaign, CampaignCreate, ScriptFormat
from callbot.store.models_api import User, UserRole

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "BENCHMARKS.md"
SECTION = "## Reports (issue: CRM API)"
GOAL_MS = 100.0
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "test"}
START = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)  # 08:00 in Ho Chi Minh City
OUTCOMES = (("answered", 35), ("no_answer", 30), ("busy", 15), ("failed", 10),
            ("declined", 5), ("rejected", 5))
STATUSES = (("Registered", 40), ("Confirmed", 25), ("Joined", 20), ("Cancelled", 15))
MENU_TARGETS = {"1": "confirm", "2": "cancelled", "3": "agent", "9": "menu"}
INTENTS = (("yes", "joined"), ("no", "cancelled"), ("", "confirm"))


@dataclass(frozen=True)
class Size:
    customers: int
    attempts: int


@dataclass(frozen=True)
class Result:
    database: str
    load_s: float
    events: int
    http_p50: float
    http_p95: float
    service_p50: float
    service_p95: float
    requests: int
    store_p50: float
    answers_p50: float


def _weighted(choices: tuple[tuple[str, int], ...]) -> Callable[[random.Random], str]:
    names = [name for name, _ in choices]
    weights = [weight for _, weight in choices]
    return lambda rng: rng.choices(names, weights)[0]


def _sqlite_time(moment: datetime) -> str:
    """How SQLAlchemy stores a UTC datetime in SQLite (naive, microseconds)."""
    return moment.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def _calling_time(index: int, total: int) -> datetime:
    """Attempt ``index`` of ``total`` spread over 14 days, 08:00-20:00 local (UTC+7)."""
    minutes = 12 * 60
    slot = index * (14 * minutes) // max(1, total)
    day, minute = divmod(slot, minutes)
    return START + timedelta(days=day, minutes=minute, seconds=index % 60)


def generate(size: Size, campaign_id: int, seed: int = 11) -> tuple[
        list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]],
        list[tuple[Any, ...]]]:
    """Rows of customer, campaign_customer, call_attempt and call_event, as plain tuples
    (times as aware datetimes, JSON as text; ids from 1)."""
    rng = random.Random(seed)
    outcome_of, status_of = _weighted(OUTCOMES), _weighted(STATUSES)
    customers, links, attempts, events = [], [], [], []
    per_customer = [size.attempts // size.customers] * size.customers
    for i in range(size.attempts - sum(per_customer)):
        per_customer[i] += 1
    attempt_id = event_id = 0
    for cid in range(1, size.customers + 1):
        created = START - timedelta(days=1)
        customers.append((cid, f"Khách hàng {cid}", f"+849{cid:08d}", None, f"KH{cid:07d}",
                          "{}", None, created))
        last_outcome = None
        ended = created
        for n in range(1, per_customer[cid - 1] + 1):
            attempt_id += 1
            outcome = outcome_of(rng)
            ended = _calling_time(attempt_id, size.attempts)
            talk = rng.randrange(5_000, 120_000) if outcome == "answered" else 0
            attempts.append((attempt_id, cid, campaign_id, n, "bench", "finished", created,
                             f"call-{attempt_id}", outcome, 200 if outcome == "answered" else 486,
                             talk, ended - timedelta(milliseconds=talk), ended, "", ""))
            last_outcome = outcome
            if outcome == "answered":
                seq = 0
                key = rng.choice("1239")
                for kind, data in (("digit", {"digit": key, "block": "menu"}),
                                   ("branch", {"block": "menu", "to": MENU_TARGETS[key],
                                               "why": f"caller pressed {key}"})):
                    seq += 1
                    event_id += 1
                    events.append((event_id, attempt_id, seq, seq * 1500, kind,
                                   json.dumps(data)))
                if attempt_id % 4 == 0:
                    intent, target = rng.choice(INTENTS)
                    spoken: list[tuple[str, dict[str, Any]]] = [
                        ("speech_started", {"block": "confirm"}),
                        ("transcript", {"text": intent or "ờ", "confidence": 0.9,
                                        **({"intent": intent} if intent else {})}),
                        ("branch", {"block": "confirm", "to": target, "why": "speech"})]
                    for kind, data in spoken:
                        seq += 1
                        event_id += 1
                        events.append((event_id, attempt_id, seq, seq * 1500, kind,
                                       json.dumps(data)))
        status = status_of(rng)
        done = last_outcome == "answered" or per_customer[cid - 1] >= 3
        links.append((cid, campaign_id, cid, status, ended, per_customer[cid - 1], last_outcome,
                      None if done else ended + timedelta(hours=2), done,
                      ("answered" if last_outcome == "answered" else "max_attempts")
                      if done else None, created))
    return customers, links, attempts, events


_CUSTOMER = "customer (id, name, phone, email, code, extra, timezone, created_at)"
_LINK = ("campaign_customer (id, campaign_id, customer_id, status, status_changed_at, "
         "attempts, last_outcome, next_attempt_at, done, done_reason, created_at)")
_ATTEMPT = ("call_attempt (id, campaign_customer_id, campaign_id, attempt_no, worker_id, "
            "state, created_at, call_id, outcome, sip_status, talk_ms, started_at, ended_at, "
            "message, digits)")
_EVENT = "call_event (id, attempt_id, seq, t_ms, kind, data)"


def load_sqlite(engine: Engine, rows: tuple[list[tuple[Any, ...]], ...]) -> None:
    def convert(row: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(_sqlite_time(v) if isinstance(v, datetime) else
                     int(v) if isinstance(v, bool) else v for v in row)

    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        for target, data in zip((_CUSTOMER, _LINK, _ATTEMPT, _EVENT), rows, strict=True):
            marks = ", ".join("?" * len(data[0])) if data else ""
            if data:
                cursor.executemany(f"INSERT INTO {target} VALUES ({marks})",
                                   (convert(r) for r in data))
        cursor.execute("COMMIT")
        cursor.execute("ANALYZE")
    finally:
        raw.close()


def load_postgres(url: str, rows: tuple[list[tuple[Any, ...]], ...]) -> None:
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo) as conn:
        with conn.cursor() as cursor:
            for target, data in zip((_CUSTOMER, _LINK, _ATTEMPT, _EVENT), rows, strict=True):
                with cursor.copy(f"COPY {target} FROM STDIN") as copy:
                    for row in data:
                        copy.write_row(row)
            for table in ("customer", "campaign_customer", "call_attempt", "call_event"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"(SELECT coalesce(max(id), 1) FROM {table}))")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")


@contextmanager
def postgres_database() -> Iterator[str]:
    name = f"bench_report_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(**PG, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://{PG['user']}@{PG['host']}:{PG['port']}/{name}"
    finally:
        with psycopg.connect(**PG, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepare(engine: Engine, url: str, size: Size) -> tuple[int, int, float, int]:
    """A campaign with its data; returns (campaign id, manager id, load seconds, events)."""
    upgrade(engine)
    with Session(engine) as session:
        version = repo.create_script_version(session, "bench", "name: bench\n",
                                             ScriptFormat.YAML, "bench-v1", now=START)
        campaign = repo.create_campaign(session, CampaignCreate(
            name="Báo cáo 1M", script_id=version.script_id), now=START)
        manager = User(username="bench.manager", full_name="Bench", role=UserRole.MANAGER,
                       password_hash=hash_password("bench password"))
        session.add(manager)
        session.commit()
        assert campaign.id is not None and manager.id is not None
        campaign_id, manager_id = campaign.id, manager.id
        stored = session.get(Campaign, campaign_id)
        assert stored is not None
        stored.owner_id = manager_id
        session.add(stored)
        session.commit()
    rows = generate(size, campaign_id)
    started = time.perf_counter()
    if url.startswith("sqlite"):
        load_sqlite(engine, rows)
    else:
        load_postgres(url, rows)
    with Session(engine) as session:
        repo.rebuild_stats(session, campaign_id)
    return campaign_id, manager_id, time.perf_counter() - started, len(rows[3])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve(engine: Engine, url: str) -> Iterator[tuple[str, Any]]:
    settings = ApiSettings(database_url=url, secret_key=secrets.token_urlsafe(48),
                           migrate=False, run_dialer=False)
    app = create_app(settings, engine=engine)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, name="bench-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start within 30 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def measure(name: str, url: str, size: Size, requests: int, console: Console) -> Result:
    engine = make_engine(url)
    try:
        with console.status(f"{name}: generating and loading {size.attempts:,} attempts"):
            campaign_id, manager_id, load_s, events = prepare(engine, url, size)
        with serve(engine, url) as (base, app):
            token, _ = app.state.tokens.issue(manager_id, datetime.now(UTC))
            path = f"{base}/api/v1/campaigns/{campaign_id}/report"
            with httpx.Client(headers={"Authorization": f"Bearer {token}"},
                              timeout=30) as client:
                first = client.get(path)
                first.raise_for_status()
                body = first.json()
                if body["attempts"] != size.attempts:
                    raise RuntimeError(f"report counts {body['attempts']} attempts, "
                                       f"expected {size.attempts}")
                for _ in range(10):
                    client.get(path).raise_for_status()
                # Interleaved, so both see the same load of the shared machine.
                http, service, store, answers = [], [], [], []
                with Session(engine) as session:
                    for _ in range(requests):
                        started = time.perf_counter()
                        client.get(path).raise_for_status()
                        http.append((time.perf_counter() - started) * 1000)
                        started = time.perf_counter()
                        report(session, campaign_id)
                        middle = time.perf_counter()
                        answers_per_block(session, campaign_id)
                        ended = time.perf_counter()
                        session.rollback()
                        service.append((ended - started) * 1000)
                        store.append((middle - started) * 1000)
                        answers.append((ended - middle) * 1000)
    finally:
        engine.dispose()
    http_p50, http_p95 = _percentiles(http)
    service_p50, service_p95 = _percentiles(service)
    return Result(name, load_s, events, http_p50, http_p95, service_p50, service_p95, requests,
                  statistics.median(store), statistics.median(answers))


def section(results: list[Result], size: Size) -> str:
    load = os.getloadavg()
    lines = [
        SECTION,
        "",
        f"`python -m bench.report_api` ({datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, "
        f"{os.cpu_count()} cores shared, load average {load[0]:.1f} / {load[1]:.1f}). "
        f"Goal: `GET /api/v1/campaigns/{{id}}/report` under {GOAL_MS:.0f} ms with "
        f"{size.attempts:,} call attempts, on SQLite and on PostgreSQL.",
        "",
        f"- Data: {size.customers:,} customers in four statuses, {size.attempts:,} finished "
        "attempts over 14 days of calling hours (35 % answered), and the events of the "
        "answered calls written through the `call_event` trigger that keeps `answer_stat`; "
        "per-hour `call_stat` rebuilt from the attempts. Bulk load not timed in the goal "
        "(SQLite executemany, PostgreSQL COPY).",
        "- Timing: uvicorn on loopback, keep-alive httpx client, warm (10 requests first); "
        "wall time per request. Interleaved with each request, the same report without HTTP "
        "(\"service\"), split into the store's `report()` and the answers per block.",
        "- What each part reads: attempts per outcome and per hour come from `call_stat` and "
        "answers per block from `answer_stat` (a few hundred rows whatever the number of "
        "attempts); customers per status, called, done and remaining are one statement of "
        "range counts (per status: done / not done, of each those never called, and those "
        "not done at the attempt limit) over the covering index "
        f"`ix_campaign_customer_status`, reading the campaign's {size.customers:,} index "
        "entries about once with no per-row grouping, so that part grows with customers, not attempts, and "
        "is nearly all of the store's `report()` time below.",
        f"- Machine load while measuring: {load[0]:.1f} (2 cores shared with other engineers' "
        "test runs); the figures move with it.",
        "",
        "| database | events | bulk load (s) | requests | HTTP p50 (ms) | HTTP p95 (ms) "
        "| service p50 (ms) | service p95 (ms) | of which report() p50 | answers p50 | goal |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        verdict = "met" if r.http_p95 < GOAL_MS else "missed"
        lines.append(f"| {r.database} | {r.events:,} | {r.load_s:.1f} | {r.requests} "
                     f"| {r.http_p50:.1f} | {r.http_p95:.1f} | {r.service_p50:.1f} "
                     f"| {r.service_p95:.1f} | {r.store_p50:.1f} | {r.answers_p50:.2f} "
                     f"| {verdict} (p95 < {GOAL_MS:.0f} ms) |")
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    """This benchmark's section of BENCHMARKS.md (see :mod:`bench.sections`)."""
    sections.write_section(path, SECTION, section)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="20,000 customers and 50,000 attempts; BENCHMARKS.md untouched")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per database")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    args = parser.parse_args()
    size = Size(20_000, 50_000) if args.quick else Size(400_000, 1_000_000)
    requests = min(args.requests, 50) if args.quick else args.requests
    console = Console()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        results.append(measure("SQLite", f"sqlite:///{Path(tmp) / 'report.db'}", size,
                               requests, console))
    if not args.no_postgres:
        with postgres_database() as url:
            results.append(measure("PostgreSQL", url, size, requests, console))
    table = Table(title=f"report over {size.attempts:,} attempts")
    for column in ("database", "events", "bulk load s", "HTTP p50 ms", "HTTP p95 ms",
                   "service p50 ms", "service p95 ms", "report() p50", "answers p50"):
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(r.database, f"{r.events:,}", f"{r.load_s:.1f}", f"{r.http_p50:.1f}",
                      f"{r.http_p95:.1f}", f"{r.service_p50:.1f}", f"{r.service_p95:.1f}",
                      f"{r.store_p50:.1f}", f"{r.answers_p50:.2f}")
    console.print(table)
    if not args.quick and not args.no_write:
        write_section(BENCHMARKS, section(results, size))
        console.print(f"updated {BENCHMARKS.name}: {SECTION[3:]}")


if __name__ == "__main__":
    main()
