"""API Gateway's own answers (gateway responses) in SPEC §2's error envelope, on a stage's REST API.

Some requests never reach the function: API Gateway answers an unrouted path, a missing API key,
the usage plan's throttle and quota, a body over its 10 MB limit and a function that does not
answer in 29 s itself, by default with `{"message": "..."}`. This puts a gateway response on each
of those types so the answer is `{"success": false, "error": {"message", "code"}}` with SPEC §2's
status and code, `Content-Type: application/json` and, where SPEC §2 wants it, `Retry-After`.

AWS facts it relies on (API Gateway developer guide, "Gateway response types" and
"x-amazon-apigateway-gateway-responses"):
- a gateway response template is not run by the VTL engine: only `$context…` variables are
  substituted, so every template is fixed JSON and there is one response per code;
- `$context.error.messageString` is API Gateway's message already quoted as a JSON string;
- a status on DEFAULT_4XX or DEFAULT_5XX would become the status of every 4xx or 5xx type, so
  those two keep each type's own status;
- header values are request parameters or 'quoted' static values: nothing computes a delay, so
  `Retry-After` is a fixed number of seconds;
- gateway responses belong to the REST API and take effect on a stage when it is deployed again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from ops.errors import OperationsError
from ops.provisioning.apigateway import ApiStage, find_rest_api
from ops.provisioning.changes import Change, act
from tasks_app.adapters.outages import RETRY_AFTER_UNREACHABLE

if TYPE_CHECKING:
    from mypy_boto3_apigateway.client import APIGatewayClient
    from mypy_boto3_apigateway.literals import GatewayResponseTypeType
    from mypy_boto3_apigateway.type_defs import GatewayResponseTypeDef

JSON = "application/json"
REQUEST_ID = "$context.requestId"  # the id API Gateway also sends as `x-amzn-RequestId`
GATEWAY_MESSAGE = "$context.error.messageString"  # a quoted JSON string: never put it in quotes
# Seconds in `Retry-After`. The usage plan's token bucket refills 1000 requests a second, so one
# second is enough after THROTTLED; the daily quota renews at the start of the UTC day, which a
# static value cannot name, so a client is told to come back in an hour; an integration that
# timed out or failed is an outage, retried as the application's own 503 says (5 s).
RETRY_AFTER_THROTTLED = 1
RETRY_AFTER_QUOTA = 3600
RETRY_AFTER_OUTAGE = RETRY_AFTER_UNREACHABLE  # the application's own 503
KIND = "api errors"
DEPLOYMENT_DESCRIPTION = "provision --stage: gateway responses"


@dataclass(frozen=True)
class GatewayAnswer:
    """One gateway response type and how it answers: SPEC §2's code and status, and its message.

    `status` None keeps the type's own status (DEFAULT_4XX/5XX); `message` None sends API Gateway's
    own message, for the types where only it knows what went wrong (authorizers, signatures, WAF).
    A message of ours has no `$` (a variable to API Gateway), quote or apostrophe, and no final stop:
    the request id follows it.
    """

    response_type: GatewayResponseTypeType
    code: str  # SPEC §2's error code
    status: int | None
    message: str | None = None
    retry_after: int | None = None

    def template(self) -> str:
        """The `application/json` body: the envelope, with the request id in a message of ours."""
        placeholder = "<gateway message>"  # json.dumps leaves `$` alone, but would quote messageString
        message = f"{self.message} (request id {REQUEST_ID})" if self.message else placeholder
        body = json.dumps({"success": False, "error": {"message": message, "code": self.code}})
        return body.replace(json.dumps(placeholder), GATEWAY_MESSAGE)

    def parameters(self) -> dict[str, str]:
        """Response headers, as API Gateway maps them: static values in single quotes."""
        headers = {"Content-Type": JSON}
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        return {f"gatewayresponse.header.{name}": f"'{value}'" for name, value in headers.items()}

    def status_code(self) -> str | None:
        return None if self.status is None else str(self.status)


_RETRY = "retry after the seconds in the Retry-After header"
GATEWAY_ANSWERS = (
    # Zappa routes ANY on / and /{proxy+}: what API Gateway cannot route is an unknown path.
    GatewayAnswer("MISSING_AUTHENTICATION_TOKEN", "NOT_FOUND", 404, "There is no such path on this API"),
    GatewayAnswer("RESOURCE_NOT_FOUND", "NOT_FOUND", 404, "There is no such path on this API"),
    GatewayAnswer(
        "INVALID_API_KEY", "PERMISSION_DENIED", 403, "This API needs a valid API key in the x-api-key header"
    ),
    GatewayAnswer("UNAUTHORIZED", "NOT_AUTHENTICATED", 401),
    GatewayAnswer("ACCESS_DENIED", "PERMISSION_DENIED", 403),
    GatewayAnswer("EXPIRED_TOKEN", "PERMISSION_DENIED", 403),
    GatewayAnswer("INVALID_SIGNATURE", "PERMISSION_DENIED", 403),
    GatewayAnswer("WAF_FILTERED", "PERMISSION_DENIED", 403),
    GatewayAnswer("REQUEST_TOO_LARGE", "PAYLOAD_TOO_LARGE", 413, "The request is over the 10 MB limit of API Gateway"),
    GatewayAnswer("UNSUPPORTED_MEDIA_TYPE", "UNSUPPORTED_MEDIA_TYPE", 415, "Send the body as application/json"),
    GatewayAnswer("THROTTLED", "THROTTLED", 429, f"Too many requests for this API: {_RETRY}", RETRY_AFTER_THROTTLED),
    GatewayAnswer(
        "QUOTA_EXCEEDED",
        "THROTTLED",
        429,
        "The daily request quota of this API key is used up; it renews at the start of the next UTC day",
        RETRY_AFTER_QUOTA,
    ),
    # API Gateway waits 29 s for the function; a timeout or a failed invocation is an outage (503).
    GatewayAnswer(
        "INTEGRATION_TIMEOUT",
        "SERVICE_UNAVAILABLE",
        503,
        "The service did not answer in time and a change may still have been made: read the task, or retry "
        f"with the same Idempotency-Key; {_RETRY}",
        RETRY_AFTER_OUTAGE,
    ),
    GatewayAnswer(
        "INTEGRATION_FAILURE",
        "SERVICE_UNAVAILABLE",
        503,
        f"The service cannot be reached right now: {_RETRY}",
        RETRY_AFTER_OUTAGE,
    ),
    # The rest keep their status: 400 for request validators, 500/502 for a function that failed.
    GatewayAnswer("DEFAULT_4XX", "VALIDATION_ERROR", None),  # as the application codes an unlisted 4xx
    GatewayAnswer(
        "DEFAULT_5XX",
        "INTERNAL_ERROR",
        None,
        "Something went wrong on our side. Quote the request id if you report it",
    ),
)


def ensure_gateway_responses(client: APIGatewayClient, api: ApiStage, *, dry_run: bool) -> list[Change]:
    """Puts `GATEWAY_ANSWERS` on the stage's REST API, then deploys the stage if any changed.

    Returns the `api errors` change, and a `deployment` change when one is (or would be) made;
    `absent` before the first `zappa deploy`. The responses are the API's, owned here: a response
    of one of these types changed by hand is put back. Raises OperationsError if the responses
    were saved but the stage could not be deployed (they would not answer until it is).
    """
    api_id = find_rest_api(client, api)
    if api_id is None:
        detail = f"no REST API {api.api_name} with stage {api.stage} yet: run again after zappa deploy"
        return [Change(KIND, api.api_name, "absent", detail)]
    current = {
        response["responseType"]: response
        for page in client.get_paginator("get_gateway_responses").paginate(restApiId=api_id)
        for response in page.get("items", [])
    }
    stale = [answer for answer in GATEWAY_ANSWERS if not _matches(current.get(answer.response_type), answer)]
    summary = f"{len(GATEWAY_ANSWERS)} gateway responses in SPEC §2's envelope"
    if not stale:
        return [Change(KIND, api.api_name, "unchanged", summary)]
    customized = [answer for answer in stale if not current.get(answer.response_type, {}).get("defaultResponse", True)]
    action = "updated" if customized else "created"
    detail = ", ".join(answer.response_type for answer in stale) if customized else summary
    if not dry_run:
        for answer in stale:
            _put(client, api_id, answer)
        _deploy(client, api_id, api.stage)
    return [
        Change(KIND, api.api_name, act(action, dry_run), detail),
        Change("deployment", f"{api.api_name}/{api.stage}", act("created", dry_run), "so the responses take effect"),
    ]


def _matches(current: GatewayResponseTypeDef | None, answer: GatewayAnswer) -> bool:
    return (
        current is not None
        and current.get("statusCode") == answer.status_code()
        and current.get("responseParameters", {}) == answer.parameters()
        and current.get("responseTemplates", {}) == {JSON: answer.template()}
    )


def _put(client: APIGatewayClient, api_id: str, answer: GatewayAnswer) -> None:
    status = answer.status_code()
    client.put_gateway_response(
        restApiId=api_id,
        responseType=answer.response_type,
        responseParameters=answer.parameters(),
        responseTemplates={JSON: answer.template()},
        **({"statusCode": status} if status is not None else {}),
    )


def _deploy(client: APIGatewayClient, api_id: str, stage: str) -> None:
    """A new deployment of the stage, as `zappa update` makes: it snapshots the API as it is."""
    try:
        client.create_deployment(restApiId=api_id, stageName=stage, description=DEPLOYMENT_DESCRIPTION)
    except ClientError as error:
        raise OperationsError(
            f"The gateway responses of {api_id} are saved but stage {stage} could not be deployed ({error}); "
            f"they answer only once it is: run `zappa update {stage}`, which deploys it."
        ) from error


def render(template: str, *, request_id: str, gateway_message: str) -> str:
    """A template as API Gateway would fill it in (for checks): both variables it uses, substituted."""
    return template.replace(GATEWAY_MESSAGE, json.dumps(gateway_message)).replace(REQUEST_ID, request_id)
