"""Prompt texts with variables: ``"Xin chào {customer.name}"``.

A reference is ``{customer.<field>}`` (from the customer record) or ``{vars.<name>}`` (set by
the script). ``{{`` and ``}}`` stand for literal braces.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = ["VariableRef", "Template", "parse_template", "parse_variable", "render"]

_REF = re.compile(r"^\s*(customer|vars)\.([A-Za-z_][A-Za-z0-9_]*)\s*$")


@dataclass(frozen=True)
class VariableRef:
    namespace: Literal["customer", "vars"]
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}.{self.name}"


@dataclass(frozen=True)
class Template:
    """A parsed text: literal pieces and references, in order, plus mistakes found."""

    parts: tuple[str | VariableRef, ...]
    errors: tuple[str, ...]

    @property
    def references(self) -> tuple[VariableRef, ...]:
        return tuple(p for p in self.parts if isinstance(p, VariableRef))


def parse_variable(text: str) -> VariableRef | None:
    """``customer.name`` / ``vars.answer`` as a reference, else None."""
    match = _REF.match(text)
    if match is None:
        return None
    namespace: Literal["customer", "vars"] = "customer" if match[1] == "customer" else "vars"
    return VariableRef(namespace, match[2])


def parse_template(text: str) -> Template:
    parts: list[str | VariableRef] = []
    errors: list[str] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if text.startswith("{{", i) or text.startswith("}}", i):
            literal.append(char)
            i += 2
            continue
        if char == "}":
            errors.append("a '}' has no matching '{': write '}}' for a literal brace")
            literal.append(char)
            i += 1
            continue
        if char != "{":
            literal.append(char)
            i += 1
            continue
        end = text.find("}", i + 1)
        if end < 0:
            errors.append(
                f"'{text[i:i + 20]}' has no closing '}}': close it, or write '{{{{' for a "
                "literal brace"
            )
            literal.append(text[i:])
            break
        inner = text[i + 1 : end]
        ref = parse_variable(inner)
        if ref is None:
            name = inner.strip().split(".")[-1] or "name"
            errors.append(
                f"'{{{inner}}}' is not a variable: write {{customer.{name}}} for a customer "
                f"field or {{vars.{name}}} for a script variable"
            )
            literal.append(text[i : end + 1])
        else:
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(ref)
        i = end + 1
    if literal:
        parts.append("".join(literal))
    return Template(tuple(parts), tuple(errors))


def render(text: str, customer: Mapping[str, str], variables: Mapping[str, str]) -> str:
    """Fill a text's references; a value that is not known renders as an empty text."""
    out: list[str] = []
    for part in parse_template(text).parts:
        if isinstance(part, VariableRef):
            source = customer if part.namespace == "customer" else variables
            out.append(str(source.get(part.name, "") or ""))
        else:
            out.append(part)
    return "".join(out)
