"""OpenAPI documentation of the read-model endpoints: a task's history and a user's statistics."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema

from events_app.api.serializers import StatsQuery, TaskHistoryEnvelope, UserStatsEnvelope
from tasks_app.api.errors import ErrorCode
from tasks_app.api.openapi import (
    AUTH_UNAVAILABLE,
    EXAMPLE_TASK,
    FORBIDDEN,
    NOT_AUTHENTICATED,
    NOT_FOUND,
    SERVER_ERROR,
    TASK_ID_PARAMETER,
    THROTTLED,
    error_example,
    error_response,
)

CREATED_EVENT_EXAMPLE = {
    "event_type": "TaskCreated",
    "event_id": "0b6f9b8e-5d1c-4c59-9d6e-1f2a3b4c5d6e",
    "aggregate_id": EXAMPLE_TASK["task_id"],
    "timestamp": EXAMPLE_TASK["created_at"],
    "data": {
        "event_id": "0b6f9b8e-5d1c-4c59-9d6e-1f2a3b4c5d6e",
        "aggregate_id": EXAMPLE_TASK["task_id"],
        "timestamp": EXAMPLE_TASK["created_at"],
        "sequence": 1,
        "task_title": EXAMPLE_TASK["title"],
        "user_id": EXAMPLE_TASK["user_id"],
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
            [OpenApiExample("History", {"success": True, "data": [CREATED_EVENT_EXAMPLE]}, response_only=True)],
        ),
        404: NOT_FOUND,
        401: NOT_AUTHENTICATED,
        429: THROTTLED,
        503: AUTH_UNAVAILABLE,
        500: SERVER_ERROR,
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
        400: error_response(
            "`user_id` is missing or not valid.",
            error_example(
                "No user",
                ErrorCode.VALIDATION_ERROR,
                "The request is not valid.",
                {"user_id": ["This field is required."]},
            ),
        ),
        401: NOT_AUTHENTICATED,
        403: FORBIDDEN,
        429: THROTTLED,
        503: AUTH_UNAVAILABLE,
        500: SERVER_ERROR,
    },
)
