"""Building requests and responses a user agent sends (RFC 3261 s8.1.1, s8.2.6, s9.1).

Pure functions: identifiers come from :func:`new_branch`, :func:`new_tag` and
:func:`new_call_id`, which use the ``secrets`` module so that they never repeat across runs.
"""

from __future__ import annotations

import secrets

from dialer.sip.headers import NameAddr, Via
from dialer.sip.message import Headers, Request, Response, reason_phrase
from dialer.sip.uri import SipUri

BRANCH_MAGIC = "z9hG4bK"  # RFC 3261 s8.1.1.7
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE"


def new_branch() -> str:
    return BRANCH_MAGIC + secrets.token_hex(10)


def new_tag() -> str:
    return secrets.token_hex(6)


def new_call_id(host: str) -> str:
    return f"{secrets.token_hex(12)}@{host}"


def local_via(host: str, port: int, branch: str | None = None) -> Via:
    """Our Via for a new request, asking for ``rport`` (RFC 3581)."""
    return Via(
        transport="UDP",
        host=host,
        port=port,
        params=(("branch", branch or new_branch()), ("rport", None)),
    )


def build_request(
    method: str,
    uri: SipUri,
    *,
    via: Via,
    from_: NameAddr,
    to: NameAddr,
    call_id: str,
    cseq: int,
    contact: NameAddr | None = None,
    routes: tuple[NameAddr, ...] = (),
    extra: tuple[tuple[str, str], ...] = (),
    body: bytes = b"",
    content_type: str | None = None,
    user_agent: str | None = None,
) -> Request:
    """A request outside a dialog (s8.1.1), with headers in the customary order."""
    fields: list[tuple[str, str]] = [("Via", str(via)), ("Max-Forwards", "70")]
    fields.extend(("Route", str(r)) for r in routes)
    fields.extend(
        [("From", str(from_)), ("To", str(to)), ("Call-ID", call_id), ("CSeq", f"{cseq} {method}")]
    )
    if contact is not None:
        fields.append(("Contact", str(contact)))
    if method in ("INVITE", "OPTIONS", "REGISTER"):
        fields.append(("Allow", ALLOW))
    if user_agent:
        fields.append(("User-Agent", user_agent))
    fields.extend(extra)
    if body and content_type:
        fields.append(("Content-Type", content_type))
    return Request(method=method, uri=uri, headers=Headers(tuple(fields)), body=body)


def build_cancel(invite: Request) -> Request:
    """CANCEL for a pending INVITE (s9.1): same Request-URI, Call-ID, From, To, CSeq number
    and top Via (so the same branch) as the INVITE, and its Route headers."""
    h = invite.headers
    fields: list[tuple[str, str]] = [("Via", h.get_all("Via")[0]), ("Max-Forwards", "70")]
    fields.extend(("Route", r) for r in h.get_all("Route"))
    fields.extend(
        [
            ("From", h.get("From") or ""),
            ("To", h.get("To") or ""),
            ("Call-ID", invite.call_id),
            ("CSeq", f"{invite.cseq.seq} CANCEL"),
        ]
    )
    return Request(method="CANCEL", uri=invite.uri, headers=Headers(tuple(fields)))


def build_response(
    request: Request,
    status: int,
    *,
    reason: str | None = None,
    to_tag: str | None = None,
    contact: NameAddr | None = None,
    extra: tuple[tuple[str, str], ...] = (),
    body: bytes = b"",
    content_type: str | None = None,
) -> Response:
    """A response to ``request`` (s8.2.6): Via, From, Call-ID, CSeq copied; To gets our tag."""
    h = request.headers
    fields: list[tuple[str, str]] = [("Via", v) for v in h.get_all("Via")]
    to = request.to
    if to_tag and to.tag is None and status > 100:
        to = to.with_tag(to_tag)
    fields.extend(
        [
            ("From", h.get("From") or ""),
            ("To", str(to)),
            ("Call-ID", request.call_id),
            ("CSeq", h.get("CSeq") or ""),
        ]
    )
    if contact is not None:
        fields.append(("Contact", str(contact)))
    fields.extend(extra)
    if body and content_type:
        fields.append(("Content-Type", content_type))
    return Response(
        status=status,
        reason=reason or reason_phrase(status),
        headers=Headers(tuple(fields)),
        body=body,
    )
