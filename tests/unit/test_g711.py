"""G.711 tables against scalar re-implementations of the reference C code.

Two references are written out below as plain Python, one sample at a time:

* the ITU-T G.191 Software Tool Library ``g711.c`` (``alaw_compress``/``alaw_expand``,
  ``ulaw_compress``/``ulaw_expand``), which is normative;
* the classic Sun ``g711.c`` as corrected in 1994 (``linear2alaw``/``alaw2linear``,
  ``ulaw2linear``) with its ``search()`` over segment end points. Its ``linear2ulaw`` negates
  negative samples instead of taking the one's complement, so it differs from G.191 on 508
  negative inputs at quantization boundaries; it is deliberately not used as a reference.
"""

from __future__ import annotations

import numpy as np
import pytest

from dialer.codecs import CodecError, PcmaCodec, PcmuCodec, UnknownCodecError, codec_by_name
from dialer.codecs.g711 import ALAW_DECODE, ALAW_ENCODE, ULAW_DECODE, ULAW_ENCODE

# ---------------------------------------------------------------- G.191 STL g711.c, scalar


def g191_alaw_compress(sample: int) -> int:
    ix = (~sample) >> 4 if sample < 0 else sample >> 4
    if ix > 15:
        iexp = 1
        while ix > 16 + 15:
            ix >>= 1
            iexp += 1
        ix -= 16
        ix += iexp << 4
    if sample >= 0:
        ix |= 0x0080
    return (ix ^ 0x0055) & 0xFF


def g191_alaw_expand(code: int) -> int:
    ix = (code ^ 0x0055) & 0x007F
    iexp = ix >> 4
    mant = ix & 0x000F
    if iexp > 0:
        mant = mant + 16
    mant = (mant << 4) + 0x0008
    if iexp > 1:
        mant = mant << (iexp - 1)
    return mant if code > 127 else -mant


def g191_ulaw_compress(sample: int) -> int:
    absno = ((~sample) >> 2) + 33 if sample < 0 else (sample >> 2) + 33
    if absno > 0x1FFF:
        absno = 0x1FFF
    i = absno >> 6
    segno = 1
    while i != 0:
        segno += 1
        i >>= 1
    high_nibble = 0x0008 - segno
    low_nibble = 0x000F - ((absno >> segno) & 0x000F)
    code = (high_nibble << 4) | low_nibble
    if sample >= 0:
        code |= 0x0080
    return code


def g191_ulaw_expand(code: int) -> int:
    sign = -1 if code < 0x0080 else 1
    mantissa = ~code
    exponent = (mantissa >> 4) & 0x0007
    segment = exponent + 1
    mantissa = mantissa & 0x000F
    step = 4 << segment
    return sign * ((0x0080 << exponent) + step * mantissa + step // 2 - 4 * 33)


# ---------------------------------------------------------------- Sun g711.c (1994), scalar

SEG_AEND = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)


def sun_search(value: int, table: tuple[int, ...]) -> int:
    for i, end in enumerate(table):
        if value <= end:
            return i
    return len(table)


def sun_linear2alaw(pcm_val: int) -> int:
    pcm_val >>= 3
    if pcm_val >= 0:
        mask = 0xD5
    else:
        mask = 0x55
        pcm_val = -pcm_val - 1
    seg = sun_search(pcm_val, SEG_AEND)
    if seg >= 8:
        return 0x7F ^ mask
    aval = seg << 4
    aval |= (pcm_val >> 1) & 0xF if seg < 2 else (pcm_val >> seg) & 0xF
    return aval ^ mask


def sun_alaw2linear(a_val: int) -> int:
    a_val ^= 0x55
    t = (a_val & 0xF) << 4
    seg = (a_val & 0x70) >> 4
    if seg == 0:
        t += 8
    elif seg == 1:
        t += 0x108
    else:
        t += 0x108
        t <<= seg - 1
    return t if a_val & 0x80 else -t


def sun_ulaw2linear(u_val: int) -> int:
    u_val = ~u_val & 0xFF
    t = ((u_val & 0xF) << 3) + 0x84
    t <<= (u_val & 0x70) >> 4
    return (0x84 - t) if u_val & 0x80 else (t - 0x84)


ALL_CODES = range(256)
ALL_SAMPLES = range(-32768, 32768)


# ---------------------------------------------------------------- decode: all 256 codes


def test_ulaw_decode_table_matches_g191_for_all_codes() -> None:
    assert [int(v) for v in ULAW_DECODE] == [g191_ulaw_expand(c) for c in ALL_CODES]


def test_alaw_decode_table_matches_g191_for_all_codes() -> None:
    assert [int(v) for v in ALAW_DECODE] == [g191_alaw_expand(c) for c in ALL_CODES]


def test_decode_tables_match_sun_reference_for_all_codes() -> None:
    assert [int(v) for v in ULAW_DECODE] == [sun_ulaw2linear(c) for c in ALL_CODES]
    assert [int(v) for v in ALAW_DECODE] == [sun_alaw2linear(c) for c in ALL_CODES]


def test_codec_decode_uses_the_tables() -> None:
    payload = bytes(ALL_CODES)
    assert PcmuCodec().decode(payload).tolist() == [g191_ulaw_expand(c) for c in ALL_CODES]
    assert PcmaCodec().decode(payload).tolist() == [g191_alaw_expand(c) for c in ALL_CODES]


# ---------------------------------------------------------------- encode: every 16-bit input


def _all_samples() -> np.ndarray:
    return np.arange(-32768, 32768, dtype=np.int32).astype(np.int16)


def test_ulaw_encode_matches_g191_for_every_16_bit_input() -> None:
    expected = bytes(g191_ulaw_compress(s) for s in ALL_SAMPLES)
    assert PcmuCodec().encode(_all_samples()) == expected
    assert bytes(ULAW_ENCODE[s & 0xFFFF] for s in ALL_SAMPLES) == expected


def test_alaw_encode_matches_g191_for_every_16_bit_input() -> None:
    expected = bytes(g191_alaw_compress(s) for s in ALL_SAMPLES)
    assert PcmaCodec().encode(_all_samples()) == expected
    assert bytes(ALAW_ENCODE[s & 0xFFFF] for s in ALL_SAMPLES) == expected


def test_alaw_encode_matches_sun_segment_search_for_every_16_bit_input() -> None:
    expected = bytes(sun_linear2alaw(s) for s in ALL_SAMPLES)
    assert PcmaCodec().encode(_all_samples()) == expected


# ---------------------------------------------------------------- known values


@pytest.mark.parametrize(
    ("code", "linear"), [(0xFF, 0), (0x7F, 0), (0x00, -32124), (0x80, 32124), (0xFE, 8), (0x7E, -8)]
)
def test_ulaw_known_values(code: int, linear: int) -> None:
    assert PcmuCodec().decode(bytes([code])).tolist() == [linear]


@pytest.mark.parametrize(
    ("code", "linear"), [(0xD5, 8), (0x55, -8), (0xAA, 32256), (0x2A, -32256)]
)
def test_alaw_known_values(code: int, linear: int) -> None:
    assert PcmaCodec().decode(bytes([code])).tolist() == [linear]


def test_silence_encodes_to_the_idle_codes() -> None:
    zeros = np.zeros(160, dtype=np.int16)
    assert PcmuCodec().encode(zeros) == b"\xff" * 160
    assert PcmaCodec().encode(zeros) == b"\xd5" * 160


def test_decode_then_encode_is_identity_on_codes() -> None:
    # Every code decodes to a value that encodes back to the same code, except u-law's
    # negative zero 0x7F, which decodes to 0 like 0xFF and so re-encodes as 0xFF.
    codes = bytes(ALL_CODES)
    ulaw = PcmuCodec()
    alaw = PcmaCodec()
    round_trip = ulaw.encode(ulaw.decode(codes))
    assert [c for c in ALL_CODES if round_trip[c] != c] == [0x7F]
    assert alaw.encode(alaw.decode(codes)) == codes


def test_encode_accepts_non_contiguous_views() -> None:
    samples = np.arange(-1000, 1000, 7, dtype=np.int16)
    assert PcmuCodec().encode(samples[::2]) == PcmuCodec().encode(samples[::2].copy())


# ---------------------------------------------------------------- interface


def test_codec_attributes() -> None:
    assert (PcmuCodec.name, PcmuCodec.payload_type, PcmuCodec.clock_rate) == ("PCMU", 0, 8000)
    assert (PcmaCodec.name, PcmaCodec.payload_type, PcmaCodec.clock_rate) == ("PCMA", 8, 8000)


def test_codec_by_name_is_case_insensitive() -> None:
    assert isinstance(codec_by_name("pcmu"), PcmuCodec)
    assert isinstance(codec_by_name("PCMA"), PcmaCodec)


def test_codec_by_name_unknown() -> None:
    with pytest.raises(UnknownCodecError, match="no codec named 'opus'"):
        codec_by_name("opus")


def test_encode_rejects_wrong_dtype_and_shape() -> None:
    with pytest.raises(CodecError, match="int16"):
        PcmuCodec().encode(np.zeros(160, dtype=np.float32))
    with pytest.raises(CodecError, match="1-D"):
        PcmaCodec().encode(np.zeros((2, 160), dtype=np.int16))
