"""Every Lambda entry point besides HTTP (which Zappa's own handler serves from `config.settings`).

`zappa_settings.json` names these in each stage's `events`: the outbox sweeper on a schedule,
and the consumer of the events queue as an SQS event source.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)


def relay_outbox(event: dict[str, Any], context: object) -> dict[str, int]:
    """Publish what requests could not (a Zappa schedule calls this every minute).

    Returns the counts `{"published": N, "held_back": N}` of events sent to SNS and of those
    left to the requests that stored them (younger than OUTBOX_SETTLE_SECONDS).
    """
    import django

    django.setup()
    from tasks_app import bootstrap

    result = bootstrap.relay_all()
    if result.published or result.held_back:
        logger.info("Outbox relayed", extra={"published": result.published, "held_back": result.held_back})
    return {"published": result.published, "held_back": result.held_back}


def consume_events(event: dict[str, Any], context: object) -> dict[str, list[dict[str, str]]]:
    """Apply an SQS batch of domain events to the read models.

    Returns `{"batchItemFailures": [{"itemIdentifier": <message id>}, ...]}` for the messages
    that failed, so SQS retries only those. Lambda honours it only with
    `ReportBatchItemFailures` on the event source mapping, which Zappa does not set and
    `python manage.py provision` does.
    """
    import django

    django.setup()
    from events_app import bootstrap
    from events_app.handlers import handle_message

    failures = []
    for record in event.get("Records", []):
        try:
            handle_message(record["body"], read_models=bootstrap.read_models())
        except Exception:
            logger.exception("Could not apply an event", extra={"message_id": record.get("messageId")})
            failures.append({"itemIdentifier": str(record.get("messageId", ""))})
    return {"batchItemFailures": failures}
