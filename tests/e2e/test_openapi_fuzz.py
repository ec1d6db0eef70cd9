"""Schemathesis against /api/schema, in-process over WSGI, with authentication off and on.

Hypothesis generates valid and invalid requests for every operation (a fixed seed, a bounded
number of examples). Every response must be no server error, and must be documented: its
status, content type, headers and body all as the schema says.
"""

from __future__ import annotations

import zlib
from typing import Any

import pytest
import schemathesis
from django.test import override_settings
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    ignored_auth,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from ops.local.user_pool import TokenIssuer, bearer

EXAMPLES_PER_OPERATION = 40
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Every real server gives the peer's address (Zappa: API Gateway's); werkzeug's test client does not.
CLIENT = {"REMOTE_ADDR": "198.51.100.7"}
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,  # the same examples every run
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)


# Loaded once at collection; generating the schema needs no AWS. With authentication off, each
# operation's `security` also allows no token; with it on, it does not.
schema = schemathesis.openapi.from_wsgi("/api/schema?format=json", application)
with override_settings(AUTH_MODE="jwt"):
    jwt_schema = schemathesis.openapi.from_wsgi("/api/schema?format=json", application)


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
    case.call_and_validate(checks=CHECKS, environ_overrides=CLIENT)


@jwt_schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_with_authentication(case: Any, issuer: TokenIssuer, fuzzer_task: str) -> None:
    _aimed_at(case, fuzzer_task)
    case.call_and_validate(
        headers=_headers(issuer.token("fuzzer")), checks=[*CHECKS, ignored_auth], environ_overrides=CLIENT
    )


@jwt_schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_with_a_wrong_token(case: Any, issuer: TokenIssuer, fuzzer_task: str) -> None:
    _aimed_at(case, fuzzer_task)
    wrong_token = _headers(issuer.token("fuzzer", client_id="someone-else"))
    case.call_and_validate(headers=wrong_token, checks=CHECKS, environ_overrides=CLIENT)


@schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_over_a_rate_limit(case: Any, anonymous_task: str, settings: Any) -> None:
    """A low limit, so most examples get the 429 every operation documents."""
    settings.THROTTLE_RATES = {"user": None, "ip": "10/min"}
    _aimed_at(case, anonymous_task)
    case.call_and_validate(checks=CHECKS, environ_overrides=CLIENT)


def _aimed_at(case: Any, task_id: str) -> bool:
    """Half the generated task ids become an existing task's, so get, complete and events are
    fuzzed past their 404 (deterministically: the choice depends on the generated id)."""
    generated = (case.path_parameters or {}).get("task_id")
    if generated is None or zlib.crc32(str(generated).encode()) % 2:
        return False
    case.path_parameters["task_id"] = task_id
    return True


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": bearer(token)["HTTP_AUTHORIZATION"]}
