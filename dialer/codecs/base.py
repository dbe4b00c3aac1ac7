"""The codec interface every audio codec implements, and lookup by SDP encoding name.

A codec is stateless here (G.711 is sample-by-sample): ``encode`` turns 16-bit linear PCM into
an RTP payload and ``decode`` turns a payload back into PCM. Payload type numbers are the static
assignments of RFC 3551 s6 (Table 4); dynamic numbers come from SDP and are the RTP session's
business, not the codec's.

Errors::

    DialerError
    └── CodecError (ValueError)          bad input to encode/decode
        └── UnknownCodecError (LookupError)   no codec for an SDP encoding name
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from dialer.errors import DialerError

__all__ = ["Codec", "CodecError", "UnknownCodecError", "codec_by_name", "as_pcm16"]


class CodecError(DialerError, ValueError):
    """Samples or payload a codec cannot handle (wrong dtype, wrong shape)."""


class UnknownCodecError(CodecError, LookupError):
    """No codec implements the requested SDP encoding name."""


class Codec(ABC):
    """One audio codec: SDP ``name``, static ``payload_type`` (RFC 3551 s6), ``clock_rate``."""

    name: ClassVar[str]
    payload_type: ClassVar[int]
    clock_rate: ClassVar[int] = 8000

    @abstractmethod
    def encode(self, pcm: NDArray[np.int16]) -> bytes:
        """Encode mono int16 samples into one RTP payload."""

    @abstractmethod
    def decode(self, payload: bytes) -> NDArray[np.int16]:
        """Decode one RTP payload into mono int16 samples."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, payload_type={self.payload_type})"


def as_pcm16(pcm: NDArray[np.int16], codec_name: str) -> NDArray[np.int16]:
    """Check that ``pcm`` is a 1-D int16 array and return it C-contiguous."""
    array = np.asarray(pcm)
    if array.dtype != np.int16:
        raise CodecError(f"{codec_name} encodes int16 samples, got dtype {array.dtype}")
    if array.ndim != 1:
        raise CodecError(f"{codec_name} encodes mono (1-D) samples, got shape {array.shape}")
    return np.ascontiguousarray(array)


def codec_by_name(name: str) -> Codec:
    """Return the codec for an SDP encoding name (``a=rtpmap`` names are case-insensitive,
    RFC 4855 s3), e.g. ``"PCMU"`` or ``"pcma"``.

    Raises :class:`UnknownCodecError` for a name no codec implements.
    """
    # Imported here because the codec modules import this one for the base class.
    from dialer.codecs.g711 import PcmaCodec, PcmuCodec

    codecs: dict[str, type[Codec]] = {cls.name.upper(): cls for cls in (PcmuCodec, PcmaCodec)}
    try:
        return codecs[name.strip().upper()]()
    except KeyError:
        known = ", ".join(sorted(codecs))
        raise UnknownCodecError(f"no codec named {name!r} (supported: {known})") from None
