"""Views of the OpenAPI schema and Swagger UI, imported on first use to keep them off the API's start-up.

drf-spectacular renders its own errors as YAML or HTML; here every error leaves as the JSON
envelope instead, OPTIONS answers in the envelope too, and methods other than GET, HEAD and
OPTIONS are refused before the views see them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cache
from http import HTTPStatus
from typing import Any

from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from tasks_app.api.errors import code_for_status, error_body, method_not_allowed
from tasks_app.api.metadata import options_response

View = Callable[..., HttpResponseBase]
_READ_METHODS = ("GET", "HEAD")
# What each page is, for its OPTIONS answer: name, description, the media types it renders.
_SCHEMA_PAGE = (
    "OpenAPI schema",
    "The OpenAPI 3 document of this API: YAML, or JSON with ?format=json.",
    ("application/vnd.oai.openapi", "application/yaml", "application/vnd.oai.openapi+json", "application/json"),
)
_SWAGGER_PAGE = ("Swagger UI", "Interactive documentation of this API, working offline.", ("text/html",))


@cache
def _schema_view() -> View:
    from drf_spectacular.views import SpectacularAPIView
    from rest_framework.request import Request
    from rest_framework.response import Response

    class SchemaOncePerProcess(SpectacularAPIView):
        """drf-spectacular's schema view, generating the document once per process and per
        `_document_key()` (0.25-1.6 s each time otherwise), with each request's own `servers`."""

        def _get_schema_response(self, request: Request) -> Response:
            key = _document_key()
            with _DOCUMENTS_LOCK:
                document = _DOCUMENTS.get(key)
                if document is None:
                    document = _DOCUMENTS[key] = super()._get_schema_response(request).data  # type: ignore[no-untyped-call]
            filename = self._get_filename(request, None)  # type: ignore[no-untyped-call]
            return Response(
                data=with_servers(document, request), headers={"Content-Disposition": f'inline; filename="{filename}"'}
            )

    return SchemaOncePerProcess.as_view()


# Documents by the settings they depend on. A handful at most: the auth modes a test suite
# switches between. The lock keeps two first requests from building the same one twice.
_DOCUMENTS: dict[tuple[str, ...], dict[str, Any]] = {}
_DOCUMENTS_LOCK = threading.Lock()


def _document_key() -> tuple[str, ...]:
    """What the generated document depends on besides the code: the auth mode (security and
    examples), the URLs, drf-spectacular's and DRF's settings and the active language."""
    from django.conf import settings
    from django.utils import translation

    return (
        str(settings.AUTH_MODE),
        str(settings.ROOT_URLCONF),
        repr(sorted(getattr(settings, "SPECTACULAR_SETTINGS", {}).items())),
        repr(sorted(getattr(settings, "REST_FRAMEWORK", {}).items())),
        str(translation.get_language()),
    )


def with_servers(document: dict[str, Any], request: HttpRequest) -> dict[str, Any]:
    """The document with the `servers` of this request: its script prefix, which is the stage
    (`/staging`) behind API Gateway's own URL (SPEC §2: paths are relative to the API root).

    At the root (a custom domain, a local server) there is no `servers` at all: OpenAPI then
    means `/` on the host the document came from, as Swagger UI and schemathesis read it, where
    an explicit `"/"` would be joined into `//tasks` by some clients. The cached document is
    never changed: a shallow copy carries the request's servers.
    """
    prefix = request.path[: len(request.path) - len(request.path_info)].rstrip("/")
    if not prefix:
        return document
    return {**document, "servers": [{"url": prefix}]}


@cache
def _swagger_view() -> View:
    from drf_spectacular.views import SpectacularSwaggerView

    return SpectacularSwaggerView.as_view(url_name="openapi-schema")


@csrf_exempt  # read-only: other methods get a JSON 405, not a CSRF failure
def schema(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
    """GET /api/schema (SPEC §2): the OpenAPI document, built once per process, with this request's servers."""
    return _serve(_schema_view, _SCHEMA_PAGE, request, *args, **kwargs)


@csrf_exempt
def swagger_ui(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
    """GET /swagger (SPEC §2): Swagger UI, with its assets from this server."""
    return _serve(_swagger_view, _SWAGGER_PAGE, request, *args, **kwargs)


def _serve(
    view: Callable[[], View], page: tuple[str, str, tuple[str, ...]], request: HttpRequest, *args: Any, **kwargs: Any
) -> HttpResponseBase:
    if request.method == "OPTIONS":  # SPEC §2: OPTIONS answers in the envelope too
        name, description, renders = page
        return options_response(name=name, description=description, allowed=_READ_METHODS, renders=renders)
    if request.method not in _READ_METHODS:
        return method_not_allowed(request, _READ_METHODS)
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
