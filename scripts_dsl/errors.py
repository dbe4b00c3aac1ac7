"""Exception tree of the script language.

::

    ScriptError                      base of everything raised by scripts_dsl
    ├── StatusChangeRefused          a customer status move the status rules forbid
    ├── ScriptInvalid                a script failed validation; carries every Problem
    ├── VocabularyUnavailable        a speech model directory has no readable word list
    ├── GraphvizMissing              svg/png drawing asked for but the `dot` binary is absent
    ├── ScriptRunError               misuse of a running script
    │   └── CustomerDataMissing      the customer record lacks fields the script needs
    └── SimulationInputError         a simulated caller answer that cannot be read or used

Every message is written for the person who has to act on it (a campaign manager or an
operator): it says what is wrong and what to change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scripts_dsl.problems import Problem


class ScriptError(Exception):
    """Base class of all errors raised by the script language."""


class StatusChangeRefused(ScriptError):
    """A customer status change that the campaign status rules do not allow."""

    def __init__(self, current: str, wanted: str, allowed: Sequence[str]) -> None:
        self.current = current
        self.wanted = wanted
        self.allowed = tuple(allowed)
        if current == wanted:
            detail = f"the customer is already {current}"
        else:
            detail = f"{current} -> {wanted} is not an allowed change"
        if self.allowed:
            options = ", ".join(self.allowed)
            hint = f"from {current} the status can only move to: {options}"
        else:
            hint = f"{current} is final: no further change is allowed"
        super().__init__(f"Status change refused: {detail}; {hint}.")


class ScriptInvalid(ScriptError):
    """A script has problems; ``problems`` lists all of them."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"The script has {count} {noun}:\n{lines}")


class VocabularyUnavailable(ScriptError):
    """A speech model directory was given but no word list could be read from it."""


class GraphvizMissing(ScriptError):
    """Rendering to svg/png needs Graphviz's ``dot`` program, which is not installed."""


class ScriptRunError(ScriptError):
    """A running script was used in a way it does not support."""


class CustomerDataMissing(ScriptRunError):
    """The customer record lacks fields the script declares as required."""

    def __init__(self, missing: Sequence[str]) -> None:
        self.missing = tuple(missing)
        names = ", ".join(self.missing)
        super().__init__(
            f"The customer record has no value for: {names}. Add these fields to the "
            "customer (or give them a default under variables.customer in the script)."
        )


class SimulationInputError(ScriptError):
    """A simulated caller input (``--input``) that is malformed or does not fit the script."""
