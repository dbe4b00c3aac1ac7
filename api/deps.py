"""Dependencies of the routes, as ``Annotated`` aliases.

- :data:`SessionDep` a database session for the request;
- :data:`NowDep` the current time (UTC, from the app's clock: tests pass a fixed one);
- :data:`CurrentUser` the signed-in, active user (401 otherwise);
- :func:`require_role` a dependency refusing (403) users without one of the roles;
  :data:`ManagerUser`, :data:`ReaderUser` (manager or supervisor) are the usual ones;
- :data:`IdPath`, :data:`IdQuery`, :data:`Offset` ids and offsets bounded to what the
  database can hold (a larger number is a 422 naming the parameter, never a 500);
- :data:`ReadableCampaign` the path's ``campaign_id`` as a campaign the user may read
  (its owning manager, or any supervisor); :data:`ManagedCampaign` one the user may change
  (its owning manager). Agents reach customers through
  :mod:`api.services.access`, which filters on their assignments.

The app keeps its engine, settings, token codec and clock on ``app.state``
(:func:`api.app.create_app`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import Engine
from sqlmodel import Session

from api.auth import TokenCodec
from api.errors import Forbidden, Unauthorized
from api.schemas import MAX_ID
from api.services.access import campaign_to_manage, campaign_to_read
from api.settings import ApiSettings
from callbot.store.models import Campaign
from callbot.store.models_api import User, UserRole

__all__ = [
    "API_PREFIX", "TOKEN_URL", "MAX_ID", "IdPath", "IdQuery", "Offset", "SessionDep", "NowDep",
    "SettingsDep", "TokenDep", "CurrentUser",
    "ManagerUser", "ReaderUser", "ReadableCampaign", "ManagedCampaign", "require_role",
    "get_session", "get_now", "get_current_user",
]

API_PREFIX = "/api/v1"
TOKEN_URL = f"{API_PREFIX}/login/access-token"

_bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


def get_session(request: Request) -> Iterator[Session]:
    engine: Engine = request.app.state.engine
    with Session(engine, expire_on_commit=False) as session:
        yield session


def get_now(request: Request) -> datetime:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock()


def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]

SessionDep = Annotated[Session, Depends(get_session)]
NowDep = Annotated[datetime, Depends(get_now)]
SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
TokenDep = Annotated[str | None, Depends(_bearer)]


def get_current_user(request: Request, session: SessionDep, token: TokenDep,
                     now: NowDep) -> User:
    if not token:
        raise Unauthorized("Sign in first: send the access token as 'Authorization: Bearer "
                           "<token>' (POST /api/v1/login/access-token gives one).",
                           code="not_authenticated")
    codec: TokenCodec = request.app.state.tokens
    user = session.get(User, codec.user_id(token, now))
    if user is None or not user.active:
        raise Unauthorized("This account is disabled or no longer exists.",
                           code="account_disabled")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_role(*roles: UserRole) -> Callable[..., User]:
    """A dependency that lets through only users with one of ``roles`` (403 otherwise)."""
    allowed = tuple(UserRole(r) for r in roles)
    names = " or ".join(r.value for r in allowed)

    def _check(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise Forbidden(f"Only a {names} may do this; you are signed in as "
                            f"{user.role.value}.", code="role_forbidden")
        return user

    return _check


ManagerUser = Annotated[User, Depends(require_role(UserRole.MANAGER))]
ReaderUser = Annotated[User, Depends(require_role(UserRole.MANAGER, UserRole.SUPERVISOR))]


def _readable(campaign_id: IdPath, session: SessionDep, user: CurrentUser) -> Campaign:
    return campaign_to_read(session, user, campaign_id)


def _managed(campaign_id: IdPath, session: SessionDep, user: CurrentUser) -> Campaign:
    return campaign_to_manage(session, user, campaign_id)


ReadableCampaign = Annotated[Campaign, Depends(_readable)]
ManagedCampaign = Annotated[Campaign, Depends(_managed)]
