"""The tasks ViewSet: each action turns HTTP into one service call and back."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from tasks_app import bootstrap
from tasks_app.api import schema
from tasks_app.api.after_response import relay_after_response
from tasks_app.api.auth import caller_of
from tasks_app.api.serializers import TaskCreateRequest, TaskListQuery, TaskResponse
from tasks_app.application import services
from tasks_app.domain.task import Task


def _task_envelope(task: Task) -> dict[str, Any]:
    return {"success": True, "data": TaskResponse(task).data}


class TaskViewSet(viewsets.ViewSet):
    """Tasks: create, list a user's, get one, complete one. A task's history and a user's
    statistics are the read models' (`events_app.api`), on paths under `/tasks` too."""

    lookup_field = "task_id"
    lookup_value_regex = "[^/]+"

    @schema.list_
    def list(self, request: Request) -> Response:
        query = TaskListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = services.task_list(
            user_id=query.validated_data.get("user_id"),
            limit=query.validated_data["limit"],
            cursor=query.validated_data.get("cursor"),
            caller=caller_of(request),
            repository=bootstrap.task_repository(),
        )
        return Response(
            {
                "success": True,
                "data": TaskResponse(page.items, many=True).data,
                "pagination": {"next_cursor": page.next_cursor, "limit": query.validated_data["limit"]},
            }
        )

    @schema.create
    def create(self, request: Request) -> Response:
        payload = TaskCreateRequest(data=request.data)
        payload.is_valid(raise_exception=True)
        task = services.task_create(
            user_id=payload.validated_data.get("user_id"),
            title=payload.validated_data["title"],
            description=payload.validated_data["description"],
            caller=caller_of(request),
            repository=bootstrap.task_repository(),
            relay=relay_after_response,
            now=bootstrap.utc_now(),
        )
        location = request.build_absolute_uri(f"{request.path.rstrip('/')}/{task.task_id}")
        return Response(_task_envelope(task), status=status.HTTP_201_CREATED, headers={"Location": location})

    @schema.retrieve
    def retrieve(self, request: Request, task_id: str) -> Response:
        task = services.task_get(task_id=task_id, caller=caller_of(request), repository=bootstrap.task_repository())
        return Response(_task_envelope(task))

    @schema.complete
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, task_id: str) -> Response:
        task = services.task_complete(
            task_id=task_id,
            caller=caller_of(request),
            repository=bootstrap.task_repository(),
            relay=relay_after_response,
            now=bootstrap.utc_now(),
        )
        return Response(_task_envelope(task))

    def get_serializer(self, *args: Any, **kwargs: Any) -> serializers.Serializer[Any]:
        """Only for the browsable API, which uses it to pre-fill the raw JSON form."""
        return TaskCreateRequest(*args, **kwargs) if self.action in {"create", "list"} else serializers.Serializer()
