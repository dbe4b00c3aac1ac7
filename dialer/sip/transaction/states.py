"""The four transaction state machines (client/server x INVITE/non-INVITE, RFC 3261 s17 with
the INVITE fixes of RFC 6026), as data.

The transitions are :data:`TRANSITIONS`; the timers each state runs are in
:data:`STATE_TIMERS`. Entering a state starts its timers and cancels the others; entering
``TERMINATED`` removes the transaction.
"""

from __future__ import annotations

import enum

from dialer.sip.timers import TimerConfig


class Kind(enum.Enum):
    CLIENT_INVITE = "client INVITE"
    CLIENT_NON_INVITE = "client non-INVITE"
    SERVER_INVITE = "server INVITE"
    SERVER_NON_INVITE = "server non-INVITE"


class ClientInviteState(enum.Enum):
    """RFC 3261 Figure 5 as amended by RFC 6026 Figure 5."""

    CALLING = "Calling"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    ACCEPTED = "Accepted"
    TERMINATED = "Terminated"


class ClientNonInviteState(enum.Enum):
    """RFC 3261 Figure 6."""

    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    TERMINATED = "Terminated"


class ServerInviteState(enum.Enum):
    """RFC 3261 Figure 7 as amended by RFC 6026 Figure 7."""

    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    CONFIRMED = "Confirmed"
    ACCEPTED = "Accepted"
    TERMINATED = "Terminated"


class ServerNonInviteState(enum.Enum):
    """RFC 3261 Figure 8."""

    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    TERMINATED = "Terminated"


State = ClientInviteState | ClientNonInviteState | ServerInviteState | ServerNonInviteState


class Trigger(enum.Enum):
    """What moves a transaction: a message received or sent, or a named timer firing."""

    RECV_1XX = "1xx received"
    RECV_2XX = "2xx received"
    RECV_FINAL = "300-699 received"  # non-INVITE clients also use it for 2xx
    SEND_1XX = "1xx sent"
    SEND_2XX = "2xx sent"
    SEND_FINAL = "300-699 sent"  # non-INVITE servers also use it for 2xx
    REQUEST_AGAIN = "request retransmission received"
    ACK = "ACK received"
    TIMER_A = "Timer A"
    TIMER_B = "Timer B"
    TIMER_D = "Timer D"
    TIMER_E = "Timer E"
    TIMER_F = "Timer F"
    TIMER_G = "Timer G"
    TIMER_H = "Timer H"
    TIMER_I = "Timer I"
    TIMER_J = "Timer J"
    TIMER_K = "Timer K"
    TIMER_L = "Timer L"
    TIMER_M = "Timer M"


_CI, _CN, _SI, _SN, _T = ClientInviteState, ClientNonInviteState, ServerInviteState, ServerNonInviteState, Trigger

# (state, trigger) -> next state. A pair missing here means the input is absorbed (ignored).
TRANSITIONS: dict[tuple[State, Trigger], State] = {
    # Client INVITE, s17.1.1.2 + RFC 6026 s8.4.
    (_CI.CALLING, _T.TIMER_A): _CI.CALLING,
    (_CI.CALLING, _T.TIMER_B): _CI.TERMINATED,
    (_CI.CALLING, _T.RECV_1XX): _CI.PROCEEDING,
    (_CI.CALLING, _T.RECV_2XX): _CI.ACCEPTED,
    (_CI.CALLING, _T.RECV_FINAL): _CI.COMPLETED,
    (_CI.PROCEEDING, _T.RECV_1XX): _CI.PROCEEDING,
    (_CI.PROCEEDING, _T.RECV_2XX): _CI.ACCEPTED,
    (_CI.PROCEEDING, _T.RECV_FINAL): _CI.COMPLETED,
    (_CI.COMPLETED, _T.RECV_FINAL): _CI.COMPLETED,  # re-send the ACK
    (_CI.COMPLETED, _T.TIMER_D): _CI.TERMINATED,
    (_CI.ACCEPTED, _T.RECV_2XX): _CI.ACCEPTED,  # delivered to the TU, which re-ACKs
    (_CI.ACCEPTED, _T.TIMER_M): _CI.TERMINATED,
    # Client non-INVITE, s17.1.2.2.
    (_CN.TRYING, _T.TIMER_E): _CN.TRYING,
    (_CN.TRYING, _T.TIMER_F): _CN.TERMINATED,
    (_CN.TRYING, _T.RECV_1XX): _CN.PROCEEDING,
    (_CN.TRYING, _T.RECV_FINAL): _CN.COMPLETED,
    (_CN.PROCEEDING, _T.TIMER_E): _CN.PROCEEDING,
    (_CN.PROCEEDING, _T.TIMER_F): _CN.TERMINATED,
    (_CN.PROCEEDING, _T.RECV_1XX): _CN.PROCEEDING,
    (_CN.PROCEEDING, _T.RECV_FINAL): _CN.COMPLETED,
    (_CN.COMPLETED, _T.TIMER_K): _CN.TERMINATED,
    # Server INVITE, s17.2.1 + RFC 6026 s8.5-8.7.
    (_SI.PROCEEDING, _T.REQUEST_AGAIN): _SI.PROCEEDING,  # re-send the last provisional
    (_SI.PROCEEDING, _T.SEND_1XX): _SI.PROCEEDING,
    (_SI.PROCEEDING, _T.SEND_2XX): _SI.ACCEPTED,
    (_SI.PROCEEDING, _T.SEND_FINAL): _SI.COMPLETED,
    (_SI.COMPLETED, _T.REQUEST_AGAIN): _SI.COMPLETED,  # re-send the final
    (_SI.COMPLETED, _T.TIMER_G): _SI.COMPLETED,
    (_SI.COMPLETED, _T.TIMER_H): _SI.TERMINATED,
    (_SI.COMPLETED, _T.ACK): _SI.CONFIRMED,
    (_SI.CONFIRMED, _T.TIMER_I): _SI.TERMINATED,
    (_SI.ACCEPTED, _T.SEND_2XX): _SI.ACCEPTED,  # the TU's 2xx retransmissions pass through
    (_SI.ACCEPTED, _T.ACK): _SI.ACCEPTED,  # passed to the TU (RFC 6026 s8.7)
    (_SI.ACCEPTED, _T.TIMER_L): _SI.TERMINATED,
    # Server non-INVITE, s17.2.2.
    (_SN.TRYING, _T.SEND_1XX): _SN.PROCEEDING,
    (_SN.TRYING, _T.SEND_FINAL): _SN.COMPLETED,
    (_SN.PROCEEDING, _T.SEND_1XX): _SN.PROCEEDING,
    (_SN.PROCEEDING, _T.REQUEST_AGAIN): _SN.PROCEEDING,  # re-send the last provisional
    (_SN.PROCEEDING, _T.SEND_FINAL): _SN.COMPLETED,
    (_SN.COMPLETED, _T.REQUEST_AGAIN): _SN.COMPLETED,  # re-send the final
    (_SN.COMPLETED, _T.TIMER_J): _SN.TERMINATED,
}

# Timers that run in each state; entering a state starts those not yet running and cancels
# all others (so Timer E keeps running from Trying into Proceeding, s17.1.2.2).
STATE_TIMERS: dict[State, frozenset[Trigger]] = {
    _CI.CALLING: frozenset({_T.TIMER_A, _T.TIMER_B}),
    _CI.PROCEEDING: frozenset(),
    _CI.COMPLETED: frozenset({_T.TIMER_D}),
    _CI.ACCEPTED: frozenset({_T.TIMER_M}),
    _CI.TERMINATED: frozenset(),
    _CN.TRYING: frozenset({_T.TIMER_E, _T.TIMER_F}),
    _CN.PROCEEDING: frozenset({_T.TIMER_E, _T.TIMER_F}),
    _CN.COMPLETED: frozenset({_T.TIMER_K}),
    _CN.TERMINATED: frozenset(),
    _SI.PROCEEDING: frozenset(),
    _SI.COMPLETED: frozenset({_T.TIMER_G, _T.TIMER_H}),
    _SI.CONFIRMED: frozenset({_T.TIMER_I}),
    _SI.ACCEPTED: frozenset({_T.TIMER_L}),
    _SI.TERMINATED: frozenset(),
    _SN.TRYING: frozenset(),
    _SN.PROCEEDING: frozenset(),
    _SN.COMPLETED: frozenset({_T.TIMER_J}),
    _SN.TERMINATED: frozenset(),
}

INITIAL_STATE: dict[Kind, State] = {
    Kind.CLIENT_INVITE: _CI.CALLING,
    Kind.CLIENT_NON_INVITE: _CN.TRYING,
    Kind.SERVER_INVITE: _SI.PROCEEDING,
    Kind.SERVER_NON_INVITE: _SN.TRYING,
}

TERMINAL_STATE: dict[Kind, State] = {
    Kind.CLIENT_INVITE: _CI.TERMINATED,
    Kind.CLIENT_NON_INVITE: _CN.TERMINATED,
    Kind.SERVER_INVITE: _SI.TERMINATED,
    Kind.SERVER_NON_INVITE: _SN.TERMINATED,
}
#: Entering one of these removes the transaction.
TERMINATED_STATES = frozenset(TERMINAL_STATE.values())


def timer_duration(timer: Trigger, timers: TimerConfig) -> float:
    """The first interval of ``timer`` (RFC 3261 Table 4) under ``timers``."""
    return {
        _T.TIMER_A: timers.timer_a,
        _T.TIMER_B: timers.timer_b,
        _T.TIMER_D: timers.timer_d,
        _T.TIMER_E: timers.timer_e,
        _T.TIMER_F: timers.timer_f,
        _T.TIMER_G: timers.timer_g,
        _T.TIMER_H: timers.timer_h,
        _T.TIMER_I: timers.timer_i,
        _T.TIMER_J: timers.timer_j,
        _T.TIMER_K: timers.timer_k,
        _T.TIMER_L: timers.timer_l,
        _T.TIMER_M: timers.timer_m,
    }[timer]
