"""One simulated call as a state machine: :class:`PhoneState`, the transitions in
:data:`PHONE_TRANSITIONS` (each logged with the call id and the reason), and :class:`SimCall`."""

from __future__ import annotations

import enum
import logging
from collections import deque
from dataclasses import dataclass, field

from dialer.sdp import SessionDescription
from dialer.simphone.config import Behaviour
from dialer.simphone.events import SimEndReason
from dialer.sip.dialog import Dialog
from dialer.sip.headers import NameAddr
from dialer.sip.message import Request, Response
from dialer.sip.transaction import Addr

log = logging.getLogger("dialer.simphone")


class PhoneState(enum.StrEnum):
    RINGING = "ringing"  # INVITE received, final response not sent yet
    ANSWERED = "answered"  # 2xx sent, retransmitted until the ACK (s13.3.1.4)
    CONFIRMED = "confirmed"  # ACK received
    HANGING_UP = "hanging_up"  # our BYE sent (s15.1.1)
    ENDED = "ended"  # kept 64*T1 so late CANCEL, ACK and requests still match it


PHONE_TRANSITIONS: dict[PhoneState, frozenset[PhoneState]] = {
    PhoneState.RINGING: frozenset({PhoneState.ANSWERED, PhoneState.ENDED}),
    PhoneState.ANSWERED: frozenset({PhoneState.CONFIRMED, PhoneState.HANGING_UP, PhoneState.ENDED}),
    PhoneState.CONFIRMED: frozenset({PhoneState.HANGING_UP, PhoneState.ENDED}),
    PhoneState.HANGING_UP: frozenset({PhoneState.ENDED}),
    PhoneState.ENDED: frozenset(),
}



@dataclass(eq=False)
class SimCall:
    """What the phone knows about one incoming call."""

    call_id: str
    number: str
    behaviour: Behaviour
    invite: Request
    invite_key: str
    to_tag: str
    contact: NameAddr
    remote: Addr
    offer: SessionDescription | None
    state: PhoneState = PhoneState.RINGING
    answer_due: float | None = None
    ring_limit_at: float | None = None
    media_port: int | None = None
    dialog: Dialog | None = None
    ok: Response | None = None
    ok_next: float | None = None
    ok_interval: float = 0.0
    ok_give_up: float | None = None
    answered_at: float | None = None
    digits: deque[tuple[float, str]] = field(default_factory=deque)
    hangup_at: float | None = None
    final_status: int | None = None
    end_reason: SimEndReason | None = None
    ended_at: float | None = None
    forget_at: float | None = None

    def move(self, new: PhoneState, why: str) -> None:
        if new not in PHONE_TRANSITIONS[self.state]:
            raise RuntimeError(f"call {self.call_id}: no transition {self.state} -> {new} ({why})")
        log.info("phone %s call %s: %s -> %s (%s)", self.number, self.call_id, self.state, new, why)
        self.state = new

    def deadlines(self) -> list[float]:
        due = [self.ok_next, self.ok_give_up, self.forget_at]
        if self.state is PhoneState.CONFIRMED:
            due.append(self.hangup_at)  # before the ACK our BYE waits (s15)
        if self.state is PhoneState.RINGING:
            due += [self.ring_limit_at, self.answer_due if self.media_port or not self.behaviour.answers else None]
        if self.digits:
            due.append(self.digits[0][0])
        return [d for d in due if d is not None]
