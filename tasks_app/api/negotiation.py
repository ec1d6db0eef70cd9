"""Content negotiation that always finds an answer: unknown `?format=` or `Accept` get JSON."""

from __future__ import annotations

from collections.abc import Iterable

from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


class JsonFallbackNegotiation(DefaultContentNegotiation):
    """An unsatisfiable `Accept` gets the first renderer (JSON) instead of a 406, and an unknown
    `?format=` is ignored instead of being a 404: neither is a missing resource."""

    def filter_renderers(self, renderers: Iterable[BaseRenderer], format: str) -> list[BaseRenderer]:
        renderers = list(renderers)
        return [renderer for renderer in renderers if renderer.format == format] or renderers

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)
        try:
            renderer, media_type = super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            renderer, media_type = renderers[0], renderers[0].media_type
        return renderer, str(media_type)
