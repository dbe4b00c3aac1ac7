"""Fixtures of the API tests. Every test module runs twice, on SQLite and on PostgreSQL
(module-scoped ``engine``, parametrized); each test starts from empty tables with the users
of :data:`api_support.ROLES`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from api_support import ApiClient, Clock, database, make_client, seed_users, wipe
from callbot.store.db import make_engine, upgrade


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Engine]:
    folder: Path = tmp_path_factory.mktemp("api-db")
    with database(request.param, folder) as url:
        engine = make_engine(url)
        try:
            upgrade(engine)
            yield engine
        finally:
            engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def api(engine: Engine, clock: Clock) -> Iterator[ApiClient]:
    wipe(engine)
    ids = seed_users(engine)
    with make_client(engine, clock) as client:
        yield ApiClient(client, engine, clock, ids)
