"""SIP transactions (RFC 3261 s17, with the INVITE fixes of RFC 6026), sans-I/O.

Modules:

* :mod:`.events`: :class:`Outgoing` datagrams and the events told to the transaction user.
* :mod:`.states`: the four state machines as data (:data:`TRANSITIONS`, :data:`STATE_TIMERS`).
* :mod:`.helpers`: response routing (s18.2.2), the ACK for a failure (s17.1.1.3), Via rewriting.
* :mod:`.layer`: :class:`TransactionLayer`, bytes and the current time in, events out.

Everything public is importable from ``dialer.sip.transaction``.
"""

from dialer.sip.transaction.events import (
    Addr,
    Event,
    MessageDropped,
    Outgoing,
    RequestReceived,
    ResponseReceived,
    StrayResponse,
    TransactionTimeout,
)
from dialer.sip.transaction.helpers import (
    BRANCH_MAGIC,
    DEFAULT_PORT,
    build_ack_for_failure,
    replace_top_via,
    response_destination,
)
from dialer.sip.transaction.layer import TransactionLayer
from dialer.sip.transaction.states import (
    INITIAL_STATE,
    STATE_TIMERS,
    TERMINAL_STATE,
    TRANSITIONS,
    ClientInviteState,
    ClientNonInviteState,
    Kind,
    ServerInviteState,
    ServerNonInviteState,
    State,
    Trigger,
)

__all__ = [
    "BRANCH_MAGIC",
    "DEFAULT_PORT",
    "INITIAL_STATE",
    "STATE_TIMERS",
    "TERMINAL_STATE",
    "TRANSITIONS",
    "Addr",
    "ClientInviteState",
    "ClientNonInviteState",
    "Event",
    "Kind",
    "MessageDropped",
    "Outgoing",
    "RequestReceived",
    "ResponseReceived",
    "ServerInviteState",
    "ServerNonInviteState",
    "State",
    "StrayResponse",
    "TransactionLayer",
    "TransactionTimeout",
    "Trigger",
    "build_ack_for_failure",
    "replace_top_via",
    "response_destination",
]
