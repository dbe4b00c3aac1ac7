"""Recorded prompts: audio files converted once to 8 kHz mono int16 and cached on disk.

PCM WAV files are read with :func:`dialer.rtp.audio.load_wav` (stdlib ``wave`` plus numpy, no
external program). Every other format (MP3, OGG, FLAC, M4A, and WAV files that are not plain
PCM: float, A-law, extensible headers) is decoded by pydub, which runs ``ffmpeg`` (Debian
package ``ffmpeg``), and then resampled with the same band-limited resampler as WAV files.

The cache key is the sha256 of the file's bytes (plus the output format), so a file edited in
place is converted again and two copies of one recording share one entry. Conversion blocks,
so :meth:`AudioFileCache.load` runs it in a thread; concurrent loads of one file share one
conversion.
"""

from __future__ import annotations

import hashlib
import shutil
import warnings
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from callbot.prompts._cache import DiskCache, Inflight, KeyedLocks, cache_key, default_cache_root
from callbot.prompts.errors import AudioFileError
from dialer.rtp.audio import TELEPHONY_RATE, AudioFormatError, load_wav, resample

__all__ = ["AudioFileCache", "convert_audio_file", "default_audio_cache_dir"]

_FORMAT = f"pcm_s16le/{TELEPHONY_RATE}/mono/v1"
_RIFF_WAVE = (b"RIFF", b"WAVE")


def default_audio_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/callbot/audio``, else ``~/.cache/callbot/audio``."""
    return default_cache_root() / "audio"


def convert_audio_file(path: Path | str) -> NDArray[np.int16]:
    """Decode any audio file to mono int16 at 8 kHz (no cache). Raises :class:`AudioFileError`
    naming the path when it is missing, unreadable or not audio we can decode."""
    source = Path(path)
    head = _read(source)[:12]
    if head[:4] == _RIFF_WAVE[0] and head[8:12] == _RIFF_WAVE[1]:
        try:
            return load_wav(source, rate=TELEPHONY_RATE)
        except AudioFormatError:
            pass  # a WAV that is not plain PCM: ffmpeg decodes it below
    return _decode_with_ffmpeg(source)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise AudioFileError(path, "audio file not found") from exc
    except IsADirectoryError as exc:
        raise AudioFileError(path, "is a directory, not an audio file") from exc
    except OSError as exc:
        raise AudioFileError(path, f"cannot read audio file: {exc.strerror or exc}") from exc


def _decode_with_ffmpeg(path: Path) -> NDArray[np.int16]:
    if shutil.which("ffmpeg") is None:
        raise AudioFileError(
            path,
            "not a PCM WAV file, and decoding other formats needs ffmpeg:"
            " install the Debian package ffmpeg (or convert the file to 16-bit PCM WAV)",
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (SyntaxWarning, DeprecationWarning, RuntimeWarning))
        from pydub import AudioSegment  # type: ignore[import-untyped]
        from pydub.exceptions import CouldntDecodeError  # type: ignore[import-untyped]
    try:
        segment = AudioSegment.from_file(str(path)).set_channels(1).set_sample_width(2)
    except CouldntDecodeError as exc:
        detail = str(exc).strip().splitlines()
        reason = detail[-1] if detail else "unknown format"
        raise AudioFileError(path, f"ffmpeg cannot decode this file ({reason})") from exc
    except OSError as exc:
        raise AudioFileError(path, f"cannot decode audio file: {exc}") from exc
    samples = np.frombuffer(segment.raw_data, dtype="<i2").astype(np.float64)
    if not len(samples):
        raise AudioFileError(path, "the file holds no audio samples")
    if segment.frame_rate != TELEPHONY_RATE:
        samples = resample(samples, segment.frame_rate, TELEPHONY_RATE)
    pcm: NDArray[np.int16] = np.clip(np.rint(samples), -32768, 32767).astype(np.int16)
    return pcm


class AudioFileCache:
    """Converted audio files under ``cache_dir`` (default :func:`default_audio_cache_dir`)."""

    def __init__(self, cache_dir: Path | str | None = None) -> None:
        self.cache = DiskCache(
            Path(cache_dir) if cache_dir is not None else default_audio_cache_dir()
        )
        self._locks = KeyedLocks()
        self._inflight: Inflight[NDArray[np.int16]] = Inflight()

    def key(self, path: Path | str) -> str:
        """The cache key of a file: sha256 of its content and the output format."""
        content = hashlib.sha256(_read(Path(path))).hexdigest()
        return cache_key(content, _FORMAT)

    def cached(self, path: Path | str) -> bool:
        return self.key(path) in self.cache

    def load_sync(self, path: Path | str) -> NDArray[np.int16]:
        """The file as mono int16 at 8 kHz, converted on first use; blocking."""
        key = self.key(path)
        with self._locks.hold(key):
            pcm = self.cache.read(key)
            if pcm is None:
                pcm = convert_audio_file(path)
                self.cache.write(key, pcm)
            return pcm

    async def load(self, path: Path | str) -> NDArray[np.int16]:
        """:meth:`load_sync` off the event loop; concurrent loads of one path share one."""
        return await self._inflight.run(str(Path(path).resolve()), lambda: self.load_sync(path))
