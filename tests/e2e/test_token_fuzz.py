"""Hypothesis against the Authorization header: whatever a client sends, a 401 or a valid answer.

Schemathesis sends well-formed tokens or none; these send everything else: arbitrary header text,
JWT-shaped strings with arbitrary headers and payloads, and tokens our pool really signed whose
claims hold values of any JSON type.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ops.local.user_pool import CLIENT_ID, ISSUER, TokenIssuer

FUZZ_SETTINGS = settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10,
)
CLAIMS = ["sub", "iss", "client_id", "aud", "token_use", "exp", "nbf", "iat", "cognito:groups"]


def _segment(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def _assert_refused_or_served(response: Any) -> None:
    assert response.status_code in {200, 401}, response.content
    if response.status_code == 401:
        assert response.json()["error"]["code"] == "NOT_AUTHENTICATED"


@given(value=st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=200))
@FUZZ_SETTINGS
def test_any_authorization_header_text_is_a_401(api: Any, issuer: TokenIssuer, value: str) -> None:
    response = api.client.get("/tasks", HTTP_AUTHORIZATION=value)
    assert response.status_code == 401, response.content
    assert response.json()["error"]["code"] == "NOT_AUTHENTICATED"


@given(header=st.dictionaries(st.sampled_from(["alg", "kid", "typ", "jku", "x5u"]), JSON), payload=JSON)
@FUZZ_SETTINGS
def test_jwt_shaped_strings_with_any_header_and_payload_are_a_401(
    api: Any, issuer: TokenIssuer, header: dict[str, Any], payload: Any
) -> None:
    token = f"{_segment(header)}.{_segment(payload)}.{_segment('signature')}"
    response = api.client.get("/tasks", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401, response.content


@given(claims=st.dictionaries(st.sampled_from(CLAIMS), JSON))
@FUZZ_SETTINGS
def test_signed_tokens_with_claims_of_any_type_never_break_the_api(
    api: Any, issuer: TokenIssuer, claims: dict[str, Any]
) -> None:
    body = {"sub": "alice", "iss": ISSUER, "client_id": CLIENT_ID, "token_use": "access", **claims}
    body.setdefault("exp", 4_102_444_800)  # 2100, unless the example says otherwise
    kid = issuer.current_kid
    # PyJWS signs any payload, where jwt.encode would refuse some of these claims before signing.
    token = jwt.PyJWS().encode(json.dumps(body).encode(), issuer.keys[kid], algorithm="RS256", headers={"kid": kid})
    _assert_refused_or_served(api.client.get("/tasks", HTTP_AUTHORIZATION=f"Bearer {token}"))
