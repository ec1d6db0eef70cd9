"""The local HTTP server's own answers, made as the application makes its: the SPEC §2 envelope in
the bytes DRF renders, the request id the client chose, and the metrics line that is also the
request's access log (`config.request_metrics`).

`ops.local.http_server` answers some requests itself, before the application sees them (a request
line or a header too long, framing it refuses, a body over the limit). A client must not be able
to tell them from the application's answers but by their status and message.
"""

from __future__ import annotations

import uuid
from email.message import Message
from http import HTTPStatus
from urllib.parse import unquote

from django.http import HttpRequest, HttpResponse
from rest_framework.renderers import JSONRenderer

from config.observability import ACCEPTABLE_REQUEST_ID, REQUEST_ID_HEADER
from config.request_metrics import UNMATCHED, access_details, operation
from tasks_app.adapters import metrics
from tasks_app.api.errors import ErrorCode, code_for_status, error_body

# The longest request line or header line `http.server` reads (Django's handler uses the same).
MAX_LINE = 65536


def envelope(status: HTTPStatus, reason: str) -> bytes:
    """The body of the server's answer of `status`: the SPEC §2 error envelope, its message made
    from `reason` (`http.server`'s, or the server's own sentence), in the bytes the application
    renders (DRF's `JSONRenderer`, as configured: compact, UTF-8). Raises nothing."""
    return JSONRenderer().render(error_body(_code_for(status), _message_for(status, reason)))


def request_id_of(headers: Message) -> str:
    """The id of a request with these `headers` (none yet: an empty `Message`), as the application
    gives it (`config.observability.RequestIdMiddleware`): the client's `X-Request-ID` if the app
    would accept it, read as a WSGI server hands it over (values trimmed, several joined by a comma,
    which no accepted id holds), else a new one. Raises nothing."""
    incoming = ",".join(value.strip() for value in headers.get_all(REQUEST_ID_HEADER, []))
    return incoming if ACCEPTABLE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex


def record_answer(*, method: str, target: str, client: str, status: int, latency_ms: float, request_id: str) -> None:
    """The metrics line `config.request_metrics.RequestMetricsMiddleware` writes for each answer of
    the application, for one of the server's: the operation of the route `target` (the request
    line's, path and query) names for `method` (`unmatched` when the request line was not read),
    the access details (method, path with secrets hidden, `status`, the `client` address), the
    `latency_ms` since the request began to arrive, and `request_id`. Nothing with metrics off
    (`POWERTOOLS_METRICS_DISABLED`). Raises nothing."""
    if not metrics.enabled():
        return
    request = HttpRequest()
    request.method = method
    path, _, query = target.partition("?")
    request.path = request.path_info = unquote(path)  # WSGI's PATH_INFO, which routes are matched on
    request.META = {"REMOTE_ADDR": client, "QUERY_STRING": query}
    metrics.record_request(
        operation=operation(request) if method else UNMATCHED,
        status=status,
        latency_ms=latency_ms,
        request_id=request_id,
        details=access_details(request, HttpResponse(status=status)),
    )


def _code_for(status: HTTPStatus) -> ErrorCode:
    """The SPEC's code for `status`; a 5xx that is the request's fault (505 version, 501 transfer
    coding) is a VALIDATION_ERROR, not an INTERNAL_ERROR (a bug)."""
    if status < 500 or status in (HTTPStatus.INTERNAL_SERVER_ERROR, HTTPStatus.SERVICE_UNAVAILABLE):
        return code_for_status(status)
    return ErrorCode.VALIDATION_ERROR


def _message_for(status: HTTPStatus, reason: str) -> str:
    """What the client can do about it: http.server's reasons are terse ("Line too long")."""
    if status == HTTPStatus.REQUEST_URI_TOO_LONG:
        return f"The request line is over {MAX_LINE} bytes: shorten the URL (long input belongs in a JSON body)."
    if status == HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE:
        return f"The request headers are too large ({reason}): at most 100 fields of {MAX_LINE} bytes each."
    if status == HTTPStatus.HTTP_VERSION_NOT_SUPPORTED:
        return f"{reason}: send HTTP/1.1."
    if status == HTTPStatus.BAD_REQUEST and not reason.startswith("The "):
        return f"The request is not valid HTTP: {reason}"
    return reason
