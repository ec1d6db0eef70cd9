"""Schemathesis against /api/schema, in-process over WSGI, with authentication off and on.

Hypothesis generates valid and invalid requests for every operation (a fixed seed, a bounded
number of examples). Every response must be no server error, and must be documented: its
status, content type, headers and body all as the schema says.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from tests.tokens import TokenIssuer, bearer

EXAMPLES_PER_OPERATION = 40
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,  # the same examples every run
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)


# Loaded once at collection; generating the schema needs no AWS. Authentication only adds an
# alternative to each operation's `security`, which these checks do not look at.
schema = schemathesis.openapi.from_wsgi("/api/schema?format=json", application)


@schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_without_authentication(case: Any, aws: Any) -> None:
    case.call_and_validate(checks=CHECKS)


@schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_with_authentication(case: Any, issuer: TokenIssuer) -> None:
    case.call_and_validate(headers=_headers(issuer.token("fuzzer")), checks=CHECKS)


@schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_with_a_wrong_token(case: Any, issuer: TokenIssuer) -> None:
    case.call_and_validate(headers=_headers(issuer.token("fuzzer", client_id="someone-else")), checks=CHECKS)


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": bearer(token)["HTTP_AUTHORIZATION"]}
