"""`callbot call` through Kamailio: digest authentication, record-route, registration.

Kamailio (tests/interop/kamailio/kamailio.cfg) challenges every INVITE with 407 and REGISTER
with 401, record-routes, and relays to a sipp UAS. The UAS's message trace shows whether our
in-dialog requests followed the route set through the proxy.
"""

from __future__ import annotations

import pytest

from .callcli import CallResult, place_call
from .peers import LOOPBACK, Endpoint, KamailioPeer, PeerSet, SippPeer, free_port_block

pytestmark = [pytest.mark.interop, pytest.mark.timeout(120)]


def credentials(proxy: KamailioPeer, password: str | None = None) -> list[str]:
    account = proxy.account
    return ["--trunk", str(proxy.sip), "--username", account.user,
            "--password", account.password if password is None else password]


def mentions_credentials(result: CallResult) -> bool:
    """Whether the dialer's words point at the trunk credentials (issue 2: actionable errors)."""
    return any(word in result.text() for word in ("credential", "password"))


def assert_through_proxy(uas: SippPeer, proxy: KamailioPeer, method: str) -> None:
    """The far end got `method` from the proxy (its Via on top), not straight from us."""
    requests = uas.received_requests(method)
    assert requests, f"the far end got no {method}\n{uas.describe()}"
    top_via = next(line for line in requests[0].splitlines() if line.lower().startswith(("via:", "v:")))
    assert f"{LOOPBACK}:{proxy.sip.port}" in top_via, f"{method} bypassed the Record-Route proxy: {top_via}"


def test_digest_auth_and_record_route(peers: PeerSet) -> None:
    uas = peers.sipp_uas("uas_answer_dtmf.xml")
    proxy = peers.kamailio(uas.sip)
    result = place_call(["1000", *credentials(proxy), "--hangup-after-digits", "4", "--max-duration", "20"])
    uas.assert_succeeded()
    assert result["outcome"] == "answered", result.explain()
    assert result["sip_status"] == 200
    assert result["digits"] == "123#", result.explain()
    assert result["hangup_by"] == "us"
    assert "INVITE authenticated as trunkuser" in proxy.log_text()
    assert_through_proxy(uas, proxy, "ACK")
    assert_through_proxy(uas, proxy, "BYE")


@pytest.mark.parametrize(
    ("algorithm", "qop"),
    [("SHA-256", True), ("MD5", False)],
    ids=["sha256-qop-auth", "md5-without-qop"],
)
def test_digest_variants_and_remote_bye_through_proxy(peers: PeerSet, algorithm: str, qop: bool) -> None:
    uas = peers.sipp_uas("uas_remote_bye.xml", pause_ms=1500)
    proxy = peers.kamailio(uas.sip, algorithm=algorithm, qop=qop)
    result = place_call(["1000", *credentials(proxy), "--max-duration", "20"])
    uas.assert_succeeded()  # its BYE reached us through the proxy and our 200 came back
    assert result["outcome"] == "answered", result.explain()
    assert result["hangup_by"] == "remote", result.explain()
    assert "INVITE authenticated as trunkuser" in proxy.log_text()
    assert_through_proxy(uas, proxy, "ACK")


@pytest.mark.parametrize(("forbid", "status"), [(False, 407), (True, 403)], ids=["rechallenge", "forbidden"])
def test_wrong_password_is_reported_as_bad_credentials(peers: PeerSet, forbid: bool, status: int) -> None:
    nobody = Endpoint(LOOPBACK, free_port_block(1))
    proxy = peers.kamailio(nobody, forbid_wrong_password=forbid)
    result = place_call(["1000", *credentials(proxy, password="not-the-password"), "--ring-timeout", "10"])
    assert result["outcome"] == "rejected", result.explain()
    assert result["sip_status"] == status, result.explain()
    assert mentions_credentials(result), f"a campaign manager must be told to check the credentials\n{result.explain()}"
    invites = proxy.log_text().count("INVITE not authenticated")
    assert invites == 2, f"expected one challenge and one refused retry, saw {invites} unauthenticated INVITEs"


def test_missing_credentials_are_reported(peers: PeerSet) -> None:
    nobody = Endpoint(LOOPBACK, free_port_block(1))
    proxy = peers.kamailio(nobody)
    result = place_call(["1000", "--trunk", str(proxy.sip), "--ring-timeout", "10"])
    assert result["outcome"] == "rejected", result.explain()
    assert result["sip_status"] == 407, result.explain()
    assert mentions_credentials(result), result.explain()


def test_busy_through_proxy(peers: PeerSet) -> None:
    uas = peers.sipp_uas("uas_busy.xml")
    proxy = peers.kamailio(uas.sip)
    result = place_call(["1000", *credentials(proxy), "--ring-timeout", "10"])
    uas.assert_succeeded()
    assert result["outcome"] == "busy", result.explain()
    assert result["sip_status"] == 486


def test_ring_timeout_cancel_through_proxy(peers: PeerSet) -> None:
    uas = peers.sipp_uas("uas_ring_forever.xml")
    proxy = peers.kamailio(uas.sip)
    result = place_call(["1000", *credentials(proxy), "--ring-timeout", "2"])
    uas.assert_succeeded()  # the proxy relayed our CANCEL; the 487 was ACKed
    assert result["outcome"] == "no_answer", result.explain()
    assert result["sip_status"] == 487, result.explain()
    assert 1800 <= result["ring_ms"] <= 4000, result.explain()


def test_register_then_call(peers: PeerSet) -> None:
    uas = peers.sipp_uas("uas_remote_bye.xml", pause_ms=1000)
    proxy = peers.kamailio(uas.sip)
    result = place_call(["1000", *credentials(proxy), "--register", "--max-duration", "20"])
    uas.assert_succeeded()
    assert f"REGISTER saved for {proxy.account.user}" in proxy.log_text(), proxy.describe()
    assert result["outcome"] == "answered", result.explain()
    assert result["hangup_by"] == "remote"
