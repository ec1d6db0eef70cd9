"""The one place that wires the event consumers' real adapters, lazily, on the task API's table."""

from __future__ import annotations

from functools import cache

from django.conf import settings

from events_app.ports import ReadModels
from events_app.read_models import READ_MODELS, DynamoReadModels
from tasks_app import bootstrap as tasks_wiring
from tasks_app.adapters.dynamodb.models import bind_table


@cache
def read_models() -> ReadModels:
    """History and statistics, in the table `TABLE_NAME`, through the task API's connection and client."""
    connection = tasks_wiring.table_connection()
    bind_table(
        READ_MODELS,
        table_name=settings.TABLE_NAME,
        client=connection.client,
        host=settings.AWS_ENDPOINT_URL,
        region=settings.AWS_REGION,
    )
    return DynamoReadModels(connection)


def reset() -> None:
    """Forget the wired adapters, so the next use follows changed settings (tests do this)."""
    read_models.cache_clear()


def disconnect() -> None:
    """Forget the read models' connections too (a SnapStart restore makes its own)."""
    for model in READ_MODELS:
        model._connection = None  # PynamoDB keeps one per model class
    reset()
