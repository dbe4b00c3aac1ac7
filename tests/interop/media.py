"""Media helpers for the interop tests: pcap reading, RFC 4733 digit decoding, WAV files.

These read what the peers send or will send, independently of our dialer, so that a test can
assert exact digits ("the digits inside the pcaps the scenario plays") and real audio.
"""

from __future__ import annotations

import re
import shutil
import socket
import struct
import subprocess
import threading
import wave
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: RFC 4733 section 3.2: events 0-9, then "*" (10), "#" (11), "A"-"D" (12-15).
DTMF_EVENT_CHARS = "0123456789*#ABCD"

_PCAP_MAGIC = {
    b"\xd4\xc3\xb2\xa1": "<",  # microsecond, little endian
    b"\xa1\xb2\xc3\xd4": ">",
    b"\x4d\x3c\xb2\xa1": "<",  # nanosecond variants
    b"\xa1\xb2\x3c\x4d": ">",
}
_LINKTYPE_ETHERNET = 1
_LINKTYPE_LINUX_SLL = 113
_LINKTYPE_RAW = 101


@dataclass(frozen=True)
class RtpPacket:
    """The RTP fixed header fields the tests look at (RFC 3550 section 5.1)."""

    payload_type: int
    marker: bool
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        if len(data) < 12 or data[0] >> 6 != 2:
            raise ValueError(f"not an RTP version 2 packet ({len(data)} bytes)")
        csrc_count = data[0] & 0x0F
        header_len = 12 + 4 * csrc_count
        if data[0] & 0x10:  # header extension, RFC 3550 section 5.3.1
            (ext_words,) = struct.unpack_from(">H", data, header_len + 2)
            header_len += 4 + 4 * ext_words
        sequence, timestamp, ssrc = struct.unpack_from(">HII", data, 2)
        end = len(data)
        if data[0] & 0x20:  # padding: last octet counts the padding octets
            end -= data[-1]
        return cls(
            payload_type=data[1] & 0x7F,
            marker=bool(data[1] & 0x80),
            sequence=sequence,
            timestamp=timestamp,
            ssrc=ssrc,
            payload=data[header_len:end],
        )


def read_pcap_udp_payloads(path: Path) -> list[bytes]:
    """UDP payloads of every IPv4 packet in a classic libpcap file, in capture order."""
    data = path.read_bytes()
    endian = _PCAP_MAGIC.get(data[:4])
    if endian is None:
        raise ValueError(f"{path}: not a libpcap file")
    (linktype,) = struct.unpack_from(endian + "I", data, 20)
    link_header = {_LINKTYPE_ETHERNET: 14, _LINKTYPE_LINUX_SLL: 16, _LINKTYPE_RAW: 0}.get(linktype)
    if link_header is None:
        raise ValueError(f"{path}: unsupported link type {linktype}")
    payloads: list[bytes] = []
    offset = 24
    while offset + 16 <= len(data):
        _, _, captured, _ = struct.unpack_from(endian + "IIII", data, offset)
        frame = data[offset + 16 : offset + 16 + captured]
        offset += 16 + captured
        ip = frame[link_header:]
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:  # IPv4 carrying UDP
            continue
        udp = ip[(ip[0] & 0x0F) * 4 :]
        payloads.append(udp[8:])
    return payloads


def rfc4733_digits(packets: Iterable[RtpPacket], payload_type: int = 101) -> str:
    """Digits carried by telephone-event packets, each event counted once.

    RFC 4733 section 2.5.1: all packets of one event share its RTP timestamp; the end bit is
    set on the last (usually three redundant) packets. An event is identified by (SSRC,
    timestamp); digits are ordered by the first sequence number seen for each event.
    """
    first_seen: dict[tuple[int, int], tuple[int, int]] = {}
    for index, packet in enumerate(packets):
        if packet.payload_type != payload_type or len(packet.payload) < 4:
            continue
        key = (packet.ssrc, packet.timestamp)
        if key not in first_seen:
            first_seen[key] = (index, packet.payload[0])
    ordered = sorted(first_seen.values())
    return "".join(DTMF_EVENT_CHARS[event] for _, event in ordered if event < 16)


def pcap_digits(path: Path) -> str:
    """The RFC 4733 digits inside one of the pcaps sipp ships (e.g. dtmf_2833_1.pcap)."""
    return rfc4733_digits(RtpPacket.parse(p) for p in read_pcap_udp_payloads(path))


def scenario_pcaps(scenario: Path) -> list[str]:
    """File names given to play_pcap_audio in a sipp scenario, in scenario order."""
    return re.findall(r'play_pcap_audio="([^"]+)"', scenario.read_text(encoding="latin-1"))


def make_speech_wav(path: Path, text: str, *, pad_seconds: float) -> Path:
    """Render text with espeak-ng into an 8 kHz mono 16-bit WAV, padded with silence.

    baresip's aufile source ends the call at end of file, so prompts are padded to outlast
    the call (evaluation note).
    """
    espeak = shutil.which("espeak-ng")
    sox = shutil.which("sox")
    if espeak is None or sox is None:
        raise FileNotFoundError("espeak-ng and sox are needed to render test prompts")
    raw = path.with_suffix(".espeak.wav")
    subprocess.run([espeak, "-w", str(raw), text], check=True, capture_output=True, timeout=30)
    subprocess.run(
        [sox, str(raw), "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", str(path),
         "pad", "0", f"{pad_seconds:g}"],
        check=True, capture_output=True, timeout=30,
    )
    raw.unlink()
    return path


def wav_samples(path: Path) -> np.ndarray:
    """16-bit mono samples of a WAV file (first channel if there are more)."""
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise ValueError(f"{path}: expected 16-bit samples, got {8 * wav.getsampwidth()}-bit")
        frames = wav.readframes(wav.getnframes())
        channels = wav.getnchannels()
    samples = np.frombuffer(frames, dtype="<i2")
    return samples[::channels] if channels > 1 else samples


def wav_rms(path: Path) -> float:
    """Root mean square level of a WAV file (0 for an empty file)."""
    samples = wav_samples(path).astype(np.float64)
    return float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0


def ulaw_rms(payloads: Iterable[bytes]) -> float:
    """RMS level of G.711 u-law payloads (ITU-T G.711 expansion), for checking real audio."""
    codes = np.frombuffer(b"".join(payloads), dtype=np.uint8)
    if codes.size == 0:
        return 0.0
    inverted = ~codes
    sign = inverted & 0x80
    exponent = (inverted >> 4) & 0x07
    mantissa = inverted & 0x0F
    magnitude = ((mantissa.astype(np.int32) << 3) + 0x84) << exponent
    linear = np.where(sign != 0, 0x84 - magnitude, magnitude - 0x84).astype(np.float64)
    return float(np.sqrt(np.mean(linear**2)))


class RtpSink:
    """A UDP socket on loopback that collects RTP packets in a background thread.

    Used as a context manager around a peer self-check: the SDP of a sipp caller points at
    `port`, and the packets the peer sends land in `packets`.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((host, 0))
        self._sock.settimeout(0.1)
        self.port: int = self._sock.getsockname()[1]
        self._packets: list[RtpPacket] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"rtp-sink-{self.port}", daemon=True)

    def __enter__(self) -> RtpSink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    @property
    def packets(self) -> list[RtpPacket]:
        with self._lock:
            return list(self._packets)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                packet = RtpPacket.parse(data)
            except ValueError:
                continue
            with self._lock:
                self._packets.append(packet)
