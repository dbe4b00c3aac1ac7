"""What the transaction layer hands out (RFC 3261 s17): datagrams to send and the events the
transaction user (TU) is told about."""

from __future__ import annotations

from dataclasses import dataclass

from dialer.sip.message import Request, Response

Addr = tuple[str, int]


@dataclass(frozen=True)
class Outgoing:
    """One datagram to send."""

    data: bytes
    addr: Addr


@dataclass(frozen=True)
class ResponseReceived:
    """A 1xx or final response for a client transaction. In the client INVITE Accepted state
    (RFC 6026 s8.4) every 2xx retransmission is delivered too, so the TU can re-send its ACK."""

    key: str
    response: Response


@dataclass(frozen=True)
class TransactionTimeout:
    """Timer B or F fired (no final response, s17.1.1.2 / s17.1.2.2), or Timer H fired on a
    server INVITE transaction (no ACK for our non-2xx final, s17.2.1)."""

    key: str
    method: str


@dataclass(frozen=True)
class RequestReceived:
    """A new request (a new server transaction), or an ACK: the ACK for a 2xx is its own
    transaction (s17.1.1.3). ``request`` carries ``received``/``rport`` in its top Via."""

    key: str
    request: Request
    addr: Addr


@dataclass(frozen=True)
class StrayResponse:
    """A response that matches no client transaction (s18.1.2), e.g. a 2xx retransmitted
    after Timer M: the TU may re-ACK it."""

    response: Response
    addr: Addr


@dataclass(frozen=True)
class MessageDropped:
    """A datagram that was malformed or could not be used; ``reason`` says why."""

    reason: str
    addr: Addr


Event = ResponseReceived | TransactionTimeout | RequestReceived | StrayResponse | MessageDropped
