"""SIP trunks: adding one (audited, without its password) and reading them."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from api.errors import NotFoundError
from api.services.audit import entry, on_commit, snapshot
from callbot.store import repo
from callbot.store.models import Trunk, TrunkCreate
from callbot.store.models_api import AuditLog, User

__all__ = ["create_trunk", "get_trunk", "list_trunks"]


def create_trunk(session: Session, actor: User, data: TrunkCreate, *, now: datetime) -> Trunk:
    def audit(sess: Session) -> list[AuditLog]:
        added = [t for t in sess.new if isinstance(t, Trunk)]
        sess.flush()
        return [entry(actor, "create", "trunk", t.id, now=now, after=snapshot(t)) for t in added]

    with on_commit(session, audit):
        return repo.create_trunk(session, data, now=now)


def get_trunk(session: Session, trunk_id: int) -> Trunk:
    trunk = session.get(Trunk, trunk_id)
    if trunk is None:
        raise NotFoundError(f"trunk {trunk_id} does not exist")
    return trunk


def list_trunks(session: Session) -> list[Trunk]:
    return list(session.exec(select(Trunk).order_by(col(Trunk.id))))
