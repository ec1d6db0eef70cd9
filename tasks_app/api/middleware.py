"""A size limit on request bodies, applied before anything reads them."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase, JsonResponse

from tasks_app.api.errors import ErrorCode, error_body


class RequestBodyLimitMiddleware:
    """Answers 413 `PAYLOAD_TOO_LARGE` when `Content-Length` is over `MAX_REQUEST_BODY_BYTES`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.limit: int = settings.MAX_REQUEST_BODY_BYTES

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse(
                error_body(ErrorCode.VALIDATION_ERROR, "The Content-Length header is not a number."), status=400
            )
        if length > self.limit:
            message = f"The body is {length} bytes; the limit is {self.limit}."
            return JsonResponse(error_body(ErrorCode.PAYLOAD_TOO_LARGE, message), status=413)
        return self.get_response(request)
