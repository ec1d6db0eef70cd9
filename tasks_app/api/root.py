"""The API root: links to what is here, for people exploring in a browser, and how to get in."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from tasks_app.api.auth import how_to_authenticate
from tasks_app.api.openapi import LOCAL_EXAMPLE_USER


class ApiRoot(APIView):
    """Links to a listing that opens as it is, Swagger UI and the schema, and how to authenticate."""

    # A class, not `@api_view(["GET", "HEAD"])`: DRF's decorator keeps the methods in a set, so
    # the `Allow` header of OPTIONS and of a 405 listed them in an order that changed from process
    # to process (hash randomisation). A class lists its handlers in `http_method_names` order,
    # as every other view here does: GET, HEAD, OPTIONS.
    permission_classes = [AllowAny]  # only links, for people exploring

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
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


api_root = ApiRoot.as_view()
