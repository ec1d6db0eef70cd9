"""The API root: links to what is here, for people exploring in a browser, and how to get in."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.utils.urls import replace_query_param

from tasks_app.api.auth import how_to_authenticate
from tasks_app.api.openapi import LOCAL_EXAMPLE_USER


@extend_schema(exclude=True)
@api_view(["GET", "HEAD"])
@permission_classes([AllowAny])  # only links, for people exploring
def api_root(request: Request) -> Response:
    """Links to a listing that opens as it is, Swagger UI and the schema, and how to authenticate."""
    listing = reverse("task-list", request=request)
    if settings.AUTH_MODE == "none":
        # A listing names its user in this mode: a bare /tasks is a 400, no place to start from.
        listing = replace_query_param(listing, "user_id", LOCAL_EXAMPLE_USER)
    return Response(
        {
            "success": True,
            "data": {
                "tasks": listing,
                "swagger": reverse("swagger-ui", request=request),
                "schema": reverse("openapi-schema", request=request),
                "authentication": how_to_authenticate(request),
            },
        }
    )
