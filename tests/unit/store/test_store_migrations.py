"""Migrations build the schema the models describe; SQLite connections are set up right."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from callbot.store.db import alembic_config, make_engine, upgrade
from callbot.store.models import metadata

STORE_TABLES = {"trunk", "script", "script_version", "campaign", "customer",
                "campaign_customer", "call_attempt", "call_event", "call_stat",
                "status_change", "do_not_contact"}


def _store_diffs(engine: Engine) -> list[Any]:
    """Differences between the migrated database and the store's models (tables of other
    parts of the project, if imported, are not ours to check here)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, metadata)
    return [d for d in diffs if _ours(d)]


def _ours(diff: Any) -> bool:
    parts = diff[0] if isinstance(diff, list) else diff
    return any(getattr(part, "name", part) in STORE_TABLES
               or getattr(getattr(part, "table", None), "name", None) in STORE_TABLES
               for part in parts)


def test_upgrade_creates_every_table_and_matches_the_models(engine: Engine) -> None:
    assert STORE_TABLES <= set(sa.inspect(engine).get_table_names())
    assert _store_diffs(engine) == []


def test_upgrade_twice_is_a_no_op(db_url: str, engine: Engine) -> None:
    upgrade(db_url)
    with engine.connect() as connection:
        assert connection.execute(sa.text("select version_num from alembic_version")).scalar_one()


def test_downgrade_to_base_removes_the_tables(engine: Engine) -> None:
    with engine.connect() as connection:
        command.downgrade(alembic_config(connection), "base")
        connection.commit()
    assert not STORE_TABLES & set(sa.inspect(engine).get_table_names())


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}", busy_timeout_ms=1234)
    with engine.connect() as connection:
        pragma = {name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                  for name in ("journal_mode", "busy_timeout", "foreign_keys")}
    engine.dispose()
    assert pragma == {"journal_mode": "wal", "busy_timeout": 1234, "foreign_keys": 1}
