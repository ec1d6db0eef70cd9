"""Schemathesis against /api/schema, in-process over WSGI, with authentication off and on.

Hypothesis generates valid and invalid requests for every operation (a fixed seed, a bounded
number of examples), in schemathesis' examples, coverage and fuzzing phases. Every check
schemathesis has runs on every response: no server error; status, content type, headers and body
as documented; valid requests accepted and invalid ones refused (`positive_data_acceptance`,
`negative_data_rejection`); undeclared methods a 405 with `Allow`; authentication enforced where
the schema asks for it (`ignored_auth`). The checks that need a sequence of requests
(`use_after_free`, `ensure_resource_availability`) are test_openapi_stateful.py's.
"""

from __future__ import annotations

import zlib
from typing import Any

import pytest
import schemathesis
from django.test import Client, override_settings
from hypothesis import HealthCheck, Phase, settings
from schemathesis.specs.openapi.schemas import OpenApiSchema

from config.wsgi import application
from notifications_app import bootstrap as notifications_wiring
from notifications_app.api.email_serializers import TOKEN_MAX_LENGTH
from notifications_app.confirmation import SignedConfirmationTokens
from notifications_app.domain.email_settings import EmailSettings
from ops.local.user_pool import TokenIssuer, bearer

EXAMPLES_PER_OPERATION = 40
# Every real server gives the peer's address (Zappa: API Gateway's); werkzeug's test client does not.
CLIENT = {"REMOTE_ADDR": "198.51.100.7"}
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    # No shrinking: a failure is reported with the example as generated, which keeps a failing
    # run as short as a passing one (shrinking replays against a server whose state has moved on).
    phases=[Phase.explicit, Phase.generate],
    derandomize=True,  # the same examples every run
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
# For the tests where every answer is the same error whatever the data (a 401, a 429).
FEW_EXAMPLES = settings(FUZZ_SETTINGS, max_examples=10)


def _loaded(*, token_supplied: bool = False, coverage: bool = True) -> OpenApiSchema:
    """The schema as served (in the auth mode of the moment), with every check on (no `checks`
    argument below means "all that are enabled", and all are).

    `positive_data_acceptance` accepts, besides its defaults (404, 409... for the state of the
    server), the two other answers that depend on state rather than on the request's form: 412
    (`If-Match` names another version than the task's current one) and 422 (the Idempotency-Key
    was used with another request). No schema can tell a generator which version is current or
    which keys were used; a malformed header of either kind is still a 400 and still fails it.

    `token_supplied`: each request carries the test's own token, so schemathesis generates no
    `Authorization` (a generated "missing token" case would be overridden and then rightly
    answered 200, which `negative_data_rejection` would take for invalid data accepted).
    `coverage`: schemathesis' coverage phase (every boundary of every parameter), for the tests
    whose answers depend on the request's data at all.
    """
    loaded = schemathesis.openapi.from_wsgi("/api/schema?format=json", application)
    positive = loaded.config.checks.positive_data_acceptance
    positive.expected_statuses = [*positive.expected_statuses, "412", "422"]  # a new list: never the default's
    loaded.config.generation.with_security_parameters = not token_supplied
    loaded.config.phases.coverage.enabled = coverage
    return loaded


# Loaded once at collection; generating the schema needs no AWS. With authentication off, each
# operation's `security` also allows no token, and `user_id` is required; with it on, neither.
schema = _loaded()
# Every answer is a 429 over the limit: the boundaries of each parameter would all meet the same one.
throttled_schema = _loaded(coverage=False)
with override_settings(AUTH_MODE="jwt"):
    jwt_schema = _loaded(token_supplied=True)
    # Every answer is a 401 with a wrong token, whatever the data: fuzzing alone covers that.
    wrong_token_schema = _loaded(token_supplied=True, coverage=False)


@pytest.fixture
def anonymous_task(api: Any) -> str:
    return str(api.created("fuzzer")["task_id"])


@pytest.fixture
def fuzzer_task(api: Any, issuer: TokenIssuer) -> str:
    response = api.client.post("/tasks", {"title": "seeded"}, format="json", **bearer(issuer.token("fuzzer")))
    return str(response.json()["data"]["task_id"])


@schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_without_authentication(case: Any, anonymous_task: str) -> None:
    _aimed_at(case, anonymous_task)
    _with_a_real_confirmation(case)
    _with_room_for_a_webhook(case, str((case.body or {}).get("user_id", "")) if isinstance(case.body, dict) else "")
    _with_an_issued_cursor(case, {})
    case.call_and_validate(environ_overrides=CLIENT)


@jwt_schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_with_authentication(case: Any, issuer: TokenIssuer, fuzzer_task: str) -> None:
    _aimed_at(case, fuzzer_task)
    headers = _headers(issuer.token("fuzzer"))
    _with_a_real_confirmation(case)
    _with_room_for_a_webhook(case, "fuzzer")
    _with_an_issued_cursor(case, headers)
    case.call_and_validate(headers=headers, environ_overrides=CLIENT)


@wrong_token_schema.parametrize()
@FEW_EXAMPLES
def test_every_operation_with_a_wrong_token(case: Any, issuer: TokenIssuer, fuzzer_task: str) -> None:
    _aimed_at(case, fuzzer_task)
    _with_a_real_confirmation(case)
    wrong_token = _headers(issuer.token("fuzzer", client_id="someone-else"))
    case.call_and_validate(headers=wrong_token, environ_overrides=CLIENT)


@throttled_schema.parametrize()
@FEW_EXAMPLES
def test_every_operation_over_a_rate_limit(case: Any, anonymous_task: str, settings: Any) -> None:
    """A low limit, so most examples get the 429 every operation documents."""
    settings.THROTTLE_RATES = {"user": None, "ip": "10/min"}
    _aimed_at(case, anonymous_task)
    _with_a_real_confirmation(case)
    _with_room_for_a_webhook(case, str((case.body or {}).get("user_id", "")) if isinstance(case.body, dict) else "")
    _with_an_issued_cursor(case, {})
    case.call_and_validate(environ_overrides=CLIENT)


def _with_a_real_confirmation(case: Any) -> None:
    """Whether a confirmation token is good depends on the server's key and on the address stored,
    which no schema can say: a token of a valid form becomes a real one, for an address stored
    here, so the confirmation is fuzzed past its 400 (a missing, empty or too long one stays)."""
    token = (case.query or {}).get("token")
    if case.operation.path != "/notifications/confirm" or not isinstance(token, str):
        return
    if not 1 <= len(token) <= TOKEN_MAX_LENGTH:
        return
    notifications_wiring.email_settings_repository().put(EmailSettings("confirmer", email="confirmer@example.com"))
    case.query["token"] = SignedConfirmationTokens().issue("confirmer", "confirmer@example.com")


def _with_room_for_a_webhook(case: Any, user_id: str) -> None:
    """A user may register at most `MAX_ENDPOINTS_PER_USER` webhooks, and each example of
    `POST /webhooks` that is accepted registers one: the state, not the request, would refuse the
    21st, so the user's webhooks are deleted before each registration."""
    if case.operation.path != "/webhooks" or case.method.upper() != "POST":
        return
    endpoints = notifications_wiring.endpoint_repository()
    for endpoint in endpoints.list_for_user(user_id, limit=100, cursor=None).items:
        endpoints.delete(endpoint)


def _aimed_at(case: Any, task_id: str) -> bool:
    """Half the generated task ids become an existing task's, so get, complete and events are
    fuzzed past their 404 (deterministically: the choice depends on the generated id)."""
    generated = (case.path_parameters or {}).get("task_id")
    if generated is None or zlib.crc32(str(generated).encode()) % 2:
        return False
    case.path_parameters["task_id"] = task_id
    return True


def _with_an_issued_cursor(case: Any, headers: dict[str, str]) -> None:
    """A valid `cursor` is one the API issued for this very listing (the schema says so, and
    declares its form): no generator can make one up, so a generated valid-looking cursor is
    replaced by the listing's own second-page cursor, or left out when the listing has no second
    page. Invalid cases keep theirs: whatever they hold, the API must refuse it (400)."""
    query = case.query or {}
    if not query.get("cursor") or case.meta is None or not case.meta.generation.mode.is_positive:
        return
    first_page = {name: value for name, value in query.items() if name != "cursor"}
    response = Client().get(
        case.formatted_path, {**first_page, "limit": 1}, headers=headers, REMOTE_ADDR=CLIENT["REMOTE_ADDR"]
    )
    cursor = response.json().get("pagination", {}).get("next_cursor") if response.status_code == 200 else None
    if cursor:
        query["cursor"] = cursor
    else:
        del query["cursor"]


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": bearer(token)["HTTP_AUTHORIZATION"]}
