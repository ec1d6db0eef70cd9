"""Views of the OpenAPI schema and Swagger UI, imported on first use to keep them off the API's start-up.

drf-spectacular renders its own errors as YAML or HTML; here every error leaves as the JSON
envelope instead, and methods other than GET and HEAD are refused before the views see them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from http import HTTPStatus
from typing import Any

from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from tasks_app.api.errors import ErrorCode, code_for_status, error_body

View = Callable[..., HttpResponseBase]
_READ_METHODS = ("GET", "HEAD")


@cache
def _schema_view() -> View:
    from drf_spectacular.views import SpectacularAPIView

    return SpectacularAPIView.as_view()


@cache
def _swagger_view() -> View:
    from drf_spectacular.views import SpectacularSwaggerView

    return SpectacularSwaggerView.as_view(url_name="openapi-schema")


@csrf_exempt  # read-only: other methods get a JSON 405, not a CSRF failure
def schema(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
    return _serve(_schema_view, request, *args, **kwargs)


@csrf_exempt
def swagger_ui(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
    return _serve(_swagger_view, request, *args, **kwargs)


def _serve(view: Callable[[], View], request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
    if request.method not in _READ_METHODS:
        body = error_body(ErrorCode.METHOD_NOT_ALLOWED, f'Method "{request.method}" not allowed.')
        return JsonResponse(body, status=405, headers={"Allow": ", ".join(_READ_METHODS)})
    response = view()(request, *args, **kwargs)
    if response.status_code < 400:
        return response
    data = getattr(response, "data", None)  # DRF's Response, before rendering: our envelope
    if not (isinstance(data, dict) and data.get("success") is False):
        data = error_body(code_for_status(response.status_code), HTTPStatus(response.status_code).phrase)
    envelope = JsonResponse(data, status=response.status_code)
    for header in ("Retry-After", "WWW-Authenticate", "Allow"):  # what DRF's handler set for the client
        if header in response:
            envelope[header] = response[header]
    return envelope
