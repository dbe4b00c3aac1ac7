"""SDP errors (RFC 4566, RFC 3264).

Errors::

    SdpError (dialer.errors.DialerError, ValueError)   malformed SDP; names the line
    └── SdpNegotiationError                            well-formed, but no usable audio stream
"""

from __future__ import annotations

from dialer.errors import DialerError


class SdpError(DialerError, ValueError):
    """A session description is malformed. ``line_number`` (1-based) and ``line`` say where."""

    def __init__(
        self, message: str, line_number: int | None = None, line: str | None = None
    ) -> None:
        if line_number is not None:
            shown = line if line is None or len(line) <= 80 else line[:77] + "..."
            message = f"SDP line {line_number} ({shown!r}): {message}"
        super().__init__(message)
        self.line_number = line_number
        self.line = line


class SdpNegotiationError(SdpError):
    """Offer and answer are well-formed but give no audio stream we can use (RFC 3264 s6, s7).

    The message says what the remote party did, for a person to act on.
    """
