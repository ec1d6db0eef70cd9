"""With AUTH_MODE=jwt, only valid tokens from the trusted pool get in; everything else is a 401."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from events_app import bootstrap as events_wiring
from ops.local.user_pool import CLIENT_ID, ISSUER, bearer
from tasks_app import bootstrap
from tasks_app.adapters.tokens import InvalidToken, JwksUrlKeys, KeysUnavailable, TokenVerifier


def assert_not_authenticated(response) -> None:
    assert response.status_code == 401, response.content
    assert response.json()["error"]["code"] == "NOT_AUTHENTICATED"
    assert response["WWW-Authenticate"] == 'Bearer realm="tasks"'


def test_a_valid_token_gets_in_and_names_the_user(api, issuer):
    response = api.client.post("/tasks", {"title": "mine"}, format="json", **bearer(issuer.token("alice")))
    assert response.status_code == 201
    assert response.json()["data"]["user_id"] == "alice"


def test_a_request_without_a_token_is_refused(api, issuer):
    assert_not_authenticated(api.client.get("/tasks"))
    assert_not_authenticated(api.client.get("/tasks", HTTP_AUTHORIZATION="Basic YWxpY2U6c2VjcmV0"))


def test_a_request_without_a_token_is_told_how_to_send_one(api, issuer):
    response = api.client.get("/tasks")
    assert_not_authenticated(response)
    assert "Authorization: Bearer <token>" in response.json()["error"]["message"]


@pytest.mark.parametrize("scheme", ["Token", "JWT", "Basic"])
def test_a_valid_token_under_another_scheme_is_a_401_naming_the_expected_one(api, issuer, scheme):
    response = api.client.get("/tasks", HTTP_AUTHORIZATION=f"{scheme} {issuer.token('alice')}")
    assert_not_authenticated(response)
    message = response.json()["error"]["message"]
    assert f"'{scheme}'" in message, message
    assert "Authorization: Bearer <token>" in message, message
    assert "not provided" not in message


@pytest.mark.parametrize("separator", [",", "=", ":"])
def test_a_badly_separated_bearer_token_is_not_echoed_nor_called_another_scheme(api, issuer, separator):
    token = issuer.token("alice")
    response = api.client.get("/tasks", HTTP_AUTHORIZATION=f"Bearer{separator}{token}")
    assert_not_authenticated(response)
    message = response.json()["error"]["message"]
    assert message == "Send the token as: Authorization: Bearer <token>."
    assert token[:10] not in message


def test_a_header_that_does_not_start_with_a_scheme_name_says_so(api, issuer):
    response = api.client.get("/tasks", HTTP_AUTHORIZATION="Négotiate x".encode().decode("latin-1"))
    assert_not_authenticated(response)
    assert response.json()["error"]["message"].startswith("The Authorization header does not start with a scheme name.")


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "bEaReR"])
def test_the_scheme_is_case_insensitive_as_rfc_7235_says(api, issuer, scheme):
    response = api.client.get("/tasks", HTTP_AUTHORIZATION=f"{scheme} {issuer.token('alice')}")
    assert response.status_code == 200, response.content


def now() -> int:
    return int(time.time())


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param(lambda: {"exp": now() - 60}, id="expired"),
        pytest.param(lambda: {"nbf": now() + 60}, id="not yet valid"),
        pytest.param(lambda: {"client_id": "another-app"}, id="wrong audience"),
        pytest.param(lambda: {"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"}, id="wrong issuer"),
        pytest.param(lambda: {"token_use": "id", "aud": CLIENT_ID}, id="id token where access is expected"),
        pytest.param(lambda: {"sub": ""}, id="no user"),
    ],
)
def test_tokens_with_bad_claims_are_refused(api, issuer, claims):
    assert_not_authenticated(api.client.get("/tasks", **bearer(issuer.token(**claims()))))


def test_a_little_clock_skew_is_tolerated_but_not_more(api, issuer):
    assert api.client.get("/tasks", **bearer(issuer.token(exp=now() - 3))).status_code == 200
    assert_not_authenticated(api.client.get("/tasks", **bearer(issuer.token(exp=now() - 30))))


def test_an_unsigned_token_is_refused(api, issuer):
    unsigned = jwt.encode({"sub": "alice", "iss": ISSUER, "client_id": CLIENT_ID, "token_use": "access",
                           "exp": now() + 600}, key="", algorithm="none")  # fmt: skip
    assert_not_authenticated(api.client.get("/tasks", **bearer(unsigned)))


def test_a_token_signed_with_hs256_and_the_public_key_is_refused(api, issuer):
    public_pem = (
        issuer.keys[issuer.current_kid]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    claims = {"sub": "mallory", "iss": ISSUER, "client_id": CLIENT_ID, "token_use": "access", "exp": now() + 600}
    header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "kid": issuer.current_kid}).encode()).rstrip(b"=")
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    signature = base64.urlsafe_b64encode(hmac.new(public_pem, header + b"." + payload, hashlib.sha256).digest())
    forged = (header + b"." + payload + b"." + signature.rstrip(b"=")).decode()
    assert_not_authenticated(api.client.get("/tasks", **bearer(forged)))


def test_a_tampered_token_is_refused(api, issuer):
    header, payload, signature = issuer.token("alice").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "admin"
    claims["cognito:groups"] = ["admin"]
    tampered_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert_not_authenticated(api.client.get("/tasks", **bearer(f"{header}.{tampered_payload}.{signature}")))


@pytest.mark.parametrize("value", ["Bearer", "Bearer a b", "Bearer not-a-jwt", "Bearer é", "bearer ..."])
def test_malformed_authorization_headers_are_refused(api, issuer, value):
    assert_not_authenticated(api.client.get("/tasks", HTTP_AUTHORIZATION=value))


def test_a_token_from_a_key_the_pool_has_not_published_is_refused(api, issuer):
    kid = issuer.rotate()
    del issuer.published[kid]  # signed with a key nobody trusts
    assert_not_authenticated(api.client.get("/tasks", **bearer(issuer.token(kid=kid))))


def test_keys_are_fetched_once_and_cached(api, issuer):
    for _ in range(3):
        assert api.client.get("/tasks", **bearer(issuer.token())).status_code == 200
    assert issuer.fetches == 1


def verifier(issuer, *, refetch_cooldown: float) -> TokenVerifier:
    keys = JwksUrlKeys(issuer.jwks_url, refetch_cooldown=refetch_cooldown)
    return TokenVerifier(issuer=ISSUER, audience=CLIENT_ID, token_use="access", keys=keys, leeway_seconds=10)


def test_a_new_key_id_makes_the_keys_be_fetched_again(issuer):
    check = verifier(issuer, refetch_cooldown=0)
    assert check.verify(issuer.token("alice")).subject == "alice"
    issuer.rotate()  # the pool starts signing with a new key
    assert check.verify(issuer.token("bob")).subject == "bob"
    assert issuer.fetches == 2


def test_made_up_key_ids_do_not_make_every_request_a_fetch(issuer):
    check = verifier(issuer, refetch_cooldown=30)
    check.verify(issuer.token())
    for _ in range(5):
        kid = issuer.rotate()
        del issuer.published[kid]
        with pytest.raises(InvalidToken):
            check.verify(issuer.token(kid=kid))
    assert issuer.fetches <= 2


def test_the_docs_and_the_root_stay_open(api, issuer):
    assert api.client.get("/api/schema").status_code == 200
    assert api.client.get("/swagger").status_code == 200
    assert api.client.get("/").status_code == 200


def test_the_docs_never_check_a_token_even_during_a_key_outage(api, issuer):
    issuer.outage = (502, b"Bad gateway")
    for path in ("/api/schema", "/swagger"):
        assert api.client.get(path, HTTP_AUTHORIZATION="Bearer not-a-token").status_code == 200
        assert api.client.get(path, **bearer(issuer.token())).status_code == 200


@pytest.mark.parametrize(
    "groups",
    [
        pytest.param({"admin": True}, id="an object"),
        pytest.param(1, id="a number"),
        pytest.param(["admin", 7], id="mixed"),
    ],
)
def test_groups_that_are_not_a_list_of_names_are_refused(api, issuer, groups):
    """Only a list of names is what Cognito sends; a dict must not make anyone an admin."""
    token = issuer.token("mallory", **{"cognito:groups": groups})
    assert_not_authenticated(api.client.get("/tasks", {"user_id": "alice"}, **bearer(token)))


class CountingKeys:
    """A key source that counts how often a verifier asks it: once per token it really checks."""

    def __init__(self, keys: JwksUrlKeys) -> None:
        self.keys, self.asked = keys, 0

    def key_for(self, kid: str) -> object:
        self.asked += 1
        return self.keys.key_for(kid)


def test_a_token_seen_before_is_taken_without_a_second_check_until_it_expires(issuer):
    keys = CountingKeys(JwksUrlKeys(issuer.jwks_url))
    check = TokenVerifier(issuer=ISSUER, audience=CLIENT_ID, token_use="access", keys=keys, leeway_seconds=0)
    token = issuer.token("alice", groups=["admins"], exp=int(time.time()) + 2)
    first, second = check.verify(token), check.verify(token)
    assert first == second
    assert (second.subject, second.groups) == ("alice", frozenset({"admins"}))
    assert keys.asked == 1
    with pytest.raises(InvalidToken, match="not valid"):  # the same claims, another signature: checked, refused
        check.verify(token[: token.rindex(".") + 1] + "A" * 342)
    time.sleep(2.1)
    with pytest.raises(InvalidToken, match="expired"):
        check.verify(token)


def test_id_tokens_are_checked_against_aud_when_configured(issuer):
    keys = JwksUrlKeys(issuer.jwks_url)
    check = TokenVerifier(issuer=ISSUER, audience=CLIENT_ID, token_use="id", keys=keys, leeway_seconds=10)
    assert check.verify(issuer.token("alice", token_use="id", aud=CLIENT_ID)).subject == "alice"
    for audience in ("another-app", [CLIENT_ID, "another-app"]):
        with pytest.raises(InvalidToken, match="another application"):
            check.verify(issuer.token("alice", token_use="id", aud=audience))
    with pytest.raises(InvalidToken, match="id token"):
        check.verify(issuer.token("alice"))  # an access token


def assert_unavailable(response) -> None:
    """Not the caller's fault: a 503 to retry, with nothing about the key server in it."""
    assert response.status_code == 503, response.content
    assert response.json()["error"] == {
        "code": "SERVICE_UNAVAILABLE",
        "message": "Tokens cannot be checked right now. Try again shortly.",
    }
    assert int(response["Retry-After"]) > 0


@pytest.mark.parametrize(
    "outage",
    [
        pytest.param((200, b"<html>Gateway</html>"), id="not JSON"),
        pytest.param((200, b"[1, 2]"), id="not an object"),
        pytest.param((200, b'{"keys": []}'), id="no keys"),
        pytest.param((502, b"Bad gateway"), id="server error"),
    ],
)
def test_when_the_pools_keys_cannot_be_had_requests_get_a_503(api, issuer, outage):
    issuer.outage = outage
    assert_unavailable(api.client.get("/tasks", **bearer(issuer.token())))


def test_an_unreachable_key_server_is_a_503(api, issuer, settings):
    from dataclasses import replace

    settings.JWT = replace(settings.JWT, jwks_url="http://127.0.0.1:9/.well-known/jwks.json")
    bootstrap.reset()
    events_wiring.reset()
    assert_unavailable(api.client.get("/tasks", **bearer(issuer.token())))


def test_during_an_outage_the_key_server_is_not_asked_on_every_request(api, issuer):
    """Each failed fetch could wait seconds for a timeout; requests fail fast for a moment instead."""
    issuer.outage = (502, b"Bad gateway")
    for _ in range(5):
        assert_unavailable(api.client.get("/tasks", **bearer(issuer.token())))
    assert issuer.fetches == 1


def test_keys_already_fetched_outlive_an_outage(api, issuer):
    assert api.client.get("/tasks", **bearer(issuer.token())).status_code == 200
    issuer.outage = (503, b"down")
    assert api.client.get("/tasks", **bearer(issuer.token("bob"))).status_code == 200


def test_a_new_key_id_during_an_outage_waits_for_the_pause_instead_of_fetching(issuer):
    keys = JwksUrlKeys(issuer.jwks_url, refetch_cooldown=0, outage_pause=30)
    check = TokenVerifier(issuer=ISSUER, audience=CLIENT_ID, token_use="access", keys=keys, leeway_seconds=10)
    check.verify(issuer.token())
    issuer.outage = (502, b"Bad gateway")
    for _ in range(3):
        kid = issuer.rotate()
        with pytest.raises(KeysUnavailable):
            check.verify(issuer.token(kid=kid))
    assert issuer.fetches == 2  # the first good one, and one failed refetch
    assert check.verify(issuer.token(kid=next(iter(issuer.keys)))).subject == "alice"  # cached keys still work


def test_after_the_pause_the_keys_are_fetched_again(issuer):
    keys = JwksUrlKeys(issuer.jwks_url, outage_pause=0.2)
    check = TokenVerifier(issuer=ISSUER, audience=CLIENT_ID, token_use="access", keys=keys, leeway_seconds=10)
    issuer.outage = (502, b"Bad gateway")
    with pytest.raises(KeysUnavailable):
        check.verify(issuer.token())
    issuer.outage = None
    time.sleep(0.25)
    assert check.verify(issuer.token()).subject == "alice"


def test_expired_keys_stay_in_use_when_they_cannot_be_fetched_again(issuer):
    keys = JwksUrlKeys(issuer.jwks_url, lifespan=0, outage_pause=30)
    check = TokenVerifier(issuer=ISSUER, audience=CLIENT_ID, token_use="access", keys=keys, leeway_seconds=10)
    check.verify(issuer.token())
    issuer.outage = (200, b"<html>maintenance</html>")
    assert check.verify(issuer.token("bob")).subject == "bob"
