"""RTP media for one call, without I/O (the UDP socket lives in the transport layer).

Modules, lowest layer first:

* :mod:`dialer.rtp.packet`  RTP packets (RFC 3550 s5.1), ``RtpPacket.parse``/``bytes()``
* :mod:`dialer.rtp.dtmf`    RFC 4733 telephone-events: payload, receiver, sender
* :mod:`dialer.rtp.jitter`  receive reorder buffer (RFC 3550 A.1 sequence extension)
* :mod:`dialer.rtp.session` one call's media: 20 ms ticks out, typed events in
* :mod:`dialer.rtp.audio`   WAV prompts to 8 kHz mono int16

Errors (all under :class:`dialer.errors.DialerError`, all ``ValueError``)::

    RtpError             a datagram is not a valid RTP packet
    DtmfError            a digit/duration/volume that cannot be sent
    └── TelephoneEventError   a malformed telephone-event payload
    AudioFormatError     a prompt file that is not PCM WAV
    CodecError           (dialer.codecs) samples a codec cannot encode
"""
