"""SIP dialogs (RFC 3261 s12), from the side of the UAC that sent the dialog-creating INVITE.

A :class:`Dialog` holds the dialog state of s12.1.2 (Call-ID, tags, URIs, sequence numbers,
remote target, route set), builds in-dialog requests (s12.2.1.1) and checks incoming ones
(s12.2.2). Its lifecycle is the :data:`DIALOG_TRANSITIONS` table: early -> confirmed ->
terminated (s12.1, s12.3). It does no I/O: ``create_request`` returns the request and the URI
of the next hop for the caller to resolve and send through the transaction layer.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, replace

from dialer.errors import SipParseError
from dialer.sip.headers import NameAddr, Via
from dialer.sip.message import Headers, Message, Request, Response
from dialer.sip.uri import SipUri

log = logging.getLogger("dialer.sip.dialog")

# Methods whose Contact refreshes the remote target (s12.2, RFC 3311 for UPDATE).
TARGET_REFRESH_METHODS = frozenset({"INVITE", "UPDATE"})

DialogId = tuple[str, str | None, str | None]


class DialogState(enum.StrEnum):
    """s12: a dialog is created early (1xx with a To tag) or confirmed (2xx)."""

    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


DIALOG_TRANSITIONS: dict[DialogState, frozenset[DialogState]] = {
    DialogState.EARLY: frozenset({DialogState.CONFIRMED, DialogState.TERMINATED}),
    DialogState.CONFIRMED: frozenset({DialogState.TERMINATED}),
    DialogState.TERMINATED: frozenset(),
}


def _without_tag(addr: NameAddr) -> NameAddr:
    return replace(addr, params=tuple((k, v) for k, v in addr.params if k.lower() != "tag"))


def _request_uri_from_route(uri: SipUri) -> SipUri:
    """s12.2.1.1 strict routing: strip what a Request-URI may not carry (s19.1.1 Table 1:
    the ``method`` parameter and URI headers)."""
    return replace(uri, params=tuple((k, v) for k, v in uri.params if k.lower() != "method"), headers="")


@dataclass
class Dialog:
    """Dialog state (s12.1.2). ``local_uri``/``remote_uri`` are From/To without tags."""

    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: NameAddr
    remote_uri: NameAddr
    local_seq: int
    remote_seq: int | None
    remote_target: SipUri
    route_set: tuple[NameAddr, ...]
    local_contact: NameAddr
    state: DialogState = DialogState.EARLY

    @classmethod
    def from_uac_response(cls, request: Request, response: Response, local_contact: NameAddr) -> "Dialog":
        """The dialog a 1xx-with-tag or 2xx to our INVITE creates (s12.1.2).

        Route set = Record-Route of the response in reverse order; remote target = its
        Contact; local sequence number = the request's CSeq; remote sequence number empty.
        Raises :class:`SipParseError` for a response without a To tag or a 2xx without a
        Contact, and ValueError for a response that creates no dialog (100, 300-699).
        """
        status = response.status
        if status == 100 or status >= 300:
            raise ValueError(f"a {status} response does not create a dialog (s12.1)")
        remote_tag = response.to.tag
        if not remote_tag:
            raise SipParseError(f"{status} response without a To tag cannot create a dialog (s12.1.2)")
        local_tag = request.from_.tag
        if not local_tag:
            raise ValueError("the dialog-creating request has no From tag (s8.1.1.3)")
        contacts = response.contacts
        if contacts:
            target = contacts[0].uri
        elif status >= 200:
            raise SipParseError(f"{status} response without a Contact cannot create a dialog (s12.1.2)")
        else:
            target = request.uri  # an early dialog from a 1xx without Contact: best effort
        dialog = cls(
            call_id=request.call_id,
            local_tag=local_tag,
            remote_tag=remote_tag,
            local_uri=_without_tag(request.from_),
            remote_uri=_without_tag(request.to),
            local_seq=request.cseq.seq,
            remote_seq=None,
            remote_target=target,
            route_set=tuple(reversed(response.record_route)),
            local_contact=local_contact,
            state=DialogState.CONFIRMED if status >= 200 else DialogState.EARLY,
        )
        log.debug("dialog %s created %s by %s (s12.1.2)", dialog.call_id, dialog.state.value, status)
        return dialog

    @property
    def id(self) -> DialogId:
        return (self.call_id, self.local_tag, self.remote_tag)

    def move(self, new: DialogState, reason: str) -> None:
        """Change state along :data:`DIALOG_TRANSITIONS`, logging why."""
        if new is self.state:
            return
        if new not in DIALOG_TRANSITIONS[self.state]:
            raise RuntimeError(f"dialog {self.call_id}: no transition {self.state.value} -> {new.value} ({reason})")
        log.info("dialog %s: %s -> %s (%s)", self.call_id, self.state.value, new.value, reason)
        self.state = new

    def terminate(self, reason: str) -> None:
        self.move(DialogState.TERMINATED, reason)

    def update_from_response(self, response: Response) -> None:
        """Apply a response to a request of this dialog.

        A 2xx confirms an early dialog and recomputes the route set from its Record-Route
        (s13.2.2.4). The Contact of a 2xx (or of a 1xx in an early dialog) to a target
        refresh request (INVITE, UPDATE) becomes the remote target (s12.2.1.2).
        """
        method = response.cseq.method
        status = response.status
        if 200 <= status < 300 and self.state is DialogState.EARLY and method == "INVITE":
            self.route_set = tuple(reversed(response.record_route))
            self.move(DialogState.CONFIRMED, f"{status} to INVITE")
        refresh = 200 <= status < 300 or (status > 100 and self.state is DialogState.EARLY)
        if refresh and method in TARGET_REFRESH_METHODS:
            contacts = response.contacts
            if contacts and contacts[0].uri != self.remote_target:
                log.debug("dialog %s: remote target -> %s (%s %s)", self.call_id, contacts[0].uri, status, method)
                self.remote_target = contacts[0].uri

    def create_request(
        self,
        method: str,
        via: Via,
        *,
        headers: list[tuple[str, str]] | tuple[tuple[str, str], ...] = (),
        body: bytes = b"",
        content_type: str | None = None,
        cseq: int | None = None,
    ) -> tuple[Request, SipUri]:
        """An in-dialog request (s12.2.1.1) and the URI of its next hop.

        The local sequence number is incremented unless ``cseq`` is given (the ACK for a 2xx
        reuses the INVITE's number, s13.2.2.4). With a loose first route (``;lr``) the
        Request-URI is the remote target and Route is the route set; with a strict one the
        Request-URI is that route's URI and Route is the rest plus the remote target. The
        next hop is the first Route URI for loose routing and the Request-URI otherwise
        (s8.1.2: a strict router is reached through the Request-URI).
        """
        if cseq is None:
            self.local_seq += 1
            cseq = self.local_seq
        routes: tuple[NameAddr, ...]
        if not self.route_set:
            uri, routes = self.remote_target, ()
            next_hop = uri
        elif self.route_set[0].uri.loose_route:
            uri, routes = self.remote_target, self.route_set
            next_hop = routes[0].uri
        else:
            uri = _request_uri_from_route(self.route_set[0].uri)
            routes = (*self.route_set[1:], NameAddr(uri=self.remote_target))
            next_hop = uri
        fields: list[tuple[str, str]] = [("Via", str(via)), ("Max-Forwards", "70")]
        fields.extend(("Route", str(r)) for r in routes)
        fields.extend(
            [
                ("From", str(self.local_uri.with_tag(self.local_tag))),
                ("To", str(self.remote_uri.with_tag(self.remote_tag))),
                ("Call-ID", self.call_id),
                ("CSeq", f"{cseq} {method}"),
            ]
        )
        if method in TARGET_REFRESH_METHODS:
            fields.append(("Contact", str(self.local_contact)))
        fields.extend(headers)
        if body and content_type:
            fields.append(("Content-Type", content_type))
        return Request(method=method, uri=uri, headers=Headers(tuple(fields)), body=body), next_hop

    def receive_request(self, request: Request) -> int | None:
        """Check an in-dialog request (s12.2.2): a CSeq below the remote sequence number is
        out of order and answered 500 (the returned status); otherwise the remote sequence
        number is updated and a target refresh's Contact becomes the remote target."""
        seq = request.cseq.seq
        if request.method == "ACK":
            return None  # carries the INVITE's number; never answered (s17.1.1.3)
        if self.remote_seq is not None and seq < self.remote_seq:
            log.info("dialog %s: %s CSeq %d below %d: 500 (s12.2.2)", self.call_id, request.method, seq, self.remote_seq)
            return 500
        self.remote_seq = seq
        if request.method in TARGET_REFRESH_METHODS:
            contacts = request.contacts
            if contacts:
                self.remote_target = contacts[0].uri
        return None

    def matches(self, message: Message) -> bool:
        """Whether ``message`` belongs to this dialog: Call-ID and tags (s12, s12.2.2)."""
        try:
            if isinstance(message, Request):
                return dialog_id_for_request(message) == self.id
            return dialog_id_for_response(message) == self.id
        except SipParseError:
            return False


def dialog_id_for_request(request: Request) -> DialogId:
    """The dialog id of a request we received, as our side (the UAC) sees it:
    (Call-ID, To tag = local tag, From tag = remote tag)."""
    return (request.call_id, request.to.tag, request.from_.tag)


def dialog_id_for_response(response: Response) -> DialogId:
    """The dialog id of a response we received, as the UAC sees it:
    (Call-ID, From tag = local tag, To tag = remote tag)."""
    return (response.call_id, response.from_.tag, response.to.tag)
