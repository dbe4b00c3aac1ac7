"""Creating a campaign from a script file and a customer list, all or nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session

from callbot.imports import ImportReport, import_customers
from callbot.scriptcall import ScriptCallOptions, load_script
from callbot.store import repo
from callbot.store.models import CampaignCreate, CampaignState, CustomerCreate, ScriptFormat, TrunkCreate
from callbot.store.retry import RetryRule, RetryRules
from dialer.campaign.hours import CallingHours, customer_zone


@dataclass(frozen=True)
class CampaignSpec:
    name: str
    script: Path
    customers: Path
    trunk_host: str
    trunk_port: int = 5060
    username: str | None = None
    password: str | None = None
    register: bool = False
    caller_id: str | None = None
    max_concurrent: int = 10
    cps: float = 2.0
    hours_start: str = "00:00"
    hours_end: str = "00:00"  # equal start and end: all day
    days: list[int] = field(default_factory=lambda: [1, 2, 3, 4, 5, 6, 7])
    timezone: str = "Asia/Ho_Chi_Minh"
    max_attempts: int = 3
    retry_after_s: int = 600
    ring_timeout_s: int = 30
    max_duration_s: int = 600
    speech_model: Path | None = None


def _now() -> datetime:
    return datetime.now(timezone.utc)


def create_campaign(db: sa.Engine, spec: CampaignSpec) -> tuple[int, ImportReport]:
    """Validate the script, read the customer list, and store trunk, script, campaign and
    customers; the campaign is left running. Raises on a bad script or an unreadable list,
    before anything is written."""
    compiled = load_script(ScriptCallOptions(script=spec.script, speech_model=spec.speech_model))
    CallingHours.parse(spec.hours_start, spec.hours_end, default_zone=spec.timezone)
    report = import_customers(spec.customers)
    now = _now()
    source = spec.script.read_text(encoding="utf-8")
    fmt = ScriptFormat.JSON if spec.script.suffix.lower() == ".json" else ScriptFormat.YAML
    rule = RetryRule(max=spec.max_attempts - 1, after_s=spec.retry_after_s)
    customers = [
        CustomerCreate(
            name=row.name, phone=row.phone, email=row.email or None, code=row.code or None,
            extra=dict(row.extra), timezone=customer_zone(row.phone, row.extra.get("timezone"), spec.timezone),
        )
        for row in report.imported
    ]
    with Session(db) as session:
        trunk = repo.create_trunk(session, TrunkCreate(
            name=f"{spec.name} trunk {now.isoformat()}", host=spec.trunk_host, port=spec.trunk_port,
            username=spec.username, password=spec.password, registration=spec.register,
            caller_id=spec.caller_id, max_concurrent=max(spec.max_concurrent, 1), cps=spec.cps,
        ), now=now)
        version = repo.create_script_version(session, compiled.name, source, fmt, compiled.version, now=now)
        campaign = repo.create_campaign(session, CampaignCreate(
            name=spec.name, script_id=version.script_id, trunk_id=trunk.id, caller_id=spec.caller_id,
            max_concurrent=spec.max_concurrent, cps=spec.cps, hours_start=spec.hours_start,
            hours_end=spec.hours_end, calling_days=spec.days, timezone=spec.timezone,
            max_attempts=spec.max_attempts,
            retry_rules=RetryRules(busy=rule, no_answer=rule, failed=rule, hung_up_early=rule),
            ring_timeout_s=spec.ring_timeout_s, max_duration_s=spec.max_duration_s,
        ), now=now)
        assert campaign.id is not None
        repo.add_customers(session, campaign.id, customers, now=now)
        repo.move_campaign(session, campaign.id, CampaignState.RUNNING, now=now)
        return campaign.id, report
