"""The email notification endpoints: each turns HTTP into one service call and back."""

from __future__ import annotations

import math
from typing import Any

from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from notifications_app import bootstrap
from notifications_app.api import email_schema
from notifications_app.api.email_serializers import (
    CONFIRMATIONS_LIMITED,
    EmailConfirmedResponse,
    EmailConfirmQuery,
    NotificationSettingsQuery,
    NotificationSettingsRequest,
    NotificationSettingsResponse,
)
from notifications_app.application import email
from notifications_app.domain.email_settings import EmailSettings
from tasks_app import bootstrap as tasks_wiring
from tasks_app.api.auth import caller_of

CONFIRM_ROUTE = "notifications-confirm"


def _envelope(settings: EmailSettings) -> Response:
    return Response({"success": True, "data": NotificationSettingsResponse(settings).data})


class NotificationSettingsView(APIView):
    """A user's own email notification settings (admins may read another's)."""

    @email_schema.settings_get
    def get(self, request: Request) -> Response:
        query = NotificationSettingsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        settings = email.email_settings_get(
            user_id=query.validated_data.get("user_id"),
            caller=caller_of(request),
            repository=bootstrap.email_settings_repository(),
        )
        return _envelope(settings)

    @email_schema.settings_put
    def put(self, request: Request) -> Response:
        query = NotificationSettingsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        payload = NotificationSettingsRequest(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            settings = self._put(request, query.validated_data.get("user_id"), payload.validated_data)
        except email.ConfirmationsLimited as limited:
            # DRF's own 429: the shared handler renders it in the envelope (THROTTLED) with Retry-After.
            raise Throttled(wait=math.ceil(limited.wait.total_seconds()), detail=CONFIRMATIONS_LIMITED) from None
        return _envelope(settings)

    def _put(self, request: Request, user_id: str | None, given: dict[str, Any]) -> EmailSettings:
        # The link's base is this request's own: deployed, it carries API Gateway's stage prefix.
        confirm_url = request.build_absolute_uri(reverse(CONFIRM_ROUTE))
        return email.email_settings_put(
            user_id=user_id,
            wanted=EmailSettings(
                user_id="",
                email=given["email"],
                notify_on_completion=given["notify_on_completion"],
                notify_on_due_soon=given["notify_on_due_soon"],
                reminder_window_minutes=given["reminder_window_minutes"],
            ),
            caller=caller_of(request),
            repository=bootstrap.email_settings_repository(),
            tokens=bootstrap.confirmation_tokens(),
            composer=bootstrap.mail_composer(),
            sender=bootstrap.mail_sender(),
            # Django's signed values use URL-safe base64 and ":" only: nothing to escape in a query.
            confirm_link=lambda token: f"{confirm_url}?token={token}",
            now=tasks_wiring.utc_now(),
        )


class EmailConfirmView(APIView):
    """The confirmation link: opened from an email, so it needs no bearer token (its signed token
    says who and which address)."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    # Opening the link confirms the address: its rate-limit token is spent before that write, as
    # a change's is, not beside it as a read's (tasks_app.api.throttling).
    changes_on_get = True

    @email_schema.confirm
    def get(self, request: Request) -> Response:
        query = EmailConfirmQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        settings = email.email_confirm(
            token=query.validated_data["token"],
            tokens=bootstrap.confirmation_tokens(),
            repository=bootstrap.email_settings_repository(),
            now=tasks_wiring.utc_now(),
        )
        return Response({"success": True, "data": EmailConfirmedResponse(settings).data})
