"""Prompts: real eSpeak NG rendering through both engines, the on-disk cache (hits, keys,
deduplication, atomic writes), audio file conversion (WAV natively, MP3 and float WAV through
ffmpeg) and the stock sounds."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import threading
import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from callbot.prompts import (
    AudioFileCache,
    AudioFileError,
    EspeakNgEngine,
    Prompt,
    PromptRenderer,
    Pyttsx3Engine,
    TtsEngine,
    TtsError,
    convert_audio_file,
    stock_sound,
)
from callbot.prompts._cache import default_cache_root

RATE = 8000
VIETNAMESE = "Xin chào, tôi là trợ lý tự động của ngân hàng."
ENGLISH = "Hello, this is the automatic assistant of your bank."

needs_ffmpeg = pytest.mark.skipif(
    shutil.which("ffmpeg") is None, reason="ffmpeg not installed (scripts/bootstrap.sh installs it)"
)


class CountingEngine:
    """A real engine, with a count of the texts it was asked to synthesize."""

    def __init__(self, inner: TtsEngine) -> None:
        self.inner = inner
        self.calls = 0
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.inner.name

    def synthesize(self, text: str, voice: str, rate: int, out: Path) -> None:
        with self._lock:
            self.calls += 1
        self.inner.synthesize(text, voice, rate, out)


def rms(pcm: NDArray[np.int16]) -> float:
    return float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2)))


def peak_hz(pcm: NDArray[np.int16], rate: int = RATE) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(len(pcm))))
    return float(np.fft.rfftfreq(len(pcm), 1 / rate)[int(np.argmax(spectrum))])


def cache_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


def write_wav(path: Path, channels: NDArray[np.float64], rate: int, width: int = 2) -> Path:
    """Write float channels (shape: channels x samples, full scale 1.0) as PCM WAV."""
    scale = float(2 ** (8 * width - 1) - 1)
    frames = np.rint(channels.T * scale).astype(f"<i{width}")
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(channels.shape[0])
        writer.setsampwidth(width)
        writer.setframerate(rate)
        writer.writeframes(frames.tobytes())
    return path


def tone(
    rate: int, seconds: float = 0.5, hz: float = 1000.0, level: float = 0.5
) -> NDArray[np.float64]:
    t = np.arange(round(rate * seconds)) / rate
    return level * np.sin(2 * np.pi * hz * t)


# --- speech rendering ----------------------------------------------------------------------


@pytest.mark.parametrize("engine", [Pyttsx3Engine(), EspeakNgEngine()], ids=lambda e: e.name)
@pytest.mark.parametrize(("text", "voice"), [(VIETNAMESE, "vi"), (ENGLISH, "en")])
def test_renders_real_speech_at_8khz(
    tmp_path: Path, engine: TtsEngine, text: str, voice: str
) -> None:
    renderer = PromptRenderer(tmp_path, engine=engine)
    pcm = renderer.render_sync(text, voice, 160)
    assert pcm.dtype == np.int16 and pcm.ndim == 1
    seconds = len(pcm) / RATE
    assert 1.5 < seconds < 8.0  # ten words at 160 words per minute, plus pauses
    assert rms(pcm) > 500  # speech, not silence
    with wave.open(str(renderer.path(text, voice, 160)), "rb") as cached:
        assert (cached.getframerate(), cached.getnchannels(), cached.getsampwidth()) == (RATE, 1, 2)
        assert cached.getnframes() == len(pcm)


def test_both_engines_agree_on_duration(tmp_path: Path) -> None:
    """pyttsx3 labels its WAV 22 050 Hz; the espeak-ng program writes the rate it really used.
    Equal durations show the label is right (a wrong one would stretch or squeeze speech)."""
    library = PromptRenderer(tmp_path, engine=Pyttsx3Engine()).render_sync(ENGLISH, "en", 175)
    program = PromptRenderer(tmp_path, engine=EspeakNgEngine()).render_sync(ENGLISH, "en", 175)
    assert abs(len(library) - len(program)) <= 0.05 * len(program)


def test_faster_rate_is_shorter(tmp_path: Path) -> None:
    renderer = PromptRenderer(tmp_path, engine=EspeakNgEngine())
    slow = renderer.render_sync(ENGLISH, "en", 120)
    fast = renderer.render_sync(ENGLISH, "en", 240)
    assert len(fast) < 0.75 * len(slow)


# --- cache -----------------------------------------------------------------------------------


def test_second_render_is_a_cache_hit(tmp_path: Path) -> None:
    engine = CountingEngine(EspeakNgEngine())
    renderer = PromptRenderer(tmp_path, engine=engine)
    assert not renderer.cached(VIETNAMESE, "vi", 150)
    first = renderer.render_sync(VIETNAMESE, "vi", 150)
    entry = renderer.path(VIETNAMESE, "vi", 150)
    written = entry.stat().st_mtime_ns
    assert renderer.cached(VIETNAMESE, "vi", 150)

    second = renderer.render_sync(VIETNAMESE, "vi", 150)
    assert engine.calls == 1
    assert renderer.stats.synthesized == 1 and renderer.stats.cache_hits == 1
    assert entry.stat().st_mtime_ns == written
    np.testing.assert_array_equal(first, second)

    # A new process (a new renderer on the same directory) finds it too.
    later = PromptRenderer(tmp_path, engine=CountingEngine(EspeakNgEngine()))
    np.testing.assert_array_equal(asyncio.run(later.render(VIETNAMESE, "vi", 150)), first)
    assert later.stats.synthesized == 0


def test_keys_differ_by_voice_rate_text_and_engine(tmp_path: Path) -> None:
    engine = CountingEngine(EspeakNgEngine())
    renderer = PromptRenderer(tmp_path, engine=engine)
    for text, voice, rate in [
        (ENGLISH, "en", 150),
        (ENGLISH, "en-us", 150),
        (ENGLISH, "en", 151),
        (ENGLISH + "!", "en", 150),
    ]:
        renderer.render_sync(text, voice, rate)
    assert engine.calls == 4
    assert len(cache_files(tmp_path)) == 4
    other = PromptRenderer(tmp_path, engine=Pyttsx3Engine())
    assert other.key(ENGLISH, "en", 150) != renderer.key(ENGLISH, "en", 150)
    assert not other.cached(ENGLISH, "en", 150)


def test_cache_dir_defaults_to_xdg() -> None:
    assert default_cache_root({"XDG_CACHE_HOME": "/var/cache/x"}) == Path("/var/cache/x/callbot")
    home = Path.home() / ".cache" / "callbot"
    assert default_cache_root({}) == home
    assert default_cache_root({"XDG_CACHE_HOME": "relative"}) == home  # the spec ignores it


def test_damaged_entry_is_rendered_again(tmp_path: Path) -> None:
    engine = CountingEngine(EspeakNgEngine())
    renderer = PromptRenderer(tmp_path, engine=engine)
    good = renderer.render_sync(ENGLISH, "en", 150)
    renderer.path(ENGLISH, "en", 150).write_bytes(b"RIFF....WAVEjunk")
    restarted = PromptRenderer(tmp_path, engine=engine)  # a new process: only the disk cache
    np.testing.assert_array_equal(restarted.render_sync(ENGLISH, "en", 150), good)
    assert engine.calls == 2


def test_rendered_prompts_are_served_from_memory(tmp_path: Path) -> None:
    engine = CountingEngine(EspeakNgEngine())
    renderer = PromptRenderer(tmp_path, engine=engine)
    first = renderer.render_sync(ENGLISH, "en", 150)
    renderer.path(ENGLISH, "en", 150).unlink()  # the second render must not need the disk
    second = asyncio.run(renderer.render(ENGLISH, "en", 150))
    assert second is first and engine.calls == 1
    assert not second.flags.writeable  # shared by calls: nobody may change it


# --- concurrency -------------------------------------------------------------------------------


def test_concurrent_async_renders_share_one_synthesis(tmp_path: Path) -> None:
    engine = CountingEngine(EspeakNgEngine())
    renderer = PromptRenderer(tmp_path, engine=engine)

    async def main() -> list[NDArray[np.int16]]:
        return await asyncio.gather(*(renderer.render(ENGLISH, "en", 150) for _ in range(8)))

    results = asyncio.run(main())
    assert engine.calls == 1
    for pcm in results[1:]:
        np.testing.assert_array_equal(pcm, results[0])


def test_concurrent_thread_renders_share_one_synthesis(tmp_path: Path) -> None:
    engine = CountingEngine(Pyttsx3Engine())
    renderer = PromptRenderer(tmp_path, engine=engine)
    start = threading.Barrier(4, timeout=10)

    def work(_: int) -> NDArray[np.int16]:
        start.wait()
        return renderer.render_sync(VIETNAMESE, "vi", 150)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(work, range(4)))
    assert engine.calls == 1
    assert all(np.array_equal(pcm, results[0]) for pcm in results)


def test_cancelled_waiter_does_not_cancel_the_shared_render(tmp_path: Path) -> None:
    engine = CountingEngine(EspeakNgEngine())
    renderer = PromptRenderer(tmp_path, engine=engine)

    async def main() -> NDArray[np.int16]:
        barged_in = asyncio.create_task(renderer.render(ENGLISH, "en", 150))
        other = asyncio.create_task(renderer.render(ENGLISH, "en", 150))
        await asyncio.sleep(0)  # both are waiting on the one render
        barged_in.cancel()
        pcm = await asyncio.wait_for(other, timeout=30)
        assert barged_in.cancelled()
        return pcm

    assert len(asyncio.run(main())) > RATE
    assert engine.calls == 1 and renderer.cached(ENGLISH, "en", 150)


def test_prerender_renders_each_distinct_prompt_once(tmp_path: Path) -> None:
    engine = CountingEngine(EspeakNgEngine())
    renderer = PromptRenderer(tmp_path, engine=engine)
    prompts = [
        Prompt("Một", "vi"),
        Prompt("Hai", "vi"),
        Prompt("Một", "vi"),
        Prompt("Two", "en", 200),
    ]
    asyncio.run(renderer.prerender(prompts))
    assert engine.calls == 3
    assert all(renderer.cached(p.text, p.voice, p.rate) for p in prompts)
    asyncio.run(renderer.prerender(prompts))
    assert engine.calls == 3


def test_prerender_raises_the_engine_error_not_a_group(tmp_path: Path) -> None:
    renderer = PromptRenderer(tmp_path, engine=EspeakNgEngine())
    with pytest.raises(TtsError, match="zz-nope"):
        asyncio.run(renderer.prerender([Prompt("Một", "vi"), Prompt("hello", "zz-nope")]))


# --- failures ------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", [Pyttsx3Engine(), EspeakNgEngine()], ids=lambda e: e.name)
def test_unknown_voice_is_a_clear_error_and_caches_nothing(
    tmp_path: Path, engine: TtsEngine
) -> None:
    renderer = PromptRenderer(tmp_path, engine=engine)
    with pytest.raises(TtsError, match=r"voice 'zz-nope'.*espeak-ng --voices"):
        renderer.render_sync(ENGLISH, "zz-nope", 150)
    assert not renderer.cached(ENGLISH, "zz-nope", 150)
    assert cache_files(tmp_path) == []  # no entry, no temporary file left behind
    # The engine is still usable after the failure.
    assert rms(renderer.render_sync(ENGLISH, "en", 150)) > 500


def test_async_render_reports_the_engine_error(tmp_path: Path) -> None:
    renderer = PromptRenderer(tmp_path, engine=EspeakNgEngine())
    with pytest.raises(TtsError, match="zz-nope"):
        asyncio.run(renderer.render(ENGLISH, "zz-nope", 150))
    assert cache_files(tmp_path) == []


def test_missing_program_is_a_clear_error(tmp_path: Path) -> None:
    renderer = PromptRenderer(tmp_path, engine=EspeakNgEngine("espeak-ng-not-installed"))
    with pytest.raises(TtsError, match="install the Debian package espeak-ng"):
        renderer.render_sync(ENGLISH, "en", 150)


@pytest.mark.parametrize(
    ("text", "voice", "rate"),
    [
        ("", "en", 150),
        ("   ", "en", 150),
        (ENGLISH, "-x", 150),
        (ENGLISH, "en us", 150),
        (ENGLISH, "en", 20),
        (ENGLISH, "en", 1000),
    ],
)
def test_invalid_requests_are_rejected_before_any_work(
    tmp_path: Path, text: str, voice: str, rate: int
) -> None:
    engine = CountingEngine(EspeakNgEngine())
    with pytest.raises(ValueError):
        PromptRenderer(tmp_path, engine=engine).render_sync(text, voice, rate)
    assert engine.calls == 0


def test_text_starting_with_a_dash_is_spoken_not_parsed(tmp_path: Path) -> None:
    pcm = PromptRenderer(tmp_path, engine=EspeakNgEngine()).render_sync("-v fr hello", "en", 150)
    assert rms(pcm) > 500


# --- audio files ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("rate", "channels"), [(16000, 1), (44100, 2), (8000, 1)])
def test_wav_is_converted_to_8khz_mono(tmp_path: Path, rate: int, channels: int) -> None:
    source = write_wav(tmp_path / "in.wav", np.stack([tone(rate)] * channels), rate)
    pcm = convert_audio_file(source)
    assert pcm.dtype == np.int16 and abs(len(pcm) - RATE // 2) <= 1
    assert peak_hz(pcm) == pytest.approx(1000, abs=5)
    assert rms(pcm[400:-400]) == pytest.approx(0.5 * 32767 / np.sqrt(2), rel=0.02)


def test_stereo_channels_are_averaged(tmp_path: Path) -> None:
    left, right = tone(44100), np.zeros(22050)
    pcm = convert_audio_file(write_wav(tmp_path / "st.wav", np.stack([left, right]), 44100))
    assert rms(pcm[400:-400]) == pytest.approx(0.25 * 32767 / np.sqrt(2), rel=0.02)


def test_audio_file_is_converted_once_and_keyed_by_content(tmp_path: Path) -> None:
    files = AudioFileCache(tmp_path / "cache")
    source = write_wav(tmp_path / "a.wav", tone(44100)[None, :], 44100)
    assert not files.cached(source)
    first = files.load_sync(source)
    (entry,) = cache_files(tmp_path / "cache")
    written = entry.stat().st_mtime_ns
    np.testing.assert_array_equal(asyncio.run(files.load(source)), first)
    assert entry.stat().st_mtime_ns == written

    copy = tmp_path / "copy.wav"
    shutil.copy(source, copy)
    files.load_sync(copy)
    assert cache_files(tmp_path / "cache") == [entry]  # same content, same entry

    write_wav(source, tone(44100, hz=500)[None, :], 44100)  # edited in place
    assert peak_hz(files.load_sync(source)) == pytest.approx(500, abs=5)
    assert len(cache_files(tmp_path / "cache")) == 2


def test_missing_file_error_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "welcome.mp3"
    with pytest.raises(AudioFileError, match="welcome.mp3: audio file not found") as caught:
        AudioFileCache(tmp_path / "cache").load_sync(missing)
    assert caught.value.path == missing
    with pytest.raises(AudioFileError, match="is a directory"):
        convert_audio_file(tmp_path)


@needs_ffmpeg
def test_garbage_file_error_names_the_path(tmp_path: Path) -> None:
    junk = tmp_path / "notes.mp3"
    junk.write_bytes(b"this is not audio at all\n" * 10)
    with pytest.raises(AudioFileError, match="notes.mp3: ffmpeg cannot decode"):
        convert_audio_file(junk)


def encode_with_ffmpeg(source: Path, target: Path, *codec: str) -> Path:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(source), *codec, str(target)],
        check=True,
        timeout=60,
    )
    return target


@needs_ffmpeg
def test_mp3_is_decoded_through_ffmpeg(tmp_path: Path) -> None:
    source = write_wav(tmp_path / "in.wav", np.stack([tone(44100)] * 2), 44100)
    mp3 = encode_with_ffmpeg(source, tmp_path / "in.mp3", "-c:a", "libmp3lame", "-b:a", "64k")
    pcm = AudioFileCache(tmp_path / "cache").load_sync(mp3)
    assert pcm.dtype == np.int16
    assert abs(len(pcm) / RATE - 0.5) < 0.08  # encoder padding
    assert peak_hz(pcm) == pytest.approx(1000, abs=5)
    assert rms(pcm) > 5000


@needs_ffmpeg
def test_float_wav_falls_back_to_ffmpeg(tmp_path: Path) -> None:
    source = write_wav(tmp_path / "in.wav", tone(16000)[None, :], 16000)
    floats = encode_with_ffmpeg(source, tmp_path / "float.wav", "-c:a", "pcm_f32le")
    pcm = convert_audio_file(floats)
    assert abs(len(pcm) - RATE // 2) <= 1
    assert peak_hz(pcm) == pytest.approx(1000, abs=5)


# --- stock sounds --------------------------------------------------------------------------------


def test_stock_beep_and_silence() -> None:
    beep = convert_audio_file(stock_sound("beep"))
    assert len(beep) == int(0.4 * RATE)
    assert peak_hz(beep) == pytest.approx(1000, abs=5)
    assert rms(beep) > 5000
    assert stock_sound("beep.wav") == stock_sound("beep")
    silence = convert_audio_file(stock_sound("silence_500ms"))
    assert len(silence) == RATE // 2 and not silence.any()


@pytest.mark.parametrize("name", ["trumpet", "../pyproject.toml", "../sounds/beep"])
def test_unknown_stock_sound_lists_the_available_ones(name: str) -> None:
    with pytest.raises(AudioFileError, match=r"available: .*beep.*silence_500ms"):
        stock_sound(name)


def test_prerender_loads_prompts_cached_on_disk_into_memory(tmp_path: Path) -> None:
    """A new process with a warm disk cache: prerender must make the first play I/O-free."""
    PromptRenderer(tmp_path, engine=EspeakNgEngine()).render_sync(ENGLISH, "en", 150)
    engine = CountingEngine(EspeakNgEngine())
    restarted = PromptRenderer(tmp_path, engine=engine)
    asyncio.run(restarted.prerender([Prompt(ENGLISH, "en", 150)]))
    restarted.path(ENGLISH, "en", 150).unlink()
    assert len(asyncio.run(restarted.render(ENGLISH, "en", 150))) > 0 and engine.calls == 0
