"""HTTP Digest for SIP (dialer.sip.auth): RFC known answers, client vs server, parser properties."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.errors import DialerError
from dialer.sip.auth import (
    ALGORITHMS,
    RESPONSE_HEADER,
    AuthError,
    Challenge,
    Credentials,
    DigestClient,
    DigestResponse,
    compute_response,
    credentials_rejected,
    format_challenge,
    select_challenges,
    verify,
)

# RFC 2617 s3.5 example.
RFC2617_CHALLENGE = (
    'Digest realm="testrealm@host.com", qop="auth,auth-int", '
    'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
)
RFC2617_AUTHORIZATION = (
    'Digest username="Mufasa", realm="testrealm@host.com", '
    'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, '
    'nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", '
    'opaque="5ccc069c403ebaf9f0171e9517f40e41"'
)

# RFC 7616 s3.9.1 example, with the header folding undone into plain whitespace.
RFC7616_NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
RFC7616_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
RFC7616_OPAQUE = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
RFC7616_SHA256_CHALLENGE = (
    'Digest\n    realm="http-auth@example.org",\n    qop="auth, auth-int",\n'
    f'    algorithm=SHA-256,\n    nonce="{RFC7616_NONCE}",\n    opaque="{RFC7616_OPAQUE}"'
)
RFC7616_MD5_CHALLENGE = (
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, '
    f'nonce="{RFC7616_NONCE}", opaque="{RFC7616_OPAQUE}"'
)
RFC7616_SHA256_AUTHORIZATION = (
    'Digest username="Mufasa",\n       realm="http-auth@example.org",\n'
    '       uri="/dir/index.html",\n       algorithm=SHA-256,\n'
    f'       nonce="{RFC7616_NONCE}",\n       nc=00000001,\n       cnonce="{RFC7616_CNONCE}",\n'
    "       qop=auth,\n"
    '       response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",\n'
    f'       opaque="{RFC7616_OPAQUE}"'
)

# Challenges as real SIP servers send them.
# Asterisk packs the parameters without spaces and spells the algorithm in lower case.
ASTERISK_CHALLENGE = (
    'Digest realm="asterisk",nonce="1700000000/9b1bc1d1c0f13f7e8ac7a1a8e5b6f2c0",'
    'opaque="3b4e2a1c7d9f0e11",algorithm=md5,qop="auth"'
)
KAMAILIO_CHALLENGE = (
    'Digest realm="127.0.0.1", nonce="ZWZkNWQ3YjAAAAAAAAA8qvF0n0Bn0dcIg8D9mBx7XA=="'
)
FREESWITCH_CHALLENGE = (
    'Digest realm="pbx.example.com", nonce="5b3f2a58-5d7f-4b2e-9a3b-0f6f8e1c2d3a", '
    'algorithm=MD5, qop="auth"'
)


def fixed_cnonce(value: str) -> Callable[[], str]:
    return lambda: value


# --- known answers ---------------------------------------------------------------------------


def test_rfc2617_example_response() -> None:
    client = DigestClient(
        Credentials("Mufasa", "Circle Of Life"), cnonce_factory=fixed_cnonce("0a4f113b")
    )
    answer = DigestResponse.parse(
        client.authorize(Challenge.parse(RFC2617_CHALLENGE), "GET", "/dir/index.html")
    )
    assert answer.response == "6629fae49393a05397450978507c4ef1"
    assert (answer.qop, answer.nc, answer.cnonce) == ("auth", "00000001", "0a4f113b")
    assert answer.opaque == "5ccc069c403ebaf9f0171e9517f40e41"
    assert answer.uri == "/dir/index.html"
    assert answer.algorithm == "MD5"


def test_rfc2617_example_authorization_verifies() -> None:
    answer = DigestResponse.parse(RFC2617_AUTHORIZATION)
    assert verify(answer, "Circle Of Life", "GET")
    assert not verify(answer, "Circle of Life", "GET")
    assert not verify(answer, "Circle Of Life", "POST")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            RFC7616_SHA256_CHALLENGE,
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
        ),
        (RFC7616_MD5_CHALLENGE, "8ca523f5e9506fed4657c9700eebdbec"),
    ],
)
def test_rfc7616_examples(header: str, expected: str) -> None:
    challenge = Challenge.parse(header)
    client = DigestClient(
        Credentials("Mufasa", "Circle of Life"), cnonce_factory=fixed_cnonce(RFC7616_CNONCE)
    )
    answer = client.respond(challenge, "GET", "/dir/index.html")
    assert answer.response == expected
    assert answer.nc == "00000001"
    assert answer.opaque == RFC7616_OPAQUE
    assert verify(DigestResponse.parse(str(answer)), "Circle of Life", "GET")


def test_rfc7616_sha256_authorization_verifies() -> None:
    answer = DigestResponse.parse(RFC7616_SHA256_AUTHORIZATION)
    assert answer.algorithm == "SHA-256"
    assert verify(answer, "Circle of Life", "GET")
    assert not verify(answer, "Circle Of Life", "GET")


def test_compute_response_known_answer_directly() -> None:
    assert (
        compute_response(
            algorithm="SHA-256",
            username="Mufasa",
            realm="http-auth@example.org",
            password="Circle of Life",
            nonce=RFC7616_NONCE,
            method="GET",
            uri="/dir/index.html",
            qop="auth",
            nc="00000001",
            cnonce=RFC7616_CNONCE,
        )
        == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    )


# --- the client in SIP use -------------------------------------------------------------------


def test_sip_register_answer_has_every_field() -> None:
    client = DigestClient(Credentials("1001", "s3cret"), cnonce_factory=fixed_cnonce("abcdef01"))
    value = client.authorize(Challenge.parse(ASTERISK_CHALLENGE), "REGISTER", "sip:pbx.example.com")
    assert value.startswith("Digest ")
    answer = DigestResponse.parse(value)
    assert answer.username == "1001"
    assert answer.realm == "asterisk"
    assert answer.nonce == "1700000000/9b1bc1d1c0f13f7e8ac7a1a8e5b6f2c0"
    assert answer.uri == "sip:pbx.example.com"
    assert answer.algorithm == "MD5"
    assert answer.qop == "auth"
    assert answer.opaque == "3b4e2a1c7d9f0e11"
    assert re.fullmatch(r"[0-9a-f]{32}", answer.response)
    # RFC 3261 s25.1: qop and nc are unquoted tokens, the rest quoted strings.
    assert "qop=auth," in value and "nc=00000001" in value and 'cnonce="abcdef01"' in value
    assert verify(answer, "s3cret", "REGISTER")


def test_nonce_count_grows_per_reuse_and_resets_on_new_nonce() -> None:
    client = DigestClient(Credentials("alice", "pw"))
    first = Challenge.parse(FREESWITCH_CHALLENGE)
    answers = [client.respond(first, "INVITE", "sip:bob@example.com") for _ in range(3)]
    assert [a.nc for a in answers] == ["00000001", "00000002", "00000003"]
    assert len({a.cnonce for a in answers}) == 1
    assert len({a.response for a in answers}) == 3
    fresh = Challenge(realm=first.realm, nonce="another-nonce", qop=("auth",), stale=True)
    renewed = client.respond(fresh, "INVITE", "sip:bob@example.com")
    assert renewed.nc == "00000001"
    assert renewed.cnonce != answers[0].cnonce
    assert all(verify(a, "pw", "INVITE") for a in [*answers, renewed])


def test_default_cnonce_is_random_hex() -> None:
    client = DigestClient(Credentials("alice", "pw"))
    one = client.respond(Challenge("r", "n1", qop=("auth",)), "INVITE", "sip:x@y")
    two = client.respond(Challenge("r", "n2", qop=("auth",)), "INVITE", "sip:x@y")
    assert one.cnonce is not None and re.fullmatch(r"[0-9a-f]{32}", one.cnonce)
    assert one.cnonce != two.cnonce


def test_rfc2069_form_without_qop() -> None:
    challenge = Challenge.parse(KAMAILIO_CHALLENGE)
    assert challenge.qop == ()
    client = DigestClient(Credentials("bob", "zanzibar"))
    value = client.authorize(challenge, "INVITE", "sip:bob@127.0.0.1")
    answer = DigestResponse.parse(value)
    assert (answer.qop, answer.nc, answer.cnonce) == (None, None, None)
    assert "qop=" not in value and "nc=" not in value and "cnonce=" not in value
    assert verify(answer, "zanzibar", "INVITE")
    assert not verify(answer, "zanzibar2", "INVITE")


def test_auth_int_when_it_is_the_only_qop() -> None:
    body = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"
    client = DigestClient(Credentials("bob", "pw"))
    answer = client.respond(Challenge("r", "n", qop=("auth-int",)), "INVITE", "sip:x@y", body)
    assert answer.qop == "auth-int"
    assert verify(answer, "pw", "INVITE", body)
    assert not verify(answer, "pw", "INVITE", body + b"x")


def test_qop_auth_preferred_over_auth_int() -> None:
    client = DigestClient(Credentials("bob", "pw"))
    answer = client.respond(
        Challenge("r", "n", qop=("auth-int", "auth")), "INVITE", "sip:x@y", b"body"
    )
    assert answer.qop == "auth"


@pytest.mark.parametrize("algorithm", ["MD5-sess", "SHA-256-sess"])
def test_session_algorithms_verify(algorithm: str) -> None:
    client = DigestClient(Credentials("bob", "pw"))
    answer = client.respond(
        Challenge("r", "n", algorithm=algorithm, qop=("auth",)), "BYE", "sip:x@y"
    )
    assert answer.algorithm == algorithm
    assert verify(answer, "pw", "BYE")
    assert not verify(answer, "nope", "BYE")


def test_unsupported_challenge_cannot_be_answered() -> None:
    client = DigestClient(Credentials("bob", "pw"))
    with pytest.raises(AuthError, match="SHA-512-256"):
        client.respond(
            Challenge("r", "n", algorithm="SHA-512-256", qop=("auth",)), "INVITE", "sip:x@y"
        )
    with pytest.raises(AuthError, match="qop"):
        client.respond(Challenge("r", "n", qop=("auth-conf",)), "INVITE", "sip:x@y")
    with pytest.raises(AuthError):
        client.respond(Challenge("r", "n", algorithm="MD5-sess"), "INVITE", "sip:x@y")


def test_response_header_names() -> None:
    assert RESPONSE_HEADER["WWW-Authenticate"] == "Authorization"
    assert RESPONSE_HEADER["Proxy-Authenticate"] == "Proxy-Authorization"


def test_credentials_repr_hides_password() -> None:
    assert "hunter2" not in repr(Credentials("bob", "hunter2"))


# --- choosing among challenges ----------------------------------------------------------------


def test_strongest_algorithm_wins_per_realm() -> None:
    offered = [
        Challenge.parse('Digest realm="sip.example.com", nonce="a", algorithm=MD5, qop="auth"'),
        Challenge.parse('Digest realm="sip.example.com", nonce="b", algorithm=SHA-256, qop="auth"'),
        Challenge.parse(
            'Digest realm="sip.example.com", nonce="c", algorithm=SHA-512-256, qop="auth"'
        ),
        Challenge.parse('Digest realm="proxy.example.net", nonce="d", qop="auth"'),
    ]
    chosen = select_challenges(offered)
    assert [(c.realm, c.algorithm) for c in chosen] == [
        ("sip.example.com", "SHA-256"),
        ("proxy.example.net", "MD5"),
    ]


def test_realm_with_nothing_supported_is_an_error() -> None:
    with pytest.raises(AuthError, match=r"realm 'x'.*SHA-512-256"):
        select_challenges([Challenge("x", "n", algorithm="SHA-512-256")])
    with pytest.raises(AuthError, match="no Digest challenge"):
        select_challenges([])


def test_algorithm_order_is_strongest_first() -> None:
    assert ALGORITHMS[0] == "SHA-256"
    assert ALGORITHMS.index("MD5") > ALGORITHMS.index("SHA-256-sess")


def test_stale_means_retry_not_rejection() -> None:
    stale = Challenge.parse('Digest realm="carrier", nonce="new", stale=TRUE, qop="auth"')
    assert stale.stale
    refused = Challenge.parse('Digest realm="carrier", nonce="newer", stale=false, qop="auth"')
    assert not refused.stale
    assert not credentials_rejected({"carrier"}, [stale])
    assert credentials_rejected({"carrier"}, [refused])
    # A challenge from a realm we have not answered yet (a second proxy) is not a rejection.
    assert not credentials_rejected({"carrier"}, [Challenge("proxy2", "n")])
    assert not credentials_rejected(set(), [refused])


# --- parsing ---------------------------------------------------------------------------------


def test_parse_is_case_insensitive_and_tolerant_of_whitespace() -> None:
    challenge = Challenge.parse(
        '  digest   REALM = "sip.example.com" ,NONCE="abc" ,, Algorithm = sha-256 ,'
        ' QOP="Auth , auth-int", Stale=True, Domain="sip:sip.example.com sip:b.example.com",'
        " OPAQUE=xyz, userhash=false, charset=UTF-8 "
    )
    assert challenge == Challenge(
        realm="sip.example.com",
        nonce="abc",
        opaque="xyz",
        algorithm="SHA-256",
        qop=("auth", "auth-int"),
        stale=True,
        domain="sip:sip.example.com sip:b.example.com",
        extra=(("userhash", "false"), ("charset", "UTF-8")),
    )


def test_parse_unescapes_quoted_pairs() -> None:
    challenge = Challenge.parse(r'Digest realm="a \"quoted\" realm, with comma \\ ok", nonce="n"')
    assert challenge.realm == 'a "quoted" realm, with comma \\ ok'
    assert Challenge.parse(str(challenge)) == challenge


def test_parse_defaults() -> None:
    challenge = Challenge.parse('Digest realm="r", nonce="n"')
    assert challenge == Challenge(realm="r", nonce="n")
    assert challenge.algorithm == "MD5"
    assert challenge.scheme == "Digest"
    assert not challenge.stale


def test_format_challenge_for_test_peers() -> None:
    text = format_challenge(
        Challenge(
            realm="callbot-test",
            nonce="n0",
            opaque="op",
            algorithm="SHA-256",
            qop=("auth",),
            stale=True,
        )
    )
    assert text == (
        'Digest realm="callbot-test", nonce="n0", opaque="op", stale=true, '
        'algorithm=SHA-256, qop="auth"'
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "scheme"),
        ("   ", "scheme"),
        ('Basic realm="x"', "unsupported authentication scheme 'Basic'"),
        ('Digest realm="x"', "no nonce"),
        ('Digest nonce="x"', "no realm"),
        ("Digest realm", "no '=value'"),
        ('Digest realm="r", nonce="unterminated', "unterminated"),
        ('Digest realm="r", nonce="ends in a backslash\\', "unterminated"),
        ('Digest realm="a" nonce="b"', "expected ','"),
        ('Digest realm="a", realm="b", nonce="c"', "appears twice"),
        ('Digest realm=, nonce="c"', "empty value"),
        ('Digest realm="a", nonce="b", ="c"', "parameter name"),
        ('Digest realm="a\r\nVia: evil", nonce="b"', "line break"),
        ('Digest realm="a", nonce="b", algorithm="MD 5"', "malformed algorithm"),
        ('Digest,realm="a", nonce="b"', "space after the scheme"),
    ],
)
def test_garbage_raises_auth_error_with_a_clear_message(value: str, message: str) -> None:
    with pytest.raises(AuthError, match=re.escape(message)):
        Challenge.parse(value)


def test_auth_error_is_a_value_error_and_dialer_error() -> None:
    assert issubclass(AuthError, ValueError)
    assert issubclass(AuthError, DialerError)


def test_authorization_parse_requires_core_fields() -> None:
    with pytest.raises(AuthError, match="no response"):
        DigestResponse.parse('Digest username="a", realm="b", nonce="c", uri="sip:x"')


def test_authorization_tolerates_quoted_qop_and_keeps_unknown_params() -> None:
    answer = DigestResponse.parse(
        'Digest username="a", realm="b", nonce="c", uri="sip:x", response="00", qop="AUTH",'
        ' nc=00000001, cnonce="z", userhash=false'
    )
    assert answer.qop == "auth"
    assert answer.extra == (("userhash", "false"),)
    assert DigestResponse.parse(str(answer)) == answer


# --- properties ------------------------------------------------------------------------------

_TOKENS = st.from_regex(r"[A-Za-z0-9\-.!%*_+`'~]{1,12}", fullmatch=True)
_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\r\n\x00"), max_size=30)
_EXTRA_NAMES = _TOKENS.map(str.lower).filter(
    lambda name: name not in {"realm", "nonce", "opaque", "algorithm", "qop", "stale", "domain"}
)


@st.composite
def challenges(draw: st.DrawFn) -> Challenge:
    extra_names = draw(st.lists(_EXTRA_NAMES, max_size=3, unique=True))
    return Challenge(
        realm=draw(_TEXT),
        nonce=draw(_TEXT),
        opaque=draw(st.none() | _TEXT),
        algorithm=draw(st.sampled_from(ALGORITHMS) | _TOKENS),
        qop=tuple(draw(st.lists(st.sampled_from(["auth", "auth-int"]) | _TOKENS, max_size=3))),
        stale=draw(st.booleans()),
        domain=draw(st.none() | _TEXT),
        extra=tuple((name, draw(_TEXT)) for name in extra_names),
    )


@given(st.text(max_size=200))
def test_challenge_parse_raises_only_auth_error(text: str) -> None:
    with contextlib.suppress(AuthError):
        Challenge.parse(text)


_HEADERISH = st.lists(
    st.sampled_from(
        [
            "Digest ",
            "digest",
            "realm",
            "nonce",
            "qop",
            "stale",
            "algorithm",
            "=",
            '"',
            ",",
            " ",
            "\\",
            "auth",
            "true",
            "MD5",
            "SHA-256",
            "x",
            "\t",
            "\r\n",
            "é",
        ]
    ),
    max_size=30,
).map("".join)


@given(_HEADERISH)
def test_challenge_parse_of_headerish_text_is_a_fixed_point(text: str) -> None:
    try:
        challenge = Challenge.parse(text)
    except AuthError:
        return
    assert Challenge.parse(str(challenge)) == challenge


@given(challenges())
def test_format_then_parse_gives_the_same_challenge(challenge: Challenge) -> None:
    assert Challenge.parse(format_challenge(challenge)) == challenge


@given(st.text(max_size=200))
def test_authorization_parse_raises_only_auth_error(text: str) -> None:
    with contextlib.suppress(AuthError):
        DigestResponse.parse(text)


@given(
    username=_TEXT,
    password=st.text(max_size=30),
    challenge=challenges(),
    method=st.sampled_from(["INVITE", "REGISTER", "BYE", "OPTIONS", "ACK"]),
    uri=_TEXT,
    uses=st.integers(1, 3),
)
def test_client_answers_verify_against_the_server_side(
    username: str, password: str, challenge: Challenge, method: str, uri: str, uses: int
) -> None:
    client = DigestClient(Credentials(username, password))
    if not challenge.supported:
        with pytest.raises(AuthError):
            client.respond(challenge, method, uri)
        return
    for count in range(1, uses + 1):
        value = client.authorize(challenge, method, uri)
        answer = DigestResponse.parse(value)
        assert (
            answer.username == username and answer.uri == uri and answer.opaque == challenge.opaque
        )
        assert verify(answer, password, method)
        if answer.nc is not None:
            assert answer.nc == f"{count:08x}"
