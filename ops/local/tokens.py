"""Tokens for local use: a signing key kept in the local state folder, trusted only in development.

`python manage.py issue_token USER` mints a token the way a Cognito user pool would (RS256,
`sub`, `iss`, `client_id`, `token_use`, `cognito:groups`), and development verifies it through
the same code as deployed stages, with this key's JWKS in place of the pool's.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tasks_app.adapters.tokens import ALGORITHM, LOCAL_JWKS_FILE

KEY_FILE = "jwt-signing-key.pem"


def signing_key(state_dir: Path) -> rsa.RSAPrivateKey:
    """The local private key, made on first use (readable by its owner only), with its public
    JWKS written beside it for development's verifier (`JwksFileKeys`) to trust."""
    path = state_dir / KEY_FILE
    if not path.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise ValueError(f"{path} is not an RSA private key.")
    _publish(state_dir, loaded.public_key())
    return loaded


def _publish(state_dir: Path, public: rsa.RSAPublicKey) -> None:
    """Write the public JWKS, atomically, unless it already says the same."""
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public))
    document = json.dumps({"keys": [{**jwk, "kid": _key_id(public), "alg": ALGORITHM, "use": "sig"}]}, indent=2)
    path = state_dir / LOCAL_JWKS_FILE
    if path.exists() and path.read_text() == document:
        return
    draft = path.with_suffix(".tmp")
    draft.write_text(document)
    draft.replace(path)


def issue(
    state_dir: Path, *, user: str, issuer: str, audience: str, admin: bool = False, ttl_seconds: int = 3600
) -> str:
    key = signing_key(state_dir)
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": user,
        "iss": issuer,
        "client_id": audience,
        "token_use": "access",
        "iat": now,
        "nbf": now,
        "exp": now + ttl_seconds,
        "jti": str(uuid.uuid4()),
    }
    if admin:
        claims["cognito:groups"] = ["admin"]
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": _key_id(key.public_key())})


def _key_id(public: rsa.RSAPublicKey) -> str:
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()[:16]
