"""Keyword recognition on a call's audio with Vosk: one shared model, one recognizer per listen.

:class:`SpeechModel` names a Vosk model directory. Creating one checks the directory (so a
missing model fails when a script is validated, not during a call); the Vosk model itself
(about 550 MB of memory for the small Korean model, two seconds to load) is loaded on first
use, once per directory per process, and shared by every recognizer in every thread.
It is always opened by path: Vosk's ``Model(lang=...)`` would download, and never runs here.

:class:`KeywordRecognizer` listens for the keywords of one ``listen`` block. Its Vosk
recognizer gets a grammar made of the keyword phrases plus the model's unknown-word token,
which is fast (about 40 real-time streams per core, ``bench.speech``) and keeps the decoder on the
words the script can act on. It is fed 8 kHz int16 frames as they arrive and returns typed
events (:mod:`callbot.speech.events`): speech start, then exactly one decision.

**Sample rate.** Vosk models are trained on 16 kHz audio. The recognizer is created at the
call's rate (8 kHz) and Vosk resamples internally (Kaldi's ``LinearResample``). Upsampling in
numpy first (windowed sinc, :func:`dialer.rtp.audio.resample`) was measured by
``bench.speech``: no more accurate (the two paths differ by one answer in 60, either way
between runs of the benchmark) for 2.4 times the CPU, so the internal path is used.

**Determinism.** Kaldi adds random dither (``--dither=1``: Gaussian noise of one int16 step)
to every frame, drawn from the process-wide C ``rand()``, so the same audio decoded twice in
one process could give different words on borderline input. The model is therefore loaded with
``--dither=0`` and the recognizer adds the same amount of dither itself from a fixed-seed
table indexed by the sample's position in the stream: the same audio gives the same events,
and digital silence (all-zero frames, which carriers send) still looks to the model like the
faint noise it was trained with. Measured: as accurate as Kaldi's own dither, and never
different between runs.

**Endpointing.** The decision is taken at the first of: the recognizer's own final result
(Vosk's endpoint rules in the model's ``conf/model.conf``) with words in it, once the energy
rule has heard speech start (Vosk turns steady noise into grammar words too); trailing silence
of :attr:`EndpointConfig.trailing_silence` (0.3 s) after speech by frame energy, which forces
Vosk's final result; the maximum utterance length; the end of the audio (:meth:`finish`).
No speech by the no-input timeout gives :class:`NoInput`.

**Transcript.** Only words that the decoder placed within the speech heard by the energy rule
count: words before the start or after the end are line noise decoded into grammar words
(at 10 dB SNR this was half of the errors). The model's unknown token reads ``[unk]``.

**Intents.** The transcript is matched with :func:`scripts_dsl.speech.match_intent`, the same
rule the script simulator uses: NFC, case-folded, whole words; the longest keyword wins and a
tie between intents is no match. ``confidence`` is the mean of Vosk's per-word confidences;
below ``min_confidence`` a match is reported as :class:`NoMatch`.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import vosk
from numpy.typing import NDArray

from callbot.speech.endpoint import EndpointConfig, Endpointer, Step, frame_energies_db
from callbot.speech.errors import INSTALL_HINT, SpeechInputError, SpeechModelError, UnknownKeywords
from callbot.speech.events import (
    Decision,
    Endpoint,
    NoInput,
    NoMatch,
    SpeechEvent,
    SpeechResult,
    SpeechStarted,
)
from callbot.speech.models import find_packaged_model, looks_like_model
from callbot.speech.vocabulary import ModelVocabulary, missing_words, read_vocabulary
from scripts_dsl.speech import match_intent, tokens

__all__ = ["KeywordRecognizer", "SpeechModel", "missing_words", "UNKNOWN_TEXT"]

UNKNOWN_TEXT = "[unk]"
"""How an out-of-vocabulary stretch of speech reads in transcripts, whatever the model's own
spelling of its unknown token (``[unk]``, ``<unk>``, ``<UNK>``)."""

FRAME_DURATION = 0.020
"""Frames are cut into 20 ms pieces for the energy rules (one RTP packet at ptime 20)."""

_NO_SAMPLES: NDArray[np.int16] = np.zeros(0, dtype=np.int16)
_WORD_TIME_SLACK = 0.03  # one frame of the decoder's output (10 ms x subsampling 3)
_DITHER_SEED = 0x5EED
_DITHER_LSB = 1.0  # Kaldi's default --dither: Gaussian noise of one int16 step
_VOSK_LOG_LEVEL = -1  # Kaldi verbosity: -1 keeps warnings and errors, drops the LOG lines


class _LoadedModels:
    """Vosk models loaded in this process, one per real path, loaded at most once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: dict[str, vosk.Model] = {}
        self._loading: dict[str, threading.Lock] = {}

    def get(self, path: Path) -> vosk.Model:
        key = os.path.realpath(path)
        with self._lock:
            found = self._models.get(key)
            if found is not None:
                return found
            gate = self._loading.setdefault(key, threading.Lock())
        with gate:  # one thread loads; others wait for it instead of loading a second copy
            with self._lock:
                found = self._models.get(key)
            if found is None:
                found = _load_without_dither(Path(key), path)
                with self._lock:
                    self._models[key] = found
            return found


def _load_without_dither(root: Path, shown: Path) -> vosk.Model:
    """Load the model with Kaldi's random dither turned off (see the module docstring).

    Vosk reads the feature options from ``conf/mfcc.conf`` of the directory it is given, and
    reads every file into memory while loading. So the model is loaded from a temporary
    directory whose entries link to the model's, except ``conf/``, copied with
    ``--dither=0`` appended (the last value of an option wins in Kaldi config files); the
    directory is removed as soon as the model is in memory.
    """
    vosk.SetLogLevel(_VOSK_LOG_LEVEL)
    try:
        with tempfile.TemporaryDirectory(prefix="callbot-vosk-") as overlay:
            for entry in os.listdir(root):
                if entry != "conf":
                    os.symlink(root / entry, os.path.join(overlay, entry))
            conf = os.path.join(overlay, "conf")
            shutil.copytree(root / "conf", conf)
            with open(os.path.join(conf, "mfcc.conf"), "a", encoding="utf-8") as options:
                options.write("\n--dither=0\n")
            return vosk.Model(model_path=overlay)
    except OSError as exc:
        raise SpeechModelError(f"cannot prepare the speech model {shown}: {exc}") from exc
    except Exception as exc:  # the vosk binding raises bare Exception
        raise SpeechModelError(
            f"Vosk could not load the speech model {shown}: {exc}; {INSTALL_HINT}"
        ) from exc


_LOADED = _LoadedModels()


class SpeechModel:
    """A Vosk model directory: checked now, loaded on first use, shared per process."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise SpeechModelError(
                f"the speech model directory {self.path} does not exist: {INSTALL_HINT}"
            )
        lacking = looks_like_model(self.path)
        if lacking:
            raise SpeechModelError(
                f"{self.path} is not a Vosk model directory (no {', '.join(lacking)}): "
                f"{INSTALL_HINT}"
            )
        self._loaded: vosk.Model | None = None
        self._words: ModelVocabulary | None = None

    @classmethod
    def packaged(cls, lang: str) -> SpeechModel:
        """The model installed from PyPI for ``lang`` (see :mod:`callbot.speech.models`)."""
        return cls(find_packaged_model(lang))

    def __repr__(self) -> str:
        return f"SpeechModel({str(self.path)!r})"

    def load(self) -> vosk.Model:
        """The loaded Vosk model (loaded by the first caller in the process, then shared)."""
        if self._loaded is None:
            self._loaded = _LOADED.get(self.path)
        return self._loaded

    def vocabulary(self) -> frozenset[str]:
        """The words the model can recognize, as it spells them (read once per process)."""
        return self.word_list().words

    def word_list(self) -> ModelVocabulary:
        """The model's words with its unknown token (read once per process)."""
        if self._words is None:
            self._words = read_vocabulary(self.path)
        return self._words

    def missing_words(self, phrases: Iterable[str]) -> list[str]:
        """Words of ``phrases`` the model cannot recognize (see :func:`missing_words`)."""
        return self.word_list().missing(phrases)


class KeywordRecognizer:
    """Streaming recognition of one ``listen`` block's keywords on one call's audio.

    ``keywords`` maps each intent to its keyword phrases. Every word of every phrase must be
    in the model's vocabulary, else :class:`UnknownKeywords` lists the missing ones (raised
    here, before any audio). :meth:`feed` takes int16 audio at ``sample_rate`` in pieces of
    any length and returns events; after the decision it ignores further audio. Not
    thread-safe: one thread at a time (the :class:`~callbot.speech.stream.ListeningSession`
    runs it on one worker at a time).
    """

    def __init__(
        self,
        model: SpeechModel,
        keywords: Mapping[str, Sequence[str]],
        sample_rate: int = 8000,
        *,
        endpoint: EndpointConfig | None = None,
        min_confidence: float = 0.0,
    ) -> None:
        if not keywords or not any(keywords.values()):
            raise ValueError("a keyword recognizer needs at least one intent with a keyword")
        if sample_rate % 50:
            raise ValueError(f"sample rate {sample_rate} Hz has no whole 20 ms frame")
        self.model = model
        self.keywords = {intent: list(phrases) for intent, phrases in keywords.items()}
        self.sample_rate = sample_rate
        self.endpoint = endpoint if endpoint is not None else EndpointConfig()
        self.min_confidence = min_confidence
        vocabulary = model.word_list()
        missing = vocabulary.missing(p for phrases in self.keywords.values() for p in phrases)
        if missing:
            raise UnknownKeywords(str(model.path), missing)
        self.grammar = build_grammar(vocabulary, self.keywords)
        self._unknown = vocabulary.unknown_token
        try:
            self._vosk = vosk.KaldiRecognizer(model.load(), float(sample_rate), self.grammar)
        except Exception as exc:  # the vosk binding raises bare Exception
            raise SpeechModelError(f"Vosk refused a recognizer for {model.path}: {exc}") from exc
        self._vosk.SetWords(True)
        self._frame = sample_rate // 50
        self._dither = _dither_table(self._frame)
        self._endpointer = Endpointer(self.endpoint, FRAME_DURATION)
        self._pending = _NO_SAMPLES
        self._frames = 0
        self.decision: Decision | None = None
        """The terminal event, once the recognizer has decided."""

    @property
    def done(self) -> bool:
        return self.decision is not None

    @property
    def audio_time(self) -> float:
        """Seconds of audio consumed so far."""
        return self._frames * FRAME_DURATION

    def feed(self, pcm: NDArray[np.int16]) -> list[SpeechEvent]:
        """Consume ``pcm`` (mono int16 at :attr:`sample_rate`) and return what happened."""
        if self.decision is not None:
            return []
        samples = _check_pcm(pcm)
        if self._pending.size:
            samples = np.concatenate([self._pending, samples])
        whole = samples.size - samples.size % self._frame
        self._pending = samples[whole:].copy() if whole < samples.size else _NO_SAMPLES
        if not whole:
            return []
        # One widened copy serves the energy rule (sums of squares) and the dither.
        frames = samples[:whole].reshape(-1, self._frame).astype(np.int64)
        energies = frame_energies_db(frames)
        first = self._frames % len(self._dither)
        if first + len(frames) <= len(self._dither):
            frames += self._dither[first : first + len(frames)]
        else:
            frames += self._dither[np.arange(first, first + len(frames)) % len(self._dither)]
        dithered = np.minimum(np.maximum(frames, -32768, out=frames), 32767, out=frames)
        events: list[SpeechEvent] = []
        for frame, energy in zip(dithered.astype(np.int16), energies, strict=True):
            self._frames += 1
            now = self._frames * FRAME_DURATION
            endpointed = self._vosk.AcceptWaveform(frame.tobytes())
            step = self._endpointer.step(energy, now)
            if step is Step.SPEECH_STARTED:
                events.append(SpeechStarted(self._endpointer.started_at or 0.0))
            if endpointed:
                # Vosk decodes steady noise into grammar words too: its finals count only
                # once the energy rule has heard speech start.
                result = json.loads(self._vosk.Result())
                if result.get("result") and self._endpointer.started_at is not None:
                    self._decide(result, now, "recognizer", events)
                    break
            if step is Step.SPEECH_ENDED or step is Step.MAX_SPEECH:
                reason: Endpoint = "silence" if step is Step.SPEECH_ENDED else "max_speech"
                self._decide(json.loads(self._vosk.FinalResult()), now, reason, events)
                break
            if step is Step.NO_INPUT:
                self.decision = NoInput(now)
                events.append(self.decision)
                break
        return events

    def finish(self) -> list[SpeechEvent]:
        """The audio has ended (hangup, end of file): decide on what was heard so far."""
        if self.decision is not None:
            return []
        now = self.audio_time
        events: list[SpeechEvent] = []
        result = json.loads(self._vosk.FinalResult())
        if self._endpointer.started_at is None:
            self.decision = NoInput(now)
            events.append(self.decision)
        else:
            self._decide(result, now, "finish", events)
        return events

    def _decide(
        self, result: dict[str, Any], now: float, endpoint: Endpoint, events: list[SpeechEvent]
    ) -> None:
        started = self._endpointer.started_at or 0.0
        ended = self._endpointer.ended_at if self._endpointer.ended_at is not None else now
        # Words the decoder placed outside the speech the energy rule heard are line noise
        # decoded into grammar words (Vosk's times are seconds since the stream's start).
        words: list[dict[str, Any]] = [
            word for word in result.get("result") or ()
            if float(word.get("end", now)) > started + _WORD_TIME_SLACK
            and float(word.get("start", 0.0)) < ended - _WORD_TIME_SLACK
        ]
        text = " ".join(
            UNKNOWN_TEXT if word["word"] == self._unknown else str(word["word"]) for word in words
        )
        confidence = (
            sum(float(word.get("conf", 0.0)) for word in words) / len(words) if words else 0.0
        )
        known = " ".join(str(w["word"]) for w in words if w["word"] != self._unknown)
        intent = match_intent(known, self.keywords)
        decision: Decision
        if intent is not None and confidence >= self.min_confidence:
            decision = SpeechResult(
                text, intent, round(confidence, 4), now, started, ended, endpoint
            )
        else:
            decision = NoMatch(text, round(confidence, 4), now, started, ended, endpoint)
        self.decision = decision
        events.append(decision)


def build_grammar(vocabulary: ModelVocabulary, keywords: Mapping[str, Sequence[str]]) -> str:
    """The Vosk grammar (a JSON list of phrases) for ``keywords``, in the model's spelling,
    plus the model's unknown-word token so speech outside the keywords can decode to it."""
    phrases: dict[str, None] = {}
    for intent_phrases in keywords.values():
        for phrase in intent_phrases:
            spelled = [vocabulary.spelling(word) or word for word in tokens(phrase)]
            if spelled:
                phrases.setdefault(" ".join(spelled))
    if vocabulary.unknown_token is not None:
        phrases.setdefault(vocabulary.unknown_token)
    return json.dumps(list(phrases), ensure_ascii=False)


@functools.cache
def _dither_table(frame: int) -> NDArray[np.int64]:
    """One second of fixed pseudo-random dither, one row per frame: Gaussian noise of one
    least significant bit, rounded, from a constant seed, so the same audio always reaches
    Vosk as the same samples."""
    noise = np.random.default_rng(_DITHER_SEED).normal(0.0, _DITHER_LSB, (50, frame))
    table = np.rint(noise).astype(np.int64)
    table.flags.writeable = False
    return table


def _check_pcm(pcm: NDArray[np.int16]) -> NDArray[np.int16]:
    array = np.asarray(pcm)
    if array.dtype != np.int16 or array.ndim != 1:
        raise SpeechInputError(
            f"a recognizer takes one-dimensional int16 samples, not {array.dtype} of shape "
            f"{array.shape}"
        )
    return array
