"""A Cognito-like token issuer for tests: RSA keys, published as a JWKS over HTTP."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool"
CLIENT_ID = "test-app-client"


class TokenIssuer:
    """Signs tokens like a user pool and publishes its public keys at `jwks_url`."""

    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.published: dict[str, rsa.RSAPrivateKey] = {}
        self.fetches = 0
        self.outage: tuple[int, bytes] | None = None  # what the JWKS URL answers instead, if anything
        self.rotate()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def jwks_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/.well-known/jwks.json"

    def rotate(self) -> str:
        """A new signing key, published at once (as Cognito publishes before it signs)."""
        kid = uuid.uuid4().hex[:12]
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.published[kid] = self.keys[kid]
        self.current_kid = kid
        return kid

    def token(
        self, sub: str = "alice", *, groups: list[str] | None = None, kid: str | None = None, **claims: Any
    ) -> str:
        now = int(time.time())
        body: dict[str, Any] = {
            "sub": sub,
            "iss": ISSUER,
            "client_id": CLIENT_ID,
            "token_use": "access",
            "iat": now,
            "exp": now + 600,
            **({"cognito:groups": groups} if groups else {}),
            **claims,
        }
        kid = kid or self.current_kid
        return jwt.encode(body, self.keys[kid], algorithm="RS256", headers={"kid": kid})

    def stop(self) -> None:
        self._server.shutdown()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Jwks(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer.fetches += 1
                if issuer.outage is not None:
                    status, page = issuer.outage
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(page)))
                    self.end_headers()
                    self.wfile.write(page)
                    return
                keys = [
                    {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())), "kid": kid, "alg": "RS256"}
                    for kid, key in issuer.published.items()
                ]
                body = json.dumps({"keys": keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        return Jwks


def bearer(token: str) -> dict[str, Any]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}
