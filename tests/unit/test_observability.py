"""Structured logs: one JSON object per line, with the request id."""

import contextvars
import json
import logging

from config.observability import JsonFormatter, RequestIdFilter
from tasks_app import correlation


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


def test_a_line_logged_while_an_event_is_handled_carries_its_request_and_event_ids():
    def logged_within_an_event() -> dict:
        with correlation.bound(request_id="req-1", event_id="evt-1"):
            return _format(logging.makeLogRecord({"name": "botocore", "msg": "retrying"}))

    line = contextvars.Context().run(logged_within_an_event)
    assert (line["request_id"], line["event_id"]) == ("req-1", "evt-1")
    assert "event_id" not in format_record(logging.makeLogRecord({"msg": "outside any event"}))


def test_a_line_that_names_its_own_event_keeps_it():
    def logged() -> dict:
        with correlation.bound(request_id=None, event_id="evt-1"):
            return _format(logging.makeLogRecord({"msg": "m", "event_id": "evt-2"}))

    assert contextvars.Context().run(logged)["event_id"] == "evt-2"


def test_a_logged_request_shows_its_path_without_a_confirmation_token():
    from django.test import RequestFactory

    request = RequestFactory().get("/notifications/confirm?token=secret.signed&lang=en")
    record = logging.makeLogRecord({"msg": "Bad Request: %s", "args": ("/notifications/confirm",), "request": request})
    assert format_record(record)["request"] == "GET /notifications/confirm?token=***&lang=en"


def test_runservers_access_line_hides_a_confirmation_token_too():
    from config.observability import SecretQueryFilter

    record = logging.makeLogRecord(
        {
            "name": "django.server",
            "msg": '"%s" %s %s',
            "args": ("GET /notifications/confirm?token=s.v&x=1 HTTP/1.1", "400", "99"),
        }
    )
    assert SecretQueryFilter().filter(record)
    assert record.getMessage() == '"GET /notifications/confirm?token=***&x=1 HTTP/1.1" 400 99'
    bare = logging.makeLogRecord({"msg": '"%s" %s %s', "args": ("GET /notifications/confirm?token=s.v", "400", "9")})
    assert SecretQueryFilter().filter(bare)  # an HTTP/0.9 request line has no version after its target
    assert bare.getMessage() == '"GET /notifications/confirm?token=***" 400 9'
    plain = logging.makeLogRecord({"msg": '"%s" %s %s', "args": ("GET /tasks HTTP/1.1", "200", "5")})
    assert SecretQueryFilter().filter(plain)
    assert plain.getMessage() == '"GET /tasks HTTP/1.1" 200 5'
