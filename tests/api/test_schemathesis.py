"""Schemathesis against the app's own OpenAPI schema, in process (ASGI): every operation is
called with generated requests, valid and invalid, signed in as a manager who owns a campaign
with customers, calls and a webhook; no answer may be a server error (5xx).

Bounded: a few examples per operation, derandomized, on SQLite, so it runs in well under two
minutes. The other API tests cover PostgreSQL and the meaning of each answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from sqlmodel import Session

from api.app import create_app
from api.settings import ApiSettings
from api_support import NOW, SECRET, Clock, seed_users
from callbot.store import repo
from callbot.store.db import make_engine, upgrade
from callbot.store.models import CampaignCreate, CustomerCreate, ScriptFormat
from callbot.store.models_api import Webhook

MAX_EXAMPLES = 10


APP = create_app(ApiSettings(secret_key=SECRET, database_url="sqlite://", migrate=False,
                             _env_file=None),  # type: ignore[call-arg]
                 engine=make_engine("sqlite://"), clock=Clock())
"""The app whose schema is read at collection; its database is set by :func:`token`."""

schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", APP)


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Point the app at a migrated SQLite database with a manager's campaign, its customers
    and a webhook; the manager's access token."""
    folder: Path = tmp_path_factory.mktemp("schemathesis")
    engine = make_engine(f"sqlite:///{folder / 'api.db'}")
    upgrade(engine)
    ids = seed_users(engine)
    with Session(engine) as session:
        version = repo.create_script_version(session, "fuzz", "name: fuzz\n", ScriptFormat.YAML,
                                             "v-fuzz", now=NOW)
        campaign = repo.create_campaign(session, CampaignCreate(
            name="Fuzz", script_id=version.script_id, owner_id=ids["manager"]), now=NOW)
        assert campaign.id is not None
        repo.add_customers(session, campaign.id, [
            CustomerCreate(name=f"Khách {i}", phone=f"+849123456{i:02d}") for i in range(5)],
            now=NOW)
        session.add(Webhook(campaign_id=campaign.id, url="http://127.0.0.1:9/hook",
                            secret="s" * 32, created_at=NOW))
        session.commit()
    placeholder = APP.state.engine
    APP.state.engine = engine
    try:
        yield str(APP.state.tokens.issue(ids["manager"], NOW)[0])
    finally:
        APP.state.engine = placeholder
        engine.dispose()


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_operation_answers_with_a_server_error(case: Any, token: str) -> None:
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    case.validate_response(response, checks=[not_a_server_error])
