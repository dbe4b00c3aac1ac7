"""G.711 PCMU (u-law) and PCMA (A-law) with numpy lookup tables.

The tables reproduce, bit for bit, the ITU-T G.191 Software Tool Library reference
(``ulaw_compress``/``ulaw_expand``, ``alaw_compress``/``alaw_expand`` in ``g711.c``), which is
the normative companding of ITU-T G.711 Tables 1a/2a applied to 16-bit left-justified samples:

* A-law keeps the 12 most significant bits (one's complement for negative samples), finds the
  segment of the leading one, keeps four mantissa bits and toggles the even bits (XOR 0x55).
* u-law keeps the 14 most significant bits, adds the bias 33, clips at 0x1FFF, finds the
  segment and complements the code word.

Decoding indexes a 256-entry table by the code; encoding indexes a 65536-entry table by the
int16 sample viewed as uint16. The tables are built once, vectorized, at import.

Static RTP payload types: PCMU is 0 and PCMA is 8 (RFC 3551 s6, Table 4), both 8000 Hz.
"""

from __future__ import annotations

from typing import ClassVar, TypeVar

import numpy as np
from numpy.typing import NDArray

from dialer.codecs.base import Codec, as_pcm16

__all__ = [
    "ALAW_DECODE",
    "ALAW_ENCODE",
    "ULAW_DECODE",
    "ULAW_ENCODE",
    "PcmaCodec",
    "PcmuCodec",
]

_ULAW_BIAS = 33  # G.191 ulaw_compress: difference between the A-law and u-law thresholds
_ULAW_CLIP = 0x1FFF  # largest biased 14-bit magnitude
_ALAW_SEGMENT_STARTS = np.array([16, 32, 64, 128, 256, 512, 1024], dtype=np.int32)
_ULAW_SEGMENT_STARTS = np.array([64, 128, 256, 512, 1024, 2048, 4096], dtype=np.int32)


def _all_int16_by_uint16_index() -> NDArray[np.int32]:
    """Every int16 value, placed at the index of its uint16 bit pattern."""
    return np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.int16).astype(np.int32)


_Scalar = TypeVar("_Scalar", bound=np.generic)


def _frozen(table: NDArray[_Scalar]) -> NDArray[_Scalar]:
    table.flags.writeable = False
    return table


def _build_alaw_encode() -> NDArray[np.uint8]:
    x = _all_int16_by_uint16_index()
    ix = np.where(x < 0, ~x, x) >> 4  # 12-bit magnitude, 0..2047
    exponent = np.searchsorted(_ALAW_SEGMENT_STARTS, ix, side="right").astype(np.int32)
    mantissa = np.where(exponent == 0, ix, (ix >> np.maximum(exponent - 1, 0)) & 0x0F)
    code = (exponent << 4) | mantissa
    code = np.where(x >= 0, code | 0x80, code) ^ 0x55
    return _frozen(code.astype(np.uint8))


def _build_alaw_decode() -> NDArray[np.int16]:
    code = np.arange(256, dtype=np.int32)
    ix = (code ^ 0x55) & 0x7F
    exponent = ix >> 4
    mantissa = ix & 0x0F
    mantissa = np.where(exponent > 0, mantissa + 16, mantissa)
    mantissa = (mantissa << 4) + 8  # left-justify and add half a quantization step
    mantissa = np.where(exponent > 1, mantissa << np.maximum(exponent - 1, 0), mantissa)
    return _frozen(np.where(code > 127, mantissa, -mantissa).astype(np.int16))


def _build_ulaw_encode() -> NDArray[np.uint8]:
    x = _all_int16_by_uint16_index()
    absno = np.minimum((np.where(x < 0, ~x, x) >> 2) + _ULAW_BIAS, _ULAW_CLIP)
    segment = np.searchsorted(_ULAW_SEGMENT_STARTS, absno, side="right").astype(np.int32) + 1
    high = 8 - segment
    low = 0x0F - ((absno >> segment) & 0x0F)
    code = (high << 4) | low
    return _frozen(np.where(x >= 0, code | 0x80, code).astype(np.uint8))


def _build_ulaw_decode() -> NDArray[np.int16]:
    code = np.arange(256, dtype=np.int32)
    sign = np.where(code < 0x80, -1, 1)
    complement = ~code
    exponent = (complement >> 4) & 0x07
    mantissa = complement & 0x0F
    step = 4 << (exponent + 1)
    magnitude = (0x80 << exponent) + step * mantissa + step // 2 - 4 * _ULAW_BIAS
    return _frozen((sign * magnitude).astype(np.int16))


ALAW_ENCODE: NDArray[np.uint8] = _build_alaw_encode()
"""A-law code for each int16 sample, indexed by the sample's uint16 bit pattern."""
ALAW_DECODE: NDArray[np.int16] = _build_alaw_decode()
"""Linear int16 value of each of the 256 A-law codes."""
ULAW_ENCODE: NDArray[np.uint8] = _build_ulaw_encode()
"""u-law code for each int16 sample, indexed by the sample's uint16 bit pattern."""
ULAW_DECODE: NDArray[np.int16] = _build_ulaw_decode()
"""Linear int16 value of each of the 256 u-law codes."""


class _G711Codec(Codec):
    _encode_table: ClassVar[NDArray[np.uint8]]
    _decode_table: ClassVar[NDArray[np.int16]]

    def encode(self, pcm: NDArray[np.int16]) -> bytes:
        samples = as_pcm16(pcm, self.name)
        return self._encode_table[samples.view(np.uint16)].tobytes()

    def decode(self, payload: bytes) -> NDArray[np.int16]:
        codes = np.frombuffer(payload, dtype=np.uint8)
        return self._decode_table[codes]


class PcmuCodec(_G711Codec):
    """G.711 u-law, RTP payload type 0 (RFC 3551 s4.5.14)."""

    name: ClassVar[str] = "PCMU"
    payload_type: ClassVar[int] = 0
    _encode_table = ULAW_ENCODE
    _decode_table = ULAW_DECODE


class PcmaCodec(_G711Codec):
    """G.711 A-law, RTP payload type 8 (RFC 3551 s4.5.14)."""

    name: ClassVar[str] = "PCMA"
    payload_type: ClassVar[int] = 8
    _encode_table = ALAW_ENCODE
    _decode_table = ALAW_DECODE
