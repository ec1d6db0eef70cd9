"""OpenAPI documentation of the webhook endpoints: responses and examples for `@extend_schema`."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema

from notifications_app.api.serializers import (
    DeliveryEnvelope,
    DeliveryListQuery,
    DeliveryPageEnvelope,
    WebhookCreateRequest,
    WebhookEnvelope,
    WebhookListQuery,
    WebhookPageEnvelope,
    WebhookUpdateRequest,
    WebhookWithSecretEnvelope,
)
from tasks_app.api.errors import ErrorCode
from tasks_app.api.openapi import (
    AUTH_UNAVAILABLE,
    BAD_KEY_EXAMPLE,
    FORBIDDEN,
    IDEMPOTENCY_KEY,
    KEY_REUSED,
    NOT_AUTHENTICATED,
    NOT_FOUND,
    NOT_JSON,
    REPLAYED_HEADER,
    REQUEST_ID,
    REQUEST_ID_HEADER,
    SERVER_ERROR,
    THROTTLED,
    TOO_LARGE,
    error_example,
    error_response,
)

TAGS = ["webhooks"]
_TRACED = [REQUEST_ID, REQUEST_ID_HEADER]
_KEYED = [IDEMPOTENCY_KEY, REPLAYED_HEADER]  # SPEC §2: POST and PATCH take an Idempotency-Key
_ALWAYS = {401: NOT_AUTHENTICATED, 429: THROTTLED, 503: AUTH_UNAVAILABLE, 500: SERVER_ERROR}

WEBHOOK_ID_PARAMETER = OpenApiParameter(
    "webhook_id", OpenApiTypes.STR, OpenApiParameter.PATH, description="The endpoint's id, `wh-<uuid>`."
)
EXAMPLE_WEBHOOK: dict[str, Any] = {
    "webhook_id": "wh-6f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21",
    "user_id": "alice",
    "url": "https://hooks.example.com/tasks",
    "event_types": ["TaskCompleted"],
    "description": "Tell the team channel",
    "enabled": True,
    "disabled_reason": None,
    "consecutive_failures": 0,
    "previous_secret_expires_at": None,
    "created_at": "2026-11-25T09:30:00.000000Z",
    "updated_at": None,
}
EXAMPLE_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw7Yd0jKNfh0U="  # noqa: S105 - an example in the docs

_INVALID_WEBHOOK = error_response(
    "A field is missing, unknown or not valid (an unknown event type, a URL webhooks may not go to).",
    error_example(
        "Plain http",
        ErrorCode.VALIDATION_ERROR,
        "The request is not valid.",
        {"url": ["Only https:// URLs may receive webhooks."]},
    ),
)
_INVALID_CHANGE = error_response(
    "A field is missing, unknown or not valid (an unknown event type, a URL webhooks may not go to); or the "
    "Idempotency-Key header is malformed.",
    *_INVALID_WEBHOOK.examples,
    BAD_KEY_EXAMPLE,
)
_NO_BODY = error_response(
    "A body was sent (this takes none: each field sent is named), or the Idempotency-Key header is malformed.",
    error_example(
        "A field",
        ErrorCode.VALIDATION_ERROR,
        "The request is not valid.",
        {"secret": ["This field is not known here."]},
    ),
    BAD_KEY_EXAMPLE,
)
_ADMIN_CHANGE = error_response(
    "An admin tried to change another user's webhook (admins may only read them).",
    error_example(
        "Not yours", ErrorCode.PERMISSION_DENIED, "Admins may read bob's webhooks, but only bob may change them."
    ),
)


def _one(description: str, example: dict[str, Any], *, with_secret: bool = False) -> OpenApiResponse:
    shape = WebhookWithSecretEnvelope if with_secret else WebhookEnvelope
    body = {**example, "secret": EXAMPLE_SECRET} if with_secret else example
    return OpenApiResponse(
        shape, description, [OpenApiExample("Webhook", {"success": True, "data": body}, response_only=True)]
    )


create = extend_schema(
    tags=TAGS,
    summary="Register a webhook",
    description="Events of the chosen types are POSTed to `url`, signed per the Standard Webhooks specification "
    "(`webhook-id` = the event id, `webhook-timestamp`, `webhook-signature`), and retried with backoff (at once, "
    "30 s, 2 min, 10 min, 1 h, 6 h, 24 h). The response holds the signing `secret`: it is shown only here. "
    "Deliveries of one task's events may arrive in any order: order them by `data.sequence`. With "
    "`Idempotency-Key`, a retry never registers a second endpoint: it gets the first response again, secret "
    "included.",
    request=WebhookCreateRequest,
    parameters=[*_KEYED, *_TRACED],
    examples=[
        OpenApiExample(
            "Completions",
            value={"url": "https://hooks.example.com/tasks", "event_types": ["TaskCompleted"]},
            request_only=True,
        )
    ],
    responses={
        201: _one("The endpoint, with its secret; `Location` is its URL.", EXAMPLE_WEBHOOK, with_secret=True),
        400: _INVALID_CHANGE,
        403: FORBIDDEN,
        413: TOO_LARGE,
        415: NOT_JSON,
        422: KEY_REUSED,
        **_ALWAYS,
    },
)

list_ = extend_schema(
    tags=TAGS,
    summary="List a user's webhooks",
    description="In id order; pass `pagination.next_cursor` as `cursor` for the next page.",
    parameters=[WebhookListQuery, *_TRACED],
    responses={
        200: OpenApiResponse(
            WebhookPageEnvelope,
            "A page of endpoints.",
            [
                OpenApiExample(
                    "A page",
                    {"success": True, "data": [EXAMPLE_WEBHOOK], "pagination": {"next_cursor": None, "limit": 50}},
                    response_only=True,
                )
            ],
        ),
        400: _INVALID_WEBHOOK,
        403: FORBIDDEN,
        **_ALWAYS,
    },
)

retrieve = extend_schema(
    tags=TAGS,
    summary="Get a webhook",
    description="Never shows the secret. `enabled: false` with a `disabled_reason` means the API disabled it after "
    "20 failed deliveries in a row.",
    parameters=[WEBHOOK_ID_PARAMETER, *_TRACED],
    responses={200: _one("The endpoint.", EXAMPLE_WEBHOOK), 404: NOT_FOUND, **_ALWAYS},
)

partial_update = extend_schema(
    tags=TAGS,
    summary="Change a webhook",
    description="Any of `url`, `event_types`, `description`, `enabled`. Enabling again clears `disabled_reason` "
    "and the failure count.",
    request=WebhookUpdateRequest,
    parameters=[WEBHOOK_ID_PARAMETER, *_KEYED, *_TRACED],
    examples=[OpenApiExample("Pause", value={"enabled": False}, request_only=True)],
    responses={
        200: _one("The endpoint as it now is.", {**EXAMPLE_WEBHOOK, "enabled": False}),
        400: _INVALID_CHANGE,
        403: _ADMIN_CHANGE,
        404: NOT_FOUND,
        413: TOO_LARGE,
        415: NOT_JSON,
        422: KEY_REUSED,
        **_ALWAYS,
    },
)

destroy = extend_schema(
    tags=TAGS,
    summary="Delete a webhook",
    description="Nothing more is sent to it; its pending retries fail unsent.",
    parameters=[WEBHOOK_ID_PARAMETER, *_TRACED],
    responses={204: OpenApiResponse(description="Deleted."), 403: _ADMIN_CHANGE, 404: NOT_FOUND, **_ALWAYS},
)

EXAMPLE_DELIVERY: dict[str, Any] = {
    "delivery_id": "20261125100000000000-5c8e2f1a-7b3d-4e9a-8c6f-0d1e2f3a4b5c",
    "event_id": "5c8e2f1a-7b3d-4e9a-8c6f-0d1e2f3a4b5c",
    "event_type": "TaskCompleted",
    "state": "pending",
    "attempts": 2,
    "max_attempts": 7,
    "last_status_code": 503,
    "last_latency_seconds": 0.084,
    "last_error": "The receiver answered HTTP 503.",
    "last_attempt_at": "2026-11-25T10:00:30.000000Z",
    "next_attempt_at": "2026-11-25T10:02:30.000000Z",
    "created_at": "2026-11-25T10:00:00.000000Z",
}
DELIVERY_ID_PARAMETER = OpenApiParameter(
    "delivery_id", OpenApiTypes.STR, OpenApiParameter.PATH, description="From the delivery log."
)


def _delivery(description: str, example: dict[str, Any]) -> OpenApiResponse:
    return OpenApiResponse(
        DeliveryEnvelope,
        description,
        [OpenApiExample("Delivery", {"success": True, "data": example}, response_only=True)],
    )


deliveries = extend_schema(
    tags=TAGS,
    summary="A webhook's delivery log",
    description="Newest first: each event sent (or being sent) to the endpoint, its attempts, the last answer "
    "(status code, latency, error) and when the next attempt is due. Deliveries are kept 30 days.",
    parameters=[WEBHOOK_ID_PARAMETER, DeliveryListQuery, *_TRACED],
    responses={
        200: OpenApiResponse(
            DeliveryPageEnvelope,
            "A page of deliveries.",
            [
                OpenApiExample(
                    "A page",
                    {"success": True, "data": [EXAMPLE_DELIVERY], "pagination": {"next_cursor": None, "limit": 50}},
                    response_only=True,
                )
            ],
        ),
        400: _INVALID_WEBHOOK,
        404: NOT_FOUND,
        **_ALWAYS,
    },
)

redeliver = extend_schema(
    tags=TAGS,
    summary="Redeliver",
    description="Queues one more attempt of the delivery, whatever its state, through the webhooks queue; the log "
    "shows its outcome moments later.",
    request=None,
    parameters=[WEBHOOK_ID_PARAMETER, DELIVERY_ID_PARAMETER, *_TRACED],
    responses={
        202: _delivery("The delivery, its next attempt queued.", {**EXAMPLE_DELIVERY, "max_attempts": 3}),
        403: _ADMIN_CHANGE,
        404: NOT_FOUND,
        **_ALWAYS,
    },
)

rotate_secret = extend_schema(
    tags=TAGS,
    summary="Rotate the signing secret",
    description="A new secret, shown only here. For 24 hours the old one signs beside it (two signatures in "
    "`webhook-signature`), so receivers can switch without missing a delivery. Only the latest old secret "
    "is kept: rotating again within those 24 hours ends the first overlap at once (the secret before the "
    "previous one stops signing). Takes no body: any field is a 400 naming it. With `Idempotency-Key`, a retry "
    "gets the same new secret again instead of rotating twice.",
    request=None,
    parameters=[WEBHOOK_ID_PARAMETER, *_KEYED, *_TRACED],
    responses={
        200: _one(
            "The endpoint, with its new secret.",
            {**EXAMPLE_WEBHOOK, "previous_secret_expires_at": "2026-11-26T09:30:00.000000Z"},
            with_secret=True,
        ),
        400: _NO_BODY,
        403: _ADMIN_CHANGE,
        404: NOT_FOUND,
        422: KEY_REUSED,
        **_ALWAYS,
    },
)

test = extend_schema(
    tags=TAGS,
    summary="Send a test ping",
    description="Queues a `ping` delivery (one attempt, even to a disabled endpoint), signed like any other; "
    "see its outcome in the delivery log. Takes no body: any field is a 400 naming it.",
    request=None,
    parameters=[WEBHOOK_ID_PARAMETER, *_TRACED],
    responses={
        202: _delivery(
            "The ping, queued.",
            {
                **EXAMPLE_DELIVERY,
                "event_type": "ping",
                "state": "pending",
                "attempts": 0,
                "max_attempts": 1,
                "last_status_code": None,
                "last_latency_seconds": None,
                "last_error": None,
                "last_attempt_at": None,
            },
        ),
        403: _ADMIN_CHANGE,
        404: NOT_FOUND,
        **_ALWAYS,
    },
)
