"""RTP session of one call on a fake clock: sending cadence, playback, DTMF both ways,
reordering, loss, duplicates, sequence wraparound; and the WAV prompt loader."""

from __future__ import annotations

import random
import struct
import wave
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.codecs import CodecError, PcmaCodec, PcmuCodec
from dialer.rtp.audio import AudioFormatError, load_wav, resample
from dialer.rtp.dtmf import DTMF_END_TIMEOUT, DtmfError, TelephoneEvent
from dialer.rtp.packet import RtpPacket
from dialer.rtp.session import (
    AudioFrame,
    DigitReceived,
    DigitSent,
    PlaybackDone,
    RtpSession,
    SessionEvent,
)

PTIME = 0.020


def make_session(seed: int = 1, **kwargs: object) -> RtpSession:
    kwargs.setdefault("telephone_event_payload_type", 101)
    return RtpSession(PcmuCodec(), rng=random.Random(seed), **kwargs)  # type: ignore[arg-type]


def ticks(session: RtpSession, count: int, start: float = 0.0) -> list[tuple[bytes, float]]:
    return [(session.tick(start + n * PTIME), start + n * PTIME) for n in range(count)]


def deliver(
    receiver: RtpSession, datagrams: list[tuple[bytes, float]], *, settle: float = 1.0
) -> list[SessionEvent]:
    """Hand datagrams to ``receiver`` at their times, running its timers like a media loop."""
    events: list[SessionEvent] = []
    for data, at in datagrams:
        deadline = receiver.next_deadline()
        while deadline is not None and deadline <= at:
            events += receiver.handle_timer(max(deadline, 0.0))
            deadline = receiver.next_deadline()
        events += receiver.receive(data, at)
    end = (datagrams[-1][1] if datagrams else 0.0) + settle
    deadline = receiver.next_deadline()
    while deadline is not None and deadline <= end:
        events += receiver.handle_timer(deadline)
        deadline = receiver.next_deadline()
    return events


def frames(events: list[SessionEvent]) -> list[AudioFrame]:
    return [e for e in events if isinstance(e, AudioFrame)]


def digits(events: list[SessionEvent]) -> list[DigitReceived]:
    return [e for e in events if isinstance(e, DigitReceived)]


def tone(count: int, amplitude: int = 8000) -> np.ndarray:
    n = np.arange(count)
    return (amplitude * np.sin(2 * np.pi * 440 * n / 8000)).astype(np.int16)


# ---------------------------------------------------------------- sending


def test_one_packet_per_tick_with_silence_when_idle() -> None:
    session = make_session(ssrc=0xABCD)
    first_seq, first_ts = session.sequence_number, session.timestamp
    packets = [RtpPacket.parse(data) for data, _ in ticks(session, 5)]
    assert [p.sequence_number for p in packets] == [(first_seq + n) % 65536 for n in range(5)]
    assert [p.timestamp for p in packets] == [(first_ts + 160 * n) % (1 << 32) for n in range(5)]
    assert {p.payload for p in packets} == {b"\xff" * 160}
    assert {(p.payload_type, p.ssrc) for p in packets} == {(0, 0xABCD)}
    assert [p.marker for p in packets] == [True, False, False, False, False]
    assert session.packets_sent == 5
    assert session.next_tick_at == pytest.approx(4 * PTIME + PTIME)


def test_pcma_silence_and_payload_type() -> None:
    session = RtpSession(PcmaCodec(), telephone_event_payload_type=96, rng=random.Random(3))
    packet = RtpPacket.parse(session.tick(0.0))
    assert (packet.payload_type, packet.payload) == (8, b"\xd5" * 160)


def test_initial_sequence_and_timestamp_are_random() -> None:
    a, b = make_session(seed=1), make_session(seed=2)
    assert (a.sequence_number, a.timestamp, a.ssrc) != (b.sequence_number, b.timestamp, b.ssrc)
    again = make_session(seed=1)
    assert (a.sequence_number, a.timestamp, a.ssrc) == (
        again.sequence_number, again.timestamp, again.ssrc,
    )


def test_sequence_and_timestamp_wrap_around() -> None:
    session = make_session()
    session.sequence_number, session.timestamp = 65534, (1 << 32) - 160
    packets = [RtpPacket.parse(data) for data, _ in ticks(session, 3)]
    assert [p.sequence_number for p in packets] == [65534, 65535, 0]
    assert [p.timestamp for p in packets] == [(1 << 32) - 160, 0, 160]


def test_playback_frames_then_done_then_silence() -> None:
    session = make_session()
    prompt = tone(400)  # 2.5 frames
    playback_id = session.play(prompt)
    assert session.playing
    sent = ticks(session, 4)
    payloads = [RtpPacket.parse(data).payload for data, _ in sent]
    codec = PcmuCodec()
    padded = np.concatenate([prompt, np.zeros(80, dtype=np.int16)])
    assert payloads[:3] == [codec.encode(padded[i * 160 : (i + 1) * 160]) for i in range(3)]
    assert payloads[3] == b"\xff" * 160
    assert not session.playing
    assert session.pop_events() == [PlaybackDone(playback_id, sent[2][1])]
    assert session.pop_events() == []


def test_playbacks_queue_in_order() -> None:
    session = make_session()
    first = session.play(tone(160))
    second = session.play(np.zeros(0, dtype=np.int16))
    third = session.play(tone(320))
    ticks(session, 4)
    done = session.pop_events()
    assert [(e.playback_id, e.at) for e in done if isinstance(e, PlaybackDone)] == [
        (first, 0.0), (second, PTIME), (third, 2 * PTIME),
    ]


def test_clear_playback_is_immediate() -> None:
    session = make_session()
    first, second = session.play(tone(1600)), session.play(tone(1600))
    ticks(session, 2)
    assert session.clear_playback() == [first, second]
    assert not session.playing
    assert RtpPacket.parse(session.tick(1.0)).payload == b"\xff" * 160
    assert session.pop_events() == []


def test_play_rejects_non_int16() -> None:
    with pytest.raises(CodecError, match="mono int16"):
        make_session().play(np.zeros(160, dtype=np.float32))


def test_sending_a_digit_suppresses_and_pauses_audio() -> None:
    session = make_session()
    prompt = tone(160 * 4)
    session.play(prompt)
    sent = ticks(session, 1)
    session.send_digit("5")
    sent += ticks(session, 11, start=PTIME)
    packets = [RtpPacket.parse(data) for data, _ in sent]
    assert [p.payload_type for p in packets] == [0] + [101] * 7 + [0] * 4
    dtmf = packets[1:8]
    assert [p.marker for p in dtmf] == [True] + [False] * 6
    assert {p.timestamp for p in dtmf} == {packets[0].timestamp + 160}
    assert [TelephoneEvent.parse(p.payload).end for p in dtmf] == [False] * 4 + [True] * 3
    # Audio resumes with the next frame of the prompt, as a new talkspurt (marker).
    audio = packets[8:]
    assert audio[0].marker and not any(p.marker for p in audio[1:])
    codec = PcmuCodec()
    assert [p.payload for p in audio[:3]] == [
        codec.encode(prompt[i * 160 : (i + 1) * 160]) for i in (1, 2, 3)
    ]
    assert audio[0].timestamp == packets[0].timestamp + 8 * 160  # the clock never stopped
    seqs = [p.sequence_number for p in packets]
    assert seqs == [(seqs[0] + n) % 65536 for n in range(12)]
    events = session.pop_events()
    assert DigitSent("5", sent[7][1]) in events


def test_send_digit_needs_telephone_event() -> None:
    session = make_session(telephone_event_payload_type=None)
    with pytest.raises(DtmfError, match="not negotiated"):
        session.send_digit("1")


# ---------------------------------------------------------------- receiving


def test_audio_round_trip_between_two_sessions() -> None:
    alice, bob = make_session(seed=1), make_session(seed=2)
    prompt = tone(160 * 5)
    alice.play(prompt)
    events = deliver(bob, ticks(alice, 5))
    received = frames(events)
    assert len(received) == 5
    codec = PcmuCodec()
    expected = codec.decode(codec.encode(prompt))
    assert np.array_equal(np.concatenate([f.pcm for f in received]), expected)
    assert [f.at for f in received] == [n * PTIME for n in range(5)]
    assert bob.packets_received == 5 and bob.last_received_at == 4 * PTIME
    assert bob.remote_ssrc == alice.ssrc


def test_digit_round_trip_between_two_sessions() -> None:
    alice, bob = make_session(seed=1), make_session(seed=2)
    alice.send_digit("#9")
    events = deliver(bob, ticks(alice, 20))
    assert [(d.digit, d.duration_ms, d.end_seen) for d in digits(events)] == [
        ("#", 100.0, True), ("9", 100.0, True),
    ]
    assert len(frames(events)) == 20 - 14  # silence around and between the digits


def test_reordered_packets_come_out_in_order() -> None:
    alice, bob = make_session(seed=1), make_session(seed=2)
    sent = ticks(alice, 8)
    order = [0, 2, 1, 3, 5, 4, 7, 6]
    shuffled = [(sent[i][0], n * PTIME) for n, i in enumerate(order)]
    received = frames(deliver(bob, shuffled))
    seqs = [f.sequence_number for f in received]
    assert seqs == [(alice.sequence_number - 8 + n) % 65536 for n in range(8)]
    assert bob.jitter_stats.reordered == 3


def test_duplicate_packets_are_dropped() -> None:
    alice, bob = make_session(seed=1), make_session(seed=2)
    sent = ticks(alice, 4)
    doubled = [item for item in sent for _ in range(2)]
    assert len(frames(deliver(bob, doubled))) == 4
    assert bob.jitter_stats.duplicate == 4
    assert bob.packets_received == 8


def test_receive_across_sequence_wraparound() -> None:
    alice, bob = make_session(seed=1), make_session(seed=2)
    alice.sequence_number = 65533
    sent = ticks(alice, 6)
    sent[3], sent[4] = (sent[4][0], sent[3][1]), (sent[3][0], sent[4][1])  # 0 before 65535
    received = frames(deliver(bob, sent))
    assert [f.sequence_number for f in received] == [65533, 65534, 65535, 0, 1, 2]


def test_lost_audio_is_skipped_after_the_jitter_delay() -> None:
    alice, bob = make_session(seed=1), make_session(seed=2)
    sent = ticks(alice, 6)
    del sent[2]
    received = frames(deliver(bob, sent))
    assert len(received) == 5
    assert bob.jitter_stats.lost == 1


def test_digit_with_all_end_packets_lost() -> None:
    alice, bob = make_session(seed=1), make_session(seed=2)
    alice.send_digit("7")
    sent = ticks(alice, 12)
    kept = []
    for data, at in sent:
        packet = RtpPacket.parse(data)
        if packet.payload_type == 101 and TelephoneEvent.parse(packet.payload).end:
            continue
        kept.append((data, at))
    events = deliver(bob, kept)
    got = digits(events)
    assert [(d.digit, d.end_seen) for d in got] == [("7", False)]
    last_update_at = sent[3][1]
    # Reported when the audio after it was released, or at the timeout: never twice.
    assert got[0].at <= last_update_at + DTMF_END_TIMEOUT + 1e-9


def test_digit_without_marker_bit() -> None:
    alice, bob = make_session(seed=1), make_session(seed=2)
    alice.send_digit("3")
    stripped = []
    for data, at in ticks(alice, 10):
        packet = RtpPacket.parse(data)
        if packet.payload_type == 101:
            data = bytes(replace(packet, marker=False))
        stripped.append((data, at))
    assert [d.digit for d in digits(deliver(bob, stripped))] == ["3"]


def test_invalid_and_foreign_packets_are_counted_not_raised() -> None:
    alice, bob = make_session(seed=1), make_session(seed=2)
    data, _ = ticks(alice, 1)[0]
    assert bob.receive(b"\x00garbage", 0.0) == []
    rtcp_sender_report = bytes.fromhex("80c80006") + b"\x00" * 24  # rtcp-mux, RFC 5761 s4
    assert bob.receive(rtcp_sender_report, 0.01) == []
    assert len(frames(bob.receive(data, 0.02))) == 1
    # Comfort noise (RFC 3389, PT 13) takes a sequence number in the same stream.
    comfort_noise = RtpPacket(13, alice.sequence_number, 0, alice.ssrc, b"\x40")
    alice.sequence_number += 1
    assert bob.receive(bytes(comfort_noise), 0.03) == []
    assert len(frames(bob.receive(alice.tick(0.04), 0.04))) == 1  # seq continuity kept
    assert (bob.packets_invalid, bob.packets_ignored, bob.packets_received) == (1, 2, 4)


def test_new_remote_ssrc_starts_a_fresh_sequence_space() -> None:
    bob = make_session(seed=2)
    first, second = make_session(seed=10), make_session(seed=11)
    before = frames(deliver(bob, ticks(first, 3)))
    after = frames(deliver(bob, ticks(second, 3, start=1.0)))
    assert len(before) == 3 and len(after) == 3
    assert bob.remote_ssrc == second.ssrc
    assert bob.jitter_stats.late == 0 and bob.jitter_stats.lost == 0


def test_inactivity() -> None:
    session = make_session(inactivity_timeout=5.0)
    assert not session.is_inactive(100.0)  # not started yet
    session.tick(10.0)
    assert not session.is_inactive(15.0)
    assert session.is_inactive(15.1)
    peer = make_session(seed=5)
    session.receive(peer.tick(14.0), 14.0)
    assert session.last_received_at == 14.0
    assert not session.is_inactive(19.0)
    assert session.is_inactive(19.01)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_lossy_reordering_link_never_duplicates(data: st.DataObject) -> None:
    alice, bob = make_session(seed=1), make_session(seed=2)
    alice.play(tone(160 * 10))
    alice.send_digit("12")
    sent = ticks(alice, 40)
    keep = data.draw(st.lists(st.booleans(), min_size=40, max_size=40))
    delay = data.draw(st.lists(st.integers(0, 3), min_size=40, max_size=40))
    arrivals = sorted(
        ((d, at + PTIME * lag) for (d, at), k, lag in zip(sent, keep, delay) if k),
        key=lambda item: item[1],
    )
    events = deliver(bob, arrivals)
    seqs = [(f.sequence_number - sent_seq0(sent)) % 65536 for f in frames(events)]
    assert seqs == sorted(set(seqs))
    got = [d.timestamp for d in digits(events)]
    assert len(got) == len(set(got)) and got == sorted(got)


def sent_seq0(sent: list[tuple[bytes, float]]) -> int:
    return RtpPacket.parse(sent[0][0]).sequence_number


# ---------------------------------------------------------------- WAV prompts


def write_wav(path: Path, frames_: bytes, *, rate: int, width: int, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(width)
        writer.setframerate(rate)
        writer.writeframes(frames_)
    return path


def sine(rate: int, freq: float, seconds: float, amplitude: float = 10000.0) -> np.ndarray:
    n = np.arange(int(rate * seconds))
    return amplitude * np.sin(2 * np.pi * freq * n / rate)


def test_load_wav_8k_mono_16_bit_is_unchanged(tmp_path: Path) -> None:
    samples = tone(800)
    path = write_wav(tmp_path / "a.wav", samples.tobytes(), rate=8000, width=2)
    loaded = load_wav(path)
    assert loaded.dtype == np.int16 and np.array_equal(loaded, samples)


@pytest.mark.parametrize("rate", [16000, 44100, 48000, 11025])
def test_load_wav_resamples_to_8k(tmp_path: Path, rate: int) -> None:
    source = np.rint(sine(rate, 440, 0.5)).astype("<i2")
    path = write_wav(tmp_path / "b.wav", source.tobytes(), rate=rate, width=2)
    loaded = load_wav(path)
    assert len(loaded) == len(source) * 8000 // rate
    expected = sine(8000, 440, 0.5)[: len(loaded)]
    middle = slice(200, -200)  # away from the zero-padded edges
    assert np.max(np.abs(loaded[middle] - expected[middle])) < 0.01 * 10000


def test_resampling_removes_what_8k_cannot_carry() -> None:
    above_nyquist = sine(48000, 6000, 0.5)
    out = resample(above_nyquist, 48000, 8000)
    assert np.sqrt(np.mean(out[200:-200] ** 2)) < 0.01 * 10000 / np.sqrt(2)


def test_resample_upsamples() -> None:
    out = resample(sine(4000, 300, 0.5), 4000, 8000)
    assert len(out) == 4000
    assert np.max(np.abs(out[200:-200] - sine(8000, 300, 0.5)[200:-200])) < 0.01 * 10000


def test_load_wav_mixes_stereo_down(tmp_path: Path) -> None:
    left = tone(800, 8000).astype(np.int32)
    right = np.full(800, 2000, dtype=np.int32)
    interleaved = np.column_stack([left, right]).astype("<i2").tobytes()
    path = write_wav(tmp_path / "c.wav", interleaved, rate=8000, width=2, channels=2)
    loaded = load_wav(path)
    assert np.max(np.abs(loaded.astype(np.int32) - (left + right) / 2)) <= 0.5


@pytest.mark.parametrize("width", [1, 3, 4])
def test_load_wav_other_sample_widths(tmp_path: Path, width: int) -> None:
    reference = tone(800, 12000).astype(np.int64)
    if width == 1:
        raw = ((reference >> 8) + 128).astype(np.uint8).tobytes()
        tolerance = 256
    elif width == 3:
        wide = reference << 8
        raw = b"".join(int(v).to_bytes(3, "little", signed=True) for v in wide)
        tolerance = 0
    else:
        raw = (reference << 16).astype("<i4").tobytes()
        tolerance = 0
    path = write_wav(tmp_path / f"w{width}.wav", raw, rate=8000, width=width)
    loaded = load_wav(path).astype(np.int64)
    assert np.max(np.abs(loaded - reference)) <= tolerance


def test_load_wav_refuses_float_wav(tmp_path: Path) -> None:
    data = np.zeros(80, dtype="<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, 8000, 32000, 4, 32)  # WAVE_FORMAT_IEEE_FLOAT
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(data)) + data
    path = tmp_path / "float.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    with pytest.raises(AudioFormatError, match="not a PCM WAV file .*convert it to 16-bit PCM"):
        load_wav(path)


def test_load_wav_refuses_non_wav(tmp_path: Path) -> None:
    path = tmp_path / "prompt.mp3"
    path.write_bytes(b"ID3\x04\x00" + b"\x00" * 100)
    with pytest.raises(AudioFormatError, match="prompt.mp3: not a PCM WAV file"):
        load_wav(path)
