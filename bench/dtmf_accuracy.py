"""In-band DTMF accuracy, talk-off and throughput: ``python -m bench.dtmf_accuracy [--quick]``.

1. Detection and rejection over a generated corpus (numpy signals, fed to
   :class:`dialer.dsp.goertzel.InbandDtmfDetector` in 20 ms chunks as a call would): all 16
   keys at several durations and levels; detuning at the ITU-T Q.24 limits (+-1.5 % detected,
   +-3.5 % rejected) and just inside/outside them; twist at and beyond 8 dB normal / 4 dB
   reverse; white noise at 15-30 dB SNR; short and long tones; pauses and dropouts; G.711
   round trips. Each trial has a random key, phase and sub-millisecond alignment. "grey"
   conditions lie between what must be detected and what must be rejected: reported, not
   scored.
2. Talk-off: speech synthesized with espeak-ng in several languages and voices (texts built
   from phrase pools, numbers and dates, so that every paragraph differs), at least 30 minutes
   of it, analysed clean through G.711 u-law and again quieter with white noise through A-law.
   Goal: 0 false digits. The rendered speech is cached under the system temp directory
   (``--cache DIR`` to choose), never in the repository.
3. Throughput: seconds of audio analysed per CPU-second, in 20 ms chunks and in one block.

Prints rich tables; ``--json FILE`` keeps the raw figures, ``--markdown`` also prints them as
Markdown for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from rich.console import Console
from rich.table import Table

from dialer.codecs.g711 import PcmaCodec, PcmuCodec
from dialer.dsp.goertzel import InbandDigit, InbandDtmfDetector
from dialer.dsp.tones import KEYPAD, dbm0_to_power, dtmf_tone
from dialer.rtp.audio import load_wav

RATE = 8000
CHUNK = 160  # one 20 ms RTP frame
KEYS = "".join(KEYPAD)

# ----------------------------------------------------------------------- corpus


Trial = Callable[[random.Random, str], tuple[NDArray[np.float64], str]]
"""Builds one trial for a key: the signal, and the keys a receiver must report in it."""


@dataclass(frozen=True)
class Condition:
    """One row of the accuracy table: how to build a trial, and what must come out."""

    category: str
    name: str
    expect: str  # "detect", "reject" or "grey"
    build: Trial


def _silence(ms: float) -> NDArray[np.float64]:
    return np.zeros(round(ms * RATE / 1000))


def _tone(
    rng: random.Random,
    key: str,
    ms: float,
    *,
    level: float = -7.0,
    twist: float = 0.0,
    offset: float = 0.0,
) -> NDArray[np.float64]:
    return dtmf_tone(
        key,
        ms,
        level_dbm0=level,
        twist_db=twist,
        frequency_offset=offset,
        phase=rng.uniform(0, 2 * np.pi),
    ).astype(np.float64)


def _frame(rng: random.Random, *parts: NDArray[np.float64]) -> NDArray[np.float64]:
    """Random lead-in (50-150 ms, not a whole number of samples per window) and 200 ms after."""
    return np.concatenate([_silence(rng.uniform(50, 150)), *parts, _silence(200)])


def _noisy(
    rng: random.Random, signal: NDArray[np.float64], power: float, snr_db: float
) -> NDArray[np.float64]:
    """``signal`` plus white noise ``snr_db`` below ``power``."""
    noise = np.random.default_rng(rng.getrandbits(64)).normal(
        0.0, np.sqrt(power / 10 ** (snr_db / 10)), len(signal)
    )
    noisy: NDArray[np.float64] = signal + noise
    return noisy


def _tone_power(level: float, twist: float) -> float:
    return dbm0_to_power(level) + dbm0_to_power(level - twist)


def single(
    ms: float = 60,
    *,
    level: float = -7.0,
    twist: float = 0.0,
    offset: float = 0.0,
    snr: float | None = None,
) -> Trial:
    def build(rng: random.Random, key: str) -> tuple[NDArray[np.float64], str]:
        signal = _frame(rng, _tone(rng, key, ms, level=level, twist=twist, offset=offset))
        if snr is not None:
            signal = _noisy(rng, signal, _tone_power(level, twist), snr)
        return signal, key

    return build


def pair(gap_ms: float, *, same: bool, ms: float = 50) -> Trial:
    def build(rng: random.Random, key: str) -> tuple[NDArray[np.float64], str]:
        second = key if same else rng.choice(KEYS.replace(key, ""))
        signal = _frame(rng, _tone(rng, key, ms), _silence(gap_ms), _tone(rng, second, ms))
        return signal, key + second

    return build


def dropout(gap_ms: float) -> Trial:
    def build(rng: random.Random, key: str) -> tuple[NDArray[np.float64], str]:
        return _frame(rng, _tone(rng, key, 60), _silence(gap_ms), _tone(rng, key, 60)), key

    return build


def through(codec: PcmuCodec | PcmaCodec, snr: float | None = None) -> Trial:
    def build(rng: random.Random, key: str) -> tuple[NDArray[np.float64], str]:
        signal = _frame(rng, _tone(rng, key, 40, level=-20.0))
        if snr is not None:
            signal = _noisy(rng, signal, _tone_power(-20.0, 0.0), snr)
        pcm = np.clip(np.rint(signal), -32768, 32767).astype(np.int16)
        return codec.decode(codec.encode(pcm)).astype(np.float64), key

    return build


def conditions() -> list[Condition]:
    c: list[Condition] = []
    for ms in (40, 60, 100, 500, 2000):
        c.append(Condition("keys", f"clean, {ms} ms", "detect", single(ms)))
    for level in (-3.0, -20.0, -30.0):
        c.append(Condition("level", f"{level:+.0f} dBm0 per tone", "detect", single(level=level)))
    c.append(Condition("level", "-45 dBm0 per tone", "reject", single(level=-45.0)))
    for pct, expect in ((1.4, "detect"), (1.5, "detect"), (2.0, "grey"), (3.0, "grey"),
                        (3.5, "reject"), (3.6, "reject"), (5.0, "reject")):
        for sign in (1, -1):
            c.append(Condition("frequency", f"{sign * pct:+.1f} %", expect,
                               single(offset=sign * pct / 100)))
    for twist, expect in ((7.5, "detect"), (8.0, "detect"), (9.0, "reject"),
                          (-3.5, "detect"), (-4.0, "detect"), (-5.0, "reject")):
        kind = "normal" if twist > 0 else "reverse"
        level = -7.0 - max(0.0, -twist)
        c.append(Condition("twist", f"{abs(twist):.1f} dB {kind}", expect,
                           single(level=level, twist=twist)))
    c.append(Condition("twist", "8 dB normal, 20 dB SNR", "detect",
                       single(twist=8.0, snr=20.0)))
    c.append(Condition("twist", "4 dB reverse, 20 dB SNR", "detect",
                       single(level=-11.0, twist=-4.0, snr=20.0)))
    for snr in (30.0, 25.0, 20.0, 15.0):
        for ms in (40, 60):
            c.append(Condition("noise", f"{snr:.0f} dB SNR, {ms} ms", "detect",
                               single(ms, snr=snr)))
    c.append(Condition("noise", "15 dB SNR, 25 ms", "reject", single(25, snr=15.0)))
    for ms, expect in ((10, "reject"), (20, "reject"), (25, "reject"), (30, "grey"),
                       (35, "grey"), (40, "detect")):
        c.append(Condition("duration", f"{ms} ms tone", expect, single(ms)))
    for gap in (40, 50, 80):
        c.append(Condition("pause", f"two keys, {gap} ms pause", "detect", pair(gap, same=False)))
        c.append(Condition("pause", f"same key twice, {gap} ms pause", "detect",
                           pair(gap, same=True)))
    for gap in (10, 20):
        c.append(Condition("pause", f"{gap} ms dropout bridged (one key)", "detect",
                           dropout(gap)))
    c.append(Condition("G.711", "PCMU, 40 ms, -20 dBm0", "detect", through(PcmuCodec())))
    c.append(Condition("G.711", "PCMA, 40 ms, -20 dBm0", "detect", through(PcmaCodec())))
    c.append(Condition("G.711", "PCMU, 40 ms, 20 dB SNR", "detect",
                       through(PcmuCodec(), snr=20.0)))
    return c


def run_detector(signal: NDArray[np.float64]) -> tuple[list[InbandDigit], list[float]]:
    """Digits found in ``signal`` fed in 20 ms chunks, and the audio time each was reported."""
    pcm = np.clip(np.rint(signal), -32768, 32767).astype(np.int16)
    detector = InbandDtmfDetector(RATE)
    found: list[InbandDigit] = []
    reported_at: list[float] = []
    for first in range(0, len(pcm), CHUNK):
        new = detector.feed(pcm[first : first + CHUNK], first / RATE)
        found += new
        reported_at += [min(first + CHUNK, len(pcm)) / RATE] * len(new)
    return found, reported_at


@dataclass
class AccuracyRow:
    category: str
    name: str
    expect: str
    trials: int
    correct: int  # exactly the expected keys ("detect") or nothing ("reject")
    any_digit: int


def accuracy(reps: int, seed: int) -> tuple[list[AccuracyRow], list[float]]:
    rng = random.Random(seed)
    rows: list[AccuracyRow] = []
    delays: list[float] = []
    for condition in conditions():
        correct = any_digit = trials = 0
        for _ in range(reps):
            for key in KEYS:
                signal, expected = condition.build(rng, key)
                found, reported_at = run_detector(signal)
                got = "".join(d.digit for d in found)
                trials += 1
                any_digit += bool(got)
                ok = got == expected if condition.expect != "reject" else got == ""
                correct += ok
                if condition.category == "keys" and ok:
                    delays.append((reported_at[-1] - found[-1].end) * 1000)
        rows.append(AccuracyRow(condition.category, condition.name, condition.expect, trials,
                                correct, any_digit))
    return rows, delays


# ----------------------------------------------------------------------- talk-off

PHRASES: dict[str, list[str]] = {
    "en": [
        "Good morning, this is a courtesy call from the customer service team.",
        "Your appointment is confirmed for {date} at {time}.",
        "The outstanding balance on your account is {amount} dollars.",
        "Please call us back on {phone} at your earliest convenience.",
        "If you have already made the payment, please disregard this message.",
        "Our agents are available from Monday to Friday, nine to five.",
        "Could you tell me whether the delivery arrived in good condition?",
        "We would like to offer you a discount of {percent} percent on your next order.",
        "Press one to repeat, or stay on the line to speak with an agent.",
        "Thank you for choosing us, and have a wonderful day.",
    ],
    "vi": [
        "Xin chào quý khách, đây là cuộc gọi từ bộ phận chăm sóc khách hàng.",
        "Lịch hẹn của quý khách đã được xác nhận vào ngày {date} lúc {time}.",
        "Số dư cần thanh toán trên tài khoản của quý khách là {amount} đồng.",
        "Vui lòng gọi lại cho chúng tôi theo số {phone} khi thuận tiện.",
        "Nếu quý khách đã thanh toán, xin vui lòng bỏ qua tin nhắn này.",
        "Nhân viên tư vấn làm việc từ thứ hai đến thứ sáu, từ tám giờ sáng.",
        "Quý khách có hài lòng với chất lượng sản phẩm đã nhận không?",
        "Chúng tôi xin gửi tặng quý khách ưu đãi giảm {percent} phần trăm.",
        "Nhấn phím một để nghe lại, hoặc giữ máy để gặp nhân viên.",
        "Xin chân thành cảm ơn và chúc quý khách một ngày tốt lành.",
    ],
    "ko": [
        "안녕하세요, 고객 서비스 센터에서 안내 전화 드렸습니다.",
        "고객님의 예약이 {date} {time}에 확정되었습니다.",
        "현재 계좌의 미납 금액은 {amount}원입니다.",
        "편하신 시간에 {phone}번으로 연락 부탁드립니다.",
        "이미 납부하셨다면 이 안내는 무시하셔도 됩니다.",
        "상담원은 월요일부터 금요일까지 오전 아홉 시부터 근무합니다.",
        "받으신 상품은 이상 없이 도착했는지 여쭤봐도 될까요?",
        "다음 주문 시 {percent}퍼센트 할인 혜택을 드리고자 합니다.",
        "다시 들으시려면 일번을, 상담원 연결은 잠시만 기다려 주세요.",
        "이용해 주셔서 감사합니다. 좋은 하루 보내세요.",
    ],
    "fr": [
        "Bonjour, ceci est un appel de courtoisie de notre service client.",
        "Votre rendez-vous est confirmé pour le {date} à {time}.",
        "Le solde restant sur votre compte est de {amount} euros.",
        "Merci de nous rappeler au {phone} dès que possible.",
        "Si vous avez déjà effectué le paiement, ne tenez pas compte de ce message.",
        "Nos conseillers sont disponibles du lundi au vendredi, de neuf heures à dix-sept heures.",
        "Pouvez-vous nous dire si la livraison est arrivée en bon état ?",
        "Nous vous offrons une remise de {percent} pour cent sur votre prochaine commande.",
        "Appuyez sur un pour réécouter, ou restez en ligne pour parler à un conseiller.",
        "Merci de votre confiance et excellente journée.",
    ],
    "de": [
        "Guten Tag, hier spricht der Kundenservice mit einem kurzen Hinweis.",
        "Ihr Termin ist für den {date} um {time} bestätigt.",
        "Der offene Betrag auf Ihrem Konto beträgt {amount} Euro.",
        "Bitte rufen Sie uns unter {phone} zurück.",
        "Falls Sie bereits bezahlt haben, betrachten Sie diese Nachricht als gegenstandslos.",
        "Unsere Mitarbeiter sind von Montag bis Freitag für Sie erreichbar.",
        "Ist die Lieferung in einwandfreiem Zustand bei Ihnen angekommen?",
        "Wir bieten Ihnen {percent} Prozent Rabatt auf Ihre nächste Bestellung.",
        "Drücken Sie die Eins zum Wiederholen oder bleiben Sie in der Leitung.",
        "Vielen Dank und einen schönen Tag noch.",
    ],
    "es": [
        "Buenos días, le llamamos del servicio de atención al cliente.",
        "Su cita está confirmada para el {date} a las {time}.",
        "El saldo pendiente de su cuenta es de {amount} euros.",
        "Por favor, devuélvanos la llamada al {phone} cuando le sea posible.",
        "Si ya ha realizado el pago, ignore este mensaje.",
        "Nuestros agentes atienden de lunes a viernes, de nueve a cinco.",
        "¿Podría decirnos si el pedido llegó en buen estado?",
        "Le ofrecemos un descuento del {percent} por ciento en su próximo pedido.",
        "Pulse uno para repetir, o espere para hablar con un agente.",
        "Muchas gracias por su confianza y que tenga un buen día.",
    ],
    "it": [
        "Buongiorno, la chiamiamo dal servizio clienti.",
        "Il suo appuntamento è confermato per il {date} alle {time}.",
        "Il saldo da pagare sul suo conto è di {amount} euro.",
        "La preghiamo di richiamarci al numero {phone}.",
        "Se ha già effettuato il pagamento, ignori questo messaggio.",
        "Le offriamo uno sconto del {percent} per cento sul prossimo ordine.",
        "Prema uno per riascoltare, oppure resti in linea.",
        "Grazie per averci scelto e buona giornata.",
    ],
    "pt": [
        "Bom dia, estamos ligando do serviço de atendimento ao cliente.",
        "A sua consulta está confirmada para o dia {date} às {time}.",
        "O saldo em aberto na sua conta é de {amount} reais.",
        "Por favor, retorne a ligação pelo número {phone}.",
        "Se já efetuou o pagamento, desconsidere esta mensagem.",
        "Oferecemos um desconto de {percent} por cento no seu próximo pedido.",
        "Pressione um para repetir ou aguarde na linha.",
        "Muito obrigado e tenha um ótimo dia.",
    ],
    "ru": [
        "Здравствуйте, вас беспокоит служба поддержки клиентов.",
        "Ваша запись подтверждена на {date} в {time}.",
        "Задолженность по вашему счёту составляет {amount} рублей.",
        "Пожалуйста, перезвоните нам по номеру {phone}.",
        "Если вы уже оплатили, не обращайте внимания на это сообщение.",
        "Мы предлагаем вам скидку {percent} процентов на следующий заказ.",
        "Нажмите один, чтобы прослушать ещё раз, или оставайтесь на линии.",
        "Спасибо, что выбрали нас, хорошего дня.",
    ],
}

VARIANTS = ("", "+f1", "+f3", "+f5", "+m2", "+m3", "+m6", "+klatt", "+Annie", "+steph")


@dataclass(frozen=True)
class Clip:
    language: str
    voice: str
    speed: int
    pitch: int
    text: str

    @property
    def key(self) -> str:
        return hashlib.sha256(repr(self).encode()).hexdigest()[:20]


def paragraph(language: str, rng: random.Random, sentences: int) -> str:
    pool = PHRASES[language]
    parts = []
    for _ in range(sentences):
        parts.append(rng.choice(pool).format(
            date=f"{rng.randint(1, 28)}/{rng.randint(1, 12)}/{rng.randint(2024, 2027)}",
            time=f"{rng.randint(7, 19)}:{rng.choice(['00', '15', '30', '45'])}",
            amount=f"{rng.randint(10, 99_999)}",
            phone=" ".join(f"{rng.randint(0, 9999):04d}" for _ in range(3)),
            percent=rng.choice([5, 10, 15, 20, 25, 30, 50]),
        ))
    return " ".join(parts)


def clips(seconds: float, seed: int) -> list[Clip]:
    """Paragraphs across the languages until about ``seconds`` of speech (estimated at 14
    characters per second at 175 words per minute, scaled by speed)."""
    rng = random.Random(seed)
    out: list[Clip] = []
    estimated = 0.0
    languages = list(PHRASES)
    while estimated < seconds:
        language = languages[len(out) % len(languages)]
        speed = rng.randint(130, 230)
        text = paragraph(language, rng, 12)
        out.append(Clip(language, rng.choice(VARIANTS), speed, rng.randint(20, 85), text))
        estimated += len(text) / 14 * 175 / speed
    return out


def render(clip: Clip, cache: Path, espeak: str) -> NDArray[np.int16]:
    """8 kHz samples of ``clip``, from the cache or rendered with espeak-ng."""
    cached = cache / f"{clip.language}-{clip.key}.wav"
    if not cached.exists():
        raw = cache / f"{clip.key}.espeak.wav"
        command = [espeak, "-v", clip.language + clip.voice, "-s", str(clip.speed),
                   "-p", str(clip.pitch), "-w", str(raw), clip.text]
        subprocess.run(command, check=True, capture_output=True, timeout=120)
        samples = load_wav(raw)
        raw.unlink()
        partial = cached.with_suffix(".part")
        with wave.open(str(partial), "wb") as writer:
            writer.setnchannels(1)
            writer.setsampwidth(2)
            writer.setframerate(RATE)
            writer.writeframes(samples.astype("<i2").tobytes())
        partial.replace(cached)
    return load_wav(cached)


def _at_level(samples: NDArray[np.int16], level_dbm0: float) -> NDArray[np.float64]:
    signal = samples.astype(np.float64)
    power = float(np.mean(signal**2)) or 1.0
    return signal * np.sqrt(dbm0_to_power(level_dbm0) / power)


@dataclass
class TalkOffRow:
    language: str
    clips: int = 0
    seconds: float = 0.0
    false_clean: int = 0
    false_noisy: int = 0
    windows_passed: int = 0
    windows: int = 0
    false_digits: list[str] = field(default_factory=list)


@dataclass
class Throughput:
    audio_seconds: float = 0.0
    cpu_seconds: float = 0.0


def talk_off(
    seconds: float, seed: int, cache: Path, console: Console
) -> tuple[list[TalkOffRow], Throughput]:
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise SystemExit("espeak-ng is needed for the talk-off corpus (scripts/bootstrap.sh)")
    cache.mkdir(parents=True, exist_ok=True)
    rows = {language: TalkOffRow(language) for language in PHRASES}
    rng = np.random.default_rng(seed)
    mu, a = PcmuCodec(), PcmaCodec()
    chunked = Throughput()
    todo = clips(seconds, seed)
    started = time.monotonic()
    for number, clip in enumerate(todo, 1):
        samples = render(clip, cache, espeak)
        row = rows[clip.language]
        row.clips += 1
        row.seconds += len(samples) / RATE
        clean = _at_level(samples, -15.0)
        quiet = _at_level(samples, -25.0)
        noise = rng.normal(0.0, np.sqrt(dbm0_to_power(-25.0) / 10 ** 1.5), len(samples))
        variants = (
            ("clean", mu.decode(mu.encode(_int16(clean)))),
            ("noisy", a.decode(a.encode(_int16(quiet + noise)))),
        )
        for name, pcm in variants:
            detector = InbandDtmfDetector(RATE)
            found: list[InbandDigit] = []
            cpu = time.process_time()
            for first in range(0, len(pcm), CHUNK):
                found += detector.feed(pcm[first : first + CHUNK], first / RATE)
            found += detector.flush()
            chunked.cpu_seconds += time.process_time() - cpu
            chunked.audio_seconds += len(pcm) / RATE
            row.windows += detector.windows_analysed
            row.windows_passed += detector.windows_passed
            if name == "clean":
                row.false_clean += len(found)
            else:
                row.false_noisy += len(found)
            row.false_digits += [f"{d.digit}@{clip.key}:{d.start:.2f}s" for d in found]
        if number % 10 == 0 or number == len(todo):
            console.log(
                f"talk-off: {number}/{len(todo)} paragraphs, "
                f"{sum(r.seconds for r in rows.values()) / 60:.1f} min of speech, "
                f"{time.monotonic() - started:.0f} s"
            )
    return [row for row in rows.values() if row.clips], chunked


def _int16(signal: NDArray[np.float64]) -> NDArray[np.int16]:
    return np.clip(np.rint(signal), -32768, 32767).astype(np.int16)


def block_throughput(cache: Path, limit_seconds: float = 300.0) -> Throughput:
    """One call of ``feed`` per cached paragraph (up to ``limit_seconds`` of audio)."""
    result = Throughput()
    for path in sorted(cache.glob("*.wav")):
        pcm = load_wav(path)
        detector = InbandDtmfDetector(RATE)
        cpu = time.process_time()
        detector.feed(pcm, 0.0)
        detector.flush()
        result.cpu_seconds += time.process_time() - cpu
        result.audio_seconds += len(pcm) / RATE
        if result.audio_seconds >= limit_seconds:
            break
    return result


# ----------------------------------------------------------------------- report


def _rate(row: AccuracyRow) -> str:
    return f"{100 * row.correct / row.trials:.1f} %"


def accuracy_table(rows: list[AccuracyRow]) -> Table:
    table = Table(title="In-band DTMF: generated corpus (each trial: random key, phase, alignment)")
    for column in ("category", "condition", "must", "trials", "result"):
        table.add_column(column, justify="right" if column in ("trials", "result") else "left")
    for row in rows:
        if row.expect == "grey":
            result = f"{100 * row.any_digit / row.trials:.1f} % detected"
        elif row.expect == "detect":
            result = f"{_rate(row)} detected"
        else:
            result = f"{_rate(row)} rejected"
        style = None if row.expect == "grey" or row.correct == row.trials else "yellow"
        table.add_row(row.category, row.name, row.expect, str(row.trials), result, style=style)
    return table


def summary(rows: list[AccuracyRow]) -> dict[str, float]:
    detect = [r for r in rows if r.expect == "detect"]
    reject = [r for r in rows if r.expect == "reject"]
    return {
        "detection_rate": sum(r.correct for r in detect) / max(1, sum(r.trials for r in detect)),
        "detect_trials": sum(r.trials for r in detect),
        "rejection_rate": sum(r.correct for r in reject) / max(1, sum(r.trials for r in reject)),
        "reject_trials": sum(r.trials for r in reject),
    }


def talk_off_table(rows: list[TalkOffRow]) -> Table:
    table = Table(title="Talk-off: espeak-ng speech (clean via PCMU at -15 dBm0; "
                        "-25 dBm0 + white noise at 15 dB SNR via PCMA)")
    for column in ("language", "paragraphs", "minutes", "false digits clean",
                   "false digits noisy", "windows passing"):
        table.add_column(column, justify="left" if column == "language" else "right")
    for row in rows + [_total(rows)]:
        table.add_row(row.language, str(row.clips), f"{row.seconds / 60:.1f}",
                      str(row.false_clean), str(row.false_noisy),
                      f"{row.windows_passed} / {row.windows}")
    return table


def _total(rows: list[TalkOffRow]) -> TalkOffRow:
    total = TalkOffRow("total")
    for row in rows:
        total.clips += row.clips
        total.seconds += row.seconds
        total.false_clean += row.false_clean
        total.false_noisy += row.false_noisy
        total.windows += row.windows
        total.windows_passed += row.windows_passed
    return total


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def markdown(
    rows: list[AccuracyRow], delays: list[float], talk: list[TalkOffRow],
    chunked: Throughput, block: Throughput, quick: bool,
) -> str:
    s = summary(rows)
    total = _total(talk)
    lines = [
        "## In-band DTMF (issue: callbot runtime)",
        "",
        f"`python -m bench.dtmf_accuracy{' --quick' if quick else ''}` — "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"numpy {np.__version__}, {platform.machine()}; detector "
        "`dialer.dsp.goertzel.InbandDtmfDetector` fed 20 ms chunks.",
        "",
        f"- Detection rate over the must-detect conditions: **{100 * s['detection_rate']:.2f} %**"
        f" of {s['detect_trials']} trials; rejection rate over the must-reject conditions: "
        f"**{100 * s['rejection_rate']:.2f} %** of {s['reject_trials']} trials.",
        f"- Talk-off: **{total.false_clean + total.false_noisy} false digits** in "
        f"{total.seconds / 60:.1f} min of synthesized speech ({len(talk)} languages, each "
        f"paragraph analysed twice: clean and with noise, so {2 * total.seconds / 60:.1f} min "
        f"analysed); {total.windows_passed} of {total.windows} analysis windows passed the "
        "per-window tests (a digit needs about 6 in a row). Goal: 0.",
        f"- Throughput: **{chunked.audio_seconds / chunked.cpu_seconds:.0f} s of audio per "
        f"CPU-second** in 20 ms chunks (one call's RTP frames), "
        f"{block.audio_seconds / block.cpu_seconds:.0f} in one block per paragraph.",
        f"- Report delay after the tone ends (clean keys): p50 {_percentile(delays, 50):.0f} ms,"
        f" p99 {_percentile(delays, 99):.0f} ms (the detector waits for a pause longer than "
        "the bridged 30 ms; `holding` tells the key while it sounds).",
        "",
        "- Limits of this corpus: the speech is formant-synthesized (espeak-ng), not the"
        " recorded talk-off tapes receivers are certified with, and no music on hold was"
        " tested; \"grey\" rows lie between the must-detect and must-reject limits and are"
        " not scored.",
        "",
        "| category | condition | must | trials | result |",
        "|---|---|---|---:|---:|",
    ]
    for row in rows:
        if row.expect == "grey":
            result = f"{100 * row.any_digit / row.trials:.1f} % detected (grey zone)"
        elif row.expect == "detect":
            result = f"{_rate(row)} detected"
        else:
            result = f"{_rate(row)} rejected"
        lines.append(f"| {row.category} | {row.name} | {row.expect} | {row.trials} | {result} |")
    lines += [
        "",
        "| language | paragraphs | minutes | false digits clean | false digits noisy |"
        " windows passing |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in talk + [total]:
        lines.append(f"| {row.language} | {row.clips} | {row.seconds / 60:.1f} | "
                     f"{row.false_clean} | {row.false_noisy} | "
                     f"{row.windows_passed} / {row.windows} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dtmf_accuracy", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="one trial per key and condition, 3 minutes of speech")
    parser.add_argument("--seed", type=int, default=4733)
    parser.add_argument("--cache", type=Path,
                        default=Path(tempfile.gettempdir()) / "callbot-bench-speech",
                        help="where rendered speech is kept between runs")
    parser.add_argument("--json", type=Path, help="write the raw figures to this file")
    parser.add_argument("--markdown", action="store_true", help="also print Markdown")
    args = parser.parse_args(argv)
    console = Console()
    reps = 1 if args.quick else 8
    speech_seconds = 180.0 if args.quick else 32 * 60.0

    console.log(f"accuracy corpus: {len(conditions())} conditions x {16 * reps} trials")
    rows, delays = accuracy(reps, args.seed)
    console.print(accuracy_table(rows))
    s = summary(rows)
    console.print(
        f"detection rate {100 * s['detection_rate']:.2f} % of {s['detect_trials']:.0f}, "
        f"rejection rate {100 * s['rejection_rate']:.2f} % of {s['reject_trials']:.0f}; "
        f"report delay after tone end p50 {_percentile(delays, 50):.0f} ms, "
        f"p99 {_percentile(delays, 99):.0f} ms"
    )

    talk, chunked = talk_off(speech_seconds, args.seed, args.cache, console)
    console.print(talk_off_table(talk))
    block = block_throughput(args.cache)
    console.print(
        f"throughput: {chunked.audio_seconds / chunked.cpu_seconds:.0f} s of audio per "
        f"CPU-second in 20 ms chunks ({chunked.audio_seconds / 60:.1f} min), "
        f"{block.audio_seconds / block.cpu_seconds:.0f} in one block per paragraph"
    )
    false_digits = [d for row in talk for d in row.false_digits]
    if false_digits:
        console.print(f"[red]false digits in speech:[/red] {', '.join(false_digits[:20])}")
    if args.json:
        args.json.write_text(json.dumps({
            "accuracy": [asdict(r) for r in rows], "summary": s, "delays_ms": delays,
            "talk_off": [asdict(r) for r in talk], "throughput_chunked": asdict(chunked),
            "throughput_block": asdict(block),
        }, indent=2))
    if args.markdown:
        text = markdown(rows, delays, talk, chunked, block, args.quick)
        console.print(text, markup=False, highlight=False, soft_wrap=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
