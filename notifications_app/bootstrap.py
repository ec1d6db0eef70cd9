"""The one place that wires the notifications' real adapters, lazily, on the task API's table.

The adapters are imported by the functions that make them, not at import: the URL conf imports
this module (through the webhook views) on every API cold start, and a request for /tasks must not
pay the webhooks' PynamoDB models, sender and signing library (about 17 ms measured with
`python -X importtime`).
"""

from __future__ import annotations

import functools
import sys
from functools import cache
from typing import TYPE_CHECKING

from django.conf import settings

from tasks_app import bootstrap as tasks_wiring
from tasks_app.adapters.cursor import CursorCodec

if TYPE_CHECKING:
    from notifications_app.adapters.outbound_http import OutboundPolicy
    from notifications_app.application.ports import DeliveryQueue, DeliveryRepository, EndpointRepository, UrlCheck
    from notifications_app.handlers import DeliveryWiring

_MODELS = "notifications_app.adapters.models"


def _cursors() -> CursorCodec:
    # The key when a cursor first needs it: a deployed stage reads it then (config.secrets).
    return CursorCodec(lambda: str(settings.SECRET_KEY))


@cache
def _bound() -> None:
    """Binds the webhook models to `TABLE_NAME`, through the task API's DynamoDB client."""
    from notifications_app.adapters.models import WEBHOOK_MODELS
    from tasks_app.adapters.dynamodb.models import bind_table

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
    )


def reset() -> None:
    """Forget the wired adapters, so the next use follows changed settings (tests do this)."""
    for wired in (_bound, endpoint_repository, delivery_repository, delivery_queue, delivery_wiring):
        wired.cache_clear()


def disconnect() -> None:
    """Forget the models' connections too (a SnapStart restore makes its own); models never
    imported hold none, and are not imported for this."""
    if models := sys.modules.get(_MODELS):
        for model in models.WEBHOOK_MODELS:
            model._connection = None  # PynamoDB keeps one per model class
    reset()
