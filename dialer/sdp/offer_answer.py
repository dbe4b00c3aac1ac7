"""The offer/answer model (RFC 3264) for one audio stream.

The dialer offers with :func:`build_offer` and reads the callee's answer with
:func:`negotiate_answer`; a simulated callee answers with :func:`build_answer`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, cast

from dialer.sdp.description import MediaDescription, SessionDescription
from dialer.sdp.errors import SdpError, SdpNegotiationError
from dialer.sdp.lines import (
    DEFAULT_PTIME,
    STATIC_PAYLOAD_TYPES,
    Attribute,
    Connection,
    Direction,
    Origin,
    RtpMap,
)

#: RFC 3264 s6.1: the answer's direction for each offered direction.
_ANSWER_DIRECTION: Final[dict[str, Direction]] = {
    "sendrecv": "sendrecv",
    "sendonly": "recvonly",
    "recvonly": "sendonly",
    "inactive": "inactive",
}
_RTP_AVP: Final = "RTP/AVP"
_TELEPHONE_EVENT: Final = "TELEPHONE-EVENT"
# The codecs this dialer can send and receive (dialer.codecs: G.711), by their static type.
_G711: Final = {"PCMU": 0, "PCMA": 8}


@dataclass(frozen=True)
class NegotiatedMedia:
    """What offer and answer agreed for the audio stream (RFC 3264 s6, s7).

    ``remote_address`` is where we send RTP; ``payload_type`` is the answerer's number for
    ``codec`` (we send with it); ``telephone_event_pt`` is the RFC 4733 payload type, or None
    when the answer has none. ``direction`` is *ours*: ``sendrecv`` for a live call,
    ``recvonly`` when the remote party only sends (or answered with ``c=0.0.0.0``, RFC 3264
    s8.4), ``sendonly`` when it only receives, ``inactive`` when on hold both ways.
    """

    remote_address: tuple[str, int]
    codec: Literal["PCMU", "PCMA"]
    payload_type: int
    clock_rate: int = 8000
    telephone_event_pt: int | None = None
    ptime: int = DEFAULT_PTIME
    direction: Direction = "sendrecv"

    @property
    def sends(self) -> bool:
        """True when we should send RTP."""
        return self.direction in ("sendrecv", "sendonly")

    @property
    def receives(self) -> bool:
        """True when the remote party may send us RTP."""
        return self.direction in ("sendrecv", "recvonly")


def _describe(media: MediaDescription) -> str:
    names = []
    for pt in media.payload_types:
        codec = media.codec(pt)
        names.append(f"payload type {pt}" if codec is None else str(codec))
    return ", ".join(names) or "no codec"


def _active_audio(media: MediaDescription) -> bool:
    return media.media == "audio" and media.port != 0 and media.proto.upper() == _RTP_AVP


def negotiate_answer(offer: SessionDescription, answer: SessionDescription) -> NegotiatedMedia:
    """Read the remote party's ``answer`` to our ``offer`` (RFC 3264 s7).

    Uses our first active audio stream and the answer's m= line at the same index (s6).
    Takes the first codec in the answer's order that we offered; static payload types 0 and
    8 need no rtpmap. Raises :class:`SdpNegotiationError` when the stream was rejected
    (port 0), is not RTP/AVP, has no connection address, or shares no codec with our offer.
    """
    index = next((i for i, m in enumerate(offer.media) if _active_audio(m)), None)
    if index is None:
        raise SdpNegotiationError("our offer has no active RTP/AVP audio stream")
    ours = offer.media[index]
    if index >= len(answer.media):
        raise SdpNegotiationError(
            f"the remote party's answer has {len(answer.media)} media line(s) but our offer has "
            f"{len(offer.media)}: the audio stream is missing (RFC 3264 s6)"
        )
    theirs = answer.media[index]
    if theirs.media != "audio":
        raise SdpNegotiationError(
            f"the remote party answered our audio stream with a {theirs.media!r} stream"
        )
    if theirs.port == 0:
        raise SdpNegotiationError(
            "the remote party rejected the audio stream (port 0 in its answer)"
        )
    if theirs.proto.upper() != _RTP_AVP:
        raise SdpNegotiationError(
            f"the remote party answered with transport {theirs.proto} but we offered {_RTP_AVP} "
            "(encrypted or feedback RTP profiles are not supported)"
        )
    connection = answer.media_connection(theirs)
    if connection is None:
        raise SdpNegotiationError(
            "the remote party's answer has no connection address (no c= line for the audio "
            "stream or the session)"
        )
    offered = {}
    for pt in ours.payload_types:
        codec = ours.codec(pt)
        if codec is not None:
            offered[(codec.encoding.upper(), codec.clock_rate)] = codec
    chosen: tuple[str, int, int] | None = None
    for pt in theirs.payload_types:
        codec = theirs.codec(pt)
        if codec is None:
            continue
        key = (codec.encoding.upper(), codec.clock_rate)
        if key[0] in _G711 and key in offered:
            chosen = (key[0], pt, codec.clock_rate)
            break
    if chosen is None:
        raise SdpNegotiationError(
            f"the remote party answered with no codec we offered (it answered {_describe(theirs)}; "
            f"we offered {_describe(ours)})"
        )
    name, payload_type, clock_rate = chosen
    telephone_event_pt = None
    if any(key[0] == _TELEPHONE_EVENT for key in offered):
        for pt in theirs.payload_types:
            codec = theirs.rtpmap.get(pt)
            if (
                codec is not None
                and codec.encoding.upper() == _TELEPHONE_EVENT
                and codec.clock_rate == clock_rate
            ):
                telephone_event_pt = pt
                break
    our_direction = offer.media_direction(ours)
    their_direction = answer.media_direction(theirs)
    we_send = (
        our_direction in ("sendrecv", "sendonly")
        and their_direction in ("sendrecv", "recvonly")
        and not connection.is_hold
    )
    we_receive = our_direction in ("sendrecv", "recvonly") and their_direction in (
        "sendrecv",
        "sendonly",
    )
    direction: Direction = (
        ("sendrecv" if we_receive else "sendonly")
        if we_send
        else ("recvonly" if we_receive else "inactive")
    )
    return NegotiatedMedia(
        remote_address=(connection.host, theirs.port),
        codec=cast(Literal["PCMU", "PCMA"], name),
        payload_type=payload_type,
        clock_rate=clock_rate,
        telephone_event_pt=telephone_event_pt,
        ptime=theirs.ptime or DEFAULT_PTIME,
        direction=direction,
    )


def _check_port(port: int) -> None:
    if not 1 <= port <= 65535:
        raise SdpError(f"RTP port {port} is out of range 1-65535")


def _session(
    address: str, session_id: int, media: tuple[MediaDescription, ...], timing: tuple[str, ...]
) -> SessionDescription:
    if session_id < 0:
        raise SdpError(f"session id {session_id} must not be negative")
    connection = Connection.for_address(address)
    return SessionDescription(
        origin=Origin("-", session_id, session_id, address, "IN", connection.addrtype),
        session_name="-",
        connection=connection,
        media=media,
        timing=timing,
    )


def build_offer(
    address: str,
    port: int,
    session_id: int,
    codecs: tuple[str, ...] = ("PCMU", "PCMA"),
    telephone_event_pt: int | None = 101,
    ptime: int = DEFAULT_PTIME,
) -> SessionDescription:
    """Our audio offer (RFC 3264 s5): G.711 in ``codecs`` order plus RFC 4733 events.

    ``m=audio <port> RTP/AVP 0 8 101`` with an rtpmap for each, ``a=fmtp:101 0-16``,
    ``a=ptime`` and ``a=sendrecv``. ``telephone_event_pt=None`` leaves events out.
    """
    _check_port(port)
    if not codecs:
        raise SdpError("an offer needs at least one codec")
    if ptime <= 0:
        raise SdpError(f"ptime {ptime} must be positive")
    formats: list[str] = []
    attributes: list[Attribute] = []
    for name in codecs:
        pt = _G711.get(name.upper())
        if pt is None:
            raise SdpError(f"cannot offer codec {name!r}: supported are {', '.join(_G711)}")
        formats.append(str(pt))
        attributes.append(Attribute.rtpmap(pt, STATIC_PAYLOAD_TYPES[pt]))
    if telephone_event_pt is not None:
        if not 96 <= telephone_event_pt <= 127:
            raise SdpError(
                f"telephone-event payload type {telephone_event_pt} is not dynamic (96-127)"
            )
        formats.append(str(telephone_event_pt))
        attributes.append(Attribute.rtpmap(telephone_event_pt, RtpMap("telephone-event", 8000)))
        attributes.append(Attribute.fmtp(telephone_event_pt, "0-16"))
    attributes.append(Attribute.ptime(ptime))
    attributes.append(Attribute.direction("sendrecv"))
    media = MediaDescription("audio", port, _RTP_AVP, tuple(formats), attributes=tuple(attributes))
    return _session(address, session_id, (media,), ("0 0",))


def build_answer(
    offer: SessionDescription,
    address: str,
    port: int,
    session_id: int,
    supported: tuple[str, ...] = ("PCMU", "PCMA"),
) -> SessionDescription:
    """Answer ``offer`` as a callee would (RFC 3264 s6).

    Accepts the first active RTP/AVP audio stream with the first offered codec whose name
    is in ``supported``, plus telephone-event when offered; every other m= line is answered
    with port 0 (rejected). Raises :class:`SdpNegotiationError` when nothing can be accepted.
    """
    _check_port(port)
    wanted = {name.upper() for name in supported}
    answered: list[MediaDescription] = []
    accepted = False
    refusals: list[str] = []
    for media in offer.media:
        reply = (
            None
            if accepted or not _active_audio(media)
            else _answer_stream(offer, media, port, wanted)
        )
        if reply is None:
            if not accepted and _active_audio(media):
                refusals.append(_describe(media))
            answered.append(MediaDescription(media.media, 0, media.proto, media.formats))
        else:
            answered.append(reply)
            accepted = True
    if not accepted:
        if refusals:
            raise SdpNegotiationError(
                f"the remote party offered no codec we support (it offered {'; '.join(refusals)}; "
                f"we support {', '.join(supported)})"
            )
        raise SdpNegotiationError("the remote party's offer has no active RTP/AVP audio stream")
    # RFC 3264 s6: the answer's t= line equals the offer's.
    return _session(address, session_id, tuple(answered), offer.timing or ("0 0",))


def _answer_stream(
    offer: SessionDescription, media: MediaDescription, port: int, wanted: set[str]
) -> MediaDescription | None:
    found = next(
        (
            (pt, codec)
            for pt in media.payload_types
            if (codec := media.codec(pt)) is not None
            and codec.encoding.upper() in wanted
            and codec.encoding.upper() != _TELEPHONE_EVENT
        ),
        None,
    )
    if found is None:
        return None
    codec_pt, codec = found
    formats = [str(codec_pt)]
    attributes = [Attribute.rtpmap(codec_pt, codec)]
    for pt, rtpmap in media.rtpmap.items():
        if (
            pt in media.payload_types
            and rtpmap.encoding.upper() == _TELEPHONE_EVENT
            and rtpmap.clock_rate == codec.clock_rate
        ):
            formats.append(str(pt))
            attributes.append(Attribute.rtpmap(pt, rtpmap))
            params = media.fmtp.get(pt)
            if params:
                attributes.append(Attribute.fmtp(pt, params))
            break
    attributes.append(Attribute.ptime(media.ptime or DEFAULT_PTIME))
    attributes.append(Attribute.direction(_ANSWER_DIRECTION[offer.media_direction(media)]))
    return MediaDescription(
        "audio", port, media.proto, tuple(formats), attributes=tuple(attributes)
    )
