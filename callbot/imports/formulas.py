"""Spreadsheet formula injection: neutralizing cells for exports.

A spreadsheet program runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula
(and some also after a leading tab or carriage return), so a customer name such as
``=HYPERLINK("http://evil.example","Nguyen Van A")`` taken from a customer list would become a
live link, or worse, in the manager's spreadsheet. Exports (CSV, XLSX) pass every text cell
through :func:`neutralize_formula`, following the OWASP "CSV Injection" recommendation: prefix
such a cell with a single quote, which spreadsheets show as text and do not evaluate.
"""

from __future__ import annotations

__all__ = ["FORMULA_TRIGGERS", "looks_like_formula", "neutralize_formula"]

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet treat a cell as a formula (OWASP CSV Injection)."""


def looks_like_formula(value: str) -> bool:
    """True when a spreadsheet would run ``value`` as a formula if it were a cell."""
    return value.startswith(FORMULA_TRIGGERS)


def neutralize_formula(value: str) -> str:
    """Return ``value`` prefixed with ``'`` when it starts like a formula, else unchanged.

    >>> neutralize_formula("=1+1")
    "'=1+1"
    >>> neutralize_formula("Nguyễn Văn A")
    'Nguyễn Văn A'
    """
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value
