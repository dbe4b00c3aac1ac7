"""Exception tree of the store.

::

    StoreError                  base of everything the store raises on purpose
    ├── NotFound                a row asked for by id does not exist
    ├── InvalidData             input the store refuses (not E.164, bad settings ...)
    ├── CampaignStateRefused    a campaign lifecycle move that is not allowed
    ├── LeaseLost               a worker acts on an attempt it no longer owns
    └── AttemptFinished         a finished attempt asked to start dialing

A refused customer status change raises :class:`scripts_dsl.errors.StatusChangeRefused`,
the one error of the one status definition (:mod:`scripts_dsl.status`). Database driver errors
are not translated: they mean the database is unreachable or broken, not bad input.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "StoreError", "NotFound", "InvalidData", "CampaignStateRefused", "LeaseLost",
    "AttemptFinished",
]


class StoreError(Exception):
    """Base class of the store's errors."""


class NotFound(StoreError):
    """No row of ``entity`` has the given id."""

    def __init__(self, entity: str, key: object) -> None:
        self.entity = entity
        self.key = key
        super().__init__(f"{entity} {key!r} does not exist")


class InvalidData(StoreError):
    """Input the store will not write; the message names the field."""


class CampaignStateRefused(StoreError):
    """A campaign cannot move from ``current`` to ``wanted``."""

    def __init__(self, current: str, wanted: str, allowed: Sequence[str], why: str = "") -> None:
        self.current = current
        self.wanted = wanted
        self.allowed = tuple(allowed)
        options = ", ".join(self.allowed) if self.allowed else "nothing (it is over)"
        detail = f": {why}" if why else ""
        super().__init__(f"The campaign cannot go from {current} to {wanted}{detail}; "
                         f"from {current} it can go to: {options}.")


class LeaseLost(StoreError):
    """The attempt was taken back from this worker (its lease expired): do not dial."""


class AttemptFinished(StoreError):
    """The attempt already has its result; it cannot be dialed (again)."""
