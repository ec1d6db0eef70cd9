"""Serializer fields for the task API's inputs (strict text, times with offsets, tags, comma lists),
and the patterns the OpenAPI schema states them with (`tasks_app.api.schema_generation`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from django.core.validators import MaxLengthValidator
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.settings import api_settings
from rest_framework.utils.serializer_helpers import BindingDict

from tasks_app.adapters.cursor import MAX_LENGTH as CURSOR_MAX_LENGTH
from tasks_app.api import rfc3339
from tasks_app.domain.errors import InvalidValue
from tasks_app.domain.task import isoformat_utc
from tasks_app.domain.values import TAG_MAX_LENGTH, TAGS_MAX, normalize_tags, require_unicode_text

# `tasks_app.adapters.cursor` refuses longer cursors; it issues ones of about 150 characters.


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers and booleans instead of quietly turning them into text,
    and NUL or unpaired surrogates (SPEC §1) with a message instead of a 500.

    A trimmed field's `max_length` counts the trimmed text (as DRF does), so it is checked here
    rather than by DRF's validator, which drf-spectacular would publish as a `maxLength` of the
    raw text: the schema says the same rule as a pattern instead
    (`tasks_app.api.schema_generation.StrictTextFieldSchema`).
    `excluded` names characters the domain refuses inside the text (for the schema's pattern).
    """

    excluded: str = ""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.trim_whitespace and self.max_length is not None:
            self.validators = [v for v in self.validators if not isinstance(v, MaxLengthValidator)]

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            require_unicode_text(self.field_name or "value", data)
        except InvalidValue as error:
            raise serializers.ValidationError(error.message) from None
        text = super().to_internal_value(data)
        if self.trim_whitespace and self.max_length is not None and len(text) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return text


class TagLabelField(StrictCharField):
    """One tag (SPEC §1): trimmed, 1-40 characters, no commas (the domain refuses them)."""

    excluded = ","


class CursorField(StrictCharField):
    """A pagination cursor: opaque, but always URL-safe base64 in two dot-separated parts, at
    most `CURSOR_MAX_LENGTH` characters (`tasks_app.adapters.cursor` refuses anything longer).

    Not trimmed: a cursor is used exactly as issued. Empty means none (the first page).
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs = {"required": False, "allow_blank": True, "trim_whitespace": False, **kwargs}
        super().__init__(max_length=CURSOR_MAX_LENGTH, **kwargs)


class OffsetDateTimeField(serializers.DateTimeField):
    """An instant given as an RFC 3339 date-time with its offset (SPEC §1 `due_at`), read by
    `tasks_app.api.rfc3339` (section 5.6 exactly, not ISO 8601's other forms); rendered in UTC (`Z`).

    Input: a string. Output: a timezone-aware datetime with the offset given. Errors (400 naming
    the field): `invalid` for any other form or type, `no_such_time` for a well-formed time that
    does not exist (February 30, 24:00, +25:00), `out_of_range` for one Python cannot hold in UTC.
    """

    default_error_messages = {
        "invalid": f"Must be an RFC 3339 date-time with an offset ({rfc3339.FORMAT}), "
        "like 2026-12-01T17:00:00Z or 2026-12-01T18:00:00+01:00.",
        "no_such_time": "There is no such time ({reason}): give an RFC 3339 date-time with an offset, "
        "like 2026-12-01T17:00:00Z or 2026-12-01T18:00:00+01:00.",
        "out_of_range": "Must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z once in UTC.",
    }

    def to_internal_value(self, value: Any) -> datetime:
        if not isinstance(value, str):
            self.fail("invalid")
        try:
            parsed = rfc3339.parse_date_time(value)
        except rfc3339.NotRfc3339:
            self.fail("invalid")
        except ValueError as error:  # well-formed, but no such time
            self.fail("no_such_time", reason=str(error))
        try:
            # Stored and compared in UTC: 9999-12-31T23:59:59-05:00 is a valid RFC 3339 time
            # that Python's datetime cannot hold once in UTC (it was a 500).
            parsed.astimezone(UTC)
        except OverflowError:
            self.fail("out_of_range")
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
            child=TagLabelField(max_length=TAG_MAX_LENGTH, trim_whitespace=True),
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


class ResponseSerializer(serializers.Serializer[Any]):
    """A serializer that only renders (a response body, or a part of one), whose fields are
    copied and bound once per class. DRF copies them for each serializer it makes, deeply,
    re-running each field's `__init__` (a nested serializer's fields too): 0.1-0.2 ms of every
    answer (issue 12). Fields that only render read nothing of their serializer once bound (no
    context, no parent), so one set serves every instance of the class; a subclass makes its own.
    Not for request bodies: validation may read the context."""

    _shared_fields: ClassVar[BindingDict | None] = None

    @property
    def fields(self) -> BindingDict:  # DRF's is a cached_property, per instance
        shared: BindingDict | None = type(self).__dict__.get("_shared_fields")
        if shared is None:
            # Bound to an empty serializer of the class, not to this one: the shared fields must
            # not keep the first answer's object (or its context) alive for the process's life.
            unbound = type(self)()
            shared = BindingDict(unbound)
            for name, field in unbound.get_fields().items():
                shared[name] = field
            type(self)._shared_fields = shared
        return shared


class RequestSerializer(serializers.Serializer[Any]):
    """A serializer of a request's input (its body or its query parameters) whose declared fields
    are copied shallowly for each instance."""

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        """The declared fields, each copied shallowly. DRF copies them deeply for every
        serializer, re-running each field's `__init__` (a third of a create's validation, and
        0.2 ms of every GET /tasks/stats, issue 12). Binding a copy sets the copy's own name,
        parent and source, and a serializer may change its copy (`required`); what the copies
        share (validators, choices, a ListField's child) DRF never changes after `__init__`."""
        return {name: _shallow_copy(field) for name, field in self._declared_fields.items()}


def _shallow_copy[F: serializers.Field[Any, Any, Any, Any]](field: F) -> F:
    """What `copy.copy(field)` makes (a new field of its class with the same attributes), made
    directly: `copy.copy` goes through the pickle protocol (`__reduce_ex__`, then DRF's
    `Field.__new__`), about 5 us a field where this takes 1: a fifth of a create's validation
    (issue 12). Fields have no `__slots__` and no `__copy__` of their own, which this relies on."""
    clone: F = object.__new__(type(field))
    clone.__dict__.update(field.__dict__)
    return clone


class StrictBodySerializer(RequestSerializer):
    """A request body serializer that refuses fields it does not know (SPEC §2: a 400 naming them),
    rather than dropping them silently, and a body that is not a JSON object (SPEC §2: 400).

    Input: the parsed body. Errors: `{name: [message]}` for each unknown field (`unknown`, or
    the field's `redirects` entry); `{"non_field_errors": [message]}` for a body that is not
    an object, `null` included (DRF would say "No data provided" of it).
    """

    # Fields people send by mistake, with where to go instead.
    redirects: Mapping[str, str] = {
        "status": "The status changes through POST /tasks/{task_id}/start, /complete, /cancel or /reopen.",
    }
    unknown = "This field is not known here."

    def run_validation(self, data: Any = empty) -> Any:
        if data is not empty and not isinstance(data, Mapping):
            kind = _JSON_KINDS.get(type(data), type(data).__name__)
            raise serializers.ValidationError(
                {api_settings.NON_FIELD_ERRORS_KEY: [f"The body must be a JSON object of fields, not {kind}."]}
            )
        return super().run_validation(data)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = [name for name in data if name not in self.fields]
            if unknown:
                raise serializers.ValidationError({name: [self.redirects.get(name, self.unknown)] for name in unknown})
        return super().to_internal_value(data)


# What JSON calls the values `json.loads` gives that are not objects.
_JSON_KINDS: dict[type[Any], str] = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


# Text as Python's `str.strip()` (so DRF's trimming) sees whitespace, spelled so that ECMA 262,
# Python and Rust regular expressions (Swagger UI, schemathesis, jsonschema-rs) all read it alike.
_SPACE = r"\t\n\u000b\u000c\r\u001c-\u001f \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NO_NUL_PATTERN = r"^[^\u0000]*$"
CURSOR_PATTERN = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$"


def trimmed_text_pattern(max_length: int | None, *, excluded: str = "", allow_blank: bool = False) -> str:
    """The pattern of a trimmed text field (SPEC §1 `title`, `user_id`, tags): surrounding
    whitespace is allowed and dropped, and what remains is 1 to `max_length` characters with no
    NUL and none of `excluded` (unless `allow_blank`, when it may be empty)."""
    edge = f"[^{_SPACE}\\u0000{excluded}]"
    inner = f"[^\\u0000{excluded}]"
    if max_length == 1:
        core = edge
    else:
        middle = f"{inner}*" if max_length is None else f"{inner}{{0,{max_length - 2}}}"
        core = f"{edge}(?:{middle}{edge})?"
    core = f"(?:{core}[{_SPACE}]*)?" if allow_blank else f"{core}[{_SPACE}]*"
    return f"^[{_SPACE}]*{core}$"


def comma_list_pattern(choices: list[str]) -> str:
    """The pattern of `CommaSeparatedChoiceField`: one or more of `choices` between commas, with
    whitespace around each and empty items (`a,,b`) ignored."""
    choice = "(?:" + "|".join(choices) + ")"
    space = f"[{_SPACE}]*"
    return f"^(?:{space},)*{space}{choice}{space}(?:,{space}(?:{choice}{space})?)*$"
