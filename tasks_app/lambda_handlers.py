"""Lambda entry points of the task API besides HTTP: the scheduled outbox sweeper."""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)


def relay_outbox(event: dict[str, Any], context: object) -> dict[str, int]:
    """Publish what requests could not (a Zappa schedule calls this every minute)."""
    import django

    django.setup()
    from tasks_app import bootstrap

    result = bootstrap.relay_all()
    if result.published or result.held_back:
        logger.info("Outbox relayed", extra={"published": result.published, "held_back": result.held_back})
    return {"published": result.published, "held_back": result.held_back}
