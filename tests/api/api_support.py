"""Shared by the API tests: a database per test module (SQLite file, or a throwaway
PostgreSQL database on 127.0.0.1:5432), an app on a fixed clock, users of every role, and a
client that signs in as any of them.

Use through the fixtures of ``conftest.py``: ``api`` (an :class:`ApiClient`), ``engine``,
``clock``. Tables are emptied between tests; the database itself lives for the module.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import psycopg
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from api.app import create_app
from api.auth import hash_password
from api.settings import ApiSettings
from callbot.store.models import metadata
from callbot.store.models_api import User, UserRole

PG_HOST, PG_PORT, PG_USER, PG_ADMIN_DB = "127.0.0.1", 5432, "postgres", "test"
NOW: Final = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)  # a Monday, 09:00 in Ho Chi Minh City
SECRET: Final = "test-secret-" + "k" * 40
PASSWORD: Final = "correct horse battery staple"
_HASH: Final = hash_password(PASSWORD)

ROLES: Final = {
    "manager": UserRole.MANAGER,
    "manager2": UserRole.MANAGER,
    "supervisor": UserRole.SUPERVISOR,
    "agent": UserRole.AGENT,
    "agent2": UserRole.AGENT,
}
"""The users every test starts with (user name -> role); all have :data:`PASSWORD`."""

SCRIPT_YAML: Final = """\
name: xac_nhan
language: vi
variables:
  customer:
    name: null
blocks:
  - id: chao
    type: menu
    prompt: "Chào {customer.name}, bấm 1 để xác nhận, 2 để hủy."
    keys:
      "1": xac_nhan
      "2": huy
    timeout: 5
    no_input: {retries: 1, next: ket_thuc}
    no_match: {retries: 1, next: ket_thuc}
  - id: xac_nhan
    type: set_status
    status: Confirmed
    next: ket_thuc
  - id: huy
    type: set_status
    status: Cancelled
    next: ket_thuc
  - id: ket_thuc
    type: hangup
    prompt: "Cảm ơn quý khách."
"""


class Clock:
    """The app's clock: fixed, moved by tests."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def _admin() -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=PG_ADMIN_DB,
                               autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_HOST}:{PG_PORT} (user {PG_USER}, "
                    f"database {PG_ADMIN_DB}): {exc}. Start the local cluster (.ci/run does).",
                    pytrace=False)


@contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    """A new, empty database of ``kind`` (``sqlite`` or ``postgresql``), dropped after."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'api.db'}"
        return
    name = f"callbot_api_{os.getpid()}_{secrets.token_hex(4)}"
    admin = _admin()
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


def wipe(engine: Engine) -> None:
    """Empty every table (ids restart on PostgreSQL)."""
    tables = [t for t in reversed(metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(table.delete())


def seed_users(engine: Engine) -> dict[str, int]:
    """Create the users of :data:`ROLES`; their ids by name."""
    with Session(engine) as session:
        users = {name: User(username=name, full_name=name.title(), role=role,
                            password_hash=_HASH, created_at=NOW)
                 for name, role in ROLES.items()}
        session.add_all(users.values())
        session.commit()
        return {name: u.id for name, u in users.items() if u.id is not None}


@dataclass
class ApiClient:
    """A test client that signs in as any seeded user (tokens cached per user)."""

    client: TestClient
    engine: Engine
    clock: Clock
    ids: dict[str, int]
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, who: str | None) -> dict[str, str]:
        if who is None:
            return {}
        if who not in self.tokens:
            response = self.client.post("/api/v1/login/access-token",
                                        data={"username": who, "password": PASSWORD})
            assert response.status_code == 200, response.text
            self.tokens[who] = response.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def request(self, method: str, path: str, who: str | None = "manager",
                **kwargs: Any) -> Any:
        headers = {**self.headers(who), **kwargs.pop("headers", {})}
        return self.client.request(method, "/api/v1" + path, headers=headers, **kwargs)

    def get(self, path: str, who: str | None = "manager", **kwargs: Any) -> Any:
        return self.request("GET", path, who, **kwargs)

    def post(self, path: str, who: str | None = "manager", **kwargs: Any) -> Any:
        return self.request("POST", path, who, **kwargs)

    def patch(self, path: str, who: str | None = "manager", **kwargs: Any) -> Any:
        return self.request("PATCH", path, who, **kwargs)

    def put(self, path: str, who: str | None = "manager", **kwargs: Any) -> Any:
        return self.request("PUT", path, who, **kwargs)

    def delete(self, path: str, who: str | None = "manager", **kwargs: Any) -> Any:
        return self.request("DELETE", path, who, **kwargs)

    # --- builders -----------------------------------------------------------------------

    def ok(self, response: Any, status: int = 200) -> Any:
        assert response.status_code == status, response.text
        return response.json()

    def trunk(self, name: str = "viettel") -> int:
        return int(self.ok(self.post("/trunks", json={
            "name": name, "host": "127.0.0.1", "port": 5060, "password": "s3cret"}), 201)["id"])

    def script(self, text: str = SCRIPT_YAML, filename: str = "xac_nhan.yaml") -> dict[str, Any]:
        result: dict[str, Any] = self.ok(self.post(
            "/scripts", files={"file": (filename, text.encode("utf-8"), "application/yaml")}),
            201)
        return result

    def campaign(self, who: str = "manager", *, name: str = "Hội thảo", trunk: bool = True,
                 script: bool = True, **settings: Any) -> int:
        body: dict[str, Any] = {"name": name, **settings}
        if trunk:
            body["trunk_id"] = self.trunk(f"trunk-{secrets.token_hex(3)}")
        if script:
            body["script_id"] = self.script()["script_id"]
        return int(self.ok(self.post("/campaigns", who, json=body), 201)["id"])

    def import_csv(self, campaign_id: int, text: str, who: str = "manager",
                   encoding: str = "utf-8", **form: Any) -> Any:
        return self.post(f"/campaigns/{campaign_id}/customers/import", who,
                         files={"file": ("khach_hang.csv", text.encode(encoding), "text/csv")},
                         data=form)

    def customers(self, campaign_id: int, who: str = "manager", **params: Any) -> Any:
        return self.ok(self.get(f"/campaigns/{campaign_id}/customers", who, params=params))

    def with_customers(self, rows: int = 3, who: str = "manager", **campaign: Any
                       ) -> tuple[int, list[int]]:
        """A campaign with ``rows`` imported customers; (campaign id, customer ids)."""
        cid = self.campaign(who, **campaign)
        lines = ["Họ tên,Số điện thoại"] + [f"Khách {i},09123450{i:02d}" for i in range(rows)]
        self.ok(self.import_csv(cid, "\n".join(lines) + "\n", who))
        items = self.customers(cid, who, limit=1000)["items"]
        return cid, [c["id"] for c in items]

    def audit(self, **params: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.ok(self.get("/audit", "supervisor",
                                                       params=params))["items"]
        return items


@contextmanager
def make_client(engine: Engine, clock: Clock, **settings: Any) -> Iterator[TestClient]:
    """A test client of an app on ``engine`` and ``clock`` (lifespan run)."""
    app = create_app(ApiSettings(secret_key=SECRET, database_url="sqlite://", migrate=False,
                                 _env_file=None, **settings),  # type: ignore[call-arg]
                     engine=engine, clock=clock)
    with TestClient(app) as client:
        yield client
