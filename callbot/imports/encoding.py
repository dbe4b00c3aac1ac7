"""Which text encoding a CSV customer list was saved in.

Customer lists come from Excel ("CSV UTF-8", plain "CSV" in the Windows code page of the PC,
"Unicode text" which is UTF-16 with tabs), Google Sheets (UTF-8) and older Vietnamese tools
(Windows-1258). The order of the checks, each over the whole file so that a decoding error
cannot surface half-way through an import:

1. a byte order mark: UTF-8, UTF-32 or UTF-16 (RFC 3629 section 6, RFC 2781 section 3.2);
2. UTF-16 without a mark, recognized by its zero bytes in every other position (RFC 2781
   section 4.3 reads such text as big-endian only when nothing else says; the zeros say which);
3. strict UTF-8;
4. Windows-1258 (Vietnamese) when it decodes and the bytes carry its signature: a combining
   tone mark (0xCC grave, 0xEC acute, 0xD2 hook, 0xDE tilde, 0xF2 dot below) right after a
   vowel, as in ``Nguy\\xea\\xden``; Windows-1252 shows those bytes as ``Ì ì Ò Þ ò``, which
   do not follow vowels in Western European text;
5. Windows-1252, then Latin-1, which decodes any byte.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import BinaryIO, Final

__all__ = ["CHUNK", "detect_encoding", "read_head"]

CHUNK: Final = 1 << 20
_SAMPLE: Final = 1 << 12

_BOMS: Final = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CP1258_VOWELS: Final = rb"AEIOUYaeiouy\xc2\xe2\xca\xea\xd4\xf4\xc3\xe3\xd5\xf5\xdd\xfd"  # with Â Ê Ô Ă Ơ Ư
_CP1258_TONES: Final = rb"\xcc\xec\xd2\xde\xf2"
_CP1258_SIGNATURE: Final = re.compile(b"[" + _CP1258_VOWELS + b"][" + _CP1258_TONES + b"]")


def detect_encoding(stream: BinaryIO) -> str:
    """Python codec name for the bytes of ``stream`` (read from the start, left at the end).

    One of ``utf-8``, ``utf-8-sig``, ``utf-16``, ``utf-16-le``, ``utf-16-be``, ``utf-32``,
    ``cp1258``, ``cp1252``, ``latin-1``. Raises ``UnicodeDecodeError`` only when a byte order
    mark announces an encoding that the rest of the file breaks.
    """
    stream.seek(0)
    head = stream.read(_SAMPLE)
    for bom, name in _BOMS:
        if head.startswith(bom):
            _decode_all(stream, name)
            return name
    guessed = _utf16_without_bom(head)
    if guessed is not None and _decodes(stream, guessed):
        return guessed
    if _decodes(stream, "utf-8"):
        return "utf-8"
    cp1258, cp1252, signature = _single_byte_scan(stream)
    if cp1258 and signature:
        return "cp1258"
    if cp1252:
        return "cp1252"
    return "latin-1"


def _utf16_without_bom(head: bytes) -> str | None:
    pairs = len(head) // 2
    if pairs < 2:
        return None
    even_zero = head[0 : pairs * 2 : 2].count(0)
    odd_zero = head[1 : pairs * 2 : 2].count(0)
    if odd_zero > pairs * 0.4 and even_zero < pairs * 0.05:
        return "utf-16-le"
    if even_zero > pairs * 0.4 and odd_zero < pairs * 0.05:
        return "utf-16-be"
    return None


def _decode_all(stream: BinaryIO, encoding: str) -> None:
    stream.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    while chunk := stream.read(CHUNK):
        decoder.decode(chunk)
    decoder.decode(b"", final=True)


def _decodes(stream: BinaryIO, encoding: str) -> bool:
    try:
        _decode_all(stream, encoding)
    except UnicodeDecodeError:
        return False
    return True


def _single_byte_scan(stream: BinaryIO) -> tuple[bool, bool, bool]:
    """(decodes as cp1258, decodes as cp1252, carries the cp1258 signature)."""
    stream.seek(0)
    cp1258 = cp1252 = True
    signature = False
    tail = b""
    while chunk := stream.read(CHUNK):
        if cp1258:
            try:
                chunk.decode("cp1258")
            except UnicodeDecodeError:
                cp1258 = False
        if cp1252:
            try:
                chunk.decode("cp1252")
            except UnicodeDecodeError:
                cp1252 = False
        if not signature and _CP1258_SIGNATURE.search(tail + chunk):
            signature = True
        tail = chunk[-1:]
    return cp1258, cp1252, signature


def read_head(path: Path, size: int = 8) -> bytes:
    """The first ``size`` bytes of a file (for format sniffing)."""
    with path.open("rb") as f:
        return f.read(size)
