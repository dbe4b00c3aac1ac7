"""HTTP Digest authentication for SIP user agents (RFC 3261 s22, RFC 7616, RFC 8760), sans I/O.

A UAC that gets a 401 (``WWW-Authenticate``) or a 407 (``Proxy-Authenticate``) parses each
challenge with :meth:`Challenge.parse`, keeps the strongest one per realm with
:func:`select_challenges`, and resends the request with one ``Authorization`` (for 401) or
``Proxy-Authorization`` (for 407) header per realm, whose value :meth:`DigestClient.authorize`
computes. :data:`RESPONSE_HEADER` maps the challenge header name to the answer's.

When are the credentials wrong? RFC 7616 s3.3 and RFC 3261 s22.2/s22.3: a server that refuses
a nonce only because it is old sets ``stale=true``; the client then simply answers the new
challenge (it is not a credential failure). So the caller remembers the realms it has already
answered for *this* request, and when the next 401/407 for that request arrives it asks
:func:`credentials_rejected`: a challenge for an answered realm with ``stale=false`` means the
server saw our digest and refused it ("the carrier rejected our credentials"); the caller must
then stop instead of answering again. A stale challenge, or one for a realm not answered yet
(a second proxy on the path), is answered.

Nonce counts (RFC 7616 s3.4, ``nc``) are kept per (realm, nonce) by :class:`DigestClient`:
reusing a challenge for a later request (a re-REGISTER, say) sends ``nc=00000002`` and so on; a
new nonce starts again at ``00000001`` with a fresh ``cnonce`` from :mod:`secrets`.

The server half (:func:`format_challenge`, :meth:`DigestResponse.parse`, :func:`verify`) exists
for test peers and for checking this client against itself and the RFC's worked examples.

Errors: everything malformed raises :class:`AuthError` (a :class:`ValueError`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Final, Literal

from dialer.errors import DialerError

__all__ = [
    "ALGORITHMS",
    "RESPONSE_HEADER",
    "AuthError",
    "Challenge",
    "Credentials",
    "DigestClient",
    "DigestResponse",
    "compute_response",
    "credentials_rejected",
    "format_challenge",
    "select_challenges",
    "verify",
]


class AuthError(DialerError, ValueError):
    """A challenge or an authorization is malformed, or cannot be answered with what we support."""


#: Supported algorithms, strongest first (RFC 7616 s3.2, RFC 8760 s2.3: SHA-256 is preferred
#: over MD5; MD5 remains for compatibility).
ALGORITHMS: Final = ("SHA-256", "SHA-256-sess", "MD5", "MD5-sess")
_HASHES: Final = {
    "MD5": hashlib.md5,
    "SHA-256": hashlib.sha256,
}
_CANONICAL_ALGORITHM: Final = {name.lower(): name for name in ALGORITHMS}

#: The request header that answers a challenge header (RFC 3261 s22.2, s22.3).
RESPONSE_HEADER: Final = {
    "WWW-Authenticate": "Authorization",
    "Proxy-Authenticate": "Proxy-Authorization",
}

# RFC 3261 s25.1 token.
_TOKEN_RE: Final = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
_WS: Final = " \t\r\n"
# Unquoted values are looser than tokens in the wild (unquoted base64 nonces, for example).
_BARE_VALUE_RE: Final = re.compile(r"[^\s,\"]+")
_FORBIDDEN_CHARS: Final = ("\r", "\n", "\x00")
_MAX_NONCE_COUNT: Final = 0xFFFFFFFF
# How many (realm, nonce) pairs a client remembers nonce counts for.
_NONCE_MEMORY: Final = 64


def _is_token(text: str) -> bool:
    return _TOKEN_RE.fullmatch(text) is not None


def _quote(text: str) -> str:
    """A quoted-string (RFC 3261 s25.1) with ``\\`` and ``"`` escaped as quoted-pairs."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check_text(name: str, value: str | None) -> None:
    if value is not None and any(c in value for c in _FORBIDDEN_CHARS):
        raise AuthError(
            f"the {name} value contains a line break or NUL, which a header cannot carry"
        )


def _parse_scheme(value: str) -> tuple[Literal["Digest"], int]:
    """Split ``Digest realm=...`` into the scheme and the offset of its parameters."""
    pos = len(value) - len(value.lstrip(_WS))
    match = _TOKEN_RE.match(value, pos)
    if match is None:
        raise AuthError(f"expected an authentication scheme such as 'Digest', got {value[:40]!r}")
    scheme = match.group()
    end = match.end()
    if end < len(value) and value[end] not in _WS:
        raise AuthError(
            f"expected a space after the scheme {scheme!r}, got {value[end : end + 20]!r}"
        )
    if scheme.lower() != "digest":
        raise AuthError(
            f"unsupported authentication scheme {scheme!r}: SIP uses Digest (RFC 3261 s22.1)"
        )
    return "Digest", end


def _parse_params(value: str, pos: int) -> list[tuple[str, str, bool]]:
    """Parse ``name=value`` pairs (RFC 3261 s25.1 auth-param) from ``pos`` to the end.

    Returns ``(lower-cased name, unescaped value, was quoted)`` in order. Empty list elements
    (``a=1,,b=2``) are tolerated as RFC 7230 s7 asks; duplicate names are an error.
    """
    params: list[tuple[str, str, bool]] = []
    seen: set[str] = set()
    n = len(value)
    while True:
        while pos < n and (value[pos] in _WS or value[pos] == ","):
            pos += 1
        if pos >= n:
            break
        match = _TOKEN_RE.match(value, pos)
        if match is None:
            raise AuthError(
                f"expected a parameter name at offset {pos}, got {value[pos : pos + 20]!r}"
            )
        name = match.group().lower()
        pos = match.end()
        while pos < n and value[pos] in _WS:
            pos += 1
        if pos >= n or value[pos] != "=":
            raise AuthError(f"parameter {name!r} has no '=value'")
        pos += 1
        while pos < n and value[pos] in _WS:
            pos += 1
        if pos < n and value[pos] == '"':
            text, pos = _parse_quoted(value, pos, name)
            quoted = True
        else:
            bare = _BARE_VALUE_RE.match(value, pos)
            if bare is None:
                raise AuthError(f"parameter {name!r} has an empty value")
            text, pos, quoted = bare.group(), bare.end(), False
        if name in seen:
            raise AuthError(f"parameter {name!r} appears twice")
        seen.add(name)
        params.append((name, text, quoted))
        while pos < n and value[pos] in _WS:
            pos += 1
        if pos < n and value[pos] != ",":
            raise AuthError(f"expected ',' after parameter {name!r}, got {value[pos : pos + 20]!r}")
    return params


def _parse_quoted(value: str, pos: int, name: str) -> tuple[str, int]:
    """Read the quoted-string starting at ``value[pos] == '"'``; return (text, next offset)."""
    out: list[str] = []
    pos += 1
    n = len(value)
    while pos < n:
        char = value[pos]
        if char == "\\":
            if pos + 1 >= n:
                break
            out.append(value[pos + 1])
            pos += 2
        elif char == '"':
            return "".join(out), pos + 1
        else:
            out.append(char)
            pos += 1
    raise AuthError(f"parameter {name!r} has an unterminated quoted string")


def _canonical_algorithm(text: str) -> str:
    return _CANONICAL_ALGORITHM.get(text.lower(), text)


_CHALLENGE_PARAMS: Final = frozenset(
    {"realm", "nonce", "opaque", "algorithm", "qop", "stale", "domain"}
)


@dataclass(frozen=True)
class Challenge:
    """One Digest challenge from a ``WWW-Authenticate`` or ``Proxy-Authenticate`` value.

    RFC 3261 s25.1 ``digest-cln``; RFC 7616 s3.3. ``algorithm`` is one of :data:`ALGORITHMS`
    when supported, otherwise the server's spelling (see :attr:`supported`); it defaults to
    ``MD5`` when absent. ``qop`` lists the lower-cased qop options (empty: the RFC 2069 form).
    ``stale`` is true when the server refused only the nonce's age (RFC 7616 s3.3): answer it,
    it is not a credential failure. Unknown parameters (``userhash``, ``charset``...) are
    kept in ``extra`` as ``(lower-cased name, value)`` and formatted back quoted.
    """

    realm: str
    nonce: str
    opaque: str | None = None
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ()
    stale: bool = False
    domain: str | None = None
    extra: tuple[tuple[str, str], ...] = ()
    scheme: Literal["Digest"] = "Digest"

    def __post_init__(self) -> None:
        if self.scheme != "Digest":
            raise AuthError(f"unsupported authentication scheme {self.scheme!r}")
        for name in ("realm", "nonce", "opaque", "domain"):
            _check_text(name, getattr(self, name))
        if not _is_token(self.algorithm):
            raise AuthError(f"malformed algorithm {self.algorithm!r}")
        for option in self.qop:
            if not _is_token(option):
                raise AuthError(f"malformed qop option {option!r}")
        # Algorithm and qop tokens compare case-insensitively (RFC 3261 s25.1): store one spelling.
        object.__setattr__(self, "algorithm", _canonical_algorithm(self.algorithm))
        object.__setattr__(self, "qop", tuple(option.lower() for option in self.qop))
        names = [name for name, _ in self.extra]
        for name, value in self.extra:
            if not _is_token(name) or name != name.lower() or name in _CHALLENGE_PARAMS:
                raise AuthError(
                    f"extra parameter name {name!r} must be a lower-case token, not a known name"
                )
            _check_text(name, value)
        if len(set(names)) != len(names):
            raise AuthError("an extra parameter appears twice")

    @classmethod
    def parse(cls, value: str) -> Challenge:
        """Parse a ``WWW-Authenticate`` / ``Proxy-Authenticate`` header value (RFC 3261 s25.1).

        Parameter names are case-insensitive; values may be quoted strings (with ``\\``
        escapes) or bare tokens. Raises :class:`AuthError` naming what is wrong.
        """
        scheme, pos = _parse_scheme(value)
        fields: dict[str, str] = {}
        extra: list[tuple[str, str]] = []
        for name, text, _quoted in _parse_params(value, pos):
            if name in _CHALLENGE_PARAMS:
                fields[name] = text
            else:
                extra.append((name, text))
        for required in ("realm", "nonce"):
            if required not in fields:
                raise AuthError(f"the Digest challenge has no {required} parameter")
        qop = tuple(
            option.strip(_WS).lower()
            for option in fields.get("qop", "").split(",")
            if option.strip(_WS)
        )
        algorithm = _canonical_algorithm(fields.get("algorithm", "MD5").strip(_WS))
        return cls(
            realm=fields["realm"],
            nonce=fields["nonce"],
            opaque=fields.get("opaque"),
            algorithm=algorithm,
            qop=qop,
            stale=fields.get("stale", "").strip(_WS).lower() == "true",
            domain=fields.get("domain"),
            extra=tuple(extra),
            scheme=scheme,
        )

    @property
    def supported(self) -> bool:
        """True when this client can answer the challenge (algorithm and qop both known)."""
        if self.algorithm not in ALGORITHMS:
            return False
        if self.qop and not {"auth", "auth-int"} & set(self.qop):
            return False
        return not (self.algorithm.endswith("-sess") and not self.qop)

    def __str__(self) -> str:
        parts = [f"realm={_quote(self.realm)}"]
        if self.domain is not None:
            parts.append(f"domain={_quote(self.domain)}")
        parts.append(f"nonce={_quote(self.nonce)}")
        if self.opaque is not None:
            parts.append(f"opaque={_quote(self.opaque)}")
        if self.stale:
            parts.append("stale=true")
        parts.append(f"algorithm={self.algorithm}")
        if self.qop:
            parts.append(f"qop={_quote(','.join(self.qop))}")
        parts.extend(f"{name}={_quote(value)}" for name, value in self.extra)
        return f"{self.scheme} " + ", ".join(parts)


def format_challenge(challenge: Challenge) -> str:
    """The header value a server (a test peer) sends in ``WWW-Authenticate`` (RFC 3261 s22.1)."""
    return str(challenge)


def _strength(challenge: Challenge) -> int:
    return ALGORITHMS.index(challenge.algorithm)


def select_challenges(challenges: Iterable[Challenge]) -> tuple[Challenge, ...]:
    """Keep the strongest supported challenge for each realm (RFC 8760 s2.4, RFC 7616 s3.7).

    A server may offer one challenge per algorithm (SHA-256 and MD5); a request crossing
    several proxies may carry challenges for several realms, each of which must be answered
    (RFC 3261 s22.3). Realms keep their first-seen order; within a realm, ties keep the
    server's order. Raises :class:`AuthError` when a realm offers nothing we support.
    """
    by_realm: dict[str, list[Challenge]] = {}
    for challenge in challenges:
        by_realm.setdefault(challenge.realm, []).append(challenge)
    if not by_realm:
        raise AuthError("the server sent no Digest challenge")
    chosen: list[Challenge] = []
    for realm, offered in by_realm.items():
        usable = [c for c in offered if c.supported]
        if not usable:
            names = ", ".join(f"{c.algorithm} (qop {','.join(c.qop) or 'none'})" for c in offered)
            raise AuthError(
                f"realm {realm!r} asks for digest settings we do not support: {names}; "
                f"we support {', '.join(ALGORITHMS)} with qop=auth or auth-int"
            )
        chosen.append(min(usable, key=_strength))
    return tuple(chosen)


def credentials_rejected(answered_realms: Collection[str], challenges: Iterable[Challenge]) -> bool:
    """True when a new 401/407 to a request we already authenticated refuses our credentials.

    ``answered_realms`` are the realms whose challenges the retried request answered. A
    challenge for one of those realms without ``stale=true`` means the server checked our
    digest and refused it (RFC 3261 s22.2: "the client SHOULD NOT re-attempt requests with the
    credentials that have just been rejected"); a stale one only asks for a fresh nonce
    (RFC 7616 s3.3).
    """
    return any(c.realm in answered_realms and not c.stale for c in challenges)


@dataclass(frozen=True)
class Credentials:
    """A username and password for one SIP account or trunk."""

    username: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        _check_text("username", self.username)


_RESPONSE_PARAMS: Final = frozenset(
    {"username", "realm", "nonce", "uri", "response", "algorithm", "cnonce", "opaque", "qop", "nc"}
)


@dataclass(frozen=True)
class DigestResponse:
    """An ``Authorization`` / ``Proxy-Authorization`` value (RFC 3261 s25.1 digest-response).

    ``algorithm`` is None when the header omits it (MD5 is then meant); ``nc`` is kept as
    the 8 hex digits sent. Unknown parameters are kept in ``extra``.
    """

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str | None = None
    cnonce: str | None = None
    opaque: str | None = None
    qop: str | None = None
    nc: str | None = None
    extra: tuple[tuple[str, str], ...] = ()
    scheme: Literal["Digest"] = "Digest"

    def __post_init__(self) -> None:
        for name in ("username", "realm", "nonce", "uri", "response", "cnonce", "opaque"):
            _check_text(name, getattr(self, name))
        for name in ("algorithm", "qop", "nc"):
            value = getattr(self, name)
            if value is not None and not _is_token(value):
                raise AuthError(f"malformed {name} {value!r}")
        for name, value in self.extra:
            if not _is_token(name) or name != name.lower() or name in _RESPONSE_PARAMS:
                raise AuthError(
                    f"extra parameter name {name!r} must be a lower-case token, not a known name"
                )
            _check_text(name, value)

    @classmethod
    def parse(cls, value: str) -> DigestResponse:
        """Parse an ``Authorization`` header value; raises :class:`AuthError` when malformed."""
        scheme, pos = _parse_scheme(value)
        fields: dict[str, str] = {}
        extra: list[tuple[str, str]] = []
        for name, text, _quoted in _parse_params(value, pos):
            if name in _RESPONSE_PARAMS:
                fields[name] = text
            else:
                extra.append((name, text))
        for required in ("username", "realm", "nonce", "uri", "response"):
            if required not in fields:
                raise AuthError(f"the Digest authorization has no {required} parameter")
        algorithm = fields.get("algorithm")
        qop = fields.get("qop")
        return cls(
            username=fields["username"],
            realm=fields["realm"],
            nonce=fields["nonce"],
            uri=fields["uri"],
            response=fields["response"],
            algorithm=None if algorithm is None else _canonical_algorithm(algorithm),
            cnonce=fields.get("cnonce"),
            opaque=fields.get("opaque"),
            qop=None if qop is None else qop.lower(),
            nc=fields.get("nc"),
            extra=tuple(extra),
            scheme=scheme,
        )

    def __str__(self) -> str:
        parts = [
            f"username={_quote(self.username)}",
            f"realm={_quote(self.realm)}",
            f"nonce={_quote(self.nonce)}",
            f"uri={_quote(self.uri)}",
            f"response={_quote(self.response)}",
        ]
        if self.algorithm is not None:
            parts.append(f"algorithm={self.algorithm}")
        if self.cnonce is not None:
            parts.append(f"cnonce={_quote(self.cnonce)}")
        if self.opaque is not None:
            parts.append(f"opaque={_quote(self.opaque)}")
        if self.qop is not None:
            parts.append(f"qop={self.qop}")
        if self.nc is not None:
            parts.append(f"nc={self.nc}")
        parts.extend(f"{name}={_quote(value)}" for name, value in self.extra)
        return f"{self.scheme} " + ", ".join(parts)


def compute_response(
    *,
    algorithm: str,
    username: str,
    realm: str,
    password: str,
    nonce: str,
    method: str,
    uri: str,
    qop: str | None = None,
    nc: str | None = None,
    cnonce: str | None = None,
    body: bytes = b"",
) -> str:
    """The ``response`` digest (RFC 7616 s3.4.1-3.4.3; RFC 2617 s3.2.2; RFC 2069 when no qop).

    ``A1 = user:realm:pass`` (for ``-sess``: ``H(A1):nonce:cnonce``); ``A2 = method:uri``
    (for ``auth-int``: ``method:uri:H(body)``); the response is
    ``H(H(A1):nonce:nc:cnonce:qop:H(A2))``, or ``H(H(A1):nonce:H(A2))`` without qop.
    Strings are hashed as UTF-8.
    """
    base = algorithm[: -len("-sess")] if algorithm.endswith("-sess") else algorithm
    hash_fn = _HASHES.get(base)
    if hash_fn is None or algorithm not in ALGORITHMS:
        raise AuthError(f"unsupported digest algorithm {algorithm!r}")

    def h(text: str | bytes) -> str:
        data = text.encode("utf-8") if isinstance(text, str) else text
        return hash_fn(data).hexdigest()

    ha1 = h(f"{username}:{realm}:{password}")
    if algorithm.endswith("-sess"):
        if cnonce is None:
            raise AuthError(f"algorithm {algorithm} needs a cnonce")
        ha1 = h(f"{ha1}:{nonce}:{cnonce}")
    if qop == "auth-int":
        ha2 = h(f"{method}:{uri}:{h(body)}")
    elif qop in (None, "auth"):
        ha2 = h(f"{method}:{uri}")
    else:
        raise AuthError(f"unsupported qop {qop!r}")
    if qop is None:
        return h(f"{ha1}:{nonce}:{ha2}")
    if nc is None or cnonce is None:
        raise AuthError("qop needs both nc and cnonce")
    return h(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


def verify(response: DigestResponse, password: str, method: str, body: bytes = b"") -> bool:
    """True when ``response`` was computed with ``password`` for ``method`` (server side).

    Checks only the digest; a server also checks that ``realm``, ``nonce`` and ``opaque`` are
    its own, that ``uri`` matches the request, and that ``nc`` grows. Raises
    :class:`AuthError` for an algorithm or qop we cannot check.
    """
    expected = compute_response(
        algorithm=response.algorithm or "MD5",
        username=response.username,
        realm=response.realm,
        password=password,
        nonce=response.nonce,
        method=method,
        uri=response.uri,
        qop=response.qop,
        nc=response.nc,
        cnonce=response.cnonce,
        body=body,
    )
    return hmac.compare_digest(expected, response.response.lower())


def _new_cnonce() -> str:
    return secrets.token_hex(16)


@dataclass
class _NonceUse:
    cnonce: str
    count: int = 0


class DigestClient:
    """Computes ``Authorization`` values for one set of credentials (RFC 3261 s22.2, s22.3).

    ``cnonce_factory`` makes the client cnonce for each new nonce (default: 128 random bits
    from :mod:`secrets`); tests pass a fixed one to compare with known answers.
    """

    def __init__(
        self, credentials: Credentials, *, cnonce_factory: Callable[[], str] = _new_cnonce
    ) -> None:
        self.credentials = credentials
        self._cnonce_factory = cnonce_factory
        self._uses: OrderedDict[tuple[str, str], _NonceUse] = OrderedDict()

    def respond(
        self, challenge: Challenge, method: str, uri: str, body: bytes = b""
    ) -> DigestResponse:
        """Answer ``challenge`` for a request ``method`` to request-URI ``uri``.

        Uses qop=auth when offered, else auth-int (hashing ``body``), else the RFC 2069 form.
        Each call counts one use of the nonce (``nc``). Raises :class:`AuthError` when the
        challenge asks for something we do not support.
        """
        if not challenge.supported:
            raise AuthError(
                f"cannot answer a digest challenge with algorithm {challenge.algorithm} "
                f"and qop {','.join(challenge.qop) or 'none'}"
            )
        qop: str | None
        if "auth" in challenge.qop:
            qop = "auth"
        elif "auth-int" in challenge.qop:
            qop = "auth-int"
        else:
            qop = None
        nc: str | None = None
        cnonce: str | None = None
        if qop is not None or challenge.algorithm.endswith("-sess"):
            use = self._use(challenge)
            cnonce = use.cnonce
            nc = f"{use.count:08x}"
        username = self.credentials.username
        digest = compute_response(
            algorithm=challenge.algorithm,
            username=username,
            realm=challenge.realm,
            password=self.credentials.password,
            nonce=challenge.nonce,
            method=method,
            uri=uri,
            qop=qop,
            nc=nc,
            cnonce=cnonce,
            body=body,
        )
        return DigestResponse(
            username=username,
            realm=challenge.realm,
            nonce=challenge.nonce,
            uri=uri,
            response=digest,
            algorithm=challenge.algorithm,
            cnonce=cnonce,
            opaque=challenge.opaque,
            qop=qop,
            nc=nc,
        )

    def authorize(self, challenge: Challenge, method: str, uri: str, body: bytes = b"") -> str:
        """The ``Authorization`` / ``Proxy-Authorization`` header value answering ``challenge``."""
        return str(self.respond(challenge, method, uri, body))

    def _use(self, challenge: Challenge) -> _NonceUse:
        key = (challenge.realm, challenge.nonce)
        use = self._uses.get(key)
        if use is None:
            use = _NonceUse(cnonce=self._cnonce_factory())
            self._uses[key] = use
            while len(self._uses) > _NONCE_MEMORY:
                self._uses.popitem(last=False)
        else:
            self._uses.move_to_end(key)
        if use.count >= _MAX_NONCE_COUNT:
            raise AuthError("the nonce count is exhausted: wait for a new challenge")
        use.count += 1
        return use
