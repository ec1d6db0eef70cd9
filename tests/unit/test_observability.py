"""Structured logs: one JSON object per line, with the request id."""

import contextvars
import json
import logging

from config.observability import JsonFormatter, RequestIdFilter


def format_record(record: logging.LogRecord) -> dict:
    """As logged outside any request (a fresh context: no request id from an earlier test)."""
    return contextvars.Context().run(_format, record)


def _format(record: logging.LogRecord) -> dict:
    RequestIdFilter().filter(record)
    return json.loads(JsonFormatter().format(record))


def test_a_log_line_is_json_with_level_logger_message_and_extras():
    record = logging.makeLogRecord(
        {"name": "tasks", "levelno": logging.INFO, "levelname": "INFO", "msg": "made %s", "args": ("é",), "task": "t-1"}
    )
    line = format_record(record)
    assert line["message"] == "made é"
    assert (line["level"], line["logger"], line["task"]) == ("INFO", "tasks", "t-1")
    assert line["request_id"] is None  # outside a request


def test_an_exception_is_logged_with_its_traceback():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, "f", 1, "failed", (), exc_info=__import__("sys").exc_info()
        )
    line = format_record(record)
    assert "Traceback" in line["exception"]
    assert "ValueError: boom" in line["exception"]


def test_values_that_are_not_json_are_logged_as_text():
    record = logging.makeLogRecord({"msg": "m", "thing": object()})
    assert format_record(record)["thing"].startswith("<object object")
