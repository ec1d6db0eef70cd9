"""The one place that wires real adapters to the services, lazily: nothing connects at import."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

from django.conf import settings

from tasks_app.adapters.aws import AwsTarget
from tasks_app.adapters.cursor import CursorCodec
from tasks_app.adapters.dynamodb.models import bind_table
from tasks_app.adapters.dynamodb.repository import DynamoTaskRepository
from tasks_app.adapters.sns import SnsEventPublisher
from tasks_app.application.ports import EventPublisher, TaskRepository


def aws_target() -> AwsTarget:
    return AwsTarget(region=settings.AWS_REGION, endpoint_url=settings.AWS_ENDPOINT_URL)


@cache
def task_repository() -> TaskRepository:
    bind_table(table_name=settings.TABLE_NAME, host=settings.AWS_ENDPOINT_URL, region=settings.AWS_REGION)
    return DynamoTaskRepository(CursorCodec(settings.SECRET_KEY))


@cache
def event_publisher() -> EventPublisher:
    return SnsEventPublisher(aws_target().client("sns"), settings.TOPIC_ARN)


def utc_now() -> datetime:
    return datetime.now(UTC)


def reset() -> None:
    """Forget the wired adapters, so the next use follows changed settings (tests do this)."""
    task_repository.cache_clear()
    event_publisher.cache_clear()
