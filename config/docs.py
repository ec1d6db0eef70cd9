"""The OpenAPI schema and Swagger UI, imported on first use to keep them off the API's start-up."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from django.http import HttpRequest, HttpResponseBase


@cache
def _schema_view() -> Callable[..., HttpResponseBase]:
    from drf_spectacular.views import SpectacularAPIView

    return SpectacularAPIView.as_view()


@cache
def _swagger_view() -> Callable[..., HttpResponseBase]:
    from drf_spectacular.views import SpectacularSwaggerView

    return SpectacularSwaggerView.as_view(url_name="openapi-schema")


def schema(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
    return _schema_view()(request, *args, **kwargs)


def swagger_ui(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
    return _swagger_view()(request, *args, **kwargs)
