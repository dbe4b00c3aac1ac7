"""Finding a TrueType font that renders Vietnamese, for the PDF export.

PDF's standard 14 fonts only cover Latin-1, so "Nguyễn Thị Hủy" needs an embedded font.
DejaVu Sans covers every Vietnamese letter; Debian ships it in the ``fonts-dejavu-core``
package (installed by ``scripts/bootstrap.sh``). The font is looked for in the usual system
font folders, or in the folders given; when it is missing the export fails with
:class:`~api.exports.errors.FontNotFound` naming the package to install, never with a PDF
full of blank boxes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

from api.exports.errors import FontNotFound

__all__ = ["FontFiles", "find_fonts", "FONT_DIRS", "FONT_PACKAGE"]

FONT_PACKAGE: Final = "fonts-dejavu-core"
"""The Debian package that provides the font."""

FONT_DIRS: Final[tuple[Path, ...]] = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
    Path("/usr/share/fonts/truetype"),
    Path("/usr/local/share/fonts"),
    Path.home() / ".local/share/fonts",
)
"""Where Debian, Fedora, Arch and a user's own installs put DejaVu Sans."""

_REGULAR: Final = "DejaVuSans.ttf"
_BOLD: Final = "DejaVuSans-Bold.ttf"


@dataclass(frozen=True)
class FontFiles:
    """The regular and bold faces of the PDF font."""

    regular: Path
    bold: Path


def find_fonts(dirs: Sequence[Path] | None = None) -> FontFiles:
    """The DejaVu Sans files, from ``dirs`` or the system font folders.

    Raises :class:`FontNotFound` saying where it looked and what to install. A missing bold
    face falls back to the regular one.
    """
    return _find(tuple(FONT_DIRS if dirs is None else dirs))


@lru_cache(maxsize=8)
def _find(dirs: tuple[Path, ...]) -> FontFiles:
    for folder in dirs:
        regular = folder / _REGULAR
        if regular.is_file():
            bold = folder / _BOLD
            return FontFiles(regular, bold if bold.is_file() else regular)
    looked = ", ".join(str(d) for d in dirs) or "no folder"
    raise FontNotFound(
        f"the PDF export needs the font {_REGULAR} to write Vietnamese text, and it is not "
        f"installed (looked in {looked}): install the Debian package {FONT_PACKAGE} "
        f"(apt-get install {FONT_PACKAGE}) or run scripts/bootstrap.sh")
