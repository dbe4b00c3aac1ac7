"""The dialer's exception tree.

Protocol errors carry a SIP status hint (the response a server should send for them);
everything that reaches a campaign manager is translated once, at the call boundary, into
:class:`callbot.outcomes.CallOutcome` values with a message a person can act on.

    DialerError
    ├── SipParseError          a message, header or URI from the network is malformed
    ├── AuthError              a digest challenge or response is malformed or unsupported (sip.auth)
    ├── SdpError               an SDP body is malformed (sdp), naming the line
    │   └── SdpNegotiationError    offer and answer share no usable audio stream
    ├── RtpError               an RTP packet is malformed (rtp.packet)
    ├── DtmfError              a telephone-event payload is malformed (rtp.dtmf)
    ├── CodecError             an unknown codec or bad audio for it (codecs)
    ├── AudioFormatError       an audio file we cannot play (rtp.audio)
    ├── SignalError            bad samples, keys or tone parameters (dsp)
    ├── TransportError         a socket could not be opened or a datagram not sent
    └── ConfigError            the dialer was configured with something it cannot use
"""

from __future__ import annotations


class DialerError(Exception):
    """Base of every error raised by the dialer package."""


class SipParseError(DialerError, ValueError):
    """A SIP message, header or URI is malformed.

    ``status_hint`` is the response a server answers such a request with (RFC 3261 s21.4.1:
    400 Bad Request for syntax, 416 for an unsupported URI scheme, 505 for a version).
    """

    def __init__(self, message: str, status_hint: int = 400) -> None:
        super().__init__(message)
        self.status_hint = status_hint


class TransportError(DialerError, OSError):
    """The network layer failed: a socket could not be bound or a datagram not sent."""


class ConfigError(DialerError, ValueError):
    """The dialer was given a setting it cannot use (bad trunk address, bad port...)."""
