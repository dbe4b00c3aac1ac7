"""Engines, sessions and migrations.

:func:`make_engine` gives an engine set up for the store: on SQLite the WAL journal (readers
never wait for the writer), a busy timeout (writers queue instead of failing) and foreign
keys on, all set per connection; and transactions that begin when SQLAlchemy says so, so that
:func:`write_transaction` can open them with ``BEGIN IMMEDIATE`` (take the single write lock
first, read after: nothing read can change before the commit). The database URL is decided
by the caller (the process settings); nothing here reads the environment.

:func:`upgrade` runs the Alembic migrations in ``callbot/store/migrations`` up to the head.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlmodel import Session

__all__ = ["make_engine", "upgrade", "alembic_config", "write_transaction", "MIGRATIONS"]

MIGRATIONS: Final = Path(__file__).with_name("migrations")
_IMMEDIATE: Final = "callbot_sqlite_immediate"


def make_engine(url: str, *, busy_timeout_ms: int = 30_000, echo: bool = False,
                **kwargs: Any) -> Engine:
    """An engine for ``url`` (``sqlite:///callbot.db``, ``postgresql+psycopg://...``).

    Extra keyword arguments go to :func:`sqlalchemy.create_engine`.
    """
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if not url.startswith("sqlite"):
        return create_engine(url, echo=echo, pool_pre_ping=True, **kwargs)
    connect_args = {"check_same_thread": False, "timeout": busy_timeout_ms / 1000}
    connect_args.update(kwargs.pop("connect_args", {}))
    engine = create_engine(url, echo=echo, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@contextmanager
def write_transaction(session: Session) -> Iterator[Session]:
    """One write transaction on ``session``: committed on success, rolled back on error.

    Whatever the session still holds is committed first, so the transaction starts fresh:
    on SQLite with ``BEGIN IMMEDIATE`` (the write lock is taken before anything is read), on
    PostgreSQL as a plain READ COMMITTED transaction in which the store locks the rows it
    changes (``SELECT ... FOR UPDATE``).
    """
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={_IMMEDIATE: True})
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    session.commit()


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for the store's migrations, optionally bound to a
    connection (how :func:`upgrade` passes the engine to ``env.py``)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(url: str | Engine, revision: str = "head") -> None:
    """Migrate the database at ``url`` (or behind an engine) up to ``revision``."""
    engine = make_engine(url) if isinstance(url, str) else url
    try:
        with engine.connect() as connection:
            command.upgrade(alembic_config(connection), revision)
            connection.commit()
    finally:
        if isinstance(url, str):
            engine.dispose()
