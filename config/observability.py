"""Request ids and structured logs: one JSON object per line, each with the request id (SPEC §9).

The ids live in `tasks_app.correlation`'s context variables: this middleware sets the request's;
the relay and the consumers bind an event's (`correlation.bound`) while they handle it, so
every line inside, the libraries' included, carries `request_id` and `event_id`.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import traceback
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponseBase

from tasks_app import correlation

REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is echoed into headers and logs, so only plain tokens are trusted.
ACCEPTABLE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")  # what a client may choose; else a fresh one
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


class RequestIdMiddleware:
    """Gives every request an id: the caller's `X-Request-ID` if usable, otherwise a new one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        # Cleared once the response is closed, which is after the server's access-log line.
        request_finished.connect(_clear_request_id, dispatch_uid="config.observability.clear")

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if ACCEPTABLE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        correlation.set_request_id(request_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


def _clear_request_id(**_: Any) -> None:
    correlation.set_request_id(None)


class RequestIdFilter(logging.Filter):
    """Stamps the current request id (or null outside a request, and for an event stored before
    request ids were kept) on every record, and the id of the event being relayed or consumed
    on those logged while one is (unless the line names its own `event_id`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = correlation.request_id()
        event_id = correlation.event_id()
        if event_id is not None and not hasattr(record, "event_id"):
            record.event_id = event_id
        return True


class AnsweredOutageFilter(logging.Filter):
    """Drops `django.request`'s "Service Unavailable: <path>" ERROR for a 503.

    Every 503 is an outage the API answered as SPEC §2 asks, and `tasks_app.api.errors` has
    already logged it once as a WARNING naming the dependency and the `Retry-After`; Django's
    second line, at ERROR, would read like a bug and page nobody usefully. Other 5xx keep it.
    Input: a record of `django.request` (its `status_code` comes from `log_response`); output:
    False for a 503, True otherwise.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "status_code", None) != 503


class OutageAccessLineFilter(logging.Filter):
    """Logs runserver's access line of a 503 as a WARNING, not the ERROR it gives every 5xx.

    A 503 is an outage answered as SPEC §2 asks, logged once as a WARNING with its cause
    (`AnsweredOutageFilter`); the access line stays, at the level of the 4xx ones. Input: a
    record of `django.server` (`status_code` set by Django's `WSGIRequestHandler`); output:
    always True, the record demoted when it is a 503's.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 503 and record.levelno > logging.WARNING:
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        return True


class SecretQueryFilter(logging.Filter):
    """Hides the `SECRET_PARAMETERS` values (`masked_query`) in runserver's access line, whose
    first argument is the request line (`GET /notifications/confirm?token=… HTTP/1.1`), as every
    other line naming a request does (`logged_path`). Input: a record of `django.server`;
    output: always True, the record's request line masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and args and isinstance(args[0], str) and "?" in args[0]:
            line = args[0]
            start, end = line.find(" ") + 1, line.rfind(" ")
            if not line[end + 1 :].startswith("HTTP/"):  # HTTP/0.9: the line ends with the target
                end = len(line)
            if 0 < start <= end:
                path, mark, query = line[start:end].partition("?")
                record.args = (f"{line[:start]}{path}{mark}{masked_query(query)}{line[end:]}", *args[1:])
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request id, extras, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for name, value in vars(record).items():
            if name not in _RECORD_ATTRIBUTES and not isinstance(value, socket.socket):  # runserver's
                entry[name] = _loggable(value)
        if record.exc_info and record.exc_info[1] is not None:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json.dumps(entry, default=str, ensure_ascii=False)


def _loggable(value: Any) -> Any:
    """Django passes the request object itself; its method and path are what a reader wants."""
    if isinstance(value, HttpRequest):
        return f"{value.method} {logged_path(value)}"
    if isinstance(value, (str, int, float, bool, type(None), list, dict)):
        return value
    return str(value)


# Query parameters whose value is a credential: the email confirmation link's signed token.
SECRET_PARAMETERS = frozenset({"token"})


def logged_path(request: HttpRequest) -> str:
    """The path and query as the client sent them (Django's `get_full_path`), each
    `SECRET_PARAMETERS` value shown as `***` (`masked_query`): whoever reads the logs must not
    be able to use the link. Reads the raw query: parsing it (`request.GET`) raises past Django's
    1000 fields, and a log line must be written for such a request too. Raises nothing."""
    path, mark, query = request.get_full_path().partition("?")
    return f"{path}{mark}{masked_query(query)}"


def masked_query(query: str) -> str:
    """A raw query string (`a=1&token=x`) with the value of each parameter named in
    `SECRET_PARAMETERS` (however percent-encoded) replaced by `***`, the rest as it was."""
    if "%" not in query and not any(name in query for name in SECRET_PARAMETERS):
        return query
    parts = query.split("&")  # Django's separator (QueryDict, via urllib's parse_qsl)
    for place, part in enumerate(parts):
        name, _, _ = part.partition("=")
        if unquote_plus(name) in SECRET_PARAMETERS:
            parts[place] = f"{name}=***"
    return "&".join(parts)
