"""`callbot call` against sipp answering scenarios: every call outcome, digits, pacing.

Each test starts one sipp UAS scenario (tests/interop/scenarios/uas_*.xml), places one call
with the CLI, asserts on the JSON it prints, and asserts that sipp's scenario ran to its end
(exit status 0: every message sipp expected from us - ACK, CANCEL, BYE, 200 - arrived).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .callcli import CallResult, place_call
from .media import pcap_digits, scenario_pcaps
from .peers import PeerSet, SippPeer, scenario_path, sipp_share_dir

pytestmark = [pytest.mark.interop, pytest.mark.timeout(120)]


def scenario_digits() -> str:
    """The digits inside the pcaps uas_answer_dtmf.xml plays, read from the pcaps themselves."""
    share = sipp_share_dir()
    return "".join(pcap_digits(share / name) for name in scenario_pcaps(scenario_path("uas_answer_dtmf.xml")))


def trunk(uas: SippPeer) -> list[str]:
    return ["--trunk", str(uas.sip)]


def assert_rtp_paced(result: CallResult) -> None:
    """We send one packet per 20 ms for the whole talk time, silence included (ptime 20)."""
    expected = result["talk_ms"] / 20
    tolerance = max(10.0, 0.15 * expected)
    assert abs(result["rtp_sent"] - expected) <= tolerance, (
        f"rtp_sent={result['rtp_sent']} for talk_ms={result['talk_ms']} (expected about {expected:.0f})\n"
        + result.explain()
    )


def test_answered_call_hears_the_pcap_digits_and_hangs_up_after_them(peers: PeerSet) -> None:
    uas = peers.sipp_uas("uas_answer_dtmf.xml")
    expected = scenario_digits()
    result = place_call(
        ["1000", *trunk(uas), "--ring-timeout", "10", "--max-duration", "20",
         "--hangup-after-digits", str(len(expected))],
    )
    uas.assert_succeeded()
    assert result["outcome"] == "answered", result.explain()
    assert result["sip_status"] == 200
    assert result["digits"] == expected, result.explain()
    assert result["hangup_by"] == "us"
    assert 1500 <= result["talk_ms"] <= 10000, result.explain()
    assert result["rtp_received"] >= len(expected), result.explain()
    assert_rtp_paced(result)


def test_max_duration_ends_the_call_and_rtp_is_paced(peers: PeerSet, caller_prompt: Path) -> None:
    uas = peers.sipp_uas("uas_answer_dtmf.xml")
    result = place_call(
        ["1000", *trunk(uas), "--max-duration", "4", "--play", str(caller_prompt)],
    )
    uas.assert_succeeded()
    assert result["outcome"] == "answered", result.explain()
    assert result["hangup_by"] == "us"
    assert result["digits"] == scenario_digits(), result.explain()
    assert 3500 <= result["talk_ms"] <= 5500, result.explain()
    assert_rtp_paced(result)
    assert 0 <= result["ring_ms"] < 3000


@pytest.mark.parametrize(
    ("scenario", "outcome", "status"),
    [
        ("uas_busy.xml", "busy", 486),
        ("uas_decline.xml", "declined", 603),
        ("uas_not_found.xml", "rejected", 404),
    ],
)
def test_final_error_responses(peers: PeerSet, scenario: str, outcome: str, status: int) -> None:
    uas = peers.sipp_uas(scenario)
    result = place_call(["1000", *trunk(uas), "--ring-timeout", "10"])
    uas.assert_succeeded()  # includes our hop-by-hop ACK of the error response
    assert result["outcome"] == outcome, result.explain()
    assert result["sip_status"] == status, result.explain()
    assert result["talk_ms"] == 0
    assert result["digits"] == ""


def test_ring_timeout_sends_cancel(peers: PeerSet) -> None:
    uas = peers.sipp_uas("uas_ring_forever.xml")
    result = place_call(["1000", *trunk(uas), "--ring-timeout", "2"])
    uas.assert_succeeded()  # CANCEL arrived, and our ACK for the 487
    assert len(uas.received_requests("CANCEL")) >= 1
    assert result["outcome"] == "no_answer", result.explain()
    assert result["sip_status"] == 487, result.explain()
    assert 1800 <= result["ring_ms"] <= 4000, result.explain()
    assert result["talk_ms"] == 0


def test_remote_bye_is_reported(peers: PeerSet) -> None:
    uas = peers.sipp_uas("uas_remote_bye.xml", pause_ms=2000)
    result = place_call(["1000", *trunk(uas), "--max-duration", "20"])
    uas.assert_succeeded()  # our 200 for its BYE arrived
    assert result["outcome"] == "answered", result.explain()
    assert result["hangup_by"] == "remote", result.explain()
    assert 1500 <= result["talk_ms"] <= 5000, result.explain()
    assert_rtp_paced(result)


def test_answer_with_unsupported_codec_fails_with_ack_and_bye(peers: PeerSet) -> None:
    uas = peers.sipp_uas("uas_unsupported_codec.xml")
    result = place_call(["1000", *trunk(uas), "--max-duration", "10"])
    uas.assert_succeeded()  # we completed the INVITE with ACK, then ended the dialog with BYE
    assert result["outcome"] == "failed", result.explain()
    assert "codec" in result.text(), f"the outcome should say the codec was the problem\n{result.explain()}"
    assert result["rtp_sent"] == 0, "no audio can be sent in a codec we do not have"


def test_full_sip_uri_and_caller_id(peers: PeerSet) -> None:
    uas = peers.sipp_uas("uas_busy.xml")
    result = place_call([f"sip:4711@{uas.sip}", *trunk(uas), "--caller-id", "5550100"])
    uas.assert_succeeded()
    assert result["outcome"] == "busy", result.explain()
    invite = uas.received_requests("INVITE")[0]
    request_line, headers = invite.split("\n", 1)
    assert request_line.startswith(f"INVITE sip:4711@{uas.sip}"), request_line
    from_header = next(line for line in headers.splitlines() if line.lower().startswith(("from:", "f:")))
    assert "sip:5550100@" in from_header, from_header
