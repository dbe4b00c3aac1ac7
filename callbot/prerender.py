"""Which prompt texts a script will speak, so they can be synthesized before they are needed.

Static texts (no variables) are rendered once before the first call of a campaign; texts
that use only customer fields are rendered per customer while the phone rings; texts that use
script variables (``{vars.x}``) depend on the call and are rendered when played.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping

from scripts_dsl.compiler import CompiledScript, Prompt
from scripts_dsl.templates import parse_template, render


def _prompts(value: object) -> Iterator[Prompt]:
    if isinstance(value, Prompt):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _prompts(getattr(value, f.name))
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _prompts(item)


def prompt_templates(compiled: CompiledScript) -> list[str]:
    """Every distinct prompt text of the script, in block order."""
    texts = (p.text for node in compiled.nodes.values() for p in _prompts(node) if p.text)
    return list(dict.fromkeys(texts))


def static_texts(compiled: CompiledScript) -> list[str]:
    """Texts without any variable: the same for every customer."""
    return [t for t in prompt_templates(compiled) if not parse_template(t).references]


def customer_texts(compiled: CompiledScript, customer: Mapping[str, str]) -> list[str]:
    """Texts using customer fields only, filled for this customer."""
    out = []
    for template in prompt_templates(compiled):
        refs = parse_template(template).references
        if refs and all(r.namespace == "customer" for r in refs):
            out.append(render(template, customer, compiled.variables))
    return out
