"""Request and response shapes of the email notification endpoints (issue 14, item 5)."""

from __future__ import annotations

from typing import Any

from django.core.validators import EmailValidator
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from notifications_app.domain.email_settings import (
    CONFIRMATION_INTERVAL,
    CONFIRMATIONS_PER_DAY,
    EMAIL_MAX_LENGTH,
    REMINDER_WINDOW_MINUTES_DEFAULT,
    REMINDER_WINDOW_MINUTES_MAX,
    REMINDER_WINDOW_MINUTES_MIN,
    normalized_address,
)
from tasks_app.api.fields import (
    RequestSerializer,
    ResponseSerializer,
    StrictBodySerializer,
    StrictCharField,
    UtcDateTimeField,
)
from tasks_app.api.serializers import OWNER_HELP
from tasks_app.domain.values import USER_ID_MAX_LENGTH

TOKEN_MAX_LENGTH = 2000  # a signed user id (128) and address (254), compressed: far below

# The 429's message when a PUT would send a confirmation email over the limit (DRF adds the wait).
CONFIRMATIONS_LIMITED = (
    f"Too many confirmation emails: at most one every {CONFIRMATION_INTERVAL.total_seconds():.0f} s and "
    f"{CONFIRMATIONS_PER_DAY} a day (UTC) per user. Nothing was changed."
)
_EMAIL_HELP = (
    "Where notifications go; null for none; at a domain name (not an IP address, not a dotless host). A new or "
    "changed address gets a confirmation email and nothing else until its link is opened; saving the same "
    f"unconfirmed address sends the link again (at most one a minute and {CONFIRMATIONS_PER_DAY} a UTC day)."
)


class StrictEmailField(serializers.EmailField):
    """An address SES can deliver to, checked by Django's `EmailValidator` with no allowlist (its
    default lets `user@localhost` through); numbers and booleans are refused rather than turned
    into text, and the domain is lower-cased.

    SES sends to domain names only: an IP literal (`a@[127.0.0.1]`) is refused by SES ("Missing
    domain"), and a domain without a dot (`a@localhost`) has no public mail server.
    """

    default_error_messages = {
        "ip_literal": "Use an address at a domain name: mail is not sent to an IP address.",
        "dotless": "Use an address at a full domain name (such as example.com): mail cannot be delivered to {domain}.",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        message = self.error_messages["invalid"]
        self.validators = [
            EmailValidator(message=message, allowlist=[]) if isinstance(validator, EmailValidator) else validator
            for validator in self.validators
        ]

    def to_internal_value(self, data: Any) -> str:
        """The trimmed address; a `ValidationError` for anything that is not one SES can deliver to."""
        if not isinstance(data, str):
            self.fail("invalid")
        address = normalized_address(str(super().to_internal_value(data)))
        local, at, domain = address.rpartition("@")
        if local and at and domain.startswith("["):
            self.fail("ip_literal")
        if local and at and domain and "." not in domain.strip("."):
            self.fail("dotless", domain=domain)
        return address


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


class NotificationSettingsQuery(RequestSerializer):
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


class NotificationSettingsResponse(ResponseSerializer):
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


class EmailConfirmedResponse(ResponseSerializer):
    """What the confirmation link answers: the address, now confirmed, and nothing else of the
    owner's settings (the link needs no authentication: whoever holds it sees only this)."""

    email = serializers.EmailField()
    email_confirmed = serializers.BooleanField(help_text="Always true: the address is confirmed.")


class EmailConfirmedEnvelope(serializers.Serializer[Any]):
    """The success envelope around a confirmed address."""

    success = serializers.BooleanField(default=True)
    data = EmailConfirmedResponse()  # type: ignore[assignment]


class EmailConfirmQuery(RequestSerializer):
    """The query parameters of GET /notifications/confirm."""

    token = serializers.CharField(max_length=TOKEN_MAX_LENGTH, help_text="From the link in the confirmation email.")
