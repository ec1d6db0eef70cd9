"""The Celery app: a worker on the SQS events and webhooks queues, configured from Django's settings.

`celery -A config worker` consumes the events queue through `DomainEventConsumer`, and the
webhooks queue through `WebhookConsumer`. Celery's
own task queue is not consumed: the project has no Celery tasks, and SQS holds only events.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("tasks")
app.config_from_object("django.conf:settings", namespace="CELERY")


def _install_consumer() -> None:
    from events_app.worker import DomainEventConsumer
    from notifications_app.worker import WebhookConsumer

    app.steps["consumer"].add(DomainEventConsumer)
    app.steps["consumer"].add(WebhookConsumer)  # the webhooks queue (issue 14), in the same worker


@signals.celeryd_after_setup.connect
def _consume_only_events(sender: str, instance: Any, **kwargs: Any) -> None:
    instance.app.amqp.queues.deselect([app.conf.task_default_queue])


_install_consumer()
