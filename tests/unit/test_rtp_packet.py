"""RTP packet parsing and serialization (RFC 3550 s5.1), byte for byte."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.rtp.packet import HeaderExtension, RtpError, RtpPacket

# A PCMU packet as a SIP phone sends it: first packet of the stream (marker), PT 0,
# seq 0x3e8a, timestamp 0xa0, SSRC 0x5f3b2e11, 160 bytes of u-law silence.
PCMU_FIRST = bytes.fromhex("80803e8a000000a05f3b2e11") + b"\xff" * 160

# RFC 4733 telephone-event, PT 101 with marker: digit 1, volume 10, duration 160.
DTMF_START = bytes.fromhex("80e53e8b000001405f3b2e11" "010a00a0")

# Audio from a conference mixer: PCMA (PT 8), two contributing sources.
PCMA_MIXED = (
    bytes.fromhex("820804d2" "0001e240" "cafebabe" "00000001" "00000002") + b"\xd5" * 80
)

# WebRTC-style Opus packet with a one-byte-header extension (RFC 8285, profile 0xBEDE):
# one word holding the audio-level element (ID 1, length 1, value 0x7f) and padding.
OPUS_WITH_EXTENSION = (
    bytes.fromhex("906f1a2b" "00112233" "01020304" "bede0001" "107f0000") + b"\xfc\xff\xfe"
)

# SRTP-style padded packet: 4-byte payload followed by 4 padding octets (count 4).
PADDED = bytes.fromhex("a0001000" "00000320" "00000099" "deadbeef" "00000004")


def test_parse_pcmu_packet() -> None:
    packet = RtpPacket.parse(PCMU_FIRST)
    assert packet == RtpPacket(
        payload_type=0,
        sequence_number=0x3E8A,
        timestamp=0xA0,
        ssrc=0x5F3B2E11,
        payload=b"\xff" * 160,
        marker=True,
    )
    assert bytes(packet) == PCMU_FIRST


def test_parse_telephone_event_packet() -> None:
    packet = RtpPacket.parse(DTMF_START)
    assert (packet.payload_type, packet.marker, packet.timestamp) == (101, True, 0x140)
    assert packet.payload == bytes.fromhex("010a00a0")
    assert bytes(packet) == DTMF_START


def test_parse_csrc_list() -> None:
    packet = RtpPacket.parse(PCMA_MIXED)
    assert packet.csrc == (1, 2)
    assert packet.payload_type == 8 and not packet.marker
    assert (packet.sequence_number, packet.timestamp, packet.ssrc) == (1234, 123456, 0xCAFEBABE)
    assert packet.payload == b"\xd5" * 80
    assert bytes(packet) == PCMA_MIXED


def test_parse_header_extension_is_kept() -> None:
    packet = RtpPacket.parse(OPUS_WITH_EXTENSION)
    assert packet.extension == HeaderExtension(0xBEDE, bytes.fromhex("107f0000"))
    assert packet.payload == b"\xfc\xff\xfe"
    assert bytes(packet) == OPUS_WITH_EXTENSION


def test_parse_padding() -> None:
    packet = RtpPacket.parse(PADDED)
    assert packet.padding == 4
    assert packet.payload == bytes.fromhex("deadbeef")
    assert bytes(packet) == PADDED


def test_padding_octets_before_the_count_are_not_kept() -> None:
    packet = RtpPacket.parse(PADDED[:-4] + bytes.fromhex("aabbcc04"))
    assert packet == RtpPacket.parse(PADDED)


def test_empty_payload_is_valid() -> None:
    packet = RtpPacket.parse(PCMU_FIRST[:12])
    assert packet.payload == b""


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "too short: 0 bytes, the fixed header needs 12"),
        (PCMU_FIRST[:11], "too short: 11 bytes"),
        (b"\x40" + PCMU_FIRST[1:], "unsupported RTP version 1, expected 2"),
        (b"\x00" + PCMU_FIRST[1:], "unsupported RTP version 0"),
        (b"\x83" + PCMU_FIRST[1:12] + b"\x00" * 8, "CSRC count 3 needs a 24-byte header"),
        (b"\xa0" + PCMU_FIRST[1:12], "padding bit set but no byte follows the header"),
        (b"\xa0" + PCMU_FIRST[1:12] + b"\x01\x00", "padding length 0 is invalid"),
        (b"\xa0" + PCMU_FIRST[1:12] + b"\x01\x05", "padding length 5 exceeds the 2 bytes"),
        (b"\x90" + PCMU_FIRST[1:12] + b"\xbe\xde", "header extension at byte 12 needs 4 bytes"),
        (
            b"\x90" + PCMU_FIRST[1:12] + b"\xbe\xde\x00\x02" + b"\x00" * 4,
            "header extension length 2 words ends at byte 24, beyond the 20-byte packet",
        ),
    ],
)
def test_parse_errors_are_precise(data: bytes, message: str) -> None:
    with pytest.raises(RtpError, match=message):
        RtpPacket.parse(data)


def test_rtp_error_is_a_value_error() -> None:
    assert issubclass(RtpError, ValueError)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("payload_type", 128),
        ("sequence_number", 65536),
        ("timestamp", -1),
        ("ssrc", 1 << 32),
        ("padding", 256),
        ("csrc", tuple(range(16))),
    ],
)
def test_constructor_rejects_out_of_range_fields(field: str, value: object) -> None:
    fields: dict[str, object] = {"payload_type": 0, "sequence_number": 0, "timestamp": 0, "ssrc": 0}
    fields[field] = value
    with pytest.raises(RtpError):
        RtpPacket(**fields)  # type: ignore[arg-type]


def test_extension_data_must_be_word_aligned() -> None:
    with pytest.raises(RtpError, match="not a multiple of 4"):
        HeaderExtension(0xBEDE, b"\x10\x7f")


# ---------------------------------------------------------------- properties

u32 = st.integers(0, 0xFFFFFFFF)
extensions = st.one_of(
    st.none(),
    st.builds(
        HeaderExtension,
        profile=st.integers(0, 0xFFFF),
        data=st.binary(max_size=16).map(lambda b: b + bytes(-len(b) % 4)),
    ),
)
packets = st.builds(
    RtpPacket,
    payload_type=st.integers(0, 127),
    sequence_number=st.integers(0, 0xFFFF),
    timestamp=u32,
    ssrc=u32,
    payload=st.binary(max_size=64),
    marker=st.booleans(),
    csrc=st.lists(u32, max_size=15).map(tuple),
    extension=extensions,
    padding=st.integers(0, 255),
)


@given(packets)
def test_parse_of_serialized_packet_is_identity(packet: RtpPacket) -> None:
    assert RtpPacket.parse(bytes(packet)) == packet


@given(st.binary(max_size=80))
def test_parse_raises_only_rtp_error(data: bytes) -> None:
    try:
        packet = RtpPacket.parse(data)
    except RtpError:
        return
    # Whatever parses reaches a fixed point after one serialization.
    assert RtpPacket.parse(bytes(packet)) == packet


@given(st.binary(min_size=12, max_size=80))
def test_parse_raises_only_rtp_error_on_version_2_headers(data: bytes) -> None:
    data = bytes([0x80 | (data[0] & 0x3F)]) + data[1:]
    try:
        packet = RtpPacket.parse(data)
    except RtpError:
        return
    assert RtpPacket.parse(bytes(packet)) == packet
