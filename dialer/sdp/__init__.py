"""SDP session descriptions (RFC 4566) and the offer/answer model (RFC 3264) for audio calls.

Pure values, no I/O. :func:`parse` turns a body into a :class:`SessionDescription` and
``str()`` gives it back; the dialer offers with :func:`build_offer` and reads the answer with
:func:`negotiate_answer`; a simulated callee answers with :func:`build_answer`.

Modules:

* :mod:`.errors`: the exception tree below.
* :mod:`.lines`: typed lines: :class:`Origin`, :class:`Connection`, :class:`Attribute`,
  :class:`RtpMap` and the RFC 3551 static payload types.
* :mod:`.description`: :class:`MediaDescription`, :class:`SessionDescription`, :func:`parse`.
* :mod:`.offer_answer`: :func:`build_offer`, :func:`build_answer`, :func:`negotiate_answer`,
  :class:`NegotiatedMedia`.

Errors::

    SdpError (dialer.errors.DialerError, ValueError)   malformed SDP; names the line
    └── SdpNegotiationError                            well-formed, but no usable audio stream
"""

from dialer.sdp.description import MediaDescription, SessionDescription, parse
from dialer.sdp.errors import SdpError, SdpNegotiationError
from dialer.sdp.lines import (
    DEFAULT_PTIME,
    DIRECTIONS,
    STATIC_PAYLOAD_TYPES,
    Attribute,
    Connection,
    Direction,
    Origin,
    RtpMap,
)
from dialer.sdp.offer_answer import NegotiatedMedia, build_answer, build_offer, negotiate_answer

__all__ = [
    "DEFAULT_PTIME",
    "DIRECTIONS",
    "STATIC_PAYLOAD_TYPES",
    "Attribute",
    "Connection",
    "Direction",
    "MediaDescription",
    "NegotiatedMedia",
    "Origin",
    "RtpMap",
    "SdpError",
    "SdpNegotiationError",
    "SessionDescription",
    "build_answer",
    "build_offer",
    "negotiate_answer",
    "parse",
]
