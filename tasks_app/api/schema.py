"""OpenAPI documentation of the task endpoints: responses and examples for `@extend_schema`."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema

from tasks_app.api.errors import ErrorCode
from tasks_app.api.openapi import (
    AUTH_UNAVAILABLE,
    EXAMPLE_COMPLETED_TASK,
    EXAMPLE_TASK,
    FORBIDDEN,
    INVALID_BODY,
    NOT_AUTHENTICATED,
    NOT_FOUND,
    NOT_JSON,
    SERVER_ERROR,
    TASK_ID_PARAMETER,
    THROTTLED,
    TOO_LARGE,
    error_example,
    error_response,
)
from tasks_app.api.serializers import TaskCreateRequest, TaskEnvelope, TaskListQuery, TaskPageEnvelope

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
            [OpenApiExample("Created", {"success": True, "data": EXAMPLE_TASK}, response_only=True)],
        ),
        400: INVALID_BODY,
        413: TOO_LARGE,
        401: NOT_AUTHENTICATED,
        403: FORBIDDEN,
        415: NOT_JSON,
        429: THROTTLED,
        503: AUTH_UNAVAILABLE,
        500: SERVER_ERROR,
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
                        "data": [EXAMPLE_TASK],
                        "pagination": {"next_cursor": "eyJ2IjoxfQ.c2lnbmF0dXJl", "limit": 1},
                    },
                    response_only=True,
                )
            ],
        ),
        400: error_response(
            "`user_id` is missing, `limit` is not 1 to 100, or the cursor was not issued for this listing.",
            error_example(
                "Bad limit",
                ErrorCode.VALIDATION_ERROR,
                "The request is not valid.",
                {"limit": ["Ensure this value is less than or equal to 100."]},
            ),
            error_example(
                "Bad cursor",
                ErrorCode.VALIDATION_ERROR,
                "The cursor is not valid for this listing; start again without one.",
                {"cursor": ["The cursor is not valid for this listing; start again without one."]},
            ),
        ),
        401: NOT_AUTHENTICATED,
        403: FORBIDDEN,
        429: THROTTLED,
        503: AUTH_UNAVAILABLE,
        500: SERVER_ERROR,
    },
)

retrieve = extend_schema(
    summary="Get a task",
    parameters=[TASK_ID_PARAMETER],
    responses={
        200: OpenApiResponse(
            TaskEnvelope,
            "The task.",
            [OpenApiExample("A task", {"success": True, "data": EXAMPLE_TASK}, response_only=True)],
        ),
        404: NOT_FOUND,
        401: NOT_AUTHENTICATED,
        429: THROTTLED,
        503: AUTH_UNAVAILABLE,
        500: SERVER_ERROR,
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
            [OpenApiExample("Completed", {"success": True, "data": EXAMPLE_COMPLETED_TASK}, response_only=True)],
        ),
        404: NOT_FOUND,
        413: TOO_LARGE,
        409: error_response(
            "The task's status does not allow completing it.",
            error_example(
                "Already completed",
                ErrorCode.INVALID_TRANSITION,
                f"Task {EXAMPLE_TASK['task_id']!r} is completed and cannot become completed.",
            ),
        ),
        401: NOT_AUTHENTICATED,
        429: THROTTLED,
        503: AUTH_UNAVAILABLE,
        500: SERVER_ERROR,
    },
)
