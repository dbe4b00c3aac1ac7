"""Self-checks of the interop peers, without our dialer.

Each far end used by the dialer tests is driven here by an independent caller (a sipp UAC
scenario, with a plain UDP socket standing in for its RTP receiver), so that a failing dialer
test can be blamed on the dialer and not on a scenario, the proxy configuration or a phone.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .media import RtpPacket, RtpSink, pcap_digits, rfc4733_digits, scenario_pcaps, ulaw_rms
from .peers import LOOPBACK, Endpoint, PeerSet, TrunkAccount, free_port_block, scenario_path, sipp_share_dir

pytestmark = [pytest.mark.interop, pytest.mark.timeout(90)]

#: The key presses uas_answer_dtmf.xml plays (dtmf_2833_1, _2, _3, _pound).
SCENARIO_DIGITS = "123#"


def audio(packets: list[RtpPacket]) -> list[RtpPacket]:
    return [p for p in packets if p.payload_type == 0]


def test_scenario_pcaps_hold_the_expected_digits() -> None:
    pcaps = scenario_pcaps(scenario_path("uas_answer_dtmf.xml"))
    share = sipp_share_dir()
    assert "".join(pcap_digits(share / name) for name in pcaps) == SCENARIO_DIGITS


def test_sipp_answer_scenario_sends_the_pcap_digits(peers: PeerSet) -> None:
    uas = peers.sipp_uas("uas_answer_dtmf.xml")
    with RtpSink() as sink:
        uac = peers.sipp("uac_answered.xml", target=uas.sip, pause_ms=4000, keys={"rtp_port": str(sink.port)})
        uac.assert_succeeded(timeout=30)
        uas.assert_succeeded(timeout=10)
    assert rfc4733_digits(sink.packets) == SCENARIO_DIGITS
    assert all(p.payload_type == 101 for p in sink.packets)


@pytest.mark.parametrize(
    ("scenario", "status"),
    [("uas_busy.xml", 486), ("uas_decline.xml", 603), ("uas_not_found.xml", 404)],
)
def test_sipp_final_response_scenarios(peers: PeerSet, scenario: str, status: int) -> None:
    uas = peers.sipp_uas(scenario)
    uac = peers.sipp("uac_final.xml", target=uas.sip, substitutions={"@STATUS@": str(status)})
    uac.assert_succeeded(timeout=20)
    uas.assert_succeeded(timeout=10)
    assert len(uas.received_requests("ACK")) >= 1


def test_sipp_ringing_scenario_accepts_cancel(peers: PeerSet) -> None:
    uas = peers.sipp_uas("uas_ring_forever.xml")
    uac = peers.sipp("uac_cancel.xml", target=uas.sip, pause_ms=1000)
    uac.assert_succeeded(timeout=20)
    uas.assert_succeeded(timeout=10)
    assert len(uas.received_requests("CANCEL")) == 1


def test_sipp_remote_bye_scenario_hangs_up(peers: PeerSet) -> None:
    uas = peers.sipp_uas("uas_remote_bye.xml", pause_ms=1000)
    uac = peers.sipp("uac_remote_bye.xml", target=uas.sip)
    uac.assert_succeeded(timeout=20)
    uas.assert_succeeded(timeout=10)
    bye = uac.received_requests("BYE")
    assert len(bye) >= 1 and "tag=" in bye[0].split("\nTo:", 1)[1].split("\n", 1)[0]


def test_sipp_unsupported_codec_scenario_answers_g729_only(peers: PeerSet) -> None:
    uas = peers.sipp_uas("uas_unsupported_codec.xml")
    uac = peers.sipp("uac_answered.xml", target=uas.sip, pause_ms=500)
    uac.assert_succeeded(timeout=20)
    uas.assert_succeeded(timeout=10)
    assert "m=audio" in uac.messages() and "RTP/AVP 18\n" in uac.messages()


def test_kamailio_authenticates_and_record_routes(peers: PeerSet) -> None:
    uas = peers.sipp_uas("uas_answer_dtmf.xml")
    proxy = peers.kamailio(uas.sip)
    account = proxy.account
    with RtpSink() as sink:
        uac = peers.sipp(
            "uac_answered.xml", target=proxy.sip, pause_ms=4000, keys={"rtp_port": str(sink.port)},
            auth=(account.user, account.password),
        )
        uac.assert_succeeded(timeout=30)
        uas.assert_succeeded(timeout=10)
    assert rfc4733_digits(sink.packets) == SCENARIO_DIGITS
    challenge = uac.messages()
    assert 'Proxy-Authenticate: Digest realm="callbot.test"' in challenge and 'qop="auth"' in challenge
    # The ACK and the BYE followed the route set through the proxy (its Via on top).
    for method in ("ACK", "BYE"):
        requests = uas.received_requests(method)
        assert requests, f"sipp UAS got no {method}"
        top_via = next(line for line in requests[0].splitlines() if line.startswith("Via:"))
        assert f"{LOOPBACK}:{proxy.sip.port}" in top_via, f"{method} bypassed the proxy: {top_via}"
    assert "INVITE authenticated as trunkuser" in proxy.log_text()


@pytest.mark.parametrize(("forbid", "status"), [(False, 407), (True, 403)])
def test_kamailio_refuses_a_wrong_password(peers: PeerSet, forbid: bool, status: int) -> None:
    nobody = Endpoint(LOOPBACK, free_port_block(1))
    proxy = peers.kamailio(nobody, forbid_wrong_password=forbid)
    uac = peers.sipp(
        "uac_auth_rejected.xml", target=proxy.sip, substitutions={"@STATUS@": str(status)},
        auth=(proxy.account.user, "not-the-password"),
    )
    uac.assert_succeeded(timeout=20)


def test_kamailio_challenges_with_sha256(peers: PeerSet) -> None:
    nobody = Endpoint(LOOPBACK, free_port_block(1))
    proxy = peers.kamailio(nobody, algorithm="SHA-256")
    uac = peers.sipp("uac_final.xml", target=proxy.sip, substitutions={"@STATUS@": "407"})
    uac.assert_succeeded(timeout=20)
    assert "algorithm=SHA-256" in uac.messages()


def test_baresip_answers_plays_audio_and_sends_digits(peers: PeerSet, callee_prompt: Path) -> None:
    phone = peers.baresip(callee_prompt)
    with RtpSink() as sink:
        uac = peers.sipp(
            "uac_answered.xml", target=phone.sip, service=phone.user, pause_ms=5000,
            keys={"rtp_port": str(sink.port)},
        )
        phone.ctrl.wait_event("CALL_ESTABLISHED", timeout=10)
        phone.ctrl.send_digits("42")
        uac.assert_succeeded(timeout=30)
        phone.ctrl.wait_event("CALL_CLOSED", timeout=10)
    assert rfc4733_digits(sink.packets) == "42"
    speech = audio(sink.packets)
    assert len(speech) > 150, f"baresip sent {len(speech)} PCMU packets in a 5 s call"
    assert ulaw_rms(p.payload for p in speech) > 100, "baresip's audio is silent"


def test_pyvoip_registers_and_answers_through_kamailio(peers: PeerSet) -> None:
    nobody = Endpoint(LOOPBACK, free_port_block(1))
    account = TrunkAccount(user="2001", password="pyvoip-secret")
    proxy = peers.kamailio(nobody, account=account)
    phone = peers.pyvoip(proxy)
    assert "REGISTER saved for 2001" in proxy.log_text()
    with RtpSink() as sink:
        uac = peers.sipp(
            "uac_answered.xml", target=proxy.sip, service=account.user, pause_ms=3000,
            keys={"rtp_port": str(sink.port)}, auth=(account.user, account.password),
        )
        uac.assert_succeeded(timeout=30)
        ended = phone.wait_event("call_ended", timeout=10)
    assert ended["ended_by_remote"] is True
    tone = audio(sink.packets)
    assert len(tone) > 75, f"pyVoIP sent {len(tone)} PCMU packets in a 3 s call"
    assert ulaw_rms(p.payload for p in tone) > 100, "pyVoIP's tone is silent"
