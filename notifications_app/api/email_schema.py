"""OpenAPI documentation of the email notification endpoints: responses and examples for `@extend_schema`."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema

from notifications_app.api.email_serializers import (
    CONFIRMATIONS_LIMITED,
    EmailConfirmedEnvelope,
    EmailConfirmQuery,
    NotificationSettingsEnvelope,
    NotificationSettingsQuery,
    NotificationSettingsRequest,
)
from notifications_app.domain.email_settings import CONFIRMATIONS_PER_DAY
from tasks_app.api.errors import ErrorCode
from tasks_app.api.openapi import (
    AUTH_UNAVAILABLE,
    FORBIDDEN,
    NOT_AUTHENTICATED,
    NOT_JSON,
    REQUEST_ID,
    REQUEST_ID_HEADER,
    SERVER_ERROR,
    THROTTLED,
    TOO_LARGE,
    error_example,
    error_response,
)

TAGS = ["notifications"]
_TRACED = [REQUEST_ID, REQUEST_ID_HEADER]
_UNAVAILABLE = error_response(
    "The table or the mail service (SES) is unreachable; `Retry-After` says when to try again. "
    "A PUT answered so changed nothing.",
    error_example("SES down", ErrorCode.SERVICE_UNAVAILABLE, "The service is unavailable right now; try again in 5 s."),
)
EXAMPLE_SETTINGS: dict[str, Any] = {
    "user_id": "alice",
    "email": "alice@example.com",
    "email_confirmed": False,
    "notify_on_completion": True,
    "notify_on_due_soon": True,
    "reminder_window_minutes": 60,
    "updated_at": "2026-12-01T09:30:00.000000Z",
}


def _settings(description: str, example: dict[str, Any]) -> OpenApiResponse:
    return OpenApiResponse(
        NotificationSettingsEnvelope,
        description,
        [OpenApiExample("Settings", {"success": True, "data": example}, response_only=True)],
    )


settings_get = extend_schema(
    tags=TAGS,
    summary="Get my notification settings",
    description="Your email address (and whether it is confirmed) and which events mail you. Never saved: the "
    "defaults, with no address. Admins may read another user's with `?user_id=`.",
    parameters=[NotificationSettingsQuery, *_TRACED],
    responses={
        200: _settings("The settings.", EXAMPLE_SETTINGS),
        400: error_response(
            "A bad `user_id` (or, with authentication off, none).",
            error_example(
                "No user",
                ErrorCode.VALIDATION_ERROR,
                "The request is not valid.",
                {"user_id": ["This field is required."]},
            ),
        ),
        401: NOT_AUTHENTICATED,
        403: FORBIDDEN,
        429: THROTTLED,
        503: _UNAVAILABLE,
        500: SERVER_ERROR,
    },
)

settings_put = extend_schema(
    tags=TAGS,
    summary="Save my notification settings",
    description="Replaces the settings (a field left out takes its default). A new or changed `email`, or the same "
    "one still unconfirmed, is sent a confirmation email with a link (`GET /notifications/confirm?token=...`, valid "
    "3 days) before the settings are saved; until it is opened nothing else is mailed to it. Completion mail goes "
    "out when a task of yours is completed; due mail when one falls due within `reminder_window_minutes`, and when "
    "it is overdue.",
    request=NotificationSettingsRequest,
    parameters=[NotificationSettingsQuery, *_TRACED],
    examples=[
        OpenApiExample(
            "Completion mail only",
            value={"email": "alice@example.com", "notify_on_completion": True, "notify_on_due_soon": False},
            request_only=True,
        )
    ],
    responses={
        200: _settings("The settings as saved; `email_confirmed` is false until the link is opened.", EXAMPLE_SETTINGS),
        400: error_response(
            "A field is missing, unknown or not valid, or `email` is an address mail cannot be delivered to (an IP "
            "address or a domain without a dot, or one the mail service refused: its reason is in the message).",
            error_example(
                "Not an address",
                ErrorCode.VALIDATION_ERROR,
                "The request is not valid.",
                {"email": ["Enter a valid email address."]},
            ),
        ),
        401: NOT_AUTHENTICATED,
        403: FORBIDDEN,
        413: TOO_LARGE,
        415: NOT_JSON,
        429: error_response(
            "Over a rate limit, or the confirmation email would go over its per-user limit (one a minute, "
            f"{CONFIRMATIONS_PER_DAY} a UTC day); nothing was changed. Retry after the seconds in `Retry-After`. "
            "Saving settings that need no confirmation is never limited so.",
            error_example(
                "Confirmations", ErrorCode.THROTTLED, f"{CONFIRMATIONS_LIMITED} Expected available in 42 seconds."
            ),
        ),
        503: _UNAVAILABLE,
        500: SERVER_ERROR,
    },
)

confirm = extend_schema(
    tags=TAGS,
    summary="Confirm an email address",
    description="The link of the confirmation email; needs no token of the API (the link's own signed token says "
    "who). Answers only the address confirmed. Opening it twice is harmless and changes nothing.",
    auth=[],
    parameters=[EmailConfirmQuery, *_TRACED],
    responses={
        200: OpenApiResponse(
            EmailConfirmedEnvelope,
            "The address is confirmed; only the address is shown (the link needs no authentication).",
            [
                OpenApiExample(
                    "Confirmed",
                    {"success": True, "data": {"email": "alice@example.com", "email_confirmed": True}},
                    response_only=True,
                )
            ],
        ),
        400: error_response(
            "The link is malformed, forged, expired (after 3 days), or for an address that is no longer the user's "
            "(changed or removed since).",
            error_example(
                "Expired",
                ErrorCode.VALIDATION_ERROR,
                "The request is not valid.",
                {"token": ["This confirmation link has expired. Save your address again for a new link."]},
            ),
        ),
        429: THROTTLED,
        503: AUTH_UNAVAILABLE,
        500: SERVER_ERROR,
    },
)
