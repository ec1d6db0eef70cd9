"""The tasks ViewSet: each action turns HTTP into one service call and back."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.http import HttpResponse
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from tasks_app import bootstrap
from tasks_app.api import schema
from tasks_app.api.auth import caller_of
from tasks_app.api.conditional import etag_headers, expected_versions, none_match
from tasks_app.api.counted_writes import counted_writes
from tasks_app.api.forms import TaskCreateForm, TaskUpdateForm
from tasks_app.api.idempotency import claim_of, location_of, run_once
from tasks_app.api.serializers import (
    TaskActionRequest,
    TaskCreateRequest,
    TaskListQuery,
    TaskResponse,
    TaskUpdateRequest,
    TrashQuery,
)
from tasks_app.application import services
from tasks_app.application.ports import Page, TaskFilters, TaskSort
from tasks_app.domain.task import Task
from tasks_app.domain.values import Priority, TaskStatus


def task_envelope(task: Task) -> dict[str, Any]:
    """The success envelope around one task (SPEC §2)."""
    return {"success": True, "data": TaskResponse(task).data}


def _page_envelope(page: Page, limit: int) -> dict[str, Any]:
    return {
        "success": True,
        "data": TaskResponse(page.items, many=True).data,
        "pagination": {"next_cursor": page.next_cursor, "limit": limit},
    }


def _task_response(outcome: Task | HttpResponse, *, status_code: int = 200) -> Response | HttpResponse:
    if isinstance(outcome, HttpResponse):  # answered through an Idempotency-Key
        return outcome
    return Response(task_envelope(outcome), status=status_code, headers=etag_headers(outcome))


def _changed_task(request: Request, change: Callable[..., Task]) -> Response | HttpResponse:
    """Run a change service (PATCH, an action, restore) with what every change takes from the
    request: `If-Match`, the caller, an `Idempotency-Key`; answer with the task and its ETag."""
    versions = expected_versions(request)  # a malformed If-Match is a 400 before anything else
    caller = caller_of(request)
    claim = claim_of(request, caller, status=200, envelope=task_envelope, location=False)
    return _task_response(
        run_once(
            claim,
            lambda claim: change(
                expected_versions=versions,
                caller=caller,
                repository=counted_writes(request),
                now=bootstrap.utc_now(),
                idempotency=claim,
            ),
        )
    )


def _refuse_body_fields(request: Request) -> None:
    """For the requests that take no body (the status actions, restore, DELETE): no body or `{}`
    passes; a field, or a body that is not a JSON object, is a 400 (`ValidationError`, SPEC §2)."""
    data = request.data
    if isinstance(data, Mapping) and not data:  # the usual case, without a serializer's cost
        return
    TaskActionRequest(data=data).is_valid(raise_exception=True)


# The actions whose services read the task, then write it through the repository they are given.
_READ_THEN_WRITE = frozenset({"partial_update", "destroy", "start", "complete", "cancel", "reopen", "restore"})


class TaskViewSet(viewsets.ViewSet):
    """Tasks: create, list, get, edit, delete to the trash and restore, and the status actions.

    A task's history and a user's statistics are the read models' (`events_app.api`), on paths
    under `/tasks` too.
    """

    lookup_field = "task_id"
    lookup_value_regex = "[^/]+"

    @property
    def writes_after_rate_count(self) -> bool:
        """True for the changes that read the task before they write it (PATCH, DELETE, the
        actions, restore): they write through `counted_writes`, so a take of rate-limit tokens
        runs beside their read (`tasks_app.api.throttling`). A create writes first: it waits
        for its take before it runs."""
        return self.action in _READ_THEN_WRITE

    @schema.list_
    def list(self, request: Request) -> Response:
        query = TaskListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        given = query.validated_data
        filters = TaskFilters(
            statuses=tuple(TaskStatus(value) for value in given.get("status", [])),
            priority=Priority(given["priority"]) if "priority" in given else None,
            tag=given.get("tag", "").strip().lower() or None,
            due_before=given.get("due_before"),
            due_after=given.get("due_after"),
        )
        page = services.task_list(
            user_id=given.get("user_id"),
            limit=given["limit"],
            cursor=given.get("cursor"),
            filters=filters,
            sort=TaskSort(given["sort"]),
            caller=caller_of(request),
            repository=bootstrap.task_repository(),
        )
        return Response(_page_envelope(page, given["limit"]))

    @schema.trash
    @action(detail=False, methods=["get"])
    def trash(self, request: Request) -> Response:
        query = TrashQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = services.task_trash(
            user_id=query.validated_data.get("user_id"),
            limit=query.validated_data["limit"],
            cursor=query.validated_data.get("cursor"),
            caller=caller_of(request),
            repository=bootstrap.task_repository(),
        )
        return Response(_page_envelope(page, query.validated_data["limit"]))

    @schema.create
    def create(self, request: Request) -> Response | HttpResponse:
        caller = caller_of(request)
        payload = TaskCreateRequest(data=request.data, context={"owner_required": caller is None})
        payload.is_valid(raise_exception=True)
        given = payload.validated_data
        claim = claim_of(request, caller, status=201, envelope=task_envelope, location=True)
        outcome = run_once(
            claim,
            lambda claim: services.task_create(
                user_id=given.get("user_id"),
                title=given["title"],
                description=given["description"],
                priority=Priority(given["priority"]),
                due_at=given["due_at"],
                tags=given["tags"],
                caller=caller,
                repository=bootstrap.task_repository(),
                now=bootstrap.utc_now(),
                idempotency=claim,
            ),
        )
        if isinstance(outcome, HttpResponse):
            return outcome
        headers = {**etag_headers(outcome), "Location": location_of(request, outcome)}
        return Response(task_envelope(outcome), status=status.HTTP_201_CREATED, headers=headers)

    @schema.retrieve
    def retrieve(self, request: Request, task_id: str) -> Response:
        held = none_match(request)  # a malformed If-None-Match is a 400, whether or not the task exists
        task = services.task_get(task_id=task_id, caller=caller_of(request), repository=bootstrap.task_repository())
        if held is not None and held.names_current(task):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers=etag_headers(task))
        return Response(task_envelope(task), headers=etag_headers(task))

    @schema.partial_update
    def partial_update(self, request: Request, task_id: str) -> Response | HttpResponse:
        payload = TaskUpdateRequest(data=request.data)
        payload.is_valid(raise_exception=True)
        return _changed_task(
            request, lambda **change: services.task_update(task_id=task_id, changes=payload.validated_data, **change)
        )

    @schema.destroy
    def destroy(self, request: Request, task_id: str) -> Response:
        _refuse_body_fields(request)
        services.task_delete(
            task_id=task_id,
            expected_versions=expected_versions(request),
            caller=caller_of(request),
            repository=counted_writes(request),
            now=bootstrap.utc_now(),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @schema.action("start")
    @action(detail=True, methods=["post"])
    def start(self, request: Request, task_id: str) -> Response | HttpResponse:
        return self._act(request, task_id, "start")

    @schema.action("complete")
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, task_id: str) -> Response | HttpResponse:
        return self._act(request, task_id, "complete")

    @schema.action("cancel")
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, task_id: str) -> Response | HttpResponse:
        return self._act(request, task_id, "cancel")

    @schema.action("reopen")
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, task_id: str) -> Response | HttpResponse:
        return self._act(request, task_id, "reopen")

    @schema.restore
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, task_id: str) -> Response | HttpResponse:
        _refuse_body_fields(request)
        return _changed_task(request, lambda **change: services.task_restore(task_id=task_id, **change))

    def _act(self, request: Request, task_id: str, name: str) -> Response | HttpResponse:
        _refuse_body_fields(request)
        return _changed_task(request, lambda **change: services.task_act(task_id=task_id, action=name, **change))

    def get_serializer(self, *args: Any, **kwargs: Any) -> serializers.Serializer[Any]:
        """Only for the browsable API, which draws its HTML forms from it: the create form (on
        the listing) and the edit form (on a task), whose `instance` is the values they start
        from (`tasks_app.api.renderers`). The actions themselves validate with
        `TaskCreateRequest` and `TaskUpdateRequest`, whatever the body came from."""
        if self.action in {"create", "list"}:
            return TaskCreateForm(*args, **kwargs)
        if self.action in {"retrieve", "partial_update"}:
            return TaskUpdateForm(*args, **kwargs)
        return serializers.Serializer()
