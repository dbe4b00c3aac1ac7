"""Validation problems: what is wrong, where, and what to change."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Problem", "CODES", "sort_problems"]

CODES: frozenset[str] = frozenset(
    {
        "syntax",  # the file cannot be decoded
        "schema",  # a field is missing, unknown or has the wrong type
        "duplicate_key",  # a key written twice in one mapping (e.g. a menu key)
        "duplicate_block_id",
        "duplicate_keyword",  # the same keyword in two intents of one block
        "invalid_key",  # a menu key that is not a phone key
        "unknown_block",  # a next/branch target that does not exist
        "unreachable",
        "no_way_out",
        "missing_else",
        "input_free_loop",  # a cycle that never waits for the caller
        "silent_loop",  # a cycle a silent caller would go round forever
        "status_never_legal",
        "unknown_status",
        "unknown_variable",
        "bad_template",
        "missing_no_input",
        "missing_no_match",
        "keyword_not_in_vocabulary",
        "speech_model_unreadable",
    }
)


@dataclass(frozen=True)
class Problem:
    """One thing to fix in a script.

    ``block_id`` and ``field`` are None for problems about the whole file; ``line`` is None
    when the position is unknown (e.g. a script built in code, or JSON that the line finder
    could not follow).
    """

    block_id: str | None
    field: str | None
    line: int | None
    code: str
    message: str

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.block_id is not None:
            where.append(f"block '{self.block_id}'")
        if self.field:
            where.append(f"field '{self.field}'")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message} [{self.code}]" if prefix else f"{self.message} [{self.code}]"

    def as_dict(self) -> dict[str, str | int | None]:
        return {
            "block_id": self.block_id,
            "field": self.field,
            "line": self.line,
            "code": self.code,
            "message": self.message,
        }


def sort_problems(problems: list[Problem]) -> tuple[Problem, ...]:
    """File order (problems without a line last), then code; duplicates dropped."""
    unique = list(dict.fromkeys(problems))
    unique.sort(key=lambda p: (p.line is None, p.line or 0, p.block_id or "", p.field or "", p.code))
    return tuple(unique)
