"""What every operation's OpenAPI documentation shares: the bearer scheme, schema hooks, the example
task, and the documented error responses built from the one error envelope."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

from tasks_app.api.errors import ErrorCode, error_body
from tasks_app.api.serializers import ErrorEnvelope

EXAMPLE_TASK = {
    "task_id": "task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21",
    "user_id": "user-42",
    "title": "Write the quarterly report",
    "description": "Numbers from finance first.",
    "status": "pending",
    "created_at": "2026-11-25T09:30:00.000000Z",
    "updated_at": None,
    "completed_at": None,
}
EXAMPLE_COMPLETED_TASK = {
    **EXAMPLE_TASK,
    "status": "completed",
    "updated_at": "2026-11-25T17:05:00.000000Z",
    "completed_at": "2026-11-25T17:05:00.000000Z",
}

TASK_ID_PARAMETER = OpenApiParameter(
    "task_id",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The task's id: `task-` followed by a UUID4.",
    examples=[OpenApiExample("A task id", value=EXAMPLE_TASK["task_id"])],
)


class BearerTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """Documents `BearerTokenAuthentication` as HTTP bearer JWTs (Cognito access tokens)."""

    target_class = "tasks_app.api.auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A Cognito access token (with AUTH_MODE=jwt); `issue_token` makes one locally.",
        }


def security_follows_auth_mode(result: dict[str, Any], **_: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: with AUTH_MODE=none no token is needed, so say so."""
    from django.conf import settings

    if settings.AUTH_MODE == "none":
        for path in result.get("paths", {}).values():
            for operation in path.values():
                if isinstance(operation, dict) and "security" in operation:
                    operation["security"] = [*operation["security"], {}]
    return result


def without_trailing_slash(endpoints: list[tuple[str, str, str, Any]]) -> list[tuple[str, str, str, Any]]:
    """drf-spectacular preprocessing hook: document `/tasks`, not the router's `/tasks/`."""
    return [(path.rstrip("/") or "/", regex, method, view) for path, regex, method, view in endpoints]


def error_example(
    name: str, code: ErrorCode, message: str, details: dict[str, list[str]] | None = None
) -> OpenApiExample:
    """A documented error response body, built by the same `error_body` the API answers with."""
    return OpenApiExample(name, value=error_body(code, message, details), response_only=True)


def error_response(description: str, *examples: OpenApiExample) -> OpenApiResponse:
    """An error status's documentation: the envelope, when it happens, and examples."""
    return OpenApiResponse(ErrorEnvelope, description=description, examples=list(examples))


INVALID_BODY = error_response(
    "The body is malformed JSON, not an object, or a field is missing or invalid.",
    error_example(
        "Invalid fields",
        ErrorCode.VALIDATION_ERROR,
        "The request is not valid.",
        {"title": ["This field may not be blank."]},
    ),
    error_example(
        "Malformed JSON", ErrorCode.VALIDATION_ERROR, "The body is not valid JSON: JSON parse error - Expecting value."
    ),
)
TOO_LARGE = error_response(
    "The body is over the configured size limit.",
    error_example("Too large", ErrorCode.PAYLOAD_TOO_LARGE, "The body is 70000 bytes; the limit is 65536."),
)
NOT_JSON = error_response(
    "The body is not JSON.",
    error_example("Form data", ErrorCode.UNSUPPORTED_MEDIA_TYPE, 'Unsupported media type "text/plain" in request.'),
)
NOT_FOUND = error_response(
    "No task has this id.",
    error_example("Unknown task", ErrorCode.NOT_FOUND, f"Task {EXAMPLE_TASK['task_id']!r} was not found."),
)
NOT_AUTHENTICATED = error_response(
    "Authentication is on and the bearer token is missing or not valid.",
    error_example("No token", ErrorCode.NOT_AUTHENTICATED, "Authentication credentials were not provided."),
    error_example("Expired token", ErrorCode.NOT_AUTHENTICATED, "The token has expired."),
)
FORBIDDEN = error_response(
    "Another user's data, without being in the admin group.",
    error_example("Someone else's", ErrorCode.PERMISSION_DENIED, "You may only ask about your own tasks, not bob's."),
)
THROTTLED = error_response(
    "Over a rate limit; retry after the seconds in the `Retry-After` header.",
    error_example("Throttled", ErrorCode.THROTTLED, "Request was throttled. Expected available in 42 seconds."),
)
AUTH_UNAVAILABLE = error_response(
    "Authentication is on and the identity provider's keys cannot be fetched; retry after `Retry-After`.",
    error_example(
        "Keys unavailable", ErrorCode.SERVICE_UNAVAILABLE, "Tokens cannot be checked right now. Try again shortly."
    ),
)
SERVER_ERROR = error_response(
    "A bug on our side; the response carries no detail, the log has it under the request id.",
    error_example(
        "Server error",
        ErrorCode.INTERNAL_ERROR,
        "Something went wrong on our side. Quote the X-Request-ID header if you report it.",
    ),
)
