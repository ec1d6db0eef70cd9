"""Request and response shapes. Serializers validate and render; they never save."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from tasks_app.api.errors import ErrorCode
from tasks_app.api.fields import (
    CommaSeparatedChoiceField,
    CursorField,
    OffsetDateTimeField,
    RequestSerializer,
    ResponseSerializer,
    StrictBodySerializer,
    StrictCharField,
    TagsField,
    UtcDateTimeField,
)
from tasks_app.application.ports import TaskSort
from tasks_app.application.services import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX
from tasks_app.domain.task import DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH, Task, isoformat_utc
from tasks_app.domain.values import TAG_MAX_LENGTH, USER_ID_MAX_LENGTH, Priority, TaskStatus

PRIORITIES = [priority.value for priority in Priority]
STATUSES = [status.value for status in TaskStatus]


# Lone surrogates cannot be written in a pattern every validator compiles (jsonschema-rs
# refuses them), so the text fields' descriptions say it; their patterns exclude NUL.
TEXT_RULE = "No NUL character nor unpaired surrogate (a lone `\\ud800` escape): either is a 400."
OWNER_HELP = (
    "Whose: with authentication on, the caller unless given (an admin may name anyone in "
    "listings and statistics); with authentication off, required. Trimmed; at most 128 characters. " + TEXT_RULE
)
# SPEC §1 `due_at`, as `tasks_app.api.rfc3339` reads it.
DUE_RULE = (
    "An RFC 3339 date-time with an offset, like `2026-12-01T17:00:00Z` or `2026-12-01T18:00:00+01:00` (a space "
    "may stand for the `T`); any other form is a 400."
)
_CURSOR_HELP = (
    "Opaque: the `pagination.next_cursor` of the previous page of this same listing (same user, filters and "
    "sort), exactly as received. Any other value, a cursor of another listing included, is a 400 "
    "(`VALIDATION_ERROR`); leave it out for the first page."
)


@extend_schema_serializer(component_name="TaskCreate")  # COMPONENT_SPLIT_REQUEST adds "Request"
class TaskCreateRequest(StrictBodySerializer):
    """The body of POST /tasks. With `context={"owner_required": True}` (no caller: AUTH_MODE=none)
    `user_id` is required here, so a body missing it and `title` hears of both at once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.context.get("owner_required"):
            self.fields["user_id"].required = True

    user_id = StrictCharField(
        max_length=USER_ID_MAX_LENGTH,
        required=False,
        help_text="The task's owner: with authentication on, the caller (leave it out or give your own); "
        "with authentication off, required. Trimmed; 1 to 128 characters. " + TEXT_RULE,
    )
    title = StrictCharField(max_length=TITLE_MAX_LENGTH, help_text="Trimmed; 1 to 200 characters. " + TEXT_RULE)
    description = StrictCharField(
        max_length=DESCRIPTION_MAX_LENGTH,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        default="",
        help_text="At most 1000 characters, kept as sent. " + TEXT_RULE,
    )
    priority = serializers.ChoiceField(choices=PRIORITIES, default=Priority.NORMAL.value)
    due_at = OffsetDateTimeField(
        required=False, allow_null=True, default=None, help_text=f"When it is due; null for never. {DUE_RULE}"
    )
    tags = TagsField(
        required=False,
        default=list,
        help_text=f"Up to 20 labels, each trimmed to 1 to {TAG_MAX_LENGTH} characters with no commas; stored "
        "lower-case, repeats dropped. " + TEXT_RULE,
    )


@extend_schema_serializer(component_name="TaskUpdate")  # served as PatchedTaskUpdateRequest
class TaskUpdateRequest(StrictBodySerializer):
    """The body of PATCH /tasks/{task_id}: any of the editable fields; the others stay as they are."""

    title = StrictCharField(
        max_length=TITLE_MAX_LENGTH, required=False, help_text="Trimmed; 1 to 200 characters. " + TEXT_RULE
    )
    description = StrictCharField(
        max_length=DESCRIPTION_MAX_LENGTH,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text="At most 1000 characters, kept as sent. " + TEXT_RULE,
    )
    priority = serializers.ChoiceField(choices=PRIORITIES, required=False)
    due_at = OffsetDateTimeField(required=False, allow_null=True, help_text=f"null removes the due date. {DUE_RULE}")
    tags = TagsField(
        required=False,
        help_text=f"The whole new list; [] removes every tag. Each trimmed to 1 to {TAG_MAX_LENGTH} characters, "
        "no commas. " + TEXT_RULE,
    )


@extend_schema_serializer(component_name="TaskAction")  # served as TaskActionRequest
class TaskActionRequest(StrictBodySerializer):
    """The body of a status action, of a restore and of DELETE: none, or `{}`. They take no field,
    so any field is a 400 naming it (SPEC §2: unknown body fields), not silently ignored."""

    redirects: Mapping[str, str] = {}
    unknown = "This request takes no body fields: send no body, or {}."


class TaskListQuery(RequestSerializer):
    """The query parameters of GET /tasks (SPEC §2 listing)."""

    user_id = StrictCharField(max_length=USER_ID_MAX_LENGTH, required=False, help_text=OWNER_HELP)
    limit = serializers.IntegerField(
        min_value=1, max_value=PAGE_SIZE_MAX, default=PAGE_SIZE_DEFAULT, help_text="Tasks per page."
    )
    cursor = CursorField(help_text=_CURSOR_HELP)
    status = CommaSeparatedChoiceField(
        choices=STATUSES,
        required=False,
        help_text=f"One or more of {', '.join(STATUSES)}, comma-separated (`pending,in_progress`).",
    )
    priority = serializers.ChoiceField(choices=PRIORITIES, required=False)
    tag = StrictCharField(
        max_length=TAG_MAX_LENGTH, required=False, help_text="Tasks with this tag (trimmed, any case). " + TEXT_RULE
    )
    due_before = OffsetDateTimeField(
        required=False, help_text=f"Tasks due before this time (tasks with a due date). {DUE_RULE}"
    )
    due_after = OffsetDateTimeField(
        required=False, help_text=f"Tasks due after this time (tasks with a due date). {DUE_RULE}"
    )
    sort = serializers.ChoiceField(
        choices=[sort.value for sort in TaskSort],
        default=TaskSort.NEWEST_FIRST.value,
        help_text="`-created_at`: newest first; `due_at`: soonest due first, tasks without a due date last.",
    )


class TrashQuery(RequestSerializer):
    """The query parameters of GET /tasks/trash."""

    user_id = StrictCharField(max_length=USER_ID_MAX_LENGTH, required=False, help_text=OWNER_HELP)
    limit = serializers.IntegerField(
        min_value=1, max_value=PAGE_SIZE_MAX, default=PAGE_SIZE_DEFAULT, help_text="Tasks per page."
    )
    cursor = CursorField(help_text=_CURSOR_HELP)


class TaskResponse(ResponseSerializer):
    """A task as the API shows it."""

    task_id = serializers.CharField(source="task_id.value")
    user_id = serializers.CharField(source="user_id.value")
    title = serializers.CharField()
    description = serializers.CharField()
    status = serializers.ChoiceField(choices=STATUSES)
    priority = serializers.ChoiceField(choices=PRIORITIES)
    due_at = UtcDateTimeField(allow_null=True)
    tags = serializers.ListField(child=serializers.CharField())
    version = serializers.IntegerField(help_text="Raised by every change; the task's ETag.")
    created_at = UtcDateTimeField()
    updated_at = UtcDateTimeField(allow_null=True)
    completed_at = UtcDateTimeField(allow_null=True)

    def to_representation(self, instance: Task) -> dict[str, Any]:
        """`instance` as the fields above render it, written out: DRF's generic rendering looks up
        each field's source and calls its `to_representation` in turn: 30 to 45 us of a warm
        create, whose own time outside DynamoDB is about 0.6 ms, and a page renders up to 100
        tasks (issue 12). Key order is the fields' order. tests/api/test_read.py holds this to DRF's
        rendering of the declared fields, so a field declared but not written here fails there."""
        return {
            "task_id": str(instance.task_id.value),
            "user_id": str(instance.user_id.value),
            "title": instance.title,
            "description": instance.description,
            "status": instance.status.value,
            "priority": instance.priority.value,
            "due_at": _instant(instance.due_at),
            "tags": list(instance.tags),
            "version": instance.version,
            "created_at": isoformat_utc(instance.created_at),
            "updated_at": _instant(instance.updated_at),
            "completed_at": _instant(instance.completed_at),
        }


def _instant(moment: datetime | None) -> str | None:
    """A `UtcDateTimeField(allow_null=True)`'s rendering."""
    return None if moment is None else isoformat_utc(moment)


# DRF moves declared fields off the class, so a field named `data` does not hide `.data`.


class TaskEnvelope(serializers.Serializer[Any]):
    """The success envelope around one task."""

    success = serializers.BooleanField(default=True)
    data = TaskResponse()  # type: ignore[assignment]


class Pagination(serializers.Serializer[Any]):
    """Where the next page starts, and the page size used."""

    next_cursor = serializers.CharField(
        allow_null=True, help_text="Pass as `cursor` for the next page; null on the last."
    )
    limit = serializers.IntegerField()


@extend_schema_serializer(many=False)  # an envelope object, though it answers a list action
class TaskPageEnvelope(serializers.Serializer[Any]):
    """The success envelope around a page of tasks."""

    success = serializers.BooleanField(default=True)
    data = TaskResponse(many=True)  # type: ignore[assignment]
    pagination = Pagination()


class ErrorBody(serializers.Serializer[Any]):
    """What went wrong: a message for people, a code for programs."""

    message = serializers.CharField()
    code = serializers.ChoiceField(choices=[code.value for code in ErrorCode])
    details = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Messages by input field, when the error concerns specific fields.",
    )


class ErrorEnvelope(serializers.Serializer[Any]):
    """The envelope of every error response."""

    success = serializers.BooleanField(default=False)
    error = ErrorBody()
