"""The validator reads the word list of every kind of Vosk model, lookahead ones included."""

from __future__ import annotations

from pathlib import Path

import pytest

from callbot.speech.models import find_packaged_model
from scripts_dsl import validate_text
from scripts_dsl.errors import VocabularyUnavailable
from scripts_dsl.model_words import read_fst_symbols
from scripts_dsl.speech import Vocabulary

SCRIPT = """
name: ko
language: ko
blocks:
  - id: ask
    type: listen
    prompt: "참석하시겠습니까?"
    intents:
      yes: {keywords: [네], next: bye}
      no: {keywords: [아니요, 싫어요요요], next: bye}
    timeout: 5
    no_input: {retries: 0, next: bye}
    no_match: {retries: 0, next: bye}
  - id: bye
    type: hangup
"""


def test_lookahead_model_words_come_from_gr_fst() -> None:
    vocab = Vocabulary.from_model_dir(find_packaged_model("ko"))  # ships no words.txt
    assert {"네", "아니요"} <= vocab.words and len(vocab.words) > 100_000


def test_validator_names_the_keyword_the_model_lacks() -> None:
    report = validate_text(SCRIPT, speech_model=find_packaged_model("ko"))
    codes = [(p.code, p.block_id) for p in report.problems]
    assert codes == [("keyword_not_in_vocabulary", "ask")]
    assert "싫어요요요" in report.problems[0].message


def test_a_file_that_is_not_an_fst_is_refused_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "Gr.fst"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(VocabularyUnavailable, match="not an OpenFst"):
        read_fst_symbols(bad)
