"""The lifecycle of one outbound call as data: states, the allowed transitions, and the record
the user agent keeps per call (RFC 3261 s13 for the INVITE, s9 for CANCEL, s15 for BYE).

    CALLING ──1xx──> PROCEEDING ──2xx──> CONFIRMED ──BYE sent──> TERMINATING ──> TERMINATED
       │                 │                   └──BYE received────────────────────────^
       │                 └──CANCEL sent──> CANCELLING ──487──> TERMINATED
       └──3xx-6xx / timeout (any pre-answer state) ──────────────────────────> TERMINATED
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from enum import Enum

from dialer.outcome import CallOutcome, EndReason, HangupBy
from dialer.sip.auth import Credentials
from dialer.sip.dialog import Dialog
from dialer.sip.headers import NameAddr
from dialer.sip.message import Request
from dialer.sip.uri import SipUri

log = logging.getLogger("dialer.sip.call")


class CallState(Enum):
    CALLING = "calling"
    PROCEEDING = "proceeding"
    CANCELLING = "cancelling"
    CONFIRMED = "confirmed"
    TERMINATING = "terminating"
    TERMINATED = "terminated"


TRANSITIONS: dict[CallState, frozenset[CallState]] = {
    CallState.CALLING: frozenset({CallState.CALLING, CallState.PROCEEDING, CallState.CONFIRMED, CallState.TERMINATED}),
    CallState.PROCEEDING: frozenset(
        {CallState.CALLING, CallState.CONFIRMED, CallState.CANCELLING, CallState.TERMINATED}
    ),
    # A 2xx can cross our CANCEL on the wire (s9.1): we then ACK and BYE it.
    CallState.CANCELLING: frozenset({CallState.TERMINATING, CallState.TERMINATED}),
    CallState.CONFIRMED: frozenset({CallState.TERMINATING, CallState.TERMINATED}),
    CallState.TERMINATING: frozenset({CallState.TERMINATED}),
    CallState.TERMINATED: frozenset(),
}


@dataclass
class OutboundCall:
    """What the user agent knows about one call it placed."""

    call_id: str
    request_uri: SipUri
    next_hop: tuple[str, int]
    local_from: NameAddr  # with our tag
    remote_to: NameAddr  # without tag
    local_contact: NameAddr
    local_sdp: bytes
    started_at: float
    ring_deadline: float | None
    max_duration: float | None
    routes: tuple[NameAddr, ...] = ()
    state: CallState = CallState.CALLING
    invite: Request | None = None
    cseq: int = 0
    provisional_at: float | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    dialog: Dialog | None = None
    ack: tuple[bytes, tuple[str, int]] | None = None
    pending_cancel: bool = False
    end_reason: EndReason | None = None
    end_outcome: CallOutcome | None = None
    end_message: str = ""
    hangup_by: HangupBy | None = None
    final_status: int | None = None
    answered_realms: set[str] = field(default_factory=set)
    bye_auth_tried: bool = False
    give_up_at: float | None = None  # CANCEL or BYE unanswered by then: end the call anyway
    invite_key: str | None = None
    # Our 2xx to a re-INVITE, retransmitted until its ACK (s13.3.1.4): bytes, address,
    # CSeq, next retransmission, interval, when to stop.
    unacked_2xx: tuple[bytes, tuple[str, int], int] | None = None
    unacked_2xx_next: float = 0.0
    unacked_2xx_interval: float = 0.0
    unacked_2xx_until: float = 0.0
    credentials: Credentials | None = None
    transaction_keys: set[str] = field(default_factory=set)

    def move(self, new: CallState, why: str) -> None:
        if new not in TRANSITIONS[self.state]:
            raise RuntimeError(f"call {self.call_id}: no transition {self.state.value} -> {new.value} ({why})")
        log.info("call %s: %s -> %s (%s)", self.call_id, self.state.value, new.value, why)
        self.state = new

    @property
    def ended(self) -> bool:
        return self.state is CallState.TERMINATED
