"""The campaign customer status machine: the one definition used everywhere.

Statuses and their allowed changes come from the CRM manual ("Trạng thái khách hàng chiến
dịch"); any other change, manual or from a keypress, is refused with a clear message:

- Registered -> Confirmed, Joined, Cancelled
- Confirmed  -> Joined, Cancelled
- Joined     -> Cancelled

The table below is turned into a `transitions` state machine once at import; every question
about allowed moves is answered by that machine, so the rules live in exactly one place.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from enum import StrEnum
from typing import Final

from transitions import Machine

from scripts_dsl.errors import StatusChangeRefused

__all__ = [
    "CustomerStatus",
    "STATUS_MOVES",
    "allowed_moves",
    "can_move",
    "check_move",
    "cumulative_totals",
]


class CustomerStatus(StrEnum):
    """A customer's status in one campaign."""

    REGISTERED = "Registered"
    CONFIRMED = "Confirmed"
    JOINED = "Joined"
    CANCELLED = "Cancelled"

    @property
    def vietnamese(self) -> str:
        """The name the Vietnamese manuals use for this status."""
        return _VIETNAMESE[self]

    @classmethod
    def parse(cls, text: str) -> CustomerStatus:
        """Read a status from its English or Vietnamese name, ignoring case.

        Raises ``ValueError`` naming the accepted spellings.
        """
        key = _fold(text)
        for status in cls:
            spellings = (status.value, _VIETNAMESE[status], *_ALIASES.get(status, ()))
            if key in {_fold(name) for name in spellings}:
                return status
        names = ", ".join(f"{s.value} ({_VIETNAMESE[s]})" for s in cls)
        raise ValueError(f"unknown customer status {text!r}: use one of {names}")


_VIETNAMESE: Final[Mapping[CustomerStatus, str]] = {
    CustomerStatus.REGISTERED: "Đăng kí",
    CustomerStatus.CONFIRMED: "Xác nhận",
    CustomerStatus.JOINED: "Tham gia",
    CustomerStatus.CANCELLED: "Hủy",
}


_ALIASES: Final[Mapping[CustomerStatus, tuple[str, ...]]] = {
    CustomerStatus.REGISTERED: ("Đăng ký",),
    CustomerStatus.CANCELLED: ("Huỷ",),
}


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


STATUS_MOVES: Final[Mapping[CustomerStatus, tuple[CustomerStatus, ...]]] = {
    CustomerStatus.REGISTERED: (
        CustomerStatus.CONFIRMED,
        CustomerStatus.JOINED,
        CustomerStatus.CANCELLED,
    ),
    CustomerStatus.CONFIRMED: (CustomerStatus.JOINED, CustomerStatus.CANCELLED),
    CustomerStatus.JOINED: (CustomerStatus.CANCELLED,),
    CustomerStatus.CANCELLED: (),
}
"""The transition table; read it through :func:`allowed_moves`."""


def _build_machine() -> Machine:
    table = [
        {"trigger": f"to_{dest.value}", "source": src.value, "dest": dest.value}
        for src, dests in STATUS_MOVES.items()
        for dest in dests
    ]
    return Machine(
        model=None,
        states=[s.value for s in CustomerStatus],
        transitions=table,
        initial=CustomerStatus.REGISTERED.value,
        auto_transitions=False,
    )


_MACHINE: Final[Machine] = _build_machine()
_ALLOWED: Final[Mapping[CustomerStatus, frozenset[CustomerStatus]]] = {
    status: frozenset(
        CustomerStatus(str(t.dest)) for t in _MACHINE.get_transitions(source=status.value)
    )
    for status in CustomerStatus
}


def allowed_moves(current: CustomerStatus) -> frozenset[CustomerStatus]:
    """The statuses a customer in ``current`` may be moved to."""
    return _ALLOWED[CustomerStatus(current)]


def can_move(current: CustomerStatus, wanted: CustomerStatus) -> bool:
    """True when ``current -> wanted`` is an allowed change."""
    return CustomerStatus(wanted) in allowed_moves(current)


def _ordered(statuses: frozenset[CustomerStatus]) -> list[str]:
    return [s.value for s in CustomerStatus if s in statuses]


def check_move(current: CustomerStatus, wanted: CustomerStatus) -> None:
    """Raise :class:`StatusChangeRefused` unless ``current -> wanted`` is allowed.

    The message lists the moves that are allowed from ``current``.
    """
    current = CustomerStatus(current)
    wanted = CustomerStatus(wanted)
    if not can_move(current, wanted):
        raise StatusChangeRefused(current.value, wanted.value, _ordered(allowed_moves(current)))


def cumulative_totals(counts: Mapping[CustomerStatus, int]) -> dict[CustomerStatus, int]:
    """Report totals exactly as the campaign manual defines them.

    Registered counts everyone; Confirmed counts Confirmed + Joined; Joined and Cancelled
    count themselves.
    """

    def get(status: CustomerStatus) -> int:
        return int(counts.get(status, 0))

    return {
        CustomerStatus.REGISTERED: sum(get(s) for s in CustomerStatus),
        CustomerStatus.CONFIRMED: get(CustomerStatus.CONFIRMED) + get(CustomerStatus.JOINED),
        CustomerStatus.JOINED: get(CustomerStatus.JOINED),
        CustomerStatus.CANCELLED: get(CustomerStatus.CANCELLED),
    }
