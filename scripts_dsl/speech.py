"""Keyword matching of speech results, and speech model vocabularies.

Normalization keeps every letter a speaker could mean differently: text is put in Unicode
NFC form, case-folded and split on whitespace and punctuation. Diacritics are *not* removed:
in Vietnamese "có" (yes), "cỏ" (grass) and "co" (to shrink) are different words, and a
decomposed "có" (o + U+0301) from a recognizer matches a composed "có" in a script.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from scripts_dsl.model_words import GRAMMAR_FST, WORD_LIST_FILES, model_symbols
from scripts_dsl.errors import VocabularyUnavailable

__all__ = ["normalize", "tokens", "match_intent", "Vocabulary", "WORD_LIST_FILES"]

"""Where a Vosk model directory keeps its word list (Kaldi words.txt: ``word id`` lines)."""

_NON_WORDS = frozenset({"<eps>", "<unk>", "<s>", "</s>", "!sil", "[unk]", "#0"})


def tokens(text: str) -> tuple[str, ...]:
    """Words of ``text``: NFC, case-folded; punctuation and symbols act as spaces."""
    folded = unicodedata.normalize("NFC", text).casefold()
    cleaned = "".join(
        ch if unicodedata.category(ch)[0] in "LNM" or ch in "'-" else " " for ch in folded
    )
    # casefold() may decompose (e.g. U+0130); recompose after it.
    return tuple(unicodedata.normalize("NFC", w) for w in cleaned.split())


def normalize(text: str) -> str:
    """The words of ``text`` joined by single spaces."""
    return " ".join(tokens(text))


def _find(words: Sequence[str], phrase: Sequence[str]) -> int:
    size = len(phrase)
    for start in range(len(words) - size + 1):
        if tuple(words[start : start + size]) == tuple(phrase):
            return start
    return -1


def match_intent(text: str, intents: Mapping[str, Sequence[str]]) -> str | None:
    """The intent whose keyword occurs in ``text`` as whole words.

    The longest matching keyword (in words) wins, so "không đồng ý" means *no* even when
    "đồng ý" is a *yes* keyword. When different intents match equally long keywords the
    answer is ambiguous and None is returned (the block's no-match handling then runs).
    """
    words = tokens(text)
    best_len = 0
    best: set[str] = set()
    for intent, keywords in intents.items():
        for keyword in keywords:
            phrase = tokens(keyword)
            if not phrase or _find(words, phrase) < 0:
                continue
            if len(phrase) > best_len:
                best_len, best = len(phrase), {intent}
            elif len(phrase) == best_len:
                best.add(intent)
    return next(iter(best)) if len(best) == 1 else None


@dataclass(frozen=True)
class Vocabulary:
    """The words a speech model can recognize."""

    words: frozenset[str]
    source: str = ""

    @classmethod
    def from_words(cls, words: Iterable[str], source: str = "") -> Vocabulary:
        return cls(frozenset(w for word in words for w in tokens(word)), source)

    @classmethod
    def from_model_dir(cls, model_dir: str | Path) -> Vocabulary:
        """The words of a Vosk model directory (``words.txt``, or the ``Gr.fst`` symbol table
        of lookahead models: :mod:`scripts_dsl.model_words`)."""
        root = Path(model_dir)
        if not root.is_dir():
            raise VocabularyUnavailable(
                f"the speech model directory {root} does not exist: give the path of an "
                "unpacked Vosk model"
            )
        found = model_symbols(root)
        if found is not None:
            symbols, name = found
            vocab = cls.from_words((w for w in symbols if w.casefold() not in _NON_WORDS and not w.startswith("#")),
                                   str(root / name))
            if vocab.words:
                return vocab
        wanted = " or ".join([*WORD_LIST_FILES, GRAMMAR_FST])
        raise VocabularyUnavailable(
            f"the speech model {root} has no readable word list ({wanted}), so its keywords "
            "cannot be checked: use a complete Vosk model directory"
        )

    def unknown_words(self, phrase: str) -> tuple[str, ...]:
        """Words of ``phrase`` that this model cannot recognize."""
        return tuple(w for w in tokens(phrase) if w not in self.words)
