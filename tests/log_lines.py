"""The JSON log lines a block of code writes, as the processes' handlers write them (filter and
formatter of config/observability.py), for tests that check what a line carries."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from config.observability import JsonFormatter, RequestIdFilter


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.addFilter(RequestIdFilter())
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


# The project's loggers, not the root: a Lambda entry point's `django.setup()` configures logging
# again, which replaces the root's handlers.
_PROJECT_LOGGERS = ("tasks_app", "events_app", "config")


@contextmanager
def logged_lines() -> Iterator[list[dict[str, Any]]]:
    """Yields the list that the lines the project's loggers write (at INFO and above) within the
    block are added to, each parsed from its JSON."""
    handler = _Lines()
    loggers = [logging.getLogger(name) for name in _PROJECT_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        yield handler.lines
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


def about(lines: list[dict[str, Any]], event_id: str) -> list[dict[str, Any]]:
    """The lines that name `event_id`: in their `event_id`, or anywhere in their text."""
    return [line for line in lines if line.get("event_id") == event_id or event_id in json.dumps(line)]
