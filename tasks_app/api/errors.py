"""The error envelope: one exception handler for DRF views, and JSON views for Django's errors."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from enum import StrEnum
from http import HTTPStatus
from typing import Any

from django.core.exceptions import DisallowedHost, RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.permissions import SAFE_METHODS
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from tasks_app.application.access import AccessDenied
from tasks_app.application.idempotency import IdempotencyKeyInUse, IdempotencyKeyReused
from tasks_app.application.ports import ConcurrentUpdate, DependencyUnavailable
from tasks_app.domain.errors import (
    DomainError,
    InvalidCursor,
    InvalidTransition,
    InvalidValue,
    NotFound,
    VersionMismatch,
)

logger = logging.getLogger(__name__)

INTERNAL_ERROR_MESSAGE = "Something went wrong on our side. Quote the X-Request-ID header if you report it."


class ErrorCode(StrEnum):
    """The `error.code` of the envelope (SPEC §2): the one list, with each code's HTTP status."""

    VALIDATION_ERROR = "VALIDATION_ERROR"
    NOT_AUTHENTICATED = "NOT_AUTHENTICATED"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    PRECONDITION_FAILED = "PRECONDITION_FAILED"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    THROTTLED = "THROTTLED"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    INTERNAL_ERROR = "INTERNAL_ERROR"

    @property
    def status(self) -> int:
        """The HTTP status this code is sent with."""
        return _STATUS_OF[self]


_STATUS_OF = {
    ErrorCode.VALIDATION_ERROR: 400,
    ErrorCode.NOT_AUTHENTICATED: 401,
    ErrorCode.PERMISSION_DENIED: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.INVALID_TRANSITION: 409,
    ErrorCode.PRECONDITION_FAILED: 412,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.IDEMPOTENCY_KEY_REUSED: 422,
    ErrorCode.THROTTLED: 429,
    ErrorCode.INTERNAL_ERROR: 500,
    ErrorCode.SERVICE_UNAVAILABLE: 503,
}
_CODE_OF = {status: code for code, status in _STATUS_OF.items()}

# DRF's exceptions in the order they are matched; `ValidationError` before its base class.
_DRF_CODES: list[tuple[type[exceptions.APIException], ErrorCode]] = [
    (exceptions.ValidationError, ErrorCode.VALIDATION_ERROR),
    (exceptions.ParseError, ErrorCode.VALIDATION_ERROR),
    (exceptions.NotAuthenticated, ErrorCode.NOT_AUTHENTICATED),
    (exceptions.AuthenticationFailed, ErrorCode.NOT_AUTHENTICATED),
    (exceptions.PermissionDenied, ErrorCode.PERMISSION_DENIED),
    (exceptions.NotFound, ErrorCode.NOT_FOUND),
    (exceptions.MethodNotAllowed, ErrorCode.METHOD_NOT_ALLOWED),
    (exceptions.UnsupportedMediaType, ErrorCode.UNSUPPORTED_MEDIA_TYPE),
    (exceptions.Throttled, ErrorCode.THROTTLED),
]


# The application's refusals, by class (SPEC §2's table).
_DOMAIN_CODES: list[tuple[type[DomainError], ErrorCode]] = [
    (AccessDenied, ErrorCode.PERMISSION_DENIED),
    (NotFound, ErrorCode.NOT_FOUND),  # a task, or another app's resource (a webhook)
    (InvalidTransition, ErrorCode.INVALID_TRANSITION),
    (ConcurrentUpdate, ErrorCode.INVALID_TRANSITION),
    (IdempotencyKeyReused, ErrorCode.IDEMPOTENCY_KEY_REUSED),
]


def entity_tag(version: int) -> str:
    """A task's ETag (SPEC §2): its version, quoted, as a strong entity tag."""
    return f'"{version}"'


def code_for_status(status_code: int) -> ErrorCode:
    """The code for an HTTP error status; one without its own code is a validation error (4xx) or internal (5xx)."""
    default = ErrorCode.INTERNAL_ERROR if status_code >= 500 else ErrorCode.VALIDATION_ERROR
    return _CODE_OF.get(status_code, default)


def error_body(code: ErrorCode, message: str, details: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """The SPEC §2 error envelope: `{"success": false, "error": {"message", "code", "details"?}}`."""
    error: dict[str, Any] = {"message": message, "code": code.value}
    if details:
        error["details"] = details
    return {"success": False, "error": error}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: every exception a view raises leaves in the error envelope."""
    if isinstance(exc, DomainError):
        return _domain_error_response(exc)
    if isinstance(exc, DependencyUnavailable):
        request = context.get("request")
        return _unavailable_response(exc, changes=getattr(request, "method", "GET") not in SAFE_METHODS)
    if isinstance(exc, SuspiciousOperation):
        return _suspicious_request_response(exc)
    # DRF's own handler knows the headers (Retry-After, WWW-Authenticate) and maps Http404.
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.error("Unhandled exception in %s", _view_name(context), exc_info=exc)
        return Response(_internal_error(), status=500)
    # DRF answers Django's Http404 and PermissionDenied like its own NotFound and PermissionDenied.
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response.data = _api_exception_body(exc) if isinstance(exc, exceptions.APIException) else _internal_error()
    return response


def _domain_error_response(exc: DomainError) -> Response:
    if isinstance(exc, InvalidValue):
        body = error_body(ErrorCode.VALIDATION_ERROR, "The request is not valid.", {exc.field: [exc.message]})
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, InvalidCursor):
        return Response(error_body(ErrorCode.VALIDATION_ERROR, str(exc), {"cursor": [str(exc)]}), status=400)
    if isinstance(exc, IdempotencyKeyInUse):
        # The first request with the key is still being written: its answer is seconds away, and
        # a retry with the same key gets it (the IETF draft on Idempotency-Key says 409 for this).
        body = error_body(ErrorCode.INVALID_TRANSITION, str(exc))
        return Response(body, status=status.HTTP_409_CONFLICT, headers={"Retry-After": "1"})
    if isinstance(exc, VersionMismatch):
        # The current ETag lets the client read, merge and retry without another round trip.
        headers = {"ETag": entity_tag(exc.current_version)}
        return Response(error_body(ErrorCode.PRECONDITION_FAILED, str(exc)), status=412, headers=headers)
    code = next((code for kind, code in _DOMAIN_CODES if isinstance(exc, kind)), None)
    if code is not None:
        return Response(error_body(code, str(exc)), status=code.status)
    logger.error("Domain error without an HTTP mapping", exc_info=exc)
    return Response(_internal_error(), status=500)


def _unavailable_response(exc: DependencyUnavailable, *, changes: bool) -> Response:
    """503 `SERVICE_UNAVAILABLE` with `Retry-After` for an outage of DynamoDB or SNS (SPEC §2).

    A change (`changes`: not GET, HEAD or OPTIONS) that timed out may still have been applied:
    its message says how to retry safely.
    """
    logger.warning("Answered 503: %s", exc, extra={"dependency": exc.dependency, "retry_after": exc.retry_after})
    message = f"The service is unavailable right now; try again in {exc.retry_after} s."
    if changes:
        message += " The change may have been applied: retry it with the same Idempotency-Key to be safe."
    return Response(
        error_body(ErrorCode.SERVICE_UNAVAILABLE, message), status=503, headers={"Retry-After": str(exc.retry_after)}
    )


def _suspicious_request_response(exc: SuspiciousOperation) -> Response:
    """Requests Django refuses to parse (too many fields, too large, bad host) are the client's doing."""
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body(ErrorCode.PAYLOAD_TOO_LARGE, "The body is over the size limit."), status=413)
    logger.warning("Refused a suspicious request: %s", exc)
    if isinstance(exc, TooManyFieldsSent):
        message = "The request has too many query or form parameters."
    else:
        message = "The request is not valid."
    return Response(error_body(ErrorCode.VALIDATION_ERROR, message), status=400)


def _internal_error() -> dict[str, Any]:
    return error_body(ErrorCode.INTERNAL_ERROR, INTERNAL_ERROR_MESSAGE)


def _api_exception_body(exc: exceptions.APIException) -> dict[str, Any]:
    code = next((code for kind, code in _DRF_CODES if isinstance(exc, kind)), code_for_status(exc.status_code))
    if isinstance(exc, exceptions.ValidationError):
        return error_body(code, "The request is not valid.", _field_messages(exc.detail))
    if isinstance(exc, exceptions.ParseError):
        return error_body(code, f"The body is not valid JSON: {exc.detail}")
    return error_body(code, str(exc.detail))


def _field_messages(detail: Any) -> dict[str, list[str]]:
    """DRF's error detail as `{field: [message, ...]}`; errors not tied to a field go under `non_field_errors`."""
    if isinstance(detail, dict):
        return {str(field): _messages(value) for field, value in detail.items()}
    return {"non_field_errors": _messages(detail)}


def _messages(detail: Any) -> list[str]:
    if isinstance(detail, list):
        return [message for item in detail for message in _messages(item)]
    if isinstance(detail, dict):
        return [f"{key}: {message}" for key, value in detail.items() for message in _messages(value)]
    return [str(detail)]


def _view_name(context: dict[str, Any]) -> str:
    view = context.get("view")
    return type(view).__name__ if view is not None else "an unknown view"


def json_answer(data: dict[str, Any], *, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    """An answer made outside DRF's views (middleware, plain Django views, Django's error views)
    in the bytes DRF's views send for the same `data` (its `JSONRenderer` as configured: compact,
    UTF-8, `application/json`), with its `Content-Length`, so that a client cannot tell them
    apart but by status and message, and a kept-alive connection knows where it ends."""
    rendered = JSONRenderer().render(data)
    response = HttpResponse(rendered, status=status, content_type="application/json", headers=headers)
    response["Content-Length"] = str(len(response.content))
    return response


def method_not_allowed(request: HttpRequest, allowed: Sequence[str]) -> HttpResponse:
    """The 405 envelope (SPEC §2) of a plain Django view answering `allowed` (OPTIONS added), with
    `Allow` (RFC 9110 §15.5.6)."""
    methods = [*allowed, *([] if "OPTIONS" in allowed else ["OPTIONS"])]
    body = error_body(ErrorCode.METHOD_NOT_ALLOWED, f'Method "{request.method}" not allowed.')
    return json_answer(body, status=405, headers={"Allow": ", ".join(methods)})


# Django's own error views (outside DRF): unknown paths, bad hosts, crashes in middleware.
# Each answers in the envelope, negotiated like the API's answers: JSON for API clients, DRF's
# browsable rendering of the same envelope for a browser (SPEC §2: browsers get the browsable API).


class _ErrorPage(APIView):
    """Answers any method with the envelope it is handed (`envelope=`, `status=`), through DRF's
    content negotiation and renderers. No authentication, permission or throttle: the error is
    the answer, whoever asks."""

    authentication_classes = ()
    permission_classes = ()
    throttle_classes = ()
    # No method of its own: DRF sends every method to `http_method_not_allowed`, which answers.
    http_method_names: list[str] = []

    def http_method_not_allowed(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Response:
        return Response(kwargs["envelope"], status=kwargs["status"])

    def get_view_name(self) -> str:
        return HTTPStatus(self.kwargs.get("status", 404)).phrase

    def get_view_description(self, html: bool = False) -> str:
        return ""

    @property
    def default_response_headers(self) -> dict[str, str]:
        # DRF's, without an empty `Allow`: the path has no methods, and the 404 says so already.
        return {"Vary": "Accept"}


_error_page = _ErrorPage.as_view()


def _error_response(request: HttpRequest, code: ErrorCode, message: str) -> HttpResponseBase:
    """The envelope for `code`, rendered for whoever asked; plain JSON if rendering it fails.

    An error view that raised would turn a 404 into a 500 (and a 500 into Django's bare one), so
    any failure of the page falls back to the JSON every client can read, and is logged.
    """
    body = error_body(code, message)
    try:
        response = _error_page(request, envelope=body, status=code.status)
        response.render()
    except Exception:  # whatever the page raised: see the docstring
        logger.exception("The %s error page could not be rendered; answered plain JSON", code.status)
        return json_answer(body, status=code.status)
    return response


@csrf_exempt  # the catch-all route: a POST to an unknown path is a 404, not a CSRF failure
def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponseBase:
    """The 404 of an unknown path (the last route) and of Django's `Http404` outside DRF, any method."""
    # The path as asked, cut short: a 64 KB URL need not come back whole in its own 404.
    path = request.path if len(request.path) <= 200 else f"{request.path[:200]}…"
    return _error_response(request, ErrorCode.NOT_FOUND, f"There is nothing at {path}.")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 400 (a Host not in ALLOWED_HOSTS, a request it will not parse): JSON only.

    Never the browsable page: drawing it reads the same host and body again, and fails as the
    request did.
    """
    message = "The request is not valid."
    if isinstance(exception, DisallowedHost):
        # Say which header, not which hosts: the list is the operator's (ALLOWED_HOSTS, API_DOMAIN).
        message = "The Host header names a host this API does not serve."
    return json_answer(error_body(ErrorCode.VALIDATION_ERROR, message), status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponseBase:
    """Django's 403 (`PermissionDenied` raised outside DRF)."""
    return _error_response(request, ErrorCode.PERMISSION_DENIED, "You may not do this.")


def server_error(request: HttpRequest) -> HttpResponseBase:
    """Django's 500 (a crash outside DRF's exception handler): the generic message, never the error."""
    return _error_response(request, ErrorCode.INTERNAL_ERROR, INTERNAL_ERROR_MESSAGE)
