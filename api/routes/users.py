"""Accounts: managers list, create and change users."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from api.deps import IdPath, ManagerUser, NowDep, Offset, SessionDep
from api.schemas import Page
from api.services import users as service
from callbot.store.models_api import UserCreate, UserPublic, UserRole, UserUpdate

router = APIRouter(prefix="/users", tags=["users"])


@router.get("", response_model=Page[UserPublic])
def list_users(session: SessionDep, _: ManagerUser, role: UserRole | None = None,
               offset: Offset = 0,
               limit: Annotated[int, Query(ge=1, le=500)] = 100) -> Page[UserPublic]:
    rows, total = service.list_users(session, role=role, offset=offset, limit=limit)
    return Page(items=[UserPublic.model_validate(u) for u in rows], total=total,
                offset=offset, limit=limit)


@router.post("", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
def create_user(session: SessionDep, actor: ManagerUser, now: NowDep,
                data: UserCreate) -> UserPublic:
    return UserPublic.model_validate(service.create_user(session, actor, data, now=now))


@router.get("/{user_id}", response_model=UserPublic)
def read_user(session: SessionDep, _: ManagerUser, user_id: IdPath) -> UserPublic:
    return UserPublic.model_validate(service.get_user(session, user_id))


@router.patch("/{user_id}", response_model=UserPublic)
def update_user(session: SessionDep, actor: ManagerUser, now: NowDep, user_id: IdPath,
                data: UserUpdate) -> UserPublic:
    return UserPublic.model_validate(service.update_user(session, actor, user_id, data, now=now))
