"""The on-disk prompt cache: content-addressed 8 kHz WAV files written atomically.

Layout: ``<cache_dir>/<key[:2]>/<key>.wav``, where ``key`` is a sha256 hex digest. A file is
written under a dot-prefixed temporary name in the same directory, flushed to disk, and renamed
into place (``os.replace`` is atomic on POSIX), so a reader sees either no entry or a whole one,
even when several processes share the cache or a render fails half way.

Deduplication of concurrent work on one key happens at two levels: :class:`KeyedLocks` for
threads of one process (``render_sync`` called from several threads), :class:`Inflight` for
coroutines of one event loop (one thread does the work, every waiter gets its result).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import tempfile
import threading
import wave
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np
from numpy.typing import NDArray

from dialer.rtp.audio import TELEPHONY_RATE, AudioFormatError, load_wav

__all__ = ["DiskCache", "Inflight", "KeyedLocks", "cache_key", "default_cache_root"]

T = TypeVar("T")


def default_cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/callbot``, else ``~/.cache/callbot`` (XDG Base Directory spec)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".cache"
    return root / "callbot"


def cache_key(*parts: str | int) -> str:
    """sha256 over an unambiguous encoding of ``parts`` (a JSON list, so no separator clashes)."""
    encoded = json.dumps(list(parts), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


class DiskCache:
    """Mono int16 PCM at 8 kHz, stored as WAV files named by key."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path_for(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.wav"

    def __contains__(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def read(self, key: str) -> NDArray[np.int16] | None:
        """The cached samples, or None on a miss. An unreadable entry (damaged outside our
        control) is removed and reported as a miss, so the caller renders it again."""
        path = self.path_for(key)
        try:
            return load_wav(path, rate=TELEPHONY_RATE)
        except FileNotFoundError:
            return None
        except AudioFormatError:
            path.unlink(missing_ok=True)
            return None

    def write(self, key: str, pcm: NDArray[np.int16]) -> Path:
        """Store ``pcm`` under ``key`` atomically; returns the entry's path."""
        path = self.path_for(key)
        with self.temporary(key, suffix=".wav") as tmp:
            with open(tmp, "wb") as raw, wave.open(raw, "wb") as writer:
                writer.setnchannels(1)
                writer.setsampwidth(2)
                writer.setframerate(TELEPHONY_RATE)
                writer.writeframes(np.ascontiguousarray(pcm, dtype="<i2").tobytes())
                raw.flush()
                os.fsync(raw.fileno())
            os.replace(tmp, path)
        return path

    @contextlib.contextmanager
    def temporary(self, key: str, suffix: str) -> Iterator[Path]:
        """A fresh dot-prefixed file next to ``key``'s entry, removed on exit unless it was
        renamed away. Never mistaken for an entry: entries do not start with a dot."""
        folder = self.path_for(key).parent
        folder.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f".{key[:16]}.", suffix=suffix, dir=folder)
        os.close(handle)
        try:
            yield Path(name)
        finally:
            Path(name).unlink(missing_ok=True)


class KeyedLocks:
    """One lock per key, created on demand and dropped when its last user leaves."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextlib.contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)


class Inflight(Generic[T]):
    """Runs blocking work off the event loop, once per key at a time.

    The first caller for a key starts ``work`` in a thread (:func:`asyncio.to_thread`); callers
    arriving while it runs await the same future. Each waiter is shielded: cancelling one
    (barge-in, hangup) does not cancel the work the others wait for; the work itself, being in
    a thread, always runs to completion and its result lands in the disk cache. This map owns
    the futures it starts and retrieves their outcome even when every waiter has gone.
    """

    def __init__(self) -> None:
        self._running: dict[str, asyncio.Future[T]] = {}

    async def run(self, key: str, work: Callable[[], T]) -> T:
        future = self._running.get(key)
        if future is None:
            future = asyncio.ensure_future(asyncio.to_thread(work))
            self._running[key] = future
            future.add_done_callback(lambda done: self._finished(key, done))
        return await asyncio.shield(future)

    def _finished(self, key: str, done: asyncio.Future[T]) -> None:
        if self._running.get(key) is done:
            del self._running[key]
        if not done.cancelled():
            done.exception()  # marks the outcome as retrieved when no waiter is left

    def __len__(self) -> int:
        return len(self._running)
