"""The one place that wires the notifications' real adapters, lazily, on the task API's table.

The adapters are imported by the functions that make them, not at import: the URL conf imports
this module (through the webhook views) on every API cold start, and a request for /tasks must not
pay the webhooks' PynamoDB models and sender (about 17 ms measured with `python -X importtime`).
The signing library is still imported with the views (through `application.deliveries`: about 0.5 ms).
"""

from __future__ import annotations

import functools
import sys
from functools import cache
from typing import TYPE_CHECKING, Any

from django.conf import settings

from tasks_app import bootstrap as tasks_wiring
from tasks_app.adapters.cursor import CursorCodec

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping
    from datetime import timedelta

    from notifications_app.adapters.outbound_http import OutboundPolicy
    from notifications_app.application.ports import (
        ConfirmationTokens,
        DeliveryQueue,
        DeliveryRepository,
        EmailSettingsRepository,
        EndpointRepository,
        MailComposer,
        MailLog,
        MailSender,
        UrlCheck,
    )
    from notifications_app.handlers import DeliveryWiring, MailWiring

_MODELS = ("notifications_app.adapters.models", "notifications_app.adapters.email_store")


def _cursors() -> CursorCodec:
    # The key when a cursor first needs it: a deployed stage reads it then (config.secrets).
    return CursorCodec(lambda: str(settings.SECRET_KEY))


@cache
def _bound() -> None:
    """Binds the webhook and email models to `TABLE_NAME`, through the task API's DynamoDB client."""
    from notifications_app.adapters.email_store import EMAIL_MODELS
    from notifications_app.adapters.models import WEBHOOK_MODELS
    from tasks_app.adapters.dynamodb.models import bind_table

    connection = tasks_wiring.table_connection()
    bind_table(
        (*WEBHOOK_MODELS, *EMAIL_MODELS),
        table_name=settings.TABLE_NAME,
        client=connection.client,
        host=settings.AWS_ENDPOINT_URL,
        region=settings.AWS_REGION,
    )


@cache
def endpoint_repository() -> EndpointRepository:
    """Webhook endpoints in the table `TABLE_NAME`."""
    from notifications_app.adapters.repository import DynamoEndpointRepository

    _bound()
    return DynamoEndpointRepository(_cursors(), tasks_wiring.table_connection())


@cache
def delivery_repository() -> DeliveryRepository:
    """Deliveries in the table `TABLE_NAME`."""
    from notifications_app.adapters.repository import DynamoDeliveryRepository

    _bound()
    return DynamoDeliveryRepository(_cursors())


def outbound_policy() -> OutboundPolicy:
    """Where webhooks may go: in development also `http://127.0.0.1:<port>` (a local receiver);
    deployed only `https` to public addresses (issue 14, item 3)."""
    from notifications_app.adapters.outbound_http import OutboundPolicy

    return OutboundPolicy(allow_loopback_http=settings.ENVIRONMENT == "development")


def url_check() -> UrlCheck:
    """The registration-time URL check under this stage's policy; raises `UnsafeUrl` (a ValueError)."""
    from notifications_app.adapters.outbound_http import check_url

    return functools.partial(check_url, policy=outbound_policy())


@cache
def delivery_queue() -> DeliveryQueue:
    """The webhooks queue (`WEBHOOKS_QUEUE_URL`), for the attempts of deliveries."""
    from notifications_app.adapters.sqs_queue import SqsDeliveryQueue

    return SqsDeliveryQueue(tasks_wiring.aws_target().client("sqs"), settings.WEBHOOKS_QUEUE_URL)


@cache
def delivery_wiring() -> DeliveryWiring:
    """What the webhooks queue's handler needs: storage, the queue, the SSRF-safe sender, the clock."""
    from notifications_app.adapters.outbound_http import UrllibSender
    from notifications_app.handlers import DeliveryWiring

    return DeliveryWiring(
        endpoints=endpoint_repository(),
        deliveries=delivery_repository(),
        queue=delivery_queue(),
        sender=UrllibSender(outbound_policy()),
        clock=tasks_wiring.utc_now,
        mail=mail_wiring(),
    )


@cache
def email_settings_repository() -> EmailSettingsRepository:
    """Users' email settings in the table `TABLE_NAME`."""
    from notifications_app.adapters.email_store import DynamoEmailSettingsRepository

    _bound()
    return DynamoEmailSettingsRepository()


@cache
def mail_log() -> MailLog:
    """Which events were mailed, in the table `TABLE_NAME`."""
    from notifications_app.adapters.email_store import DynamoMailLog

    _bound()
    return DynamoMailLog()


@cache
def mail_sender() -> MailSender:
    """SES (v2) from `EMAIL_FROM`, through `SES_CONFIGURATION_SET`."""
    from notifications_app.adapters.ses import SesMailSender

    def client() -> Any:  # shared and cached by `aws_target`, made at the first send
        return tasks_wiring.aws_target().client("sesv2")  # type: ignore[call-overload] # no stubs for SES v2

    return SesMailSender(client, sender=settings.EMAIL_FROM, configuration_set=settings.SES_CONFIGURATION_SET)


def mail_composer() -> MailComposer:
    """The messages, from the Django templates."""
    from notifications_app.email_messages import TemplateMailComposer

    return TemplateMailComposer()


def confirmation_tokens() -> ConfirmationTokens:
    """Signed confirmation tokens (Django's signing, under SECRET_KEY)."""
    from notifications_app.confirmation import SignedConfirmationTokens

    return SignedConfirmationTokens()


def mail_wiring() -> MailWiring:
    """What the webhooks queue's handler needs to mail events."""
    from notifications_app.handlers import MailWiring

    return MailWiring(
        settings=email_settings_repository(), log=mail_log(), composer=mail_composer(), sender=mail_sender()
    )


class _SettingsReminderWindows:
    """The reminder sweep's `ReminderWindows` (tasks_app.application.ports): each user's
    `reminder_window_minutes`, for the users who saved settings."""

    def windows_for(self, user_ids: Collection[str]) -> Mapping[str, timedelta]:
        """Raises `DependencyUnavailable` when DynamoDB is down."""
        from notifications_app.application.email import reminder_windows as windows

        return windows(user_ids=user_ids, repository=email_settings_repository())


def reminder_windows() -> _SettingsReminderWindows:
    """The users' reminder windows from their notification settings (the contract's `ReminderWindows`)."""
    return _SettingsReminderWindows()


def reset() -> None:
    """Forget the wired adapters, so the next use follows changed settings (tests do this)."""
    for wired in (
        _bound,
        endpoint_repository,
        delivery_repository,
        delivery_queue,
        delivery_wiring,
        email_settings_repository,
        mail_log,
        mail_sender,
    ):
        wired.cache_clear()


def disconnect() -> None:
    """Forget the models' connections too (a SnapStart restore makes its own); models never
    imported hold none, and are not imported for this."""
    for name in _MODELS:
        if models := sys.modules.get(name):
            for model in getattr(models, "WEBHOOK_MODELS", ()) + getattr(models, "EMAIL_MODELS", ()):
                model._connection = None  # PynamoDB keeps one per model class
    reset()
