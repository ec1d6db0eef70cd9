"""`provision --stage` puts API Gateway's own answers in SPEC §2's envelope, on the local AWS."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest

from ops.provisioning.gateway_responses import GATEWAY_ANSWERS
from ops.rehearsal.checks import check_gateway_responses
from tasks_app.api.errors import ErrorCode
from tests.integration.test_stage_provisioning import (  # the same settings file, deploy and output reading
    Provision,
    _apigateway,
    outcome,
    run,
    settings_file,
    zappa_deploy,
)

__all__ = ["run", "settings_file"]  # fixtures, used by name

# SPEC §2 for each answer API Gateway gives itself: (status, code, Retry-After); None keeps the
# type's own status, which a status on DEFAULT_4XX/5XX would override for every other type.
EXPECTED = {
    "MISSING_AUTHENTICATION_TOKEN": ("404", "NOT_FOUND", None),  # an unknown path (SPEC §2), not a 403
    "RESOURCE_NOT_FOUND": ("404", "NOT_FOUND", None),
    "INVALID_API_KEY": ("403", "PERMISSION_DENIED", None),
    "UNAUTHORIZED": ("401", "NOT_AUTHENTICATED", None),
    "ACCESS_DENIED": ("403", "PERMISSION_DENIED", None),
    "EXPIRED_TOKEN": ("403", "PERMISSION_DENIED", None),
    "INVALID_SIGNATURE": ("403", "PERMISSION_DENIED", None),
    "WAF_FILTERED": ("403", "PERMISSION_DENIED", None),
    "REQUEST_TOO_LARGE": ("413", "PAYLOAD_TOO_LARGE", None),
    "UNSUPPORTED_MEDIA_TYPE": ("415", "UNSUPPORTED_MEDIA_TYPE", None),
    "THROTTLED": ("429", "THROTTLED", "'1'"),
    "QUOTA_EXCEEDED": ("429", "THROTTLED", "'3600'"),
    "INTEGRATION_TIMEOUT": ("503", "SERVICE_UNAVAILABLE", "'5'"),  # an outage, not the gateway's 504
    "INTEGRATION_FAILURE": ("503", "SERVICE_UNAVAILABLE", "'5'"),
    "DEFAULT_4XX": (None, "VALIDATION_ERROR", None),
    "DEFAULT_5XX": (None, "INTERNAL_ERROR", None),
}
# API Gateway's own message as `$context.error.messageString` gives it: a JSON string, quotes and all.
GATEWAY_MESSAGE = 'Invalid "key"\nsee the docs'


def fill_in(template: str, request_id: str) -> Any:
    """What API Gateway sends for a template: its variables substituted (no VTL), parsed as JSON."""
    body = template.replace("$context.error.messageString", json.dumps(GATEWAY_MESSAGE))
    body = body.replace("$context.requestId", request_id)
    assert "$" not in body, f"a variable API Gateway would not fill in is left: {body}"
    return json.loads(body)


def test_every_answer_api_gateway_gives_itself_is_the_spec_envelope(run: Provision, aws):
    run("production")
    api_id = zappa_deploy(aws)
    output = run("production")
    assert outcome(output, "api errors", "tasks-production") == (
        f"created ({len(EXPECTED)} gateway responses in SPEC §2's envelope)"
    )
    responses = _responses(aws, api_id)
    assert set(responses) == set(EXPECTED)
    for response_type, (status, code, retry_after) in EXPECTED.items():
        response = responses[response_type]
        assert response.get("statusCode") == status, response_type
        headers = {"gatewayresponse.header.Content-Type": "'application/json'"}
        if retry_after:
            headers["gatewayresponse.header.Retry-After"] = retry_after
        assert response["responseParameters"] == headers, response_type
        request_id = str(uuid.uuid4())
        body = fill_in(response["responseTemplates"]["application/json"], request_id)
        assert body == {"success": False, "error": {"message": body["error"]["message"], "code": code}}
        message = body["error"]["message"]
        assert message == GATEWAY_MESSAGE or message.endswith(f" (request id {request_id})"), message


def test_each_code_is_sent_with_the_status_spec_gives_it():
    for answer in GATEWAY_ANSWERS:
        code = ErrorCode(answer.code)  # a code SPEC §2 lists, or this raises
        if answer.status is not None:
            assert answer.status == code.status, f"{answer.response_type}: {code} goes with {code.status}"
        assert (answer.retry_after is not None) == (code.status in (429, 503)), answer.response_type


@pytest.mark.parametrize("answer", GATEWAY_ANSWERS, ids=lambda answer: answer.response_type)
def test_a_message_of_ours_cannot_break_the_template(answer):
    """API Gateway only substitutes variables: anything else in the message reaches the client as is."""
    if answer.message is None:
        assert "$context.error.messageString" in answer.template()
        return
    assert not re.search(r"[$'\"\\]", answer.message), "a `$` is a variable; quotes would need escaping"
    assert fill_in(answer.template(), "abc")["error"]["message"] == f"{answer.message} (request id abc)"


def test_the_stage_is_deployed_once_so_the_responses_answer_and_a_second_run_changes_nothing(run, aws):
    run("production")
    api_id = zappa_deploy(aws)
    output = run("production")
    assert outcome(output, "deployment", "tasks-production/production") == ("created (so the responses take effect)")
    deployments = _deployments(aws, api_id)
    assert len(deployments) == 2  # zappa_deploy's, then provisioning's
    before = _responses(aws, api_id)

    again = run("production")
    assert outcome(again, "api errors", "tasks-production").startswith("unchanged")
    assert "deployment" not in again
    assert "Nothing to change: everything was already in place." in again
    assert _responses(aws, api_id) == before
    assert _deployments(aws, api_id) == deployments


def test_a_changed_response_is_put_back_and_deployed(run, aws):
    run("production")
    api_id = zappa_deploy(aws)
    run("production")
    apigateway = _apigateway(aws)
    apigateway.put_gateway_response(
        restApiId=api_id,
        responseType="THROTTLED",
        statusCode="429",
        responseTemplates={"application/json": '{"message":$context.error.messageString}'},
    )
    output = run("production")
    assert outcome(output, "api errors", "tasks-production") == "updated (THROTTLED)"
    assert _responses(aws, api_id)["THROTTLED"]["responseParameters"]["gatewayresponse.header.Retry-After"] == "'1'"
    assert len(_deployments(aws, api_id)) == 3


def test_a_dry_run_lists_the_responses_and_the_deployment_and_changes_nothing(run, aws):
    api_id = zappa_deploy(aws)
    output = run("production", "--dry-run")
    assert outcome(output, "api errors", "tasks-production").startswith("would be created")
    assert outcome(output, "deployment", "tasks-production/production").startswith("would be created")
    assert _responses(aws, api_id) == {}
    assert len(_deployments(aws, api_id)) == 1  # zappa_deploy's


def test_before_the_first_deploy_the_responses_wait_for_the_api(run):
    output = run("staging")
    assert outcome(output, "api errors", "tasks-staging").startswith("absent (no REST API tasks-staging")
    assert "again after `zappa deploy staging`" in output


def test_a_stage_without_an_api_key_gets_them_too(run, aws):
    run("staging")
    api_id = zappa_deploy(aws, "staging")
    run("staging")
    assert set(_responses(aws, api_id)) == set(EXPECTED)


def test_the_rehearsal_check_passes_what_provision_made_and_names_what_differs(run, aws):
    run("production")
    api_id = zappa_deploy(aws)
    apigateway = _apigateway(aws)
    missing = check_gateway_responses(apigateway, "tasks-production", "production")
    assert len(missing) == len(EXPECTED) + 1, missing  # every type, and no deployment with them
    run("production")
    assert check_gateway_responses(apigateway, "tasks-production", "production") == []

    apigateway.put_gateway_response(
        restApiId=api_id,
        responseType="INTEGRATION_TIMEOUT",
        statusCode="504",
        responseParameters={"gatewayresponse.header.Content-Type": "'application/json'"},
        responseTemplates={"application/json": '{"message": "$context.error.messageString"}'},
    )
    problems = check_gateway_responses(apigateway, "tasks-production", "production")
    assert problems == [
        "API tasks-production: INTEGRATION_TIMEOUT answers 504, expected 503",
        "API tasks-production: INTEGRATION_TIMEOUT has no Retry-After in seconds (SPEC §2 wants one with 503)",
        "API tasks-production: INTEGRATION_TIMEOUT template is not JSON once filled in: "
        '{"message": "$context.error.messageString"}',
    ]


def _responses(aws, api_id: str) -> dict[str, Any]:
    items = _apigateway(aws).get_gateway_responses(restApiId=api_id)["items"]
    return {item["responseType"]: item for item in items}


def _deployments(aws, api_id: str) -> list[Any]:
    return sorted(d["id"] for d in _apigateway(aws).get_deployments(restApiId=api_id)["items"])
