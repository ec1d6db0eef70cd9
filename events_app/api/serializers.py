"""Request and response shapes of the read-model endpoints. Serializers validate and render; they never save."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from tasks_app.api.fields import RequestSerializer, ResponseSerializer, StrictCharField
from tasks_app.api.serializers import OWNER_HELP
from tasks_app.domain.values import USER_ID_MAX_LENGTH


class StatsQuery(RequestSerializer):
    """The query parameters of GET /tasks/stats."""

    user_id = StrictCharField(max_length=USER_ID_MAX_LENGTH, required=False, help_text=OWNER_HELP)


class StatusCounts(ResponseSerializer):
    """How many of the user's tasks are in each status."""

    pending = serializers.IntegerField()
    in_progress = serializers.IntegerField()
    completed = serializers.IntegerField()
    cancelled = serializers.IntegerField()


class DayCounts(ResponseSerializer):
    """Tasks created and completed on one UTC day."""

    date = serializers.DateField(source="day")
    created = serializers.IntegerField(source="created_on_day")
    completed = serializers.IntegerField(source="completed_on_day")


class UserStatsResponse(ResponseSerializer):
    """A user's statistics, as the event consumers have counted them so far."""

    user_id = serializers.CharField()
    counts = StatusCounts()
    today = DayCounts(source="*")


class UserStatsEnvelope(serializers.Serializer[Any]):
    """The success envelope around a user's statistics."""

    success = serializers.BooleanField(default=True)
    data = UserStatsResponse()  # type: ignore[assignment]


class EventMessage(ResponseSerializer):
    """One domain event, exactly as subscribers receive it (SPEC §4)."""

    event_type = serializers.CharField()
    event_id = serializers.CharField()
    aggregate_id = serializers.CharField()
    timestamp = serializers.DateTimeField()
    data = serializers.DictField(help_text="Every field of the event, `sequence` (1, 2, ...) among them.")  # type: ignore[assignment]


@extend_schema_serializer(many=False)
class TaskHistoryEnvelope(serializers.Serializer[Any]):
    """The success envelope around a task's history."""

    success = serializers.BooleanField(default=True)
    data = EventMessage(many=True)  # type: ignore[assignment]
