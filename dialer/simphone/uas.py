"""What the simulated phones check and build as a user agent server: the SDP offer of an
INVITE (RFC 3264 s6), the refusal of one they cannot take (s8.2), and the UAS dialog (s12.1.1)."""

from __future__ import annotations

from dialer.sdp import SdpError, SessionDescription, build_answer
from dialer.sip.dialog import Dialog, DialogState
from dialer.sip.headers import NameAddr
from dialer.sip.message import Request

SDP = "application/sdp"
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO"
WARN_AGENT = "simphone"  # s20.43 warn-agent of our Warning headers


class Refused(Exception):
    """An INVITE we cannot accept: the status to answer and a Warning text (s20.43)."""

    def __init__(self, status: int, warning: str, extra: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(warning)
        self.status, self.warning, self.extra = status, warning, extra


def read_offer(invite: Request) -> SessionDescription:
    """The SDP offer of an INVITE we can answer (RFC 3264 s6), or :class:`Refused`."""
    if not invite.body:
        raise Refused(488, "an INVITE without an SDP offer is not supported")
    if invite.content_type != SDP:
        raise Refused(415, f"the body is {invite.content_type or 'untyped'}, not {SDP} (s8.2.3)", (("Accept", SDP),))
    try:
        offer = SessionDescription.parse(invite.body)
        build_answer(offer, "127.0.0.1", 9, 0)  # the same check as the real answer, any port
    except SdpError as exc:
        raise Refused(488, str(exc)) from exc
    return offer


def uas_dialog(invite: Request, to_tag: str, contact: NameAddr) -> Dialog:
    """The dialog a UAS creates with its 2xx (s12.1.1): route set = Record-Route in order,
    remote target = the INVITE's Contact, remote sequence number = its CSeq, local sequence
    number empty (0: our first request uses 1), tags from our To and the caller's From."""
    from_ = invite.from_
    to = invite.to
    return Dialog(
        call_id=invite.call_id,
        local_tag=to_tag,
        remote_tag=from_.tag or "",
        local_uri=NameAddr(uri=to.uri, display_name=to.display_name),
        remote_uri=NameAddr(uri=from_.uri, display_name=from_.display_name),
        local_seq=0,
        remote_seq=invite.cseq.seq,
        remote_target=invite.contacts[0].uri,
        route_set=tuple(invite.record_route),
        local_contact=contact,
        state=DialogState.CONFIRMED,
    )
