"""OPTIONS answers inside the success envelope, for DRF's views and for the plain Django ones."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.http import HttpResponse
from rest_framework.metadata import SimpleMetadata
from rest_framework.request import Request

if TYPE_CHECKING:  # DRF imports the metadata class while it defines APIView: no import of it at run time
    from rest_framework.views import APIView


class EnvelopeMetadata(SimpleMetadata):
    """DRF's OPTIONS answer, as `{"success": true, "data": {...}}` (SPEC §2: every answer, OPTIONS
    included, is an envelope). DRF's view sends the `Allow` header with it.

    `parses` lists only what API clients may send, JSON: the browsable API's form parsers
    (`browser_only`) are for its own pages, as in the schema.
    """

    def determine_metadata(self, request: Request, view: APIView) -> dict[str, Any]:
        metadata: dict[str, Any] = super().determine_metadata(request, view)
        metadata["parses"] = [
            parser.media_type for parser in view.parser_classes if not getattr(parser, "browser_only", False)
        ]
        return {"success": True, "data": metadata}


def options_response(*, name: str, description: str, allowed: Sequence[str], renders: Sequence[str]) -> HttpResponse:
    """The OPTIONS answer of a plain Django view, shaped like `EnvelopeMetadata`'s, with `Allow`.

    `allowed` are the methods the view answers (OPTIONS is added), `renders` the media types it
    sends; such a view parses no body.
    """
    # Here, not at the top: errors imports DRF's APIView, which imports this module's metadata class.
    from tasks_app.api.errors import json_answer

    methods = [*allowed, *([] if "OPTIONS" in allowed else ["OPTIONS"])]
    data = {"name": name, "description": description, "renders": list(renders), "parses": []}
    return json_answer({"success": True, "data": data}, headers={"Allow": ", ".join(methods)})
