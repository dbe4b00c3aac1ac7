import unicodedata
from pathlib import Path

import pytest

from scripts_dsl.errors import SimulationInputError, VocabularyUnavailable
from scripts_dsl.simulate import parse_input
from scripts_dsl.speech import Vocabulary, match_intent, normalize, tokens
from scripts_dsl.templates import parse_template, render

YES_NO = {"yes": ["có", "đồng ý", "vâng"], "no": ["không", "không đồng ý"]}


def test_vietnamese_words_keep_their_diacritics() -> None:
    assert tokens("Có, TÔI Đồng Ý!") == ("có", "tôi", "đồng", "ý")
    assert match_intent("có", YES_NO) == "yes"
    assert match_intent("Có ạ", YES_NO) == "yes"
    # "co" (to shrink) and "cỏ" (grass) are other words, not "có"
    assert match_intent("co", YES_NO) is None
    assert match_intent("cỏ", YES_NO) is None


def test_decomposed_text_matches_composed_keywords() -> None:
    decomposed = unicodedata.normalize("NFD", "Có")
    assert decomposed != "Có"
    assert match_intent(decomposed, YES_NO) == "yes"
    assert normalize(decomposed) == "có"


def test_longest_keyword_wins() -> None:
    assert match_intent("tôi không đồng ý", YES_NO) == "no"
    assert match_intent("tôi đồng ý", YES_NO) == "yes"


def test_equal_matches_for_two_intents_are_ambiguous() -> None:
    assert match_intent("có không", YES_NO) is None


def test_keywords_match_whole_words_only() -> None:
    assert match_intent("yesterday", {"yes": ["yes"]}) is None
    assert match_intent("well, yes.", {"yes": ["yes"]}) == "yes"
    assert match_intent("", {"yes": ["yes"]}) is None


def test_vocabulary_from_a_vosk_model_directory(tmp_path: Path) -> None:
    graph = tmp_path / "graph"
    graph.mkdir()
    (graph / "words.txt").write_text("<eps> 0\n!SIL 1\ncó 2\nkhông 3\nđồng 4\n<unk> 5\n",
                                     encoding="utf-8")
    vocab = Vocabulary.from_model_dir(tmp_path)
    assert vocab.words == {"có", "không", "đồng"}
    assert vocab.unknown_words("không đồng ý") == ("ý",)


def test_vocabulary_at_the_model_root(tmp_path: Path) -> None:
    (tmp_path / "words.txt").write_text("yes 1\nno 2\n", encoding="utf-8")
    assert Vocabulary.from_model_dir(tmp_path).words == {"yes", "no"}


def test_model_without_word_list_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "am").mkdir()
    with pytest.raises(VocabularyUnavailable, match="no readable word list"):
        Vocabulary.from_model_dir(tmp_path)
    with pytest.raises(VocabularyUnavailable, match="does not exist"):
        Vocabulary.from_model_dir(tmp_path / "missing")


def test_templates_render_variables_and_literal_braces() -> None:
    text = "Chào {customer.name}, mã {vars.code} {{không phải biến}}"
    assert render(text, {"name": "An"}, {"code": "42"}) == "Chào An, mã 42 {không phải biến}"
    assert render("{customer.missing}!", {}, {}) == "!"


def test_template_mistakes_say_how_to_write_them() -> None:
    assert "write {customer.name}" in parse_template("{name}").errors[0]
    assert "no closing" in parse_template("hi {customer.name").errors[0]
    assert "no matching" in parse_template("a } b").errors[0]
    assert parse_template("{ customer.name }").errors == ()


@pytest.mark.parametrize(
    ("text", "event"),
    [("1", "Digit(digit='1')"), ("#", "Digit(digit='#')"), ("key:*", "Digit(digit='*')"),
     ("speech: có ạ", "Speech(text='có ạ', intent=None, confidence=None)"),
     ("intent:yes", "Speech(text='', intent='yes', confidence=None)"),
     ("noinput", "NoInput()"), ("silence", "NoInput()"), ("nomatch", "NoMatch()"),
     ("hangup", "CallerHangup()"), ("transfer:fail", "TransferResult(ok=False, reason='')"),
     ("record:2.5", "RecordFinished(recording='simulated-recording.wav', duration=2.5)")],
)
def test_simulated_inputs(text: str, event: str) -> None:
    assert repr(parse_input(text)) == event


@pytest.mark.parametrize("text", ["12", "speech:", "transfer:maybe", "record:-1", "press 1"])
def test_unreadable_simulated_inputs(text: str) -> None:
    with pytest.raises(SimulationInputError, match="cannot read input"):
        parse_input(text)
