"""Users: signing in, and managers creating and changing accounts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from api.auth import DUMMY_HASH, TokenCodec, hash_password, verify_password
from api.errors import Conflict, Forbidden, NotFoundError, Unauthorized
from api.schemas import Token
from api.services.audit import record, snapshot
from callbot.store.db import write_transaction
from callbot.store.models_api import User, UserCreate, UserRole, UserUpdate
from callbot.store.types import utc

__all__ = ["sign_in", "create_user", "update_user", "list_users", "get_user"]


def sign_in(session: Session, codec: TokenCodec, username: str, password: str, *,
            now: datetime) -> Token:
    """A token for the user, or :class:`Unauthorized` (the same message whether the name
    or the password was wrong)."""
    user = session.exec(select(User).where(User.username == username)).first()
    ok, new_hash = verify_password(password, user.password_hash if user else DUMMY_HASH)
    if user is None or not ok:
        raise Unauthorized("Wrong user name or password.", code="bad_credentials")
    if not user.active:
        raise Unauthorized("This account is disabled: ask a manager to enable it.",
                           code="account_disabled")
    if new_hash is not None:
        with write_transaction(session):
            user.password_hash = new_hash
            session.add(user)
    assert user.id is not None
    token, expires = codec.issue(user.id, utc(now))
    return Token(access_token=token, expires_at=expires)


def create_user(session: Session, actor: User | None, data: UserCreate, *,
                now: datetime) -> User:
    """A new account (``actor`` is None only for the command-line bootstrap)."""
    with write_transaction(session):
        if session.exec(select(User.id).where(User.username == data.username)).first():
            raise Conflict(f"the user name {data.username!r} is taken", field="username",
                           code="username_taken")
        user = User.model_validate(data, update={
            "password_hash": hash_password(data.password), "created_at": utc(now)})
        session.add(user)
        session.flush()
        record(session, actor, "create", "user", user.id, now=now, after=snapshot(user))
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"user {user_id} does not exist")
    return user


def update_user(session: Session, actor: User, user_id: int, data: UserUpdate, *,
                now: datetime) -> User:
    """Change an account; a manager cannot demote or disable themselves (someone must be
    left who can manage users)."""
    changes = data.model_dump(exclude_unset=True)
    if user_id == actor.id and (changes.get("active") is False
                                or changes.get("role", UserRole.MANAGER) != UserRole.MANAGER):
        raise Forbidden("You cannot disable your own account or take away your own manager "
                        "role.", code="self_demotion")
    with write_transaction(session):
        user = get_user(session, user_id)
        before = snapshot(user)
        password = changes.pop("password", None)
        user.sqlmodel_update(changes)
        if password is not None:
            user.password_hash = hash_password(password)
        session.add(user)
        record(session, actor, "update", "user", user_id, now=now, before=before,
               after={**(snapshot(user) or {}), **({"password": "(changed)"} if password else {})})
    return user


def list_users(session: Session, *, role: UserRole | None = None, offset: int = 0,
               limit: int = 100) -> tuple[list[User], int]:
    query = select(User)
    if role is not None:
        query = query.where(User.role == role)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(col(User.id)).offset(offset).limit(limit)).all()
    return list(rows), int(total)
