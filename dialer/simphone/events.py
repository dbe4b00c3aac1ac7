"""What the simulated phones report (:data:`SimEvent`) and why a call ended
(:class:`SimEndReason`)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from dialer.sdp import NegotiatedMedia
from dialer.simphone.config import Behaviour


class SimEndReason(enum.StrEnum):
    CALLER_BYE = "caller_bye"  # the caller hung up (BYE received)
    PHONE_BYE = "phone_bye"  # our BYE after hangup_after
    CANCELLED = "cancelled"  # CANCEL, or BYE in the early dialog (s15.1.2): 487 sent
    REFUSED = "refused"  # a non-2xx final response was the behaviour (486, 603, reject...)
    UNSUPPORTED = "unsupported"  # the INVITE could not be accepted (488, 415, 420, 400)
    RING_LIMIT = "ring_limit"  # no_answer rang NO_ANSWER_LIMIT seconds: 480
    NO_ACK = "no_ack"  # no ACK for our 2xx within 64*T1: BYE sent (s13.3.1.4)
    MEDIA_FAILED = "media_failed"  # no RTP socket could be opened: 500
    SHUTDOWN = "shutdown"  # the simulator stopped


@dataclass(frozen=True)
class IncomingCall:
    """A new INVITE for a known number. With ``needs_media`` the runner opens an RTP socket
    and calls :meth:`SimulatedPhones.media_ready` with its port (the answer waits for it)."""

    call_id: str
    number: str
    behaviour: Behaviour
    caller: str
    needs_media: bool


@dataclass(frozen=True)
class CallAnswered:
    """200 OK sent. ``media`` is our side of the negotiated stream (where to send, which
    payload types); ``send_audio`` is False for a ``silent`` phone."""

    call_id: str
    number: str
    media: NegotiatedMedia
    send_audio: bool
    prompt: Path | None


@dataclass(frozen=True)
class PressDigit:
    """Time to press ``digit`` (send it as an RFC 4733 event)."""

    call_id: str
    digit: str


@dataclass(frozen=True)
class ByeSent:
    """We hung up: BYE sent (s15.1.1); :class:`CallEnded` follows with its response."""

    call_id: str
    number: str
    reason: SimEndReason


@dataclass(frozen=True)
class CallEnded:
    call_id: str
    number: str
    status: int | None  # the final response we sent for the INVITE
    reason: SimEndReason
    talk_seconds: float


SimEvent = IncomingCall | CallAnswered | PressDigit | ByeSent | CallEnded
