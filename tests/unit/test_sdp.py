"""SDP (dialer.sdp): real bodies from common peers, offer/answer, rejections, parser properties."""

from __future__ import annotations

import contextlib
import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from dialer.errors import DialerError
from dialer.sdp import (
    Attribute,
    Connection,
    MediaDescription,
    NegotiatedMedia,
    RtpMap,
    SdpError,
    SdpNegotiationError,
    SessionDescription,
    build_answer,
    build_offer,
    negotiate_answer,
    parse,
)


def crlf(*lines: str) -> str:
    return "".join(f"{line}\r\n" for line in lines)


# Asterisk 18 (chan_pjsip) answering our offer with PCMU and RFC 4733 events.
ASTERISK_ANSWER = crlf(
    "v=0",
    "o=- 1693840231 1693840233 IN IP4 203.0.113.20",
    "s=Asterisk",
    "c=IN IP4 203.0.113.20",
    "t=0 0",
    "m=audio 17442 RTP/AVP 0 101",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-16",
    "a=ptime:20",
    "a=maxptime:150",
    "a=sendrecv",
)

# Asterisk 11 (chan_sip) answer: extra session attributes and an old-style silenceSupp line.
ASTERISK_CHAN_SIP_ANSWER = crlf(
    "v=0",
    "o=root 1397063512 1397063513 IN IP4 203.0.113.21",
    "s=Asterisk PBX 11.7.0",
    "c=IN IP4 203.0.113.21",
    "t=0 0",
    "m=audio 10326 RTP/AVP 8 101",
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-16",
    "a=silenceSupp:off - - - -",
    "a=ptime:20",
    "a=sendrecv",
)

# FreeSWITCH 1.10 answering with PCMA and events on 101, plus an a=rtcp line.
FREESWITCH_ANSWER = crlf(
    "v=0",
    "o=FreeSWITCH 1700000000 1700000001 IN IP4 198.51.100.7",
    "s=FreeSWITCH",
    "c=IN IP4 198.51.100.7",
    "t=0 0",
    "m=audio 24588 RTP/AVP 8 101",
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-16",
    "a=ptime:20",
    "a=sendrecv",
    "a=rtcp:24589 IN IP4 198.51.100.7",
)

# FreeSWITCH 1.10 offering (calling us): opus first, G.722, G.711, events, comfort noise.
FREESWITCH_OFFER = crlf(
    "v=0",
    "o=FreeSWITCH 1700003100 1700003101 IN IP4 198.51.100.7",
    "s=FreeSWITCH",
    "c=IN IP4 198.51.100.7",
    "t=0 0",
    "m=audio 26542 RTP/AVP 102 9 0 8 101 13",
    "a=rtpmap:102 opus/48000/2",
    "a=fmtp:102 useinbandfec=1; maxaveragebitrate=30000; maxplaybackrate=48000; ptime=20; minptime=10; maxptime=40",  # noqa: E501
    "a=rtpmap:9 G722/8000",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-16",
    "a=rtpmap:13 CN/8000",
    "a=ptime:20",
    "a=sendrecv",
    "a=rtcp:26543 IN IP4 198.51.100.7",
)

# baresip 1.0 offering on loopback (bandwidth line, ssrc and rtcp-rsize attributes).
BARESIP_OFFER = crlf(
    "v=0",
    "o=- 1418340938 2837487148 IN IP4 127.0.0.1",
    "s=-",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    "m=audio 10850 RTP/AVP 0 8 101",
    "b=AS:64",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-15",
    "a=sendrecv",
    "a=label:1",
    "a=ssrc:1683411245 cname:sip:alice@127.0.0.1",
    "a=rtcp-rsize",
    "a=ptime:20",
)

# sipp 3.6 uas.xml answer: PCMU only, no events, no ptime.
SIPP_ANSWER = crlf(
    "v=0",
    "o=user1 53655765 2353687637 IN IP4 127.0.0.1",
    "s=-",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    "m=audio 6000 RTP/AVP 0",
    "a=rtpmap:0 PCMU/8000",
)

REAL_BODIES = [
    ASTERISK_ANSWER,
    ASTERISK_CHAN_SIP_ANSWER,
    FREESWITCH_ANSWER,
    FREESWITCH_OFFER,
    BARESIP_OFFER,
    SIPP_ANSWER,
]


@pytest.fixture
def offer() -> SessionDescription:
    return build_offer("192.0.2.10", 40000, 1234)


def answer_with(
    *media_lines: str, session_c: str | None = "c=IN IP4 203.0.113.5"
) -> SessionDescription:
    lines = ["v=0", "o=- 1 1 IN IP4 203.0.113.5", "s=-"]
    if session_c:
        lines.append(session_c)
    lines.append("t=0 0")
    return parse(crlf(*lines, *media_lines))


# --- parsing real bodies ---------------------------------------------------------------------


@pytest.mark.parametrize("body", REAL_BODIES)
def test_real_bodies_round_trip_line_for_line(body: str) -> None:
    assert str(parse(body)) == body
    assert bytes(parse(body.encode())) == body.encode()


@pytest.mark.parametrize("body", REAL_BODIES)
def test_lf_only_input_parses_the_same(body: str) -> None:
    assert parse(body.replace("\r\n", "\n")) == parse(body)


def test_fields_of_an_asterisk_answer() -> None:
    sdp = parse(ASTERISK_ANSWER)
    assert sdp.origin.username == "-"
    assert (sdp.origin.session_id, sdp.origin.session_version) == (1693840231, 1693840233)
    assert sdp.session_name == "Asterisk"
    assert sdp.connection == Connection("203.0.113.20", "IN", "IP4")
    assert sdp.timing == ("0 0",)
    (audio,) = sdp.media
    assert (audio.media, audio.port, audio.proto) == ("audio", 17442, "RTP/AVP")
    assert audio.payload_types == (0, 101)
    assert audio.rtpmap == {0: RtpMap("PCMU", 8000), 101: RtpMap("telephone-event", 8000)}
    assert audio.rtpmap[0] == ("PCMU", 8000, None)
    assert audio.fmtp == {101: "0-16"}
    assert audio.ptime == 20
    assert audio.direction == "sendrecv"
    assert Attribute("maxptime", "150") in audio.attributes


def test_opus_channels_and_fmtp_of_a_freeswitch_offer() -> None:
    audio = parse(FREESWITCH_OFFER).media[0]
    assert audio.rtpmap[102] == RtpMap("opus", 48000, 2)
    assert audio.fmtp[102].startswith("useinbandfec=1;")
    assert audio.codec(13) == RtpMap("CN", 8000)
    assert Attribute("rtcp", "26543 IN IP4 198.51.100.7") in audio.attributes


def test_unknown_lines_are_kept_and_round_trip() -> None:
    body = crlf(
        "v=0",
        "o=- 5 5 IN IP4 192.0.2.1",
        "s=-",
        "i=a call from the test",
        "c=IN IP4 192.0.2.1",
        "b=CT:128",
        "t=0 0",
        "x=an unknown type letter",
        "a=group:BUNDLE audio",
        "a=sendonly",
        "m=audio 5004 RTP/AVP 0",
        "i=voice",
        "c=IN IP4 192.0.2.2",
        "b=AS:80",
        "y=another unknown",
        "a=mid:audio",
        "a=some-flag",
    )
    sdp = parse(body)
    assert str(sdp) == body
    assert ("x", "an unknown type letter") in sdp.extra_lines
    assert sdp.media[0].extra_lines == (("i", "voice"), ("b", "AS:80"), ("y", "another unknown"))
    assert sdp.direction == "sendonly"
    assert sdp.media[0].direction is None
    assert sdp.media_direction(sdp.media[0]) == "sendonly"


def test_lines_out_of_rfc_order_are_written_in_rfc_order() -> None:
    sdp = parse("v=0\nt=0 0\no=- 1 1 IN IP4 192.0.2.1\nk=prompt\nc=IN IP4 192.0.2.1\ns=x\ni=info\n")
    assert sdp.lines() == [
        "v=0",
        "o=- 1 1 IN IP4 192.0.2.1",
        "s=x",
        "i=info",
        "c=IN IP4 192.0.2.1",
        "t=0 0",
        "k=prompt",
    ]
    assert parse(str(sdp)) == sdp


def test_tolerates_trailing_whitespace_blank_lines_and_bare_cr() -> None:
    sdp = parse("v=0 \r\n\r\no=- 1 1 IN IP4 192.0.2.1\rs=-\r\nt=0 0\n\nm=audio 4000 RTP/AVP 8\t\n")
    assert sdp.media[0].payload_types == (8,)


def test_non_rtp_media_and_port_counts_are_kept() -> None:
    body = crlf(
        "v=0",
        "o=- 1 1 IN IP6 2001:db8::1",
        "s=-",
        "c=IN IP6 2001:db8::1",
        "t=0 0",
        "m=audio 49170/2 RTP/AVP 0",
        "m=image 0 udptl t38",
        "m=application 9 UDP/BFCP *",
    )
    sdp = parse(body)
    assert sdp.media[0].port_count == 2
    assert sdp.media[1].formats == ("t38",)
    assert sdp.media[1].payload_types == ()
    assert sdp.media[2].formats == ("*",)
    assert str(sdp) == body


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "empty"),
        ("\r\n\r\n", "empty"),
        ("o=- 1 1 IN IP4 x\r\n", "line 1 ('o=- 1 1 IN IP4 x'): an SDP body must start with v=0"),
        ("v=1\r\n", "line 1 ('v=1'): only SDP version 0"),
        ("v=0\r\nhello world\r\n", "line 2 ('hello world'): expected '<letter>=<value>'"),
        ("v=0\r\nO=- 1 1 IN IP4 x\r\n", "line 2"),
        ("v=0\r\no=- 1 IN IP4 x\r\n", "line 2 ('o=- 1 IN IP4 x'): o= needs 6 fields, got 5"),
        ("v=0\r\no=- a b IN IP4 x\r\n", "must be numbers"),
        ("v=0\r\no=- 1 1 IN IP4 x\r\no=- 1 1 IN IP4 x\r\n", "line 3"),
        ("v=0\r\no=- 1 1 IN IP4 x\r\ns=-\r\ns=again\r\n", "a second s= line"),
        ("v=0\r\no=- 1 1 IN IP4 x\r\nv=0\r\n", "a second v= line"),
        ("v=0\r\no=- 1 1 IN IP4 x\r\nc=IN IP4\r\n", "line 3 ('c=IN IP4'): c= needs 3 fields"),
        (
            "v=0\r\no=- 1 1 IN IP4 x\r\nm=audio abc RTP/AVP 0\r\n",
            "line 3 ('m=audio abc RTP/AVP 0'): m= port",
        ),
        ("v=0\r\no=- 1 1 IN IP4 x\r\nm=audio 70000 RTP/AVP 0\r\n", "not a port number"),
        ("v=0\r\no=- 1 1 IN IP4 x\r\nm=audio 4000/0 RTP/AVP 0\r\n", "port count"),
        ("v=0\r\no=- 1 1 IN IP4 x\r\nm=audio 4000\r\n", "at least media, port and protocol"),
        (
            "v=0\r\no=- 1 1 IN IP4 x\r\na=:x\r\n",
            "line 3 ('a=:x'): an a= line needs an attribute name",
        ),
        ("v=0\r\ns=-\r\nt=0 0\r\n", "no o= line"),
        ("v=0\r\no=- 1 1 IN IP4 x\r\nm=audio 4000 RTP/AVP 0\r\no=- 2 2 IN IP4 y\r\n", "line 4"),
        ("v=0\r\no=- 1 1 IN IP4 x\x00\r\n", "NUL"),
    ],
)
def test_bad_input_names_the_line(body: str, message: str) -> None:
    with pytest.raises(SdpError) as info:
        parse(body)
    assert message in str(info.value)


def test_bad_line_number_is_available_on_the_error() -> None:
    with pytest.raises(SdpError) as info:
        parse("v=0\r\no=- 1 1 IN IP4 x\r\nm=audio x RTP/AVP 0\r\n")
    assert (info.value.line_number, info.value.line) == (3, "m=audio x RTP/AVP 0")


def test_invalid_utf8_bytes() -> None:
    with pytest.raises(SdpError, match="not UTF-8"):
        parse(b"v=0\r\ns=\xff\r\n")


def test_error_tree() -> None:
    assert issubclass(SdpNegotiationError, SdpError)
    assert issubclass(SdpError, ValueError)
    assert issubclass(SdpError, DialerError)


def test_malformed_typed_attributes_stay_raw() -> None:
    audio = parse(
        crlf(
            "v=0",
            "o=- 1 1 IN IP4 x",
            "s=-",
            "m=audio 4000 RTP/AVP 0",
            "a=rtpmap:zero PCMU/8000",
            "a=ptime:20.5",
            "a=fmtp:0",
        )
    ).media[0]
    assert audio.rtpmap == {}
    assert audio.ptime is None
    assert audio.fmtp == {}
    assert Attribute("rtpmap", "zero PCMU/8000") in audio.attributes


# --- our offer -------------------------------------------------------------------------------


def test_build_offer_exact_body(offer: SessionDescription) -> None:
    assert str(offer) == crlf(
        "v=0",
        "o=- 1234 1234 IN IP4 192.0.2.10",
        "s=-",
        "c=IN IP4 192.0.2.10",
        "t=0 0",
        "m=audio 40000 RTP/AVP 0 8 101",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:101 telephone-event/8000",
        "a=fmtp:101 0-16",
        "a=ptime:20",
        "a=sendrecv",
    )
    assert parse(str(offer)) == offer


def test_build_offer_options() -> None:
    sdp = build_offer("2001:db8::10", 5000, 7, codecs=("pcma",), telephone_event_pt=None, ptime=30)
    assert sdp.connection == Connection("2001:db8::10", "IN", "IP6")
    assert sdp.origin.addrtype == "IP6"
    audio = sdp.media[0]
    assert audio.payload_types == (8,)
    assert audio.ptime == 30
    assert audio.fmtp == {}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"codecs": ("G729",)}, "cannot offer codec 'G729'"),
        ({"codecs": ()}, "at least one codec"),
        ({"port": 0}, "out of range"),
        ({"port": 70000}, "out of range"),
        ({"telephone_event_pt": 8}, "not dynamic"),
        ({"ptime": 0}, "positive"),
        ({"session_id": -1}, "negative"),
    ],
)
def test_build_offer_refuses_nonsense(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"address": "192.0.2.10", "port": 40000, "session_id": 1}
    args.update(kwargs)
    with pytest.raises(SdpError, match=re.escape(message)):
        build_offer(**args)  # type: ignore[arg-type]


# --- negotiating the answer ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            ASTERISK_ANSWER,
            NegotiatedMedia(("203.0.113.20", 17442), "PCMU", 0, 8000, 101, 20, "sendrecv"),
        ),
        (
            ASTERISK_CHAN_SIP_ANSWER,
            NegotiatedMedia(("203.0.113.21", 10326), "PCMA", 8, 8000, 101, 20, "sendrecv"),
        ),
        (
            FREESWITCH_ANSWER,
            NegotiatedMedia(("198.51.100.7", 24588), "PCMA", 8, 8000, 101, 20, "sendrecv"),
        ),
        (SIPP_ANSWER, NegotiatedMedia(("127.0.0.1", 6000), "PCMU", 0, 8000, None, 20, "sendrecv")),
    ],
)
def test_negotiate_real_answers(
    offer: SessionDescription, body: str, expected: NegotiatedMedia
) -> None:
    assert negotiate_answer(offer, parse(body)) == expected


def test_first_codec_in_the_answers_order_wins(offer: SessionDescription) -> None:
    result = negotiate_answer(offer, answer_with("m=audio 4000 RTP/AVP 8 0"))
    assert (result.codec, result.payload_type) == ("PCMA", 8)


def test_static_payload_types_need_no_rtpmap(offer: SessionDescription) -> None:
    result = negotiate_answer(offer, answer_with("m=audio 4000 RTP/AVP 0"))
    assert (result.codec, result.payload_type, result.clock_rate) == ("PCMU", 0, 8000)
    assert result.telephone_event_pt is None


def test_codec_names_are_case_insensitive_and_dynamic_numbers_allowed(
    offer: SessionDescription,
) -> None:
    result = negotiate_answer(
        offer,
        answer_with(
            "m=audio 4000 RTP/AVP 97 96",
            "a=rtpmap:97 pcma/8000",
            "a=rtpmap:96 Telephone-Event/8000",
        ),
    )
    assert (result.codec, result.payload_type, result.telephone_event_pt) == ("PCMA", 97, 96)


def test_telephone_event_pt_comes_from_the_answer(offer: SessionDescription) -> None:
    result = negotiate_answer(
        offer,
        answer_with(
            "m=audio 4000 RTP/AVP 0 96", "a=rtpmap:96 telephone-event/8000", "a=fmtp:96 0-15"
        ),
    )
    assert result.telephone_event_pt == 96


def test_telephone_event_ignored_when_we_did_not_offer_it() -> None:
    offer = build_offer("192.0.2.10", 40000, 1, telephone_event_pt=None)
    result = negotiate_answer(offer, parse(ASTERISK_ANSWER))
    assert result.telephone_event_pt is None


def test_ptime_from_the_answer(offer: SessionDescription) -> None:
    assert negotiate_answer(offer, answer_with("m=audio 4000 RTP/AVP 0", "a=ptime:30")).ptime == 30


def test_media_level_connection_overrides_session_level(offer: SessionDescription) -> None:
    result = negotiate_answer(
        offer, answer_with("m=audio 4000 RTP/AVP 0", "c=IN IP4 198.51.100.99")
    )
    assert result.remote_address == ("198.51.100.99", 4000)
    only_media = answer_with("m=audio 4000 RTP/AVP 0", "c=IN IP6 2001:db8::5", session_c=None)
    assert negotiate_answer(offer, only_media).remote_address == ("2001:db8::5", 4000)


@pytest.mark.parametrize(
    ("lines", "direction"),
    [
        (("m=audio 4000 RTP/AVP 0", "a=inactive"), "inactive"),
        (("m=audio 4000 RTP/AVP 0", "a=sendonly"), "recvonly"),
        (("m=audio 4000 RTP/AVP 0", "a=recvonly"), "sendonly"),
        (("m=audio 4000 RTP/AVP 0", "c=IN IP4 0.0.0.0"), "recvonly"),
        (("m=audio 4000 RTP/AVP 0", "c=IN IP4 0.0.0.0", "a=recvonly"), "inactive"),
        (("a=sendonly", "m=audio 4000 RTP/AVP 0"), "recvonly"),
        (("a=sendonly", "m=audio 4000 RTP/AVP 0", "a=sendrecv"), "sendrecv"),
    ],
)
def test_hold_is_reported_through_direction(
    offer: SessionDescription, lines: tuple[str, ...], direction: str
) -> None:
    result = negotiate_answer(offer, answer_with(*lines))
    assert result.direction == direction
    assert result.sends == (direction in ("sendrecv", "sendonly"))
    assert result.receives == (direction in ("sendrecv", "recvonly"))


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (
            answer_with("m=audio 4000 RTP/AVP 18", "a=rtpmap:18 G729/8000"),
            "the remote party answered with no codec we offered (it answered G729/8000; "
            "we offered PCMU/8000, PCMA/8000, telephone-event/8000)",
        ),
        (
            answer_with("m=audio 4000 RTP/AVP 101", "a=rtpmap:101 telephone-event/8000"),
            "no codec we offered",
        ),
        (answer_with("m=audio 4000 RTP/AVP 96"), "it answered payload type 96"),
        (answer_with("m=audio 0 RTP/AVP 0"), "rejected the audio stream (port 0"),
        (answer_with("m=audio 4000 RTP/SAVP 0"), "transport RTP/SAVP"),
        (answer_with("m=audio 4000 RTP/AVP 0", session_c=None), "no connection address"),
        (answer_with(), "audio stream is missing"),
        (answer_with("m=video 4000 RTP/AVP 31"), "with a 'video' stream"),
    ],
)
def test_negotiation_rejections_say_what_happened(
    offer: SessionDescription, answer: SessionDescription, message: str
) -> None:
    with pytest.raises(SdpNegotiationError) as info:
        negotiate_answer(offer, answer)
    assert message in str(info.value)


def test_offer_without_active_audio_cannot_be_negotiated() -> None:
    with pytest.raises(SdpNegotiationError, match="our offer"):
        negotiate_answer(parse(SIPP_ANSWER.replace("6000", "0")), parse(SIPP_ANSWER))


# --- answering an offer (simulated callee) ---------------------------------------------------


def test_build_answer_to_our_offer(offer: SessionDescription) -> None:
    answer = build_answer(offer, "198.51.100.5", 30000, 99)
    assert str(answer) == crlf(
        "v=0",
        "o=- 99 99 IN IP4 198.51.100.5",
        "s=-",
        "c=IN IP4 198.51.100.5",
        "t=0 0",
        "m=audio 30000 RTP/AVP 0 101",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:101 telephone-event/8000",
        "a=fmtp:101 0-16",
        "a=ptime:20",
        "a=sendrecv",
    )
    assert negotiate_answer(offer, answer) == NegotiatedMedia(
        ("198.51.100.5", 30000), "PCMU", 0, 8000, 101, 20, "sendrecv"
    )


def test_build_answer_picks_first_offered_supported_codec() -> None:
    answer = build_answer(
        parse(FREESWITCH_OFFER), "127.0.0.1", 30000, 1, supported=("PCMA", "PCMU")
    )
    audio = answer.media[0]
    assert audio.payload_types == (0, 101)
    assert audio.fmtp == {101: "0-16"}


def test_build_answer_keeps_the_offers_event_number_and_ptime() -> None:
    offer = parse(BARESIP_OFFER.replace("101", "96").replace("a=ptime:20", "a=ptime:40"))
    audio = build_answer(offer, "127.0.0.1", 30000, 1, supported=("PCMA",)).media[0]
    assert audio.payload_types == (8, 96)
    assert audio.fmtp == {96: "0-15"}
    assert audio.ptime == 40


def test_build_answer_rejects_other_streams_with_port_zero() -> None:
    offer = parse(
        crlf(
            "v=0",
            "o=- 1 1 IN IP4 192.0.2.1",
            "s=-",
            "c=IN IP4 192.0.2.1",
            "t=0 0",
            "m=video 5006 RTP/AVP 31",
            "m=audio 5004 RTP/AVP 0",
            "m=audio 5008 RTP/AVP 8",
        )
    )
    answer = build_answer(offer, "192.0.2.9", 7000, 2)
    assert [(m.media, m.port, m.formats) for m in answer.media] == [
        ("video", 0, ("31",)),
        ("audio", 7000, ("0",)),
        ("audio", 0, ("8",)),
    ]
    assert parse(str(answer)) == answer


@pytest.mark.parametrize(
    ("offered", "answered"),
    [("sendonly", "recvonly"), ("recvonly", "sendonly"), ("inactive", "inactive")],
)
def test_build_answer_mirrors_direction(offered: str, answered: str) -> None:
    offer = parse(SIPP_ANSWER + f"a={offered}\r\n")
    assert build_answer(offer, "127.0.0.1", 7000, 2).media[0].direction == answered


def test_build_answer_without_common_codec() -> None:
    offer = answer_with("m=audio 4000 RTP/AVP 18 9", "a=rtpmap:18 G729/8000")
    with pytest.raises(
        SdpNegotiationError,
        match=re.escape("it offered G729/8000, G722/8000; we support PCMU, PCMA"),
    ):
        build_answer(offer, "127.0.0.1", 7000, 2)
    with pytest.raises(SdpNegotiationError, match="no active RTP/AVP audio stream"):
        build_answer(answer_with("m=audio 0 RTP/AVP 0"), "127.0.0.1", 7000, 2)


# --- properties ------------------------------------------------------------------------------


@given(st.text(max_size=300))
def test_parse_raises_only_sdp_error_on_text(text: str) -> None:
    with contextlib.suppress(SdpError):
        parse(text)


@given(st.binary(max_size=300))
def test_parse_raises_only_sdp_error_on_bytes(data: bytes) -> None:
    with contextlib.suppress(SdpError):
        parse(data)


_VALUE = st.text(st.characters(codec="utf-8", exclude_characters="\r\n\x00"), max_size=20)
_WORD = st.from_regex(r"[A-Za-z0-9.:/*-]{1,10}", fullmatch=True)
_ATTRIBUTE_LINES = st.one_of(
    st.sampled_from(
        [
            "a=sendrecv",
            "a=sendonly",
            "a=recvonly",
            "a=inactive",
            "a=ptime:20",
            "a=ptime:x",
            "a=rtcp-mux",
        ]
    ),
    st.builds("a=rtpmap:{} {}/{}".format, st.integers(0, 130), _WORD, st.integers(0, 99999)),
    st.builds("a=fmtp:{} {}".format, st.integers(0, 130), _VALUE),
    st.builds("a={}:{}".format, _WORD, _VALUE),
    st.builds("a={}".format, _VALUE),
)
_OTHER_LINES = st.one_of(
    st.builds("c=IN {} {}".format, st.sampled_from(["IP4", "IP6"]), _WORD),
    st.builds("{}={}".format, st.sampled_from(list("ibkuepzrtsxyv")), _VALUE),
)
_SESSION_HEAD = st.builds(
    "o={} {} {} IN IP4 {}".format, _WORD, st.integers(0, 2**64), st.integers(0, 2**64), _WORD
)
_MEDIA_LINE = st.builds(
    "m={} {} {} {}".format,
    st.sampled_from(["audio", "video", "image"]),
    st.integers(0, 65535).map(str)
    | st.builds("{}/{}".format, st.integers(0, 65535), st.integers(1, 9)),
    st.sampled_from(["RTP/AVP", "RTP/SAVP", "udptl"]),
    st.lists(st.integers(0, 127).map(str) | _WORD, max_size=4).map(" ".join),
)


@st.composite
def sdp_texts(draw: st.DrawFn) -> str:
    lines = ["v=0", draw(_SESSION_HEAD)]
    lines += draw(st.lists(_OTHER_LINES | _ATTRIBUTE_LINES, max_size=6))
    for _ in range(draw(st.integers(0, 3))):
        lines.append(draw(_MEDIA_LINE))
        lines += draw(st.lists(_OTHER_LINES | _ATTRIBUTE_LINES, max_size=6))
    ending = draw(st.sampled_from(["\r\n", "\n", "\r"]))
    return ending.join(lines) + draw(st.sampled_from(["", ending]))


@given(sdp_texts())
def test_parse_then_str_reaches_a_fixed_point(text: str) -> None:
    try:
        first = parse(text)
    except SdpError:
        assume(False)
        return
    printed = str(first)
    assert parse(printed) == first
    assert str(parse(printed)) == printed
    assert parse(printed.encode()) == first


_CODECS = st.lists(st.sampled_from(["PCMU", "PCMA"]), min_size=1, max_size=2, unique=True).map(
    tuple
)


@given(
    offered=_CODECS,
    supported=st.lists(
        st.sampled_from(["PCMU", "PCMA", "G729", "opus"]), max_size=4, unique=True
    ).map(tuple),
    event_pt=st.none() | st.integers(96, 127),
    port=st.integers(1, 65535),
)
def test_callee_and_caller_agree(
    offered: tuple[str, ...], supported: tuple[str, ...], event_pt: int | None, port: int
) -> None:
    offer = build_offer("192.0.2.10", 40000, 1, codecs=offered, telephone_event_pt=event_pt)
    common = [name for name in offered if name in supported]
    if not common:
        with pytest.raises(SdpNegotiationError):
            build_answer(offer, "198.51.100.1", port, 2, supported=supported)
        return
    answer = parse(str(build_answer(offer, "198.51.100.1", port, 2, supported=supported)))
    result = negotiate_answer(offer, answer)
    assert result.codec == common[0]
    assert result.remote_address == ("198.51.100.1", port)
    assert result.telephone_event_pt == event_pt


def test_media_description_refuses_bad_port() -> None:
    with pytest.raises(SdpError):
        MediaDescription("audio", 70000, "RTP/AVP", ("0",))


def test_long_bad_line_is_shortened_in_the_message() -> None:
    bad = "o=" + "x" * 200 + " 1 1 IN IP4"
    with pytest.raises(SdpError) as info:
        parse(f"v=0\r\n{bad}\r\n")
    assert info.value.line == bad
    assert len(str(info.value)) < 160
