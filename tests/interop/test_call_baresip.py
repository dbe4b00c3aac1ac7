"""`callbot call` to baresip, an independent softphone answering automatically.

baresip plays a spoken WAV as its microphone, sends RFC 4733 key presses when told to over
its ctrl_tcp connection, records what it hears, and can hang up itself.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from .callcli import CallResult, RunningCall
from .media import wav_rms
from .peers import BaresipPeer, PeerError, PeerSet

pytestmark = [pytest.mark.interop, pytest.mark.timeout(120)]


def call_baresip(phone: BaresipPeer, *options: str) -> RunningCall:
    return RunningCall([phone.uri, "--trunk", str(phone.sip), "--ring-timeout", "10", *options])


def wait_established(phone: BaresipPeer, call: RunningCall) -> None:
    """Wait for baresip to report the call up; if our dialer already ended, show why."""
    try:
        phone.ctrl.wait_event("CALL_ESTABLISHED", timeout=15)
    except PeerError as exc:
        if not call.running:
            result = call.result(timeout=5)
            raise AssertionError(f"the call ended before baresip had it up\n{result.explain()}") from exc
        raise


def assert_heard_audio(result: CallResult) -> None:
    expected = result["talk_ms"] / 20
    assert result["rtp_received"] >= 0.5 * expected, (
        f"rtp_received={result['rtp_received']} for talk_ms={result['talk_ms']}: baresip sends all the time\n"
        + result.explain()
    )


def test_baresip_answers_plays_and_sends_digits(peers: PeerSet, callee_prompt: Path, caller_prompt: Path) -> None:
    phone = peers.baresip(callee_prompt)
    call = call_baresip(phone, "--play", str(caller_prompt), "--hangup-after-digits", "2", "--max-duration", "30")
    try:
        wait_established(phone, call)
        time.sleep(1.0)  # let a second of both prompts flow before the key presses
        phone.ctrl.send_digits("42")
        result = call.result(timeout=30)
    finally:
        call.kill()
    phone.ctrl.wait_event("CALL_CLOSED", timeout=10)
    assert result["outcome"] == "answered", result.explain()
    assert result["digits"] == "42", result.explain()
    assert result["hangup_by"] == "us", result.explain()
    assert_heard_audio(result)
    assert wav_rms(phone.heard_wav()) > 100, "baresip heard silence: our --play audio did not arrive"


def test_baresip_hangs_up(peers: PeerSet, callee_prompt: Path) -> None:
    phone = peers.baresip(callee_prompt)
    call = call_baresip(phone, "--max-duration", "30")
    try:
        wait_established(phone, call)
        time.sleep(2.0)  # a short conversation before the callee hangs up
        response = phone.ctrl.command("hangup")
        assert response.get("ok"), response
        result = call.result(timeout=20)
    finally:
        call.kill()
    assert result["outcome"] == "answered", result.explain()
    assert result["hangup_by"] == "remote", result.explain()
    assert 1500 <= result["talk_ms"] <= 6000, result.explain()
    assert_heard_audio(result)
