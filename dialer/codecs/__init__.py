"""Audio codecs behind one small interface (:class:`dialer.codecs.base.Codec`)."""

from dialer.codecs.base import Codec, CodecError, UnknownCodecError, codec_by_name
from dialer.codecs.g711 import PcmaCodec, PcmuCodec

__all__ = ["Codec", "CodecError", "PcmaCodec", "PcmuCodec", "UnknownCodecError", "codec_by_name"]
