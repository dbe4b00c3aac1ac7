"""Answering a 401/407 for a request we sent (RFC 3261 s22.2, s22.3), shared by calls and
registrations: pick the strongest challenge per realm, detect refused credentials, and
build the Authorization / Proxy-Authorization headers."""

from __future__ import annotations

import logging

from dialer.sip.auth import AuthError, Challenge, DigestClient, credentials_rejected, select_challenges
from dialer.sip.message import Response

log = logging.getLogger("dialer.sip.auth")


class ChallengeRefused(Exception):
    """We cannot answer this challenge: credentials refused, or an unsupported digest."""


def answer_challenge(
    client: DigestClient,
    response: Response,
    method: str,
    uri: str,
    answered_realms: set[str],
) -> tuple[tuple[str, str], ...]:
    """Headers for the retried request; adds the realms answered to ``answered_realms``.

    Raises :class:`ChallengeRefused` with a readable reason when retrying makes no sense.
    """
    proxy = response.status == 407
    name = "Proxy-Authenticate" if proxy else "WWW-Authenticate"
    challenges: list[Challenge] = []
    for value in response.headers.get_all(name):
        try:
            challenges.append(Challenge.parse(value))
        except AuthError as exc:
            log.warning("unreadable %s %r: %s", name, value, exc)
    if not challenges:
        raise ChallengeRefused(f"the {response.status} response carries no usable {name} header")
    if credentials_rejected(answered_realms, challenges):
        raise ChallengeRefused("credentials refused")
    try:
        chosen = select_challenges(challenges)
    except AuthError as exc:
        raise ChallengeRefused(str(exc)) from exc
    header = "Proxy-Authorization" if proxy else "Authorization"
    answered_realms.update(c.realm for c in chosen)
    return tuple((header, client.authorize(c, method, uri)) for c in chosen)
