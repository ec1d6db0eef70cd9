"""Content negotiation that always finds an answer: unknown `?format=` or `Accept` get JSON."""

from __future__ import annotations

from collections.abc import Iterable

from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

# Answers remembered: (format, Accept, the renderers' classes) -> (the renderer's place, media type).
# Bounded, since `Accept` is whatever a client sends; past the bound, answers are worked out again.
# No lock: threads racing past the bound add a few answers more at most, and dict writes are atomic.
_CHOICES_KEPT = 256
_choices: dict[tuple[str | None, str, tuple[type[BaseRenderer], ...]], tuple[int, str]] = {}


class JsonFallbackNegotiation(DefaultContentNegotiation):
    """An unsatisfiable `Accept` gets the first renderer (JSON) instead of a 406, and an unknown
    `?format=` is ignored instead of being a 404: neither is a missing resource."""

    def filter_renderers(self, renderers: Iterable[BaseRenderer], format: str) -> list[BaseRenderer]:
        renderers = list(renderers)
        return [renderer for renderer in renderers if renderer.format == format] or renderers

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        """DRF's choice, remembered: it depends only on the format asked for, the `Accept` header
        and the renderers offered, and working it out parses every media type again (0.1 ms of
        every request, issue 12). Returns this request's renderer and the accepted media type."""
        renderers = list(renderers)
        asked = format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
        key = (asked, request.META.get("HTTP_ACCEPT", "*/*"), tuple(type(renderer) for renderer in renderers))
        chosen = _choices.get(key)
        if chosen is None:
            renderer, media_type = self._negotiated(request, renderers, format_suffix)
            chosen = (next(place for place, offered in enumerate(renderers) if offered is renderer), media_type)
            if len(_choices) < _CHOICES_KEPT:
                _choices[key] = chosen
        place, media_type = chosen
        return renderers[place], media_type

    def _negotiated(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None
    ) -> tuple[BaseRenderer, str]:
        try:
            renderer, media_type = super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            renderer, media_type = renderers[0], renderers[0].media_type
        return renderer, str(media_type)
