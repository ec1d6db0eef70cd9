"""A size limit on request bodies, applied before anything reads them; CORS preflights in the envelope;
the rate limit's answer once a request's count is in."""

from __future__ import annotations

from collections.abc import Callable

from corsheaders.conf import conf as cors_conf
from corsheaders.middleware import CorsMiddleware
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.urls import Resolver404, resolve

from tasks_app.api.errors import ErrorCode, error_body, exception_handler, json_answer, not_found
from tasks_app.api.throttling import RequestCount


class RequestBodyLimitMiddleware:
    """Answers 413 `PAYLOAD_TOO_LARGE` when `Content-Length` is over `MAX_REQUEST_BODY_BYTES`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.limit: int = settings.MAX_REQUEST_BODY_BYTES

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return json_answer(
                error_body(ErrorCode.VALIDATION_ERROR, "The Content-Length header is not a number."), status=400
            )
        if length > self.limit:
            message = f"The body is {length} bytes; the limit is {self.limit}."
            return json_answer(error_body(ErrorCode.PAYLOAD_TOO_LARGE, message), status=413)
        return self.get_response(request)


class EnvelopeCorsMiddleware(CorsMiddleware):
    """django-cors-headers, whose answer to a CORS preflight is the success envelope (SPEC §2).

    Its own is a 200 with an empty `text/html` body, on any path. Here a preflight to a route
    of the URLconf (its catch-all 404 aside) is answered at once, 200 in the envelope: the
    browser sends no credentials with a preflight, so it must not reach a view that would ask
    for them (DRF checks permissions on OPTIONS too). Any other path is left to the rest of the stack, where OPTIONS
    gets what it gets without CORS: a static file its metadata, an unknown path the 404
    envelope (a preflight to nothing fails, as the request itself would). The CORS headers are
    added by corsheaders to either answer, unchanged.
    """

    def check_preflight(self, request: HttpRequest) -> HttpResponseBase | None:
        preflight = super().check_preflight(request)
        if preflight is None:
            return None
        try:
            match = resolve(request.path_info, getattr(request, "urlconf", None))
        except Resolver404:
            return None
        if match.func is not_found:  # the URLconf's last route, which catches every unknown path
            return None
        data = {
            "name": "CORS preflight",
            "description": "Which methods and headers a cross-origin request may use; the CORS headers say the same.",
            "methods": list(cors_conf.CORS_ALLOW_METHODS),
            "headers": list(cors_conf.CORS_ALLOW_HEADERS),
        }
        return json_answer({"success": True, "data": data})


class RateLimitMiddleware:
    """Settles each request's one rate-limit count (`tasks_app.api.throttling`) around the view.

    Listed last in MIDDLEWARE, so it wraps the view alone: it gives the request a
    `RequestCount` for DRF's throttle to start, and once the view has answered, waits for a
    take still running (one a view ran meanwhile) or counts a 401 nothing counted. Over the
    limit, the view's answer is replaced by the 429 envelope with `Retry-After`, and an
    unreachable counter by the 503 one (SPEC §2): nothing the view read leaves.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        count = RequestCount.attach(request)
        response = self.get_response(request)
        refusal = count.refusal(request, response.status_code)
        if refusal is None:
            return response
        # The API's own exception handler, so these answers are the ones DRF's views give.
        answer = exception_handler(refusal, {"request": request})
        replaced = json_answer(answer.data, status=answer.status_code)
        if "Retry-After" in answer:
            replaced["Retry-After"] = answer["Retry-After"]
        return replaced
