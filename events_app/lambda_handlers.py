"""The Lambda entry point for the events queue: a Zappa SQS event source calls `consume_events`."""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)


def consume_events(event: dict[str, Any], context: object) -> dict[str, list[dict[str, str]]]:
    """Apply a batch; the ids of failed messages go back so SQS retries only those.

    That needs `ReportBatchItemFailures` on the event source mapping, which Zappa does not set
    and `python manage.py provision` does.
    """
    import django

    django.setup()
    from events_app.handlers import handle_message
    from tasks_app import bootstrap

    failures = []
    for record in event.get("Records", []):
        try:
            handle_message(record["body"], read_models=bootstrap.read_models())
        except Exception:
            logger.exception("Could not apply an event", extra={"message_id": record.get("messageId")})
            failures.append({"itemIdentifier": str(record.get("messageId", ""))})
    return {"batchItemFailures": failures}
