"""In-band DTMF receiver: the ITU-T Q.24 receiver requirements on signals built with numpy
(clean keys, detuning, twist, duration, gaps, noise), G.711 round trips, and talk-off on speech
synthesized with espeak-ng in several languages."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import NDArray

from dialer.codecs.g711 import PcmaCodec, PcmuCodec
from dialer.dsp.goertzel import (
    MIN_TONE_MS,
    InbandDigit,
    InbandDtmfDetector,
    frequency_deviation,
    goertzel,
    goertzel_basis,
)
from dialer.dsp.tones import (
    COLUMN_FREQUENCIES,
    KEYPAD,
    ROW_FREQUENCIES,
    SignalError,
    dbm0_to_power,
    dtmf_tone,
)
from dialer.rtp.audio import load_wav

KEYS = "".join(KEYPAD)
RATE = 8000


def silence(ms: float) -> NDArray[np.float64]:
    return np.zeros(round(ms * RATE / 1000))


def tone(digit: str, ms: float, **kwargs: float) -> NDArray[np.float64]:
    return dtmf_tone(digit, ms, **kwargs).astype(np.float64)


def pcm(*parts: NDArray[np.float64]) -> NDArray[np.int16]:
    signal = np.concatenate(parts)
    return np.clip(np.rint(signal), -32768, 32767).astype(np.int16)


def detect(
    samples: NDArray[np.int16], *, chunk: int = 160, start: float = 0.0, rate: int = RATE
) -> list[InbandDigit]:
    """Feed ``samples`` in RTP-sized chunks with their timestamps, then flush."""
    detector = InbandDtmfDetector(rate)
    found: list[InbandDigit] = []
    for first in range(0, len(samples), chunk):
        found += detector.feed(samples[first : first + chunk], start + first / rate)
    return found + detector.flush()


def digits(samples: NDArray[np.int16], *, chunk: int = 160, rate: int = RATE) -> str:
    return "".join(d.digit for d in detect(samples, chunk=chunk, rate=rate))


def white_noise(
    count: int, power: float, rng: np.random.Generator
) -> NDArray[np.float64]:
    return rng.normal(0.0, np.sqrt(power), count)


# ---------------------------------------------------------------- Goertzel


def test_goertzel_recurrence_equals_the_dft_term_at_any_frequency() -> None:
    rng = np.random.default_rng(7)
    frames = rng.normal(0, 1000, (5, 160))
    n = np.arange(160)
    for frequency in (697.0, 941.0 * 1.021, 1633.0, 3266.0):
        direct = frames @ np.exp(-2j * np.pi * frequency * n / RATE)
        assert np.allclose(goertzel(frames, frequency, RATE), direct, rtol=1e-9, atol=1e-6)


def test_the_basis_product_gives_the_goertzel_terms_of_all_tones_at_once() -> None:
    rng = np.random.default_rng(8)
    frames = rng.normal(0, 1000, (7, 160))
    tones = np.array(ROW_FREQUENCIES + COLUMN_FREQUENCIES)
    frequencies = np.concatenate([tones, 2 * tones])
    parts = frames @ goertzel_basis(160, frequencies, RATE)
    terms = parts[:, :16] + 1j * parts[:, 16:]
    for k, frequency in enumerate(frequencies):
        recurrence = goertzel(frames, float(frequency), RATE)
        assert np.allclose(terms[:, k], recurrence, rtol=1e-9, atol=1e-6)


def test_frequency_deviation_is_measured_from_the_phase_advance() -> None:
    n = np.arange(200)
    hann = np.hanning(160)
    for nominal, actual in ((697.0, 697.0 * 0.965), (852.0, 852.0), (1633.0, 1633.0 * 1.035)):
        x = np.cos(2 * np.pi * actual * n / RATE + 0.4)
        first = goertzel((x[0:160] * hann)[None, :], nominal, RATE)
        second = goertzel((x[40:200] * hann)[None, :], nominal, RATE)
        measured = frequency_deviation(first, second, np.array([nominal]), 40, RATE)[0]
        assert measured == pytest.approx(actual - nominal, abs=0.3)


# ---------------------------------------------------------------- keys and timing


@pytest.mark.parametrize("key", KEYS)
def test_every_key_is_detected_once_with_its_start_and_duration(key: str) -> None:
    found = detect(pcm(silence(93), tone(key, 80), silence(200)), start=1000.0)
    assert [d.digit for d in found] == [key]
    assert found[0].start == pytest.approx(1000.093, abs=0.003)
    assert found[0].duration_ms == pytest.approx(80, abs=3)
    assert found[0].end == pytest.approx(1000.173, abs=0.004)


def test_lowercase_keys_and_levels_of_the_generator() -> None:
    assert np.array_equal(dtmf_tone("a", 20), dtmf_tone("A", 20))
    with pytest.raises(SignalError, match="not a DTMF key"):
        dtmf_tone("E", 20)
    with pytest.raises(SignalError, match="clips"):
        dtmf_tone("1", 20, level_dbm0=3.0)
    row_power = np.mean(dtmf_tone("1", 1000, twist_db=200).astype(np.float64) ** 2)
    assert 10 * np.log10(row_power / dbm0_to_power(-7.0)) == pytest.approx(0, abs=0.05)


def test_a_key_sequence_is_reported_in_order() -> None:
    parts = []
    for key in "0123456789*#ABCD":
        parts += [tone(key, 60), silence(60)]
    assert digits(pcm(silence(50), *parts, silence(100))) == "0123456789*#ABCD"


@pytest.mark.parametrize("offset_ms", [0.0, 1.3, 2.6, 3.9])
def test_40_ms_tones_are_detected_at_any_alignment(offset_ms: float) -> None:
    rng = np.random.default_rng(int(offset_ms * 10))
    for key in KEYS:
        signal = pcm(silence(100 + offset_ms), tone(key, 40, phase=rng.uniform(0, 6)), silence(150))
        found = detect(signal)
        assert [d.digit for d in found] == [key]
        assert found[0].duration_ms >= MIN_TONE_MS


@pytest.mark.parametrize("duration_ms", [10, 20, 25])
def test_tones_of_25_ms_or_less_are_rejected(duration_ms: int) -> None:
    rng = np.random.default_rng(duration_ms)
    parts = []
    for key in KEYS:
        for offset_ms in (0.0, 1.3, 2.6, 3.9):
            phase = rng.uniform(0, 6)
            parts += [silence(150 + offset_ms), tone(key, duration_ms, phase=phase)]
    assert digits(pcm(*parts, silence(150)), chunk=RATE) == ""


@pytest.mark.parametrize("gap_ms", [40, 50, 80])
@pytest.mark.parametrize(("first", "second"), [("5", "8"), ("5", "5"), ("#", "#")])
def test_a_pause_of_40_ms_or_more_separates_two_presses(
    gap_ms: int, first: str, second: str
) -> None:
    signal = pcm(silence(70), tone(first, 50), silence(gap_ms), tone(second, 50), silence(150))
    found = detect(signal)
    assert "".join(d.digit for d in found) == first + second
    assert found[1].start - found[0].start == pytest.approx((50 + gap_ms) / 1000, abs=0.005)


@pytest.mark.parametrize("dropout_ms", [5, 10, 20])
def test_a_dropout_of_20_ms_or_less_is_bridged(dropout_ms: int) -> None:
    signal = pcm(silence(70), tone("9", 60), silence(dropout_ms), tone("9", 60), silence(150))
    found = detect(signal)
    assert [d.digit for d in found] == ["9"]
    assert found[0].duration_ms == pytest.approx(120 + dropout_ms, abs=5)


def test_two_keys_without_a_pause_are_both_reported() -> None:
    assert digits(pcm(silence(70), tone("1", 60), tone("9", 60), silence(150))) == "19"


def test_a_long_press_is_one_digit_and_holding_tells_it_while_it_sounds() -> None:
    detector = InbandDtmfDetector()
    signal = pcm(silence(40), tone("0", 3000), silence(200))
    holding: list[str | None] = []
    found: list[InbandDigit] = []
    for first in range(0, len(signal), 160):
        found += detector.feed(signal[first : first + 160], first / RATE)
        holding.append(detector.holding)
    assert [d.digit for d in found] == ["0"]
    assert found[0].duration_ms == pytest.approx(3000, abs=3)
    assert holding[1] is None and holding[10] == "0" and holding[140] == "0"
    assert holding[-1] is None


def test_flush_reports_a_key_still_sounding_and_starts_over() -> None:
    detector = InbandDtmfDetector()
    assert detector.feed(pcm(silence(20), tone("7", 100)), 0.0) == []
    assert [d.digit for d in detector.flush()] == ["7"]
    assert detector.flush() == []
    assert [d.digit for d in detect(pcm(tone("7", 100), silence(100)))] == ["7"]


def test_chunk_size_does_not_change_the_result() -> None:
    signal = pcm(silence(33), tone("3", 45), silence(55), tone("C", 70), silence(120))
    reference = detect(signal, chunk=len(signal))
    assert [d.digit for d in reference] == ["3", "C"]
    rng = np.random.default_rng(3)
    detector = InbandDtmfDetector()
    found: list[InbandDigit] = []
    first = 0
    while first < len(signal):
        size = int(rng.integers(1, 400))
        found += detector.feed(signal[first : first + size], first / RATE)
        first += size
    found += detector.flush()
    assert [(d.digit, round(d.start, 6), round(d.duration_ms, 6)) for d in found] == [
        (d.digit, round(d.start, 6), round(d.duration_ms, 6)) for d in reference
    ]


def test_16_khz_audio() -> None:
    signal = pcm(np.zeros(800), dtmf_tone("6", 60, sample_rate=16000).astype(np.float64))
    assert digits(pcm(signal.astype(np.float64), np.zeros(3200)), rate=16000, chunk=320) == "6"


# ---------------------------------------------------------------- frequency, twist, level


@pytest.mark.parametrize("offset", [0.014, -0.014, 0.015, -0.015])
def test_tones_within_1_5_percent_are_detected(offset: float) -> None:
    for key in KEYS:
        signal = pcm(silence(60), tone(key, 60, frequency_offset=offset), silence(150))
        assert digits(signal) == key, key


@pytest.mark.parametrize("offset", [0.035, -0.035, 0.036, -0.036, 0.05, -0.05])
def test_tones_beyond_3_5_percent_are_rejected(offset: float) -> None:
    for key in KEYS:
        signal = pcm(silence(60), tone(key, 200, frequency_offset=offset), silence(150))
        assert digits(signal) == "", key


@pytest.mark.parametrize("twist_db", [7.5, 8.0, -3.5, -4.0])
def test_twist_up_to_8_db_normal_and_4_db_reverse_is_accepted(twist_db: float) -> None:
    level = -7.0 - max(0.0, -twist_db)  # keep the louder column tone below clipping
    for key in KEYS:
        signal = tone(key, 60, twist_db=twist_db, level_dbm0=level)
        assert digits(pcm(silence(60), signal, silence(150))) == key, key


@pytest.mark.parametrize("twist_db", [9.0, 12.0, -5.0, -8.0])
def test_twist_beyond_9_db_normal_or_5_db_reverse_is_rejected(twist_db: float) -> None:
    level = -7.0 - max(0.0, -twist_db)
    for key in KEYS:
        signal = tone(key, 100, twist_db=twist_db, level_dbm0=level)
        assert digits(pcm(silence(60), signal, silence(150))) == "", key


def test_single_tones_are_not_keys() -> None:
    n = np.arange(800)
    for frequency in (697.0, 941.0, 1209.0, 1633.0):
        signal = 8000 * np.sin(2 * np.pi * frequency * n / RATE)
        assert digits(pcm(silence(40), signal, silence(150))) == ""


def test_levels_down_to_minus_30_dbm0_are_detected_and_minus_40_is_not() -> None:
    assert digits(pcm(silence(60), tone("2", 60, level_dbm0=-30.0), silence(150))) == "2"
    assert digits(pcm(silence(60), tone("2", 60, level_dbm0=-40.0), silence(150))) == ""


# ---------------------------------------------------------------- noise and codecs


def test_every_key_is_detected_at_15_db_snr() -> None:
    rng = np.random.default_rng(15)
    noise_power = 2 * dbm0_to_power(-7.0) / 10 ** 1.5
    for key in KEYS:
        for _ in range(3):
            clean = pcm(silence(100), tone(key, 50, phase=rng.uniform(0, 6)), silence(150))
            noisy = clean + white_noise(len(clean), noise_power, rng)
            assert digits(pcm(noisy)) == key, key


def test_white_noise_alone_produces_no_digit() -> None:
    rng = np.random.default_rng(0)
    for level in (-40.0, -20.0, -5.0):
        noise = white_noise(RATE * 10, dbm0_to_power(level), rng)
        assert digits(pcm(noise)) == ""


def test_silence_produces_no_digit() -> None:
    assert digits(np.zeros(RATE * 2, dtype=np.int16)) == ""


@pytest.mark.parametrize("codec", [PcmuCodec(), PcmaCodec()], ids=["PCMU", "PCMA"])
def test_keys_survive_a_g711_round_trip(codec: PcmuCodec | PcmaCodec) -> None:
    parts = []
    for key in KEYS:
        parts += [tone(key, 45, level_dbm0=-20.0), silence(55)]
    decoded = codec.decode(codec.encode(pcm(silence(40), *parts, silence(100))))
    assert digits(decoded) == KEYS


# ---------------------------------------------------------------- talk-off

SPEECH = {
    "en": "Hello, this is a courtesy call about your order. Please press one to confirm the"
    " delivery on Tuesday morning, or stay on the line to speak with an agent. Thank you.",
    "vi": "Xin chào, đây là cuộc gọi nhắc lịch thanh toán của quý khách. Vui lòng nhấn phím"
    " một để xác nhận, hoặc giữ máy để gặp nhân viên tư vấn. Xin cảm ơn quý khách.",
    "ko": "안녕하세요, 주문하신 상품의 배송 일정 안내 전화입니다. 확인하시려면 일번을 누르시고,"
    " 상담원과 통화하시려면 잠시만 기다려 주세요. 감사합니다.",
    "fr": "Bonjour, ceci est un appel concernant votre commande. Appuyez sur un pour confirmer"
    " la livraison de mardi matin, ou restez en ligne pour parler à un conseiller. Merci.",
}


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> dict[str, NDArray[np.int16]]:
    """Each text spoken by espeak-ng (at two pitches) as 8 kHz samples."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise FileNotFoundError("espeak-ng is needed (scripts/bootstrap.sh installs it)")
    folder: Path = tmp_path_factory.mktemp("speech")
    rendered: dict[str, NDArray[np.int16]] = {}
    for language, text in SPEECH.items():
        parts = []
        for pitch in ("30", "70"):
            path = folder / f"{language}-{pitch}.wav"
            subprocess.run(
                [espeak, "-v", language, "-p", pitch, "-w", str(path), text],
                check=True,
                capture_output=True,
                timeout=60,
            )
            parts.append(load_wav(path))
        rendered[language] = np.concatenate(parts)
    return rendered


@pytest.mark.parametrize("language", list(SPEECH))
def test_speech_produces_no_digit(speech: dict[str, NDArray[np.int16]], language: str) -> None:
    samples = speech[language].astype(np.float64)
    assert len(samples) > RATE * 8
    for gain in (1.0, 4.0):
        assert digits(pcm(samples * gain)) == "", gain


def test_speech_with_noise_and_through_g711_produces_no_digit(
    speech: dict[str, NDArray[np.int16]],
) -> None:
    rng = np.random.default_rng(1)
    codec = PcmuCodec()
    for samples in speech.values():
        noisy = pcm(samples + white_noise(len(samples), 2e4, rng))
        assert digits(codec.decode(codec.encode(noisy))) == ""


def test_a_key_pressed_over_speech_is_still_heard(speech: dict[str, NDArray[np.int16]]) -> None:
    voice = speech["en"][: RATE * 2].astype(np.float64) * 0.1  # far-end speech 20 dB down
    signal = voice + np.concatenate([silence(700), tone("4", 80), silence(1220)])
    found = detect(pcm(signal))
    assert [d.digit for d in found] == ["4"]
    assert found[0].start == pytest.approx(0.7, abs=0.005)


# ---------------------------------------------------------------- input


def test_bad_input_is_a_signal_error() -> None:
    detector = InbandDtmfDetector()
    with pytest.raises(SignalError, match="int16"):
        detector.feed(np.zeros(160, dtype=np.float32), 0.0)  # type: ignore[arg-type]
    with pytest.raises(SignalError, match="shape"):
        detector.feed(np.zeros((2, 160), dtype=np.int16), 0.0)
    with pytest.raises(SignalError, match="sample rate"):
        InbandDtmfDetector(4000)
    assert detector.feed(np.zeros(0, dtype=np.int16), 0.0) == []


@settings(max_examples=60, deadline=None)
@given(
    samples=hnp.arrays(np.int16, st.integers(0, 4000)),
    chunk=st.integers(1, 1000),
)
def test_any_int16_samples_give_only_valid_digits(samples: NDArray[np.int16], chunk: int) -> None:
    for found in detect(samples, chunk=chunk):
        assert found.digit in KEYS
        assert found.duration_ms >= MIN_TONE_MS
        assert 0.0 <= found.start <= len(samples) / RATE
