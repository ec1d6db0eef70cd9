"""OpenAPI documentation of the task endpoints: responses and examples for `@extend_schema`."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema

from tasks_app.api.serializers import (
    ErrorEnvelope,
    StatsQuery,
    TaskCreateRequest,
    TaskEnvelope,
    TaskHistoryEnvelope,
    TaskListQuery,
    TaskPageEnvelope,
    UserStatsEnvelope,
)

_TASK = {
    "task_id": "task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21",
    "user_id": "user-42",
    "title": "Write the quarterly report",
    "description": "Numbers from finance first.",
    "status": "pending",
    "created_at": "2026-11-25T09:30:00.000000Z",
    "updated_at": None,
    "completed_at": None,
}
_COMPLETED_TASK = {
    **_TASK,
    "status": "completed",
    "updated_at": "2026-11-25T17:05:00.000000Z",
    "completed_at": "2026-11-25T17:05:00.000000Z",
}

TASK_ID_PARAMETER = OpenApiParameter(
    "task_id",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The task's id: `task-` followed by a UUID4.",
    examples=[OpenApiExample("A task id", value=_TASK["task_id"])],
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


def _error(name: str, code: str, message: str, details: dict[str, list[str]] | None = None) -> OpenApiExample:
    error: dict[str, Any] = {"message": message, "code": code}
    if details:
        error["details"] = details
    return OpenApiExample(name, value={"success": False, "error": error}, response_only=True)


def _error_response(description: str, *examples: OpenApiExample) -> OpenApiResponse:
    return OpenApiResponse(ErrorEnvelope, description=description, examples=list(examples))


_INVALID_BODY = _error_response(
    "The body is malformed JSON, not an object, or a field is missing or invalid.",
    _error(
        "Invalid fields", "VALIDATION_ERROR", "The request is not valid.", {"title": ["This field may not be blank."]}
    ),
    _error("Malformed JSON", "VALIDATION_ERROR", "The body is not valid JSON: JSON parse error - Expecting value."),
)
_TOO_LARGE = _error_response(
    "The body is over the configured size limit.",
    _error("Too large", "PAYLOAD_TOO_LARGE", "The body is 70000 bytes; the limit is 65536."),
)
_NOT_JSON = _error_response(
    "The body is not JSON.",
    _error("Form data", "UNSUPPORTED_MEDIA_TYPE", 'Unsupported media type "text/plain" in request.'),
)
_NOT_FOUND = _error_response(
    "No task has this id.",
    _error("Unknown task", "NOT_FOUND", f"Task {_TASK['task_id']!r} was not found."),
)
_NOT_AUTHENTICATED = _error_response(
    "Authentication is on and the bearer token is missing or not valid.",
    _error("No token", "NOT_AUTHENTICATED", "Authentication credentials were not provided."),
    _error("Expired token", "NOT_AUTHENTICATED", "The token has expired."),
)
_FORBIDDEN = _error_response(
    "Another user's data, without being in the admin group.",
    _error("Someone else's", "PERMISSION_DENIED", "You may only ask about your own tasks, not bob's."),
)
_THROTTLED = _error_response(
    "Over a rate limit; retry after the seconds in the `Retry-After` header.",
    _error("Throttled", "THROTTLED", "Request was throttled. Expected available in 42 seconds."),
)
_AUTH_UNAVAILABLE = _error_response(
    "Authentication is on and the identity provider's keys cannot be fetched; retry after `Retry-After`.",
    _error("Keys unavailable", "SERVICE_UNAVAILABLE", "Tokens cannot be checked right now. Try again shortly."),
)
_SERVER_ERROR = _error_response(
    "A bug on our side; the response carries no detail, the log has it under the request id.",
    _error(
        "Server error",
        "INTERNAL_ERROR",
        "Something went wrong on our side. Quote the X-Request-ID header if you report it.",
    ),
)

create = extend_schema(
    summary="Create a task",
    description="Creates a pending task for `user_id` and publishes `TaskCreated`.",
    request=TaskCreateRequest,
    examples=[
        OpenApiExample(
            "A task",
            value={
                "user_id": "user-42",
                "title": "Write the quarterly report",
                "description": "Numbers from finance first.",
            },
            request_only=True,
        )
    ],
    responses={
        201: OpenApiResponse(
            TaskEnvelope,
            "The task as stored.",
            [OpenApiExample("Created", {"success": True, "data": _TASK}, response_only=True)],
        ),
        400: _INVALID_BODY,
        413: _TOO_LARGE,
        401: _NOT_AUTHENTICATED,
        403: _FORBIDDEN,
        415: _NOT_JSON,
        429: _THROTTLED,
        503: _AUTH_UNAVAILABLE,
        500: _SERVER_ERROR,
    },
)

list_ = extend_schema(
    summary="List a user's tasks",
    description="Newest first. Pass the returned `pagination.next_cursor` as `cursor` for the next page.",
    parameters=[TaskListQuery],
    responses={
        200: OpenApiResponse(
            TaskPageEnvelope,
            "A page of tasks.",
            [
                OpenApiExample(
                    "A page",
                    {
                        "success": True,
                        "data": [_TASK],
                        "pagination": {"next_cursor": "eyJ2IjoxfQ.c2lnbmF0dXJl", "limit": 1},
                    },
                    response_only=True,
                )
            ],
        ),
        400: _error_response(
            "`user_id` is missing, `limit` is not 1 to 100, or the cursor was not issued for this listing.",
            _error(
                "Bad limit",
                "VALIDATION_ERROR",
                "The request is not valid.",
                {"limit": ["Ensure this value is less than or equal to 100."]},
            ),
            _error(
                "Bad cursor",
                "VALIDATION_ERROR",
                "The cursor is not valid for this listing; start again without one.",
                {"cursor": ["The cursor is not valid for this listing; start again without one."]},
            ),
        ),
        401: _NOT_AUTHENTICATED,
        403: _FORBIDDEN,
        429: _THROTTLED,
        503: _AUTH_UNAVAILABLE,
        500: _SERVER_ERROR,
    },
)

retrieve = extend_schema(
    summary="Get a task",
    parameters=[TASK_ID_PARAMETER],
    responses={
        200: OpenApiResponse(
            TaskEnvelope, "The task.", [OpenApiExample("A task", {"success": True, "data": _TASK}, response_only=True)]
        ),
        404: _NOT_FOUND,
        401: _NOT_AUTHENTICATED,
        429: _THROTTLED,
        503: _AUTH_UNAVAILABLE,
        500: _SERVER_ERROR,
    },
)

complete = extend_schema(
    operation_id="tasks_complete",
    summary="Complete a task",
    description=(
        "Moves a pending or in-progress task to `completed` and publishes `TaskStatusChanged` then "
        "`TaskCompleted`. Completing a task twice is a 409, never a silent success. No body is needed."
    ),
    request=None,
    parameters=[TASK_ID_PARAMETER],
    responses={
        200: OpenApiResponse(
            TaskEnvelope,
            "The completed task.",
            [OpenApiExample("Completed", {"success": True, "data": _COMPLETED_TASK}, response_only=True)],
        ),
        404: _NOT_FOUND,
        413: _TOO_LARGE,
        409: _error_response(
            "The task's status does not allow completing it.",
            _error(
                "Already completed",
                "INVALID_TRANSITION",
                f"Task {_TASK['task_id']!r} is completed and cannot become completed.",
            ),
        ),
        401: _NOT_AUTHENTICATED,
        429: _THROTTLED,
        503: _AUTH_UNAVAILABLE,
        500: _SERVER_ERROR,
    },
)

_CREATED_EVENT = {
    "event_type": "TaskCreated",
    "event_id": "0b6f9b8e-5d1c-4c59-9d6e-1f2a3b4c5d6e",
    "aggregate_id": _TASK["task_id"],
    "timestamp": _TASK["created_at"],
    "data": {
        "event_id": "0b6f9b8e-5d1c-4c59-9d6e-1f2a3b4c5d6e",
        "aggregate_id": _TASK["task_id"],
        "timestamp": _TASK["created_at"],
        "sequence": 1,
        "task_title": _TASK["title"],
        "user_id": _TASK["user_id"],
    },
}

events = extend_schema(
    summary="A task's history",
    description=(
        "Every event of the task, oldest first, as the event consumers recorded them. Events are "
        "processed asynchronously, so a change shows here within moments of its response, not with it."
    ),
    parameters=[TASK_ID_PARAMETER],
    responses={
        200: OpenApiResponse(
            TaskHistoryEnvelope,
            "The task's events.",
            [OpenApiExample("History", {"success": True, "data": [_CREATED_EVENT]}, response_only=True)],
        ),
        404: _NOT_FOUND,
        401: _NOT_AUTHENTICATED,
        429: _THROTTLED,
        503: _AUTH_UNAVAILABLE,
        500: _SERVER_ERROR,
    },
)

stats = extend_schema(
    summary="A user's statistics",
    description=(
        "The user's tasks by status, and the tasks they created and completed today (UTC), as the "
        "event consumers have counted them so far."
    ),
    parameters=[StatsQuery],
    responses={
        200: OpenApiResponse(
            UserStatsEnvelope,
            "The statistics.",
            [
                OpenApiExample(
                    "Statistics",
                    {
                        "success": True,
                        "data": {
                            "user_id": "user-42",
                            "counts": {"pending": 3, "in_progress": 0, "completed": 5, "cancelled": 0},
                            "today": {"date": "2026-11-25", "created": 2, "completed": 1},
                        },
                    },
                    response_only=True,
                )
            ],
        ),
        400: _error_response(
            "`user_id` is missing or not valid.",
            _error(
                "No user", "VALIDATION_ERROR", "The request is not valid.", {"user_id": ["This field is required."]}
            ),
        ),
        401: _NOT_AUTHENTICATED,
        403: _FORBIDDEN,
        429: _THROTTLED,
        503: _AUTH_UNAVAILABLE,
        500: _SERVER_ERROR,
    },
)
