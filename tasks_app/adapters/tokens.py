"""Bearer token verification: RS256 JWTs as Amazon Cognito user pools issue them.

One code path for every key source: a pool's JWKS URL (cached, fetched again when a token
names a key it has not seen, at most every 30 s), or the local development key.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import jwt

logger = logging.getLogger(__name__)

LOCAL_JWKS_FILE = "jwt-public-keys.json"  # in LOCAL_STATE_DIR: development's trusted keys
ALGORITHM = "RS256"  # pinned: `none` and the HMAC family are refused before any key is looked up
# Valid tokens a verifier remembers (a client sends the same one for up to its hour, or day):
# past this many it forgets them all and starts over, so memory stays bounded whatever is sent.
REMEMBERED_TOKENS = 4096


class InvalidToken(Exception):
    """The token is missing, malformed, expired, or not from the trusted issuer."""


class KeysUnavailable(Exception):
    """The issuer's keys cannot be had right now, so no token can be checked (not the caller's fault)."""


@dataclass(frozen=True)
class VerifiedToken:
    subject: str
    groups: frozenset[str]


@dataclass(frozen=True)
class _Remembered:
    """A token that passed every check, and the times (epoch seconds) it is valid between."""

    verified: VerifiedToken
    not_before: float
    expires_at: float

    def valid_at(self, now: float, leeway: int) -> bool:
        """As PyJWT judges `nbf` and `exp`, with the same leeway (seconds)."""
        return self.not_before <= now + leeway and now - leeway < self.expires_at


class KeySource(Protocol):
    def key_for(self, kid: str) -> Any:
        """The public key for this key id; raises `InvalidToken` when there is none."""


class JwksUrlKeys:
    """Keys from a JWKS URL (Cognito's `<issuer>/.well-known/jwks.json`), kept for an hour.

    - A token naming an unknown key id makes it fetch again, but not more than once per
      `refetch_cooldown` seconds: made-up key ids must not turn each request into a fetch.
    - A failed fetch (unreachable, not JSON, no keys) pauses fetching for `outage_pause`
      seconds, so requests do not each wait out a timeout; keys already had stay in use
      meanwhile, even past their hour. Tokens that need another key cannot be checked
      until then: `KeysUnavailable`.
    """

    def __init__(
        self, url: str, *, refetch_cooldown: float = 30, outage_pause: float = 5, lifespan: float = 3600
    ) -> None:
        self._client = jwt.PyJWKClient(url, cache_keys=False, cache_jwk_set=False, timeout=5)
        self._refetch_cooldown = refetch_cooldown
        self._outage_pause = outage_pause
        self._lifespan = lifespan
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None
        self._last_attempt = -math.inf
        self._paused_until = -math.inf
        self._lock = threading.Lock()  # one fetch at a time, in threaded servers

    def key_for(self, kid: str) -> Any:
        with self._lock:
            if self._should_fetch(kid, time.monotonic()):
                self._fetch()
            if kid in self._keys:
                return self._keys[kid]
            if not self._keys or time.monotonic() < self._paused_until:
                raise KeysUnavailable  # the key may be new: it cannot be told for now
            raise InvalidToken("No trusted key for this token.")

    def _should_fetch(self, kid: str, now: float) -> bool:
        if now < self._paused_until:
            return False
        if self._fetched_at is None or now - self._fetched_at > self._lifespan:
            return True
        return kid not in self._keys and now - self._last_attempt >= self._refetch_cooldown

    def _fetch(self) -> None:
        self._last_attempt = time.monotonic()
        try:
            keys = {
                key.key_id: key.key
                for key in jwt.PyJWKSet.from_dict(self._client.fetch_data()).keys
                if key.key_id and key.public_key_use in {"sig", None}
            }
            if not keys:
                raise ValueError("no signing keys")
        except Exception:
            # An outage or a wrong JWKS URL: logged for operators, never shown to callers.
            logger.warning("The JWKS at %s could not be used", self._client.uri, exc_info=True)
            self._paused_until = time.monotonic() + self._outage_pause
            return
        self._keys, self._fetched_at = keys, time.monotonic()


class JwksFileKeys:
    """Keys from a JWKS document in a file: development's local key, which
    `python manage.py issue_token` (or `make run` with AUTH_MODE=jwt) writes to
    `<LOCAL_STATE_DIR>/jwt-public-keys.json`. The file is read again for a key id not seen yet,
    so a key made after the server started is trusted without a restart. A missing or unreadable
    file trusts no key: every token is refused as `InvalidToken`.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._keys: dict[str, Any] = {}

    def key_for(self, kid: str) -> Any:
        if kid not in self._keys:
            self._keys = self._read()
        if kid not in self._keys:
            raise InvalidToken("No trusted key for this token.")
        return self._keys[kid]

    def _read(self) -> dict[str, Any]:
        try:
            document = json.loads(self._path.read_text())
            return {key.key_id: key.key for key in jwt.PyJWKSet.from_dict(document).keys if key.key_id}
        except (OSError, ValueError, jwt.PyJWTError):
            return {}


class TokenVerifier:
    """Checks signature, `exp`, `nbf`, `iss`, the audience (`aud` for id tokens, `client_id`
    for access tokens) and `token_use`, with a small clock leeway.

    A token that passed is remembered, by its whole text (signature included), until it expires:
    the same token again is checked against the clock only, without parsing or RSA (a tenth of a
    millisecond each, issue 12), and still passes while the keys cannot be fetched. Like any JWT
    it stays valid until `exp` once issued; a key withdrawn from the pool's JWKS is no longer
    trusted for tokens this process has not seen yet.
    """

    def __init__(self, *, issuer: str, audience: str, token_use: str, keys: KeySource, leeway_seconds: int) -> None:
        self._issuer = issuer
        self._audience = audience
        self._token_use = token_use
        self._keys = keys
        self._leeway = leeway_seconds
        self._remembered: dict[str, _Remembered] = {}  # dict operations are atomic: threads share it

    def verify(self, token: str) -> VerifiedToken:
        """The token's subject and groups; raises `InvalidToken` (the message says why, for the
        401) or `KeysUnavailable` (the keys cannot be had: a 503)."""
        remembered = self._remembered.get(token)
        if remembered is not None and remembered.valid_at(time.time(), self._leeway):
            return remembered.verified
        claims = self._decoded(token)
        verified = self._checked(claims)
        if len(self._remembered) >= REMEMBERED_TOKENS:
            self._remembered.clear()
        # Whole seconds, as PyJWT reads `nbf` and `exp` (int()): a fractional `exp` ends with PyJWT's.
        not_before = int(claims["nbf"]) if "nbf" in claims else -math.inf
        self._remembered[token] = _Remembered(verified, not_before=not_before, expires_at=int(claims["exp"]))
        return verified

    def _decoded(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("The token is not a JWT.") from None
        if header.get("alg") != ALGORITHM:
            raise InvalidToken(f"Tokens must be signed with {ALGORITHM}.")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise InvalidToken("The token names no signing key.")
        try:
            claims = jwt.decode(
                token,
                self._keys.key_for(kid),
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "sub", "token_use"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("The token has expired.") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("The token is not valid yet.") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("The token is from another issuer.") from None
        except jwt.PyJWTError:
            raise InvalidToken("The token is not valid.") from None
        return claims

    def _checked(self, claims: dict[str, Any]) -> VerifiedToken:
        if claims.get("token_use") != self._token_use:
            raise InvalidToken(f"An {self._token_use} token is needed.")
        # Cognito names the app client in `client_id` on access tokens and in `aud` on id tokens.
        audience = claims.get("client_id") if self._token_use == "access" else claims.get("aud")  # noqa: S105
        if audience != self._audience:
            raise InvalidToken("The token is for another application.")
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise InvalidToken("The token names no user.")
        groups = claims.get("cognito:groups", [])
        # Cognito sends a list of names; anything else is not a token it issued.
        if not isinstance(groups, list) or not all(isinstance(group, str) for group in groups):
            raise InvalidToken("The token's groups are not valid.")
        return VerifiedToken(subject=subject, groups=frozenset(groups))
