"""Signing in (OAuth2 password flow, RFC 6749 section 4.3) and who am I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import CurrentUser, NowDep, SessionDep
from api.schemas import Token
from api.services import users as service
from callbot.store.models_api import UserPublic

router = APIRouter(tags=["login"])


@router.post("/login/access-token", response_model=Token)
def login(request: Request, session: SessionDep, now: NowDep,
          form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    """Exchange a user name and password (form fields) for a bearer token."""
    return service.sign_in(session, request.app.state.tokens, form.username, form.password,
                           now=now)


@router.get("/login/me", response_model=UserPublic)
def me(user: CurrentUser) -> UserPublic:
    """The signed-in user."""
    return UserPublic.model_validate(user)
