"""Request and response shapes of the email notification endpoints (issue 14, item 5)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from notifications_app.domain.email_settings import (
    EMAIL_MAX_LENGTH,
    REMINDER_WINDOW_MINUTES_DEFAULT,
    REMINDER_WINDOW_MINUTES_MAX,
    REMINDER_WINDOW_MINUTES_MIN,
    normalized_address,
)
from tasks_app.api.fields import StrictBodySerializer, StrictCharField, UtcDateTimeField
from tasks_app.api.serializers import OWNER_HELP
from tasks_app.domain.values import USER_ID_MAX_LENGTH

TOKEN_MAX_LENGTH = 2000  # a signed user id (128) and address (254), compressed: far below

_EMAIL_HELP = (
    "Where notifications go; null for none. A new or changed address gets a confirmation email and "
    "nothing else until its link is opened; saving the same unconfirmed address sends the link again."
)


class StrictEmailField(serializers.EmailField):
    """An address checked by Django's `EmailValidator`; numbers and booleans are refused rather
    than turned into text, and the domain is lower-cased."""

    def to_internal_value(self, data: Any) -> str:
        """The trimmed address; a `ValidationError` for anything that is not one."""
        if not isinstance(data, str):
            self.fail("invalid")
        return normalized_address(str(super().to_internal_value(data)))


class _BooleanField(serializers.BooleanField):
    """A JSON boolean only: DRF's own takes "yes", 1 or "on" too, which the schema does not say."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class _MinutesField(serializers.IntegerField):
    """A JSON integer only (not "60", not 60.0, not true)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return int(super().to_internal_value(data))


class NotificationSettingsQuery(serializers.Serializer[Any]):
    """The query parameters of GET and PUT /notifications/settings."""

    user_id = StrictCharField(max_length=USER_ID_MAX_LENGTH, required=False, help_text=OWNER_HELP)


@extend_schema_serializer(component_name="NotificationSettings")  # COMPONENT_SPLIT_REQUEST adds "Request"
class NotificationSettingsRequest(StrictBodySerializer):
    """The body of PUT /notifications/settings: the settings as a whole; a field left out takes
    its default."""

    email = StrictEmailField(max_length=EMAIL_MAX_LENGTH, allow_null=True, help_text=_EMAIL_HELP)
    notify_on_completion = _BooleanField(default=True, help_text="Mail me when a task of mine is completed.")
    notify_on_due_soon = _BooleanField(
        default=True,
        help_text="Mail me when a task of mine falls due within my reminder window, and when it is overdue.",
    )
    reminder_window_minutes = _MinutesField(
        min_value=REMINDER_WINDOW_MINUTES_MIN,
        max_value=REMINDER_WINDOW_MINUTES_MAX,
        default=REMINDER_WINDOW_MINUTES_DEFAULT,
        help_text="How long before a task's due date its reminder is sent, in minutes.",
    )


class NotificationSettingsResponse(serializers.Serializer[Any]):
    """A user's notification settings."""

    user_id = serializers.CharField()
    email = serializers.EmailField(allow_null=True)
    email_confirmed = serializers.BooleanField(help_text="Whether the address's owner opened the confirmation link.")
    notify_on_completion = serializers.BooleanField()
    notify_on_due_soon = serializers.BooleanField()
    reminder_window_minutes = serializers.IntegerField(
        min_value=REMINDER_WINDOW_MINUTES_MIN, max_value=REMINDER_WINDOW_MINUTES_MAX
    )
    updated_at = UtcDateTimeField(allow_null=True)


class NotificationSettingsEnvelope(serializers.Serializer[Any]):
    """The success envelope around a user's notification settings."""

    success = serializers.BooleanField(default=True)
    data = NotificationSettingsResponse()  # type: ignore[assignment]


class EmailConfirmQuery(serializers.Serializer[Any]):
    """The query parameters of GET /notifications/confirm."""

    token = serializers.CharField(max_length=TOKEN_MAX_LENGTH, help_text="From the link in the confirmation email.")
