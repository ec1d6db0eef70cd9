"""OpenAPI documentation of the task endpoints: responses, headers and examples for `@extend_schema`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema

from tasks_app.api.errors import ErrorCode
from tasks_app.api.openapi import (
    AUTH_UNAVAILABLE,
    BAD_IF_NONE_MATCH,
    ETAG_HEADER,
    EXAMPLE_COMPLETED_TASK,
    EXAMPLE_TASK,
    FORBIDDEN,
    IDEMPOTENCY_KEY,
    IF_MATCH,
    IF_NONE_MATCH,
    INVALID_BODY,
    KEY_REUSED,
    NO_BODY_FIELDS,
    NO_BODY_FIELDS_TO_DELETE,
    NOT_AUTHENTICATED,
    NOT_FOUND,
    NOT_JSON,
    PRECONDITION_FAILED,
    REPLAYED_HEADER,
    REQUEST_ID,
    REQUEST_ID_HEADER,
    SERVER_ERROR,
    TASK_ID_PARAMETER,
    THROTTLED,
    TOO_LARGE,
    error_example,
    error_response,
)
from tasks_app.api.serializers import (
    TaskActionRequest,
    TaskCreateRequest,
    TaskEnvelope,
    TaskListQuery,
    TaskPageEnvelope,
    TaskUpdateRequest,
    TrashQuery,
)

F = TypeVar("F", bound=Callable[..., Any])

# What any request may meet, whatever it asks; and the request id every request may give and every
# response carries (config.observability).
_TRACED = [REQUEST_ID, REQUEST_ID_HEADER]
_ALWAYS = {401: NOT_AUTHENTICATED, 429: THROTTLED, 503: AUTH_UNAVAILABLE, 500: SERVER_ERROR}
_CONFLICT = error_response(
    "The task's status does not allow the action (SPEC §1); nothing changed.",
    error_example(
        "Already completed",
        ErrorCode.INVALID_TRANSITION,
        f"Task {EXAMPLE_TASK['task_id']!r} is already completed.",
    ),
)
_ADMIN_CHANGE = error_response(
    "An admin tried to change another user's task (admins may only read them).",
    error_example(
        "Not yours", ErrorCode.PERMISSION_DENIED, "Admins may read bob's tasks, but only bob may change them."
    ),
)


def _task(description: str, example: dict[str, Any], status: int = 200) -> dict[int, OpenApiResponse]:
    return {
        status: OpenApiResponse(
            TaskEnvelope, description, [OpenApiExample("Task", {"success": True, "data": example}, response_only=True)]
        )
    }


def _page(description: str) -> OpenApiResponse:
    page = {
        "success": True,
        "data": [EXAMPLE_TASK],
        "pagination": {"next_cursor": "eyJ2IjoxfQ.c2lnbmF0dXJl", "limit": 1},
    }
    return OpenApiResponse(TaskPageEnvelope, description, [OpenApiExample("A page", page, response_only=True)])


_BAD_QUERY = error_response(
    "A query parameter is not valid, or the cursor was not issued for this listing (user, filters, sort).",
    error_example(
        "Bad status",
        ErrorCode.VALIDATION_ERROR,
        "The request is not valid.",
        {"status": ["Give one or more of pending, in_progress, completed, cancelled, separated by commas."]},
    ),
    error_example(
        "Bad cursor",
        ErrorCode.VALIDATION_ERROR,
        "The cursor is not valid for this listing; start again without one.",
        {"cursor": ["The cursor is not valid for this listing; start again without one."]},
    ),
)

create = extend_schema(
    summary="Create a task",
    description="Creates a pending task (version 1) and publishes `TaskCreated`. `user_id` is optional: with "
    "authentication on, the task is the caller's (leave `user_id` out; naming anyone else is a 403); with it off, "
    "`user_id` says whose it is. Unknown fields are a 400 naming them. With `Idempotency-Key`, a retry never "
    "creates a second task.",
    request=TaskCreateRequest,
    parameters=[IDEMPOTENCY_KEY, ETAG_HEADER, REPLAYED_HEADER, *_TRACED],
    examples=[
        OpenApiExample(
            "A task",
            value={
                "title": "Write the quarterly report",
                "priority": "high",
                "due_at": "2026-11-30T17:00:00Z",
                "tags": ["finance", "q4"],
            },
            request_only=True,
        )
    ],
    responses={
        **_task("The task as stored; `Location` is its URL.", EXAMPLE_TASK, 201),
        400: INVALID_BODY,
        403: FORBIDDEN,
        413: TOO_LARGE,
        415: NOT_JSON,
        422: KEY_REUSED,
        **_ALWAYS,
    },
)

list_ = extend_schema(
    summary="List a user's tasks",
    description="Newest first, or soonest due (`sort=due_at`, undated last). Filters combine; a page may hold "
    "fewer than `limit` tasks and still have a `next_cursor`. Pass `pagination.next_cursor` as `cursor` for the "
    "next page, with the same filters and sort.",
    parameters=[TaskListQuery, *_TRACED],
    responses={200: _page("A page of tasks."), 400: _BAD_QUERY, 403: FORBIDDEN, **_ALWAYS},
)

trash = extend_schema(
    summary="List a user's trash",
    description="Deleted tasks, latest deletion first. Each can be restored for 30 days, then it is purged.",
    parameters=[TrashQuery, *_TRACED],
    responses={200: _page("A page of trashed tasks."), 400: _BAD_QUERY, 403: FORBIDDEN, **_ALWAYS},
)

retrieve = extend_schema(
    summary="Get a task",
    parameters=[TASK_ID_PARAMETER, IF_NONE_MATCH, ETAG_HEADER, *_TRACED],
    responses={
        **_task("The task.", EXAMPLE_TASK),
        304: OpenApiResponse(description="`If-None-Match` names the current version: your copy is current."),
        400: BAD_IF_NONE_MATCH,
        404: NOT_FOUND,
        **_ALWAYS,
    },
)

partial_update = extend_schema(
    summary="Edit a task",
    description="Changes any of `title`, `description`, `priority`, `due_at`, `tags`; records `TaskUpdated` with "
    "the old and new value of each changed field. Sending the current values changes nothing and keeps the version. "
    "The status changes only through the actions.",
    request=TaskUpdateRequest,
    parameters=[TASK_ID_PARAMETER, IF_MATCH, IDEMPOTENCY_KEY, ETAG_HEADER, REPLAYED_HEADER, *_TRACED],
    examples=[
        OpenApiExample(
            "Reschedule", value={"due_at": "2026-12-02T09:00:00+01:00", "priority": "urgent"}, request_only=True
        )
    ],
    responses={
        **_task("The task as it now is.", {**EXAMPLE_TASK, "priority": "urgent", "version": 2}),
        400: INVALID_BODY,
        403: _ADMIN_CHANGE,
        404: NOT_FOUND,
        412: PRECONDITION_FAILED,
        413: TOO_LARGE,
        415: NOT_JSON,
        422: KEY_REUSED,
        **_ALWAYS,
    },
)

destroy = extend_schema(
    summary="Delete a task (to the trash)",
    description="Moves the task to the trash and publishes `TaskDeleted`: it leaves reads, listings and statistics, "
    "keeps its history, and can be restored for 30 days. It takes no body: a field in one is a 400.",
    parameters=[TASK_ID_PARAMETER, IF_MATCH, *_TRACED],
    responses={
        204: OpenApiResponse(description="In the trash."),
        400: NO_BODY_FIELDS_TO_DELETE,
        403: _ADMIN_CHANGE,
        404: NOT_FOUND,
        412: PRECONDITION_FAILED,
        413: TOO_LARGE,
        415: NOT_JSON,
        **_ALWAYS,
    },
)

# The status actions and restore take no field (SPEC §2: unknown body fields are a 400).
_NO_BODY = "No body is needed: send none, or `{}`; any field is a 400 naming it."
_EMPTY_BODY = OpenApiExample("No body fields", value={}, request_only=True)

_ACTIONS = {
    "start": ("Start a task", "pending → in_progress.", {**EXAMPLE_TASK, "status": "in_progress", "version": 2}),
    "complete": (
        "Complete a task",
        "pending or in_progress → completed, setting `completed_at`; publishes `TaskStatusChanged` then "
        "`TaskCompleted`.",
        EXAMPLE_COMPLETED_TASK,
    ),
    "cancel": (
        "Cancel a task",
        "pending or in_progress → cancelled.",
        {**EXAMPLE_TASK, "status": "cancelled", "version": 2},
    ),
    "reopen": (
        "Reopen a task",
        "completed or cancelled → pending, clearing `completed_at`.",
        {**EXAMPLE_TASK, "version": 4},
    ),
}


def action(name: str) -> Callable[[F], F]:
    """The documentation of one status action (SPEC §1): no body; any other transition is a 409."""
    summary, description, example = _ACTIONS[name]
    decorator: Callable[[F], F] = extend_schema(
        operation_id=f"tasks_{name}",
        summary=summary,
        description=f"{description} Any other transition is a 409, never a silent success. {_NO_BODY}",
        request=TaskActionRequest,
        examples=[_EMPTY_BODY],
        parameters=[TASK_ID_PARAMETER, IF_MATCH, IDEMPOTENCY_KEY, ETAG_HEADER, REPLAYED_HEADER, *_TRACED],
        responses={
            **_task("The task as it now is.", example),
            400: NO_BODY_FIELDS,
            403: _ADMIN_CHANGE,
            404: NOT_FOUND,
            409: _CONFLICT,
            412: PRECONDITION_FAILED,
            413: TOO_LARGE,
            415: NOT_JSON,
            422: KEY_REUSED,
            **_ALWAYS,
        },
    )
    return decorator


restore = extend_schema(
    operation_id="tasks_restore",
    summary="Restore a task from the trash",
    description="Brings the task back exactly as it was, one version later, and publishes `TaskRestored`. "
    f"A task not in the trash is a 404. {_NO_BODY}",
    request=TaskActionRequest,
    examples=[_EMPTY_BODY],
    parameters=[TASK_ID_PARAMETER, IF_MATCH, IDEMPOTENCY_KEY, ETAG_HEADER, REPLAYED_HEADER, *_TRACED],
    responses={
        **_task("The restored task.", {**EXAMPLE_TASK, "version": 3}),
        400: NO_BODY_FIELDS,
        403: _ADMIN_CHANGE,
        404: NOT_FOUND,
        412: PRECONDITION_FAILED,
        413: TOO_LARGE,
        415: NOT_JSON,
        422: KEY_REUSED,
        **_ALWAYS,
    },
)
