"""Registration with a carrier's registrar (RFC 3261 s10), refreshed before it expires.

One :class:`Registration` per trunk. It keeps one Call-ID and a growing CSeq across refreshes
(s10.2.4), answers 401/407 challenges, follows 423 Interval Too Brief (Min-Expires, s10.2.8),
and retries after a failure. Sans-I/O: the user agent hands it responses, timeouts and the time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dialer.outcome import explain_status
from dialer.sip.auth import DigestClient
from dialer.sip.authorize import ChallengeRefused, answer_challenge
from dialer.sip.builder import build_request, local_via, new_call_id, new_tag
from dialer.sip.headers import NameAddr
from dialer.sip.message import Response
from dialer.sip.uri import SipUri

if TYPE_CHECKING:
    from dialer.sip.transaction import TransactionLayer
    from dialer.sip.ua import Trunk

log = logging.getLogger("dialer.sip.register")

RETRY_AFTER_FAILURE = 30.0  # seconds before trying again after a refused or lost REGISTER
REFRESH_MARGIN = 30.0  # refresh this long before expiry (or at half the interval if shorter)


@dataclass(frozen=True)
class RegistrationChanged:
    """The registration with ``registrar`` succeeded (``registered``) or failed (``message``)."""

    registrar: str
    registered: bool
    expires: int
    status: int | None
    message: str


class Registration:
    def __init__(
        self,
        *,
        trunk: "Trunk",
        local_host: str,
        local_port: int,
        user_agent: str,
        transactions: "TransactionLayer",
        auth: DigestClient | None,
    ) -> None:
        self.trunk = trunk
        self.transactions = transactions
        self.auth = auth
        self.user_agent = user_agent
        user = trunk.username or trunk.caller_id or "callbot"
        self.aor = NameAddr(uri=SipUri(scheme="sip", user=user, host=trunk.sip_domain))
        self.contact = NameAddr(uri=SipUri(scheme="sip", user=user, host=local_host, port=local_port))
        self.registrar_uri = SipUri(scheme="sip", host=trunk.sip_domain, port=None if trunk.domain else trunk.port)
        self.local_host, self.local_port = local_host, local_port
        self.call_id = new_call_id(local_host)
        self.tag = new_tag()
        self.cseq = 0
        self.requested_expires = trunk.register_expires
        self.registered = False
        self.expires_at: float | None = None
        self._next_attempt: float | None = None
        self._keys: set[str] = set()
        self._answered_realms: set[str] = set()
        self._events: list[RegistrationChanged] = []
        self._stopping = False

    # -- driven by the user agent
    def start(self, now: float) -> None:
        self._answered_realms.clear()
        self._send(now, self.requested_expires, ())

    def stop(self, now: float) -> None:
        """Remove our binding (Expires: 0, s10.2.2) and stop refreshing."""
        self._stopping = True
        self._next_attempt = None
        if self.registered:
            self._answered_realms.clear()
            self._send(now, 0, ())

    def owns(self, response: Response) -> bool:
        return response.call_id == self.call_id

    def owns_key(self, key: str) -> bool:
        return key in self._keys

    def on_response(self, response: Response, now: float) -> None:
        if response.cseq.seq != self.cseq or response.status < 200:
            return
        status = response.status
        if 200 <= status < 300:
            self._answered_realms.clear()
            if self._stopping:
                self.registered = False
                return
            expires = self._granted_expires(response)
            self.registered = True
            self.expires_at = now + expires
            self._next_attempt = now + max(1.0, expires - min(REFRESH_MARGIN, expires / 2))
            self._events.append(RegistrationChanged(str(self.registrar_uri), True, expires, status, "registered"))
            log.info("registered with %s for %d s", self.registrar_uri, expires)
            return
        if status in (401, 407) and self.auth is not None:
            try:
                headers = answer_challenge(self.auth, response, "REGISTER", str(self.registrar_uri), self._answered_realms)
            except ChallengeRefused as exc:
                self._fail(now, status, explain_status(status, response.reason) + f" ({exc})")
                return
            self._send(now, 0 if self._stopping else self.requested_expires, headers)
            return
        if status == 423:
            min_expires = response.headers.get("Min-Expires")
            if min_expires and min_expires.isdigit() and int(min_expires) > self.requested_expires:
                self.requested_expires = int(min_expires)
                self._answered_realms.clear()
                self._send(now, self.requested_expires, ())
                return
        message = explain_status(status, response.reason)
        if status in (401, 407):
            message = f"The registrar asks for authentication ({status}): set the trunk username and password."
        self._fail(now, status, message)

    def on_timeout(self, now: float) -> None:
        self._fail(now, None, f"No answer from the registrar {self.trunk.host}:{self.trunk.port}: check the trunk address.")

    def handle_timer(self, now: float) -> None:
        if self._next_attempt is not None and now >= self._next_attempt and not self._stopping:
            self._next_attempt = None
            self._answered_realms.clear()
            self._send(now, self.requested_expires, ())

    def next_deadline(self) -> float | None:
        return self._next_attempt

    def drain_events(self) -> list[RegistrationChanged]:
        events, self._events = self._events, []
        return events

    # -- internals
    def _fail(self, now: float, status: int | None, message: str) -> None:
        self.registered = False
        self._answered_realms.clear()
        if not self._stopping:
            self._next_attempt = now + RETRY_AFTER_FAILURE
        self._events.append(RegistrationChanged(str(self.registrar_uri), False, 0, status, message))
        log.warning("registration with %s failed: %s", self.registrar_uri, message)

    def _granted_expires(self, response: Response) -> int:
        """The expiry the registrar granted our contact (s10.2.4: Contact ``expires`` param first)."""
        for contact in response.contacts:
            if contact.uri.host_bare == self.contact.uri.host_bare and contact.uri.port == self.contact.uri.port:
                value = contact.param("expires")
                if value and value.isdigit():
                    return int(value)
        header = response.headers.get("Expires")
        if header and header.strip().isdigit():
            return int(header.strip())
        return self.requested_expires

    def _send(self, now: float, expires: int, auth_headers: tuple[tuple[str, str], ...]) -> None:
        self.cseq += 1
        request = build_request(
            "REGISTER",
            self.registrar_uri,
            via=local_via(self.local_host, self.local_port),
            from_=self.aor.with_tag(self.tag),
            to=self.aor,
            call_id=self.call_id,
            cseq=self.cseq,
            contact=self.contact,
            extra=(("Expires", str(expires)), *auth_headers),
            user_agent=self.user_agent,
        )
        self._keys.add(self.transactions.send_request(request, (self.trunk.host, self.trunk.port), now))
