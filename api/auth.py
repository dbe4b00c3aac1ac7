"""Passwords and access tokens.

Passwords are hashed with Argon2id (RFC 9106) through ``pwdlib``; a stored hash made with
weaker parameters is re-hashed at the next successful sign-in. Access tokens are JWTs
(RFC 7519) signed with HMAC-SHA256 (RFC 7518 section 3.2) by the process's secret key; they
carry the user id (``sub``), issue and expiry times (``iat``, ``exp``); the expiry is
checked against the app's clock (RFC 7519 section 4.1.4), not the library's. The user is read from
the database on every request, so a deactivated user's tokens stop working at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from api.errors import Unauthorized

__all__ = ["TokenCodec", "hash_password", "verify_password", "DUMMY_HASH"]

_HASHER: Final = PasswordHash((Argon2Hasher(),))

DUMMY_HASH: Final = _HASHER.hash("a password nobody has")
"""Verified against when the user name is unknown, so a failed sign-in takes as long either
way and does not reveal which names exist."""


def hash_password(password: str) -> str:
    """The Argon2id hash of ``password`` (salted; different on every call)."""
    return _HASHER.hash(password)


def verify_password(password: str, stored_hash: str) -> tuple[bool, str | None]:
    """Whether ``password`` matches; and a new hash to store when the old one is outdated."""
    return _HASHER.verify_and_update(password, stored_hash)


@dataclass(frozen=True)
class TokenCodec:
    """Makes and checks the signed access tokens of one process."""

    secret_key: str
    minutes: int
    algorithm: str = "HS256"

    def issue(self, user_id: int, now: datetime) -> tuple[str, datetime]:
        """A token for ``user_id`` valid from ``now``; and its expiry."""
        expires = now + timedelta(minutes=self.minutes)
        claims = {"sub": str(user_id), "iat": int(now.timestamp()),
                  "exp": int(expires.timestamp())}
        return jwt.encode(claims, self.secret_key, algorithm=self.algorithm), expires

    def user_id(self, token: str, now: datetime) -> int:
        """The user id a valid token names; :class:`Unauthorized` otherwise."""
        try:
            claims = jwt.decode(token, self.secret_key, algorithms=[self.algorithm],
                                options={"require": ["sub", "exp", "iat"], "verify_exp": False,
                                         "verify_iat": False})
        except jwt.InvalidTokenError as exc:
            raise Unauthorized("The access token is not valid: sign in again.",
                               code="invalid_token") from exc
        if int(claims["exp"]) <= int(now.timestamp()):
            raise Unauthorized("The access token has expired: sign in again.",
                               code="token_expired")
        subject = str(claims["sub"])
        if not subject.isdigit():
            raise Unauthorized("The access token is not valid: sign in again.",
                               code="invalid_token")
        return int(subject)
