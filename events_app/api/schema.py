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
    REQUEST_ID,
    REQUEST_ID_HEADER,
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
        "priority": EXAMPLE_TASK["priority"],
        "due_at": EXAMPLE_TASK["due_at"],
        "tags": EXAMPLE_TASK["tags"],
    },
}
STARTED_EVENT_EXAMPLE = {
    "event_type": "TaskStatusChanged",
    "event_id": "5c8e2f1a-7b3d-4e9a-8c6f-0d1e2f3a4b5c",
    "aggregate_id": EXAMPLE_TASK["task_id"],
    "timestamp": "2026-11-25T10:00:00.000000Z",
    "data": {
        "event_id": "5c8e2f1a-7b3d-4e9a-8c6f-0d1e2f3a4b5c",
        "aggregate_id": EXAMPLE_TASK["task_id"],
        "timestamp": "2026-11-25T10:00:00.000000Z",
        "sequence": 2,
        "old_status": "pending",
        "new_status": "in_progress",
        "user_id": EXAMPLE_TASK["user_id"],
    },
}

events = extend_schema(
    summary="A task's history",
    description=(
        "Every event of the task, oldest first (by `data.sequence`), each once however often it was "
        "delivered: `TaskCreated`, `TaskUpdated`, `TaskStatusChanged`, `TaskCompleted`, `TaskDeleted` "
        "(moved to the trash), `TaskRestored`, as SPEC §1 and §4 describe them, and the due-date reminders "
        "`TaskDueSoon` and `TaskOverdue` (`task_title`, `user_id`, `due_at`). A trashed task keeps "
        "its history. Events are processed asynchronously, so a change shows here within moments of "
        "its response, not with it."
    ),
    parameters=[TASK_ID_PARAMETER, REQUEST_ID, REQUEST_ID_HEADER],
    responses={
        200: OpenApiResponse(
            TaskHistoryEnvelope,
            "The task's events.",
            [
                OpenApiExample(
                    "History",
                    {"success": True, "data": [CREATED_EVENT_EXAMPLE, STARTED_EVENT_EXAMPLE]},
                    response_only=True,
                )
            ],
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
        "The user's live tasks by status (tasks in the trash are not counted; a restored task "
        "counts again), and the tasks they created and completed today (UTC). The event consumers "
        "keep these counts asynchronously: a change shows within moments of its response, and the "
        "counts are exact once its events are applied, whatever their order or redeliveries. A "
        "task completed today counts as completed today even if it was reopened or trashed since."
    ),
    parameters=[StatsQuery, REQUEST_ID, REQUEST_ID_HEADER],
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
