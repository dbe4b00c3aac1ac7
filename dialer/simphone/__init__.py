"""Simulated phones: a SIP user agent server (RFC 3261 s8.2, s12.1.1, s13.3, s15) that picks
up, rings, refuses or hangs up by the dialed number, for the demo and for tests.

Two layers, like the outbound side: the sans-I/O :class:`SimulatedPhones` and the asyncio
:class:`PhoneSimulator` that runs it on real sockets.

Modules:

* :mod:`.config`: :class:`Action`, :class:`Behaviour`, :class:`SimulatorConfig` (YAML).
* :mod:`.events`: :data:`SimEvent` values and :class:`SimEndReason`.
* :mod:`.call`: one call's state machine (:class:`PhoneState`, :data:`PHONE_TRANSITIONS`,
  :class:`SimCall`).
* :mod:`.uas`: reading the SDP offer, refusals, the UAS dialog.
* :mod:`.core`: :class:`SimulatedPhones`, datagrams and the current time in, events out.
* :mod:`.runner`: :class:`PhoneSimulator` and :class:`SimCallSummary`.

Errors: a bad configuration raises :class:`dialer.errors.ConfigError`; nothing from the
network raises (malformed or unusable requests are answered or dropped).
"""

from dialer.simphone.call import PHONE_TRANSITIONS, PhoneState, SimCall
from dialer.simphone.config import NO_ANSWER_LIMIT, Action, Behaviour, SimulatorConfig
from dialer.simphone.core import SimulatedPhones, log  # log: the "dialer.simphone" logger
from dialer.simphone.events import (
    ByeSent,
    CallAnswered,
    CallEnded,
    IncomingCall,
    PressDigit,
    SimEndReason,
    SimEvent,
)
from dialer.simphone.runner import MAX_SUMMARIES, PhoneSimulator, SimCallSummary
from dialer.simphone.uas import ALLOW, SDP, WARN_AGENT

__all__ = [
    "ALLOW",
    "MAX_SUMMARIES",
    "NO_ANSWER_LIMIT",
    "PHONE_TRANSITIONS",
    "SDP",
    "WARN_AGENT",
    "Action",
    "Behaviour",
    "ByeSent",
    "CallAnswered",
    "CallEnded",
    "IncomingCall",
    "PhoneSimulator",
    "PhoneState",
    "PressDigit",
    "SimCall",
    "SimCallSummary",
    "SimEndReason",
    "SimEvent",
    "SimulatedPhones",
    "SimulatorConfig",
]
