"""The one place that wires the notifications' real adapters, lazily, on the task API's table."""

from __future__ import annotations

import functools
from functools import cache

from django.conf import settings

from notifications_app.adapters.models import WEBHOOK_MODELS
from notifications_app.adapters.outbound_http import OutboundPolicy, UrllibSender, check_url
from notifications_app.adapters.repository import DynamoDeliveryRepository, DynamoEndpointRepository
from notifications_app.adapters.sqs_queue import SqsDeliveryQueue
from notifications_app.application.ports import DeliveryQueue, DeliveryRepository, EndpointRepository, UrlCheck
from notifications_app.handlers import DeliveryWiring
from tasks_app import bootstrap as tasks_wiring
from tasks_app.adapters.cursor import CursorCodec
from tasks_app.adapters.dynamodb.models import bind_table


def _cursors() -> CursorCodec:
    # The key when a cursor first needs it: a deployed stage reads it then (config.secrets).
    return CursorCodec(lambda: str(settings.SECRET_KEY))


@cache
def _bound() -> None:
    """Binds the webhook models to `TABLE_NAME`, through the task API's DynamoDB client."""
    connection = tasks_wiring.table_connection()
    bind_table(
        WEBHOOK_MODELS,
        table_name=settings.TABLE_NAME,
        client=connection.client,
        host=settings.AWS_ENDPOINT_URL,
        region=settings.AWS_REGION,
    )


@cache
def endpoint_repository() -> EndpointRepository:
    """Webhook endpoints in the table `TABLE_NAME`."""
    _bound()
    return DynamoEndpointRepository(_cursors(), tasks_wiring.table_connection())


@cache
def delivery_repository() -> DeliveryRepository:
    """Deliveries in the table `TABLE_NAME`."""
    _bound()
    return DynamoDeliveryRepository(_cursors())


def outbound_policy() -> OutboundPolicy:
    """Where webhooks may go: in development also `http://127.0.0.1:<port>` (a local receiver);
    deployed only `https` to public addresses (issue 14, item 3)."""
    return OutboundPolicy(allow_loopback_http=settings.ENVIRONMENT == "development")


def url_check() -> UrlCheck:
    """The registration-time URL check under this stage's policy; raises `UnsafeUrl` (a ValueError)."""
    return functools.partial(check_url, policy=outbound_policy())


@cache
def delivery_queue() -> DeliveryQueue:
    """The webhooks queue (`WEBHOOKS_QUEUE_URL`), for the attempts of deliveries."""
    return SqsDeliveryQueue(tasks_wiring.aws_target().client("sqs"), settings.WEBHOOKS_QUEUE_URL)


@cache
def delivery_wiring() -> DeliveryWiring:
    """What the webhooks queue's handler needs: storage, the queue, the SSRF-safe sender, the clock."""
    return DeliveryWiring(
        endpoints=endpoint_repository(),
        deliveries=delivery_repository(),
        queue=delivery_queue(),
        sender=UrllibSender(outbound_policy()),
        clock=tasks_wiring.utc_now,
    )


def reset() -> None:
    """Forget the wired adapters, so the next use follows changed settings (tests do this)."""
    for wired in (_bound, endpoint_repository, delivery_repository, delivery_queue, delivery_wiring):
        wired.cache_clear()


def disconnect() -> None:
    """Forget the models' connections too (a SnapStart restore makes its own)."""
    for model in WEBHOOK_MODELS:
        model._connection = None  # PynamoDB keeps one per model class
    reset()
