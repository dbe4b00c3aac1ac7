"""Transaction helpers (RFC 3261 s17, s18): response routing, the ACK for a failure, Via
rewriting, transaction keys and the responses the layer builds itself."""

from __future__ import annotations

import secrets

from dialer.errors import SipParseError
from dialer.sip.headers import Via, canonical_name, split_commas
from dialer.sip.message import Headers, Message, Request, Response, parse_message, reason_phrase
from dialer.sip.transaction.events import Addr

BRANCH_MAGIC = "z9hG4bK"  # RFC 3261 s8.1.1.7
DEFAULT_PORT = 5060  # RFC 3261 s18.2.2 / s19.1.2


def response_destination(via: Via) -> Addr:
    """Where a response goes (RFC 3261 s18.2.2, RFC 3581 s4): ``maddr`` if present, else
    ``received`` or the sent-by host; the ``rport`` value or the sent-by port or 5060."""
    host = via.param("maddr") or via.param("received") or via.host
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    rport = via.param("rport")
    if rport and rport.isdigit() and 0 < int(rport) < 65536:
        return host, int(rport)
    return host, via.port or DEFAULT_PORT


def build_ack_for_failure(invite: Request, response: Response) -> Request:
    """The ACK a client INVITE transaction sends for a 300-699 response (s17.1.1.3).

    Same Request-URI, Call-ID, From and CSeq number as the INVITE (method ACK), the To of
    the response (with its tag), one Via equal to the INVITE's top Via (same branch), the
    INVITE's Route headers, Max-Forwards 70.
    """
    h = invite.headers
    fields: list[tuple[str, str]] = [("Via", h.get_all("Via")[0]), ("Max-Forwards", "70")]
    fields.extend(("Route", r) for r in h.get_all("Route"))
    fields.extend(
        [
            ("From", invite._required("From")),
            ("To", response._required("To")),
            ("Call-ID", invite.call_id),
            ("CSeq", f"{invite.cseq.seq} ACK"),
        ]
    )
    return Request(method="ACK", uri=invite.uri, headers=Headers(tuple(fields)))


def replace_top_via(headers: Headers, via: Via) -> Headers:
    """``headers`` with the first Via value replaced, even inside a comma-joined Via line."""
    out: list[tuple[str, str]] = []
    done = False
    for name, value in headers:
        if not done and canonical_name(name).lower() == "via":
            parts = split_commas(value)
            parts[0] = str(via)
            value = ", ".join(parts)
            done = True
        out.append((name, value))
    return Headers(tuple(out))


def mark_received(request: Request, addr: Addr) -> Request:
    """Add ``received`` (s18.2.1) and fill an empty ``rport`` (RFC 3581 s4) in the top Via."""
    via = request.top_via
    rport = via.param("rport")
    if rport == "":
        via = via.with_param("received", addr[0]).with_param("rport", str(addr[1]))
    elif via.host.strip("[]") != addr[0]:
        via = via.with_param("received", addr[0])
    else:
        return request
    return request.with_headers(replace_top_via(request.headers, via))


def branch_of(message: Message) -> str:
    """The branch identifying the transaction; RFC 2543 peers without the magic cookie get a
    key built from the fields s17.2.3 compares instead."""
    branch = message.top_via.branch
    if branch and branch.startswith(BRANCH_MAGIC):
        return branch
    return f"rfc2543:{message.call_id}:{message.cseq.seq}:{message.from_.tag or ''}"


def transaction_key(branch: str, method: str) -> str:
    """The key of a transaction: its branch, with ``:CANCEL`` for a CANCEL (s9.1)."""
    return f"{branch}:CANCEL" if method == "CANCEL" else branch


def match_method(method: str) -> str:
    """s17.1.3 / s17.2.3: an ACK matches the INVITE transaction."""
    return "INVITE" if method == "ACK" else method



def trying(request: Request) -> Response:
    """100 Trying (s8.2.6.1): Via, From, To, Call-ID, CSeq and Timestamp copied, no To tag."""
    names = ("Via", "From", "To", "Call-ID", "CSeq", "Timestamp")
    fields = [(n, v) for n, v in request.headers if canonical_name(n) in names]
    return Response(status=100, reason="Trying", headers=Headers(tuple(fields)))


def stateless_error(data: bytes, addr: Addr, exc: SipParseError) -> tuple[Response, Addr] | None:
    """Build the error response for a malformed request from whatever header lines are
    readable, or None when a response is impossible (no usable Via, Call-ID, From, To, CSeq)."""
    head = data.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0].decode("utf-8", "replace")
    lines = head.replace("\r\n", "\n").split("\n")
    start = lines[0].strip() if lines else ""
    if not start or start.startswith("SIP/") or start.split(" ", 1)[0].upper() == "ACK":
        return None
    found: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            found.setdefault(canonical_name(name.strip()), []).append(value.strip())
    needed = ("Via", "From", "To", "Call-ID", "CSeq")
    if any(len(found.get(n, [])) == 0 for n in needed):
        return None
    cseq = found["CSeq"][0].split()
    if len(cseq) != 2 or cseq[1].upper() == "ACK":
        return None
    try:
        vias = [part for value in found["Via"] for part in split_commas(value)]
        via = Via.parse(vias[0])
    except SipParseError:
        return None
    if via.param("rport") == "":
        via = via.with_param("received", addr[0]).with_param("rport", str(addr[1]))
    elif via.host.strip("[]") != addr[0]:
        via = via.with_param("received", addr[0])
    to = found["To"][0]
    if ";tag=" not in to.replace(" ", "").lower():
        to = f"{to};tag={secrets.token_hex(6)}"  # s8.2.6.2
    fields = [("Via", str(via)), *(("Via", v) for v in vias[1:])]
    fields += [("From", found["From"][0]), ("To", to), ("Call-ID", found["Call-ID"][0])]
    fields.append(("CSeq", found["CSeq"][0]))
    status = exc.status_hint
    reply = Response(status=status, reason=reason_phrase(status), headers=Headers(tuple(fields)))
    try:
        # What we echo must itself be sendable; a response we can't serialize is not sent.
        parse_message(bytes(reply))
    except ValueError:
        return None
    return reply, response_destination(via)
