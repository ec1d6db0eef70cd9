"""The API root: links to what is here, for people exploring in a browser."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse


@extend_schema(exclude=True)
@api_view(["GET", "HEAD"])
@permission_classes([AllowAny])  # only links, for people exploring
def api_root(request: Request) -> Response:
    return Response(
        {
            "success": True,
            "data": {
                "tasks": reverse("task-list", request=request),
                "swagger": reverse("swagger-ui", request=request),
                "schema": reverse("openapi-schema", request=request),
            },
        }
    )
