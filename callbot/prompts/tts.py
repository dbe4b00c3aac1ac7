"""Text-to-speech prompts, rendered offline to 8 kHz and cached on disk.

Decision: pyttsx3 on eSpeak NG works headless on Debian 12 (it needs ``libespeak-ng1``, which
provides ``libespeak-ng.so.1``; pyttsx3 renders in eSpeak's retrieval mode, with no sound
device), so :class:`~callbot.prompts.engines.Pyttsx3Engine` is the default engine. The
``espeak-ng`` program, behind the same interface as
:class:`~callbot.prompts.engines.EspeakNgEngine`, is the alternative: it renders in parallel
processes instead of one lock-serialized library, and needs no Python binding.

A prompt is keyed by sha256 of (engine name, voice, rate, text, output format); the 8 kHz mono
int16 result is stored as a WAV file under the cache directory, written atomically (see
:mod:`callbot.prompts._cache`). Rendering blocks (CPU plus file I/O), so :meth:`render` runs it
in a thread; concurrent renders of one key, from coroutines or threads, make one engine call.
Static prompts are rendered before the first call with :meth:`PromptRenderer.prerender`;
prompts with customer variables while the phone rings, so that no answered call waits.
"""

from __future__ import annotations

from collections import OrderedDict

import asyncio
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from callbot.prompts._cache import DiskCache, Inflight, KeyedLocks, cache_key, default_cache_root
from callbot.prompts.engines import DEFAULT_RATE, Pyttsx3Engine, TtsEngine, check_request
from callbot.prompts.errors import PromptError, TtsError
from dialer.rtp.audio import TELEPHONY_RATE, AudioFormatError, load_wav

__all__ = ["Prompt", "PromptRenderer", "RenderStats", "default_prompt_cache_dir"]

_FORMAT = f"pcm_s16le/{TELEPHONY_RATE}/mono/v1"  # part of the key: a new format, new entries


def default_prompt_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/callbot/prompts``, else ``~/.cache/callbot/prompts``."""
    return default_cache_root() / "prompts"


@dataclass(frozen=True, slots=True)
class Prompt:
    """One text to speak: what a script's ``say`` block needs rendered."""

    text: str
    voice: str = "vi"
    rate: int = DEFAULT_RATE


@dataclass(frozen=True, slots=True)
class RenderStats:
    """Counters since the renderer was made: engine calls, and renders served from disk."""

    synthesized: int
    cache_hits: int


MEMORY_SAMPLES = 32 * 1024 * 1024 // 2
"""Rendered prompts kept in memory: 32 MiB of 8 kHz audio (about 35 minutes), least
recently used dropped first; the disk cache keeps everything."""


class PromptRenderer:
    """Renders prompts with ``engine`` into ``cache_dir`` (default
    :func:`default_prompt_cache_dir`, read once here). Use from one event loop; ``render_sync``
    may also be called from any thread."""

    def __init__(
        self, cache_dir: Path | str | None = None, engine: TtsEngine | None = None
    ) -> None:
        self.engine: TtsEngine = engine if engine is not None else Pyttsx3Engine()
        self.cache = DiskCache(
            Path(cache_dir) if cache_dir is not None else default_prompt_cache_dir()
        )
        self._locks = KeyedLocks()
        self._inflight: Inflight[NDArray[np.int16]] = Inflight()
        self._counter_lock = threading.Lock()
        self._synthesized = 0
        self._cache_hits = 0
        self._memory: OrderedDict[str, NDArray[np.int16]] = OrderedDict()
        self._memory_samples = 0

    def key(self, text: str, voice: str, rate: int = DEFAULT_RATE) -> str:
        """The cache key of a prompt (sha256 hex of engine, voice, rate, text and format)."""
        return cache_key(self.engine.name, voice, rate, text, _FORMAT)

    def path(self, text: str, voice: str, rate: int = DEFAULT_RATE) -> Path:
        """Where the prompt's 8 kHz WAV is (or will be) cached."""
        return self.cache.path_for(self.key(text, voice, rate))

    def cached(self, text: str, voice: str, rate: int = DEFAULT_RATE) -> bool:
        """True if the prompt is on disk, so :meth:`render` will not call the engine."""
        return self.key(text, voice, rate) in self.cache

    @property
    def stats(self) -> RenderStats:
        with self._counter_lock:
            return RenderStats(self._synthesized, self._cache_hits)

    def render_sync(self, text: str, voice: str, rate: int = DEFAULT_RATE) -> NDArray[np.int16]:
        """Mono int16 samples at 8 kHz for :meth:`RtpSession.play`; blocking.

        Raises ValueError for an empty text, a malformed voice name or a rate out of range, and
        :class:`TtsError` when the engine fails (unknown voice...); nothing is cached then.
        """
        check_request(text, voice, rate)
        key = self.key(text, voice, rate)
        remembered = self._remembered(key)
        if remembered is not None:
            return remembered
        with self._locks.hold(key):
            pcm = self.cache.read(key)
            if pcm is not None:
                self._count(hit=True)
                return self._remember(key, pcm)
            with self.cache.temporary(key, suffix=".engine.wav") as raw:
                self.engine.synthesize(text, voice, rate, raw)
                self._count(hit=False)
                try:
                    pcm = load_wav(raw, rate=TELEPHONY_RATE)
                except AudioFormatError as exc:
                    raise TtsError(f"{self.engine.name} wrote unreadable audio: {exc}") from exc
            if not len(pcm):
                raise TtsError(f"{self.engine.name} produced no audio for voice {voice!r}")
            self.cache.write(key, pcm)
            return self._remember(key, pcm)

    def _remembered(self, key: str) -> NDArray[np.int16] | None:
        with self._counter_lock:
            pcm = self._memory.get(key)
            if pcm is not None:
                self._memory.move_to_end(key)
                self._cache_hits += 1
            return pcm

    def _remember(self, key: str, pcm: NDArray[np.int16]) -> NDArray[np.int16]:
        """Keep the audio in memory (read-only, shared by calls) within MEMORY_SAMPLES."""
        pcm.flags.writeable = False
        with self._counter_lock:
            if key not in self._memory:
                self._memory[key] = pcm
                self._memory_samples += len(pcm)
            while self._memory_samples > MEMORY_SAMPLES and len(self._memory) > 1:
                _, dropped = self._memory.popitem(last=False)
                self._memory_samples -= len(dropped)
        return pcm

    async def render(self, text: str, voice: str, rate: int = DEFAULT_RATE) -> NDArray[np.int16]:
        """:meth:`render_sync` off the event loop; concurrent calls for one prompt share one
        render. Cancelling the caller (barge-in) does not abandon the render for others."""
        check_request(text, voice, rate)
        remembered = self._remembered(self.key(text, voice, rate))
        if remembered is not None:
            return remembered  # no thread hop: a prompt played at answer must not wait
        return await self._inflight.run(
            self.key(text, voice, rate), lambda: self.render_sync(text, voice, rate)
        )

    async def prerender(self, prompts: Iterable[Prompt], *, concurrency: int = 2) -> None:
        """Have every prompt ready in memory: rendered (``concurrency`` at a time) when not
        cached, read from the disk cache when it is, so that playing it at answer needs no
        I/O. On failure the other renders are cancelled and the first :class:`PromptError`
        (or ValueError) is raised, naming the voice; prompts already rendered stay cached."""
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1: {concurrency}")
        pending = [p for p in dict.fromkeys(prompts) if self._remembered(self.key(p.text, p.voice, p.rate)) is None]
        for prompt in pending:
            check_request(prompt.text, prompt.voice, prompt.rate)
        slots = asyncio.Semaphore(concurrency)

        async def one(prompt: Prompt) -> None:
            async with slots:
                await self.render(prompt.text, prompt.voice, prompt.rate)

        try:
            async with asyncio.TaskGroup() as group:
                for prompt in pending:
                    group.create_task(one(prompt))
        except ExceptionGroup as failures:
            for failure in failures.exceptions:
                if isinstance(failure, PromptError | ValueError):
                    raise failure from failures
            raise

    def _count(self, *, hit: bool) -> None:
        with self._counter_lock:
            if hit:
                self._cache_hits += 1
            else:
                self._synthesized += 1
