"""Writing one benchmark's section of BENCHMARKS.md, leaving the other sections alone."""

from __future__ import annotations

from pathlib import Path


def write_section(path: Path, heading: str, section: str) -> None:
    """Replace the section that starts with ``heading`` (up to the next ``## `` heading) with
    ``section``, or append it; the file is read right before the single write, since other
    benchmarks write their own sections."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    start = text.find(heading)
    if start >= 0:
        following = text.find("\n## ", start + len(heading))
        rest = text[following + 1 :] if following >= 0 else ""
        text = text[:start] + section.rstrip("\n") + "\n" + ("\n" + rest if rest else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"
    path.write_text(text, encoding="utf-8")
