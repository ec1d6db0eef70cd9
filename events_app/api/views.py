"""The read models' endpoints: each turns HTTP into one query and back."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from events_app import bootstrap, queries
from events_app.api import schema
from events_app.api.serializers import StatsQuery, UserStatsResponse
from tasks_app import bootstrap as tasks_wiring
from tasks_app.api.auth import caller_of


class TaskHistoryView(APIView):
    """GET /tasks/{task_id}/events: the task's domain events, oldest first."""

    @schema.events
    def get(self, request: Request, task_id: str) -> Response:
        history = queries.task_history(
            task_id=task_id,
            caller=caller_of(request),
            read_models=bootstrap.read_models(),
            tasks=tasks_wiring.task_repository(),
        )
        return Response({"success": True, "data": history})


class UserStatsView(APIView):
    """GET /tasks/stats: a user's counts by status, and what they created and completed today."""

    @schema.stats
    def get(self, request: Request) -> Response:
        query = StatsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        stats = queries.user_stats(
            user_id=query.validated_data.get("user_id"),
            caller=caller_of(request),
            read_models=bootstrap.read_models(),
            today=tasks_wiring.utc_today(),
        )
        return Response({"success": True, "data": UserStatsResponse(stats).data})
