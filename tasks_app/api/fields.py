"""Serializer fields for the task API's inputs: strict text, times with offsets, tags, comma lists."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from rest_framework import serializers

from tasks_app.domain.errors import InvalidValue
from tasks_app.domain.task import isoformat_utc
from tasks_app.domain.values import TAG_MAX_LENGTH, TAGS_MAX, normalize_tags, require_unicode_text


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers and booleans instead of quietly turning them into text,
    and NUL or unpaired surrogates (SPEC §1) with a message instead of a 500."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            require_unicode_text(self.field_name or "value", data)
        except InvalidValue as error:
            raise serializers.ValidationError(error.message) from None
        return super().to_internal_value(data)


class OffsetDateTimeField(serializers.DateTimeField):
    """An RFC 3339 instant that must carry its offset (SPEC §1 `due_at`); rendered in UTC (`Z`)."""

    default_error_messages = {
        "invalid": "Must be a time with an offset, like 2026-12-01T17:00:00Z or 2026-12-01T18:00:00+01:00.",
    }

    def to_internal_value(self, value: Any) -> datetime:
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None or parsed.utcoffset() is None:
            self.fail("invalid")
        return parsed


class UtcDateTimeField(serializers.DateTimeField):
    """An instant rendered as events carry it: fixed-width ISO 8601 in UTC with `Z`
    (`2026-12-01T17:00:00.000000Z`), so the API and the SPEC §4 messages agree to the character."""

    def to_representation(self, value: datetime) -> str:
        return isoformat_utc(value)  # DRF renders None itself, without calling this


class TagsField(serializers.ListField):
    """0-20 labels, each 1-40 characters without commas; stored trimmed, lower-case and unique."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            child=StrictCharField(max_length=TAG_MAX_LENGTH, trim_whitespace=True),
            max_length=TAGS_MAX,
            **kwargs,
        )

    def to_internal_value(self, data: Any) -> list[str]:
        labels = super().to_internal_value(data)
        try:
            return list(normalize_tags(labels))
        except InvalidValue as error:
            raise serializers.ValidationError(error.message) from None


class CommaSeparatedChoiceField(serializers.CharField):
    """A query parameter holding one or more of `choices`, comma-separated (`status=pending,in_progress`)."""

    def __init__(self, *, choices: list[str], **kwargs: Any) -> None:
        self.choices = choices
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> list[str]:  # type: ignore[override]
        text = super().to_internal_value(data)
        values = [part.strip() for part in text.split(",") if part.strip()]
        wrong = [value for value in values if value not in self.choices]
        if wrong or not values:
            raise serializers.ValidationError(f"Give one or more of {', '.join(self.choices)}, separated by commas.")
        return list(dict.fromkeys(values))


class StrictBodySerializer(serializers.Serializer[Any]):
    """A request body serializer that refuses fields it does not know (SPEC §2: a 400 naming them),
    rather than dropping them silently."""

    # Fields people send by mistake, with where to go instead.
    redirects: Mapping[str, str] = {
        "status": "The status changes through POST /tasks/{task_id}/start, /complete, /cancel or /reopen.",
    }

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = [name for name in data if name not in self.fields]
            if unknown:
                raise serializers.ValidationError(
                    {name: [self.redirects.get(name, "This field is not known here.")] for name in unknown}
                )
        return super().to_internal_value(data)
