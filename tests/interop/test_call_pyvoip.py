"""`callbot call` to pyVoIP 1.6.8 (the product's design card names it) as one more callee.

pyVoIP only takes calls after registering, so it registers with the test Kamailio, and our
dialer reaches it through the proxy with digest authentication. pyVoIP answers without
Record-Route, so our ACK and BYE go straight to its Contact.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .callcli import place_call
from .peers import LOOPBACK, Endpoint, PeerSet, TrunkAccount, free_port_block

pytestmark = [pytest.mark.interop, pytest.mark.timeout(120)]


def test_pyvoip_answers_and_hears_us(peers: PeerSet, caller_prompt: Path) -> None:
    nobody = Endpoint(LOOPBACK, free_port_block(1))
    account = TrunkAccount(user="2001", password="pyvoip-secret")
    proxy = peers.kamailio(nobody, account=account)
    phone = peers.pyvoip(proxy)
    result = place_call(
        [account.user, "--trunk", str(proxy.sip), "--username", account.user, "--password", account.password,
         "--ring-timeout", "10", "--max-duration", "4", "--play", str(caller_prompt)],
    )
    assert result["outcome"] == "answered", result.explain()
    assert result["hangup_by"] == "us"
    assert result["rtp_received"] > 0, result.explain()
    ended = phone.wait_event("call_ended", timeout=10)
    assert ended["ended_by_remote"] is True, f"pyVoIP did not see our BYE: {ended}"
    assert int(ended["heard_frames"]) > 0, f"pyVoIP heard only silence from us: {ended}"
