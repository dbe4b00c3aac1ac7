"""The closed set of call outcomes, and the translation of SIP results into them.

This is the boundary between the protocol vocabulary (status codes, timeouts) and the one a
campaign manager reads. Every call attempt ends in exactly one :class:`CallOutcome`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum


class CallOutcome(StrEnum):
    ANSWERED = "answered"
    BUSY = "busy"  # 486, 600
    NO_ANSWER = "no_answer"  # ring timeout (we sent CANCEL), 408, 480
    DECLINED = "declined"  # 603
    REJECTED = "rejected"  # any other 4xx (and 6xx), with its code
    FAILED = "failed"  # 5xx, transport error, no response, unusable answer
    CANCELLED = "cancelled"  # we gave up before an answer for a reason other than ring timeout


class HangupBy(StrEnum):
    US = "us"
    REMOTE = "remote"


class EndReason(StrEnum):
    """How an attempt ended, beyond its outcome."""

    REMOTE_BYE = "remote_bye"
    LOCAL_BYE = "local_bye"
    RING_TIMEOUT = "ring_timeout"
    FINAL_RESPONSE = "final_response"
    NO_RESPONSE = "no_response"
    MEDIA_TIMEOUT = "media_timeout"
    MAX_DURATION = "max_duration"
    BAD_ANSWER = "bad_answer"
    AUTH_FAILED = "auth_failed"
    CANCELLED = "cancelled"
    TRANSPORT_ERROR = "transport_error"


def outcome_for_status(status: int) -> CallOutcome:
    """Outcome of an INVITE that got the final response ``status``."""
    if 200 <= status < 300:
        return CallOutcome.ANSWERED
    if status in (486, 600):
        return CallOutcome.BUSY
    if status in (408, 480):
        return CallOutcome.NO_ANSWER
    if status == 603:
        return CallOutcome.DECLINED
    if status == 487:
        return CallOutcome.CANCELLED
    if 500 <= status < 600:
        return CallOutcome.FAILED
    return CallOutcome.REJECTED


def explain_status(status: int, reason: str = "") -> str:
    """A sentence a campaign manager can act on, for a final response we could not get past."""
    text = f"{status} {reason}".strip()
    if status in (401, 407):
        return f"The carrier rejected our credentials ({text}): check the trunk username and password."
    if status == 403:
        return f"The carrier refused the call ({text}): check the trunk account, caller ID and permissions."
    if status == 404 or status == 604:
        return f"The number does not exist ({text}): check the customer's phone number."
    if status == 484:
        return f"The number is incomplete ({text}): check the customer's phone number."
    if status in (486, 600):
        return f"The customer was busy ({text})."
    if status in (408, 480):
        return f"The customer did not answer ({text})."
    if status == 603:
        return f"The customer declined the call ({text})."
    if status == 488 or status == 606:
        return f"The carrier could not agree on audio codecs ({text}): the trunk must accept PCMU or PCMA."
    if status == 503:
        return f"The carrier is unavailable or overloaded ({text}): lower the calls per second or try later."
    if 500 <= status < 600:
        return f"The carrier failed ({text})."
    return f"The call was rejected ({text})."


@dataclass(frozen=True)
class CallResult:
    """What one call attempt came to: the contract of ``callbot call --json``."""

    outcome: CallOutcome
    sip_status: int | None
    hangup_by: HangupBy | None
    ring_ms: int
    talk_ms: int
    reason: EndReason
    message: str = ""
    digits: str = ""
    rtp_sent: int = 0
    rtp_received: int = 0
    call_id: str = ""

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        for key in ("outcome", "hangup_by", "reason"):
            data[key] = None if data[key] is None else str(data[key])
        return data
