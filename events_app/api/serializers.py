"""Request and response shapes of the read-model endpoints. Serializers validate and render; they never save."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from events_app.ports import UserStats
from tasks_app.api.fields import RequestSerializer, ResponseSerializer, StrictCharField
from tasks_app.api.serializers import OWNER_HELP
from tasks_app.domain.values import USER_ID_MAX_LENGTH, TaskStatus

_STATUSES = [status.value for status in TaskStatus]  # StatusCounts' fields, in their order


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

    def to_representation(self, instance: UserStats) -> dict[str, Any]:
        """`instance` as the fields above render it, written out: DRF's generic rendering of the
        three nested serializers is most of GET /tasks/stats's own time (about 35 us of 375 warm,
        issue 12). Key order is the fields' order. tests/api/test_read.py holds this to DRF's
        rendering of the declared fields."""
        counts = instance.counts
        return {
            "user_id": str(instance.user_id),
            "counts": {status: int(counts[status]) for status in _STATUSES},
            "today": {
                "date": instance.day.isoformat(),
                "created": int(instance.created_on_day),
                "completed": int(instance.completed_on_day),
            },
        }


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
