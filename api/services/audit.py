"""The audit log: who changed what, when, with the entity before and after.

Two ways to write an entry, both inside the transaction of the change:

- :func:`record` adds the entry to a transaction the API opened itself
  (``with write_transaction(session): ...; record(...)``);
- :func:`on_commit` wraps a store service (:mod:`callbot.store.repo`) that opens and commits
  its own transaction: the entries are built by a callback at ``before_commit`` of that very
  transaction, from the objects as they are about to be written, so the change and its audit
  entries are committed together or not at all.

Snapshots never include secrets (password hashes, trunk passwords, webhook secrets).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Final

from sqlalchemy import event
from sqlmodel import Session, SQLModel

from callbot.store.models_api import AuditLog, User
from callbot.store.types import utc

__all__ = ["record", "entry", "snapshot", "on_commit", "SECRET_FIELDS"]

SECRET_FIELDS: Final = frozenset({"password", "password_hash", "secret"})


def snapshot(row: SQLModel | None, *, only: tuple[str, ...] | None = None) -> dict[str, Any] | None:
    """The row as JSON-ready values, without secrets (optionally only some fields)."""
    if row is None:
        return None
    data = row.model_dump(mode="json")
    return {k: v for k, v in data.items()
            if k not in SECRET_FIELDS and (only is None or k in only)}


def entry(user: User | None, action: str, entity: str, entity_id: object, *,
          now: datetime, before: dict[str, Any] | None = None,
          after: dict[str, Any] | None = None) -> AuditLog:
    """An audit entry (not yet added to a session)."""
    return AuditLog(at=utc(now), user_id=user.id if user is not None else None, action=action,
                    entity=entity, entity_id=str(entity_id)[:64], before=before, after=after)


def record(session: Session, user: User | None, action: str, entity: str, entity_id: object, *,
           now: datetime, before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None) -> AuditLog:
    """Add an audit entry to the session's current transaction."""
    row = entry(user, action, entity, entity_id, now=now, before=before, after=after)
    session.add(row)
    return row


@contextmanager
def on_commit(session: Session, build: Callable[[Session], list[AuditLog]]) -> Iterator[None]:
    """Run a store service inside the block; ``build`` makes its audit entries at the commit
    of the service's transaction (and is not called when it fails)."""
    if session.in_transaction():
        # Close what the request read so far; the service's own transaction is the next one.
        session.commit()
    fired = False

    def _before_commit(sess: Session) -> None:
        nonlocal fired
        if fired:
            return
        fired = True
        for row in build(sess):
            sess.add(row)

    event.listen(session, "before_commit", _before_commit)
    try:
        yield
    finally:
        event.remove(session, "before_commit", _before_commit)
