"""Request and response shapes of the webhook endpoints. Serializers validate and render; they never save."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from notifications_app import bootstrap
from notifications_app.application.endpoints import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX
from notifications_app.domain.delivery import DeliveryState
from notifications_app.domain.endpoint import (
    ALL_EVENTS,
    DESCRIPTION_MAX_LENGTH,
    EVENT_TYPES,
    URL_MAX_LENGTH,
    url_pattern,
)
from tasks_app.api.fields import (
    CursorField,
    RequestSerializer,
    ResponseSerializer,
    StrictBodySerializer,
    StrictCharField,
    UtcDateTimeField,
)
from tasks_app.api.serializers import OWNER_HELP, Pagination
from tasks_app.domain.values import USER_ID_MAX_LENGTH

_EVENT_TYPES_HELP = (
    f'The events to receive: any of {", ".join(EVENT_TYPES)} (SPEC §4), or ["{ALL_EVENTS}"] for every one '
    '("*" beside others means every one too).'
)
_URL_HELP = (
    "Where deliveries are POSTed: `https://` to a DNS name that resolves to public addresses only (checked "
    "again at every delivery); in development also `http://127.0.0.1:<port>`, `http://[::1]:<port>` or "
    "`http://localhost:<port>`, for `python manage.py webhook_listen`. Redirects are not followed."
)


class WebhookUrlField(serializers.RegexField):
    """A webhook URL, checked twice: first by the outbound check of the stage's policy
    (`bootstrap.url_check`), whose refusal says why ("10.0.0.1 is a private address", "must not
    contain a user name"...), then by the pattern the schema publishes, whose message is generic
    (issue 14, a user's report: the pattern alone hid every reason). The pattern stays: clients
    and schemathesis rely on the serializer accepting exactly what the schema says."""

    def to_internal_value(self, data: Any) -> str:
        """The trimmed URL; a `ValidationError` with `check_url`'s reason, or "Not a valid
        string." for a number, boolean or any non-string."""
        if not isinstance(data, str):
            self.fail("invalid_string")
        url = str(super().to_internal_value(data))
        try:
            bootstrap.url_check()(url)
        except ValueError as error:  # UnsafeUrl: its message is meant for the API user
            raise serializers.ValidationError(str(error)) from None
        return url


def _url_field(**kwargs: Any) -> WebhookUrlField:
    """A webhook URL: the pattern is the one the schema publishes (the stage's, set at start-up)."""
    return WebhookUrlField(
        url_pattern(allow_loopback_http=settings.ENVIRONMENT == "development"),
        max_length=URL_MAX_LENGTH,
        help_text=_URL_HELP,
        error_messages={
            "invalid": "Not a URL webhooks may go to: " + _URL_HELP,
            "invalid_string": "Not a valid string.",
        },
        **kwargs,
    )


class EventTypesField(serializers.ListField):
    """The subscribed event types. An unknown one is one message naming it and the valid ones
    (issue 14, a user's report: DRF's per-item errors read `0: "TaskExploded" is not a valid
    choice.`); the child `ChoiceField` stays for the schema's enum and for non-string items."""

    def to_internal_value(self, data: Any) -> list[Any]:
        """The list as given; a `ValidationError` naming every unknown event type."""
        if isinstance(data, list):
            unknown = list(dict.fromkeys(item for item in data if isinstance(item, str) and item not in _CHOICES))
            if unknown:
                named = ", ".join(json.dumps(item, ensure_ascii=False) for item in unknown)
                verb = "is not an event type" if len(unknown) == 1 else "are not event types"
                raise serializers.ValidationError(
                    f'{named} {verb}; one of {", ".join(EVENT_TYPES)}, or "{ALL_EVENTS}".'
                )
        return list(super().to_internal_value(data))


_CHOICES = frozenset([*EVENT_TYPES, ALL_EVENTS])


def _event_types_field(**kwargs: Any) -> EventTypesField:
    return EventTypesField(
        child=serializers.ChoiceField(choices=[*EVENT_TYPES, ALL_EVENTS]),
        min_length=1,
        help_text=_EVENT_TYPES_HELP,
        **kwargs,
    )


_CURSOR_HELP = "From `pagination.next_cursor` of the previous page; leave out for the first."


class _WebhookBody(StrictBodySerializer):
    """A body of the webhook endpoints: unknown fields are a 400 naming them."""

    redirects: Mapping[str, str] = {
        "secret": "The secret is chosen by the API: POST /webhooks/{webhook_id}/rotate-secret for a new one.",
    }


class NoBody(_WebhookBody):
    """The (absent) body of POST /webhooks/{webhook_id}/rotate-secret and /test: any field sent
    is a 400 naming it (issue 14, a user's report: `{"secret": ...}` was ignored, and a random
    secret answered as if it had been taken)."""


@extend_schema_serializer(component_name="WebhookCreate")  # COMPONENT_SPLIT_REQUEST adds "Request"
class WebhookCreateRequest(_WebhookBody):
    """The body of POST /webhooks."""

    user_id = StrictCharField(max_length=USER_ID_MAX_LENGTH, required=False, help_text=OWNER_HELP)
    url = _url_field()
    event_types = _event_types_field()
    description = StrictCharField(
        max_length=DESCRIPTION_MAX_LENGTH, required=False, allow_blank=True, default="", help_text="For people."
    )


@extend_schema_serializer(component_name="WebhookUpdate")
class WebhookUpdateRequest(_WebhookBody):
    """The body of PATCH /webhooks/{webhook_id}: any of the fields; the rest stay as they are."""

    url = _url_field(required=False)
    event_types = _event_types_field(required=False)
    description = StrictCharField(max_length=DESCRIPTION_MAX_LENGTH, required=False, allow_blank=True)
    enabled = serializers.BooleanField(
        required=False,
        help_text="false pauses deliveries; true resumes them and clears `disabled_reason` and the failure count.",
    )


class WebhookListQuery(RequestSerializer):
    """The query parameters of GET /webhooks."""

    user_id = StrictCharField(max_length=USER_ID_MAX_LENGTH, required=False, help_text=OWNER_HELP)
    limit = serializers.IntegerField(min_value=1, max_value=PAGE_SIZE_MAX, default=PAGE_SIZE_DEFAULT)
    cursor = CursorField(help_text=_CURSOR_HELP)


class DeliveryListQuery(RequestSerializer):
    """The query parameters of GET /webhooks/{webhook_id}/deliveries."""

    limit = serializers.IntegerField(min_value=1, max_value=PAGE_SIZE_MAX, default=PAGE_SIZE_DEFAULT)
    cursor = CursorField(help_text=_CURSOR_HELP)


class WebhookResponse(ResponseSerializer):
    """A webhook endpoint as the API shows it (never its secret: that is shown once, on creation
    and on rotation)."""

    webhook_id = serializers.CharField()
    user_id = serializers.CharField()
    url = serializers.CharField()
    event_types = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField()
    enabled = serializers.BooleanField()
    disabled_reason = serializers.CharField(
        allow_null=True, help_text="Why the API disabled it (20 failed deliveries in a row); null otherwise."
    )
    consecutive_failures = serializers.IntegerField(help_text="Deliveries failed in a row since the last success.")
    previous_secret_expires_at = UtcDateTimeField(
        allow_null=True, help_text="Until when the secret before the last rotation still signs beside the new one."
    )
    created_at = UtcDateTimeField()
    updated_at = UtcDateTimeField(allow_null=True)


class WebhookWithSecretResponse(WebhookResponse):
    """A webhook endpoint with its signing secret: only in the responses that create it."""

    secret = serializers.CharField(
        help_text="`whsec_` + base64: verify deliveries with it (Standard Webhooks). Shown only here; keep it."
    )


class DeliveryResponse(ResponseSerializer):
    """One delivery of one event to the endpoint, and what its attempts got."""

    delivery_id = serializers.CharField()
    event_id = serializers.CharField(help_text="Also the `webhook-id` header: receivers deduplicate on it.")
    event_type = serializers.CharField()
    state = serializers.ChoiceField(choices=[state.value for state in DeliveryState])
    attempts = serializers.IntegerField()
    max_attempts = serializers.IntegerField()
    last_status_code = serializers.IntegerField(allow_null=True, help_text="null when no HTTP answer came.")
    last_latency_seconds = serializers.FloatField(allow_null=True)
    last_error = serializers.CharField(allow_null=True)
    last_attempt_at = UtcDateTimeField(allow_null=True)
    next_attempt_at = UtcDateTimeField(allow_null=True, help_text="When the next attempt is due; null once settled.")
    created_at = UtcDateTimeField()


class WebhookEnvelope(serializers.Serializer[Any]):
    """The success envelope around one webhook endpoint."""

    success = serializers.BooleanField(default=True)
    data = WebhookResponse()  # type: ignore[assignment]


class WebhookWithSecretEnvelope(serializers.Serializer[Any]):
    """The success envelope around a webhook endpoint and its new secret."""

    success = serializers.BooleanField(default=True)
    data = WebhookWithSecretResponse()  # type: ignore[assignment]


@extend_schema_serializer(many=False)  # an envelope object, though it answers a list action
class WebhookPageEnvelope(serializers.Serializer[Any]):
    """The success envelope around a page of webhook endpoints."""

    success = serializers.BooleanField(default=True)
    data = WebhookResponse(many=True)  # type: ignore[assignment]
    pagination = Pagination()


@extend_schema_serializer(many=False)
class DeliveryPageEnvelope(serializers.Serializer[Any]):
    """The success envelope around a page of deliveries, newest first."""

    success = serializers.BooleanField(default=True)
    data = DeliveryResponse(many=True)  # type: ignore[assignment]
    pagination = Pagination()


class DeliveryEnvelope(serializers.Serializer[Any]):
    """The success envelope around one delivery."""

    success = serializers.BooleanField(default=True)
    data = DeliveryResponse()  # type: ignore[assignment]
