"""Static files for Zappa's two ways in: URLs that follow the request's path prefix, `/favicon.ico`,
and the envelope for every method WhiteNoise does not serve."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import StaticFilesStorage
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import get_script_prefix
from django.views.decorators.csrf import csrf_exempt
from whitenoise.middleware import WhiteNoiseMiddleware  # type: ignore[import-untyped]  # WhiteNoise ships no types
from whitenoise.responders import StaticFile  # type: ignore[import-untyped]

from tasks_app.api.errors import method_not_allowed
from tasks_app.api.metadata import options_response


class PrefixFollowingStaticFilesStorage(StaticFilesStorage):
    """Asset URLs under the prefix of the request being served.

    On the raw execute-api URL every path sits under `/<stage>/`, on a custom domain under
    nothing, and one Lambda instance can serve both. Django's storage, and Django's settings
    themselves, keep STATIC_URL with the prefix of whichever request read it first; this one
    prefixes the relative `relative_url` with the current request's script prefix every time.
    """

    def __init__(self, *args: Any, relative_url: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._relative_url = relative_url

    @property
    def base_url(self) -> str:
        return f"{get_script_prefix()}{self._relative_url}"


FAVICON = "tasks_app/favicon.ico"
_ICON_TYPE = "image/vnd.microsoft.icon"  # IANA's name for .ico, as `mimetypes` and WhiteNoise give it
_FAVICON_METHODS = ("GET", "HEAD")


@csrf_exempt  # nothing to protect: other methods get a JSON 405, not a CSRF failure
def favicon(request: HttpRequest) -> HttpResponseBase:
    """`/favicon.ico`, which browsers request on every page of the browsable API: the icon itself.

    Served here rather than redirected to its STATIC_URL, to save browsers a round trip; the
    route sits under the stage prefix like every other (`/staging/favicon.ico` on the raw
    execute-api URL). Any other method gets the SPEC §2 envelope: OPTIONS its metadata, the rest a 405.
    """
    if request.method == "OPTIONS":
        return options_response(
            name="Favicon", description="The icon browsers show.", allowed=_FAVICON_METHODS, renders=[_ICON_TYPE]
        )
    if request.method not in _FAVICON_METHODS:
        return method_not_allowed(request, _FAVICON_METHODS)
    # A day: browsers ask again often enough to see a new icon, rarely enough to cost nothing.
    return HttpResponse(_favicon_bytes(), content_type=_ICON_TYPE, headers={"Cache-Control": "public, max-age=86400"})


@cache
def _favicon_bytes() -> bytes:
    """The icon's bytes, read once per process from the app's static folder (in the Lambda zip too)."""
    path = finders.find(FAVICON)
    if not isinstance(path, str):
        raise ImproperlyConfigured(f"The static file {FAVICON} is missing: tasks_app/static/ holds it.")
    return Path(path).read_bytes()


_STATIC_METHODS = ("GET", "HEAD")  # what WhiteNoise serves a file to


class EnvelopeWhiteNoiseMiddleware(WhiteNoiseMiddleware):  # type: ignore[misc]  # an untyped base
    """WhiteNoise, whose answer to a method other than GET and HEAD on a static file is an envelope.

    WhiteNoise's own is a bare 405 with no body and no content type; SPEC §2 wants every answer
    in the envelope. OPTIONS gets the success envelope with `Allow`, as on every other path
    (`options_response`); any other method the 405 envelope, as on `/favicon.ico`.
    """

    @staticmethod
    def serve(static_file: StaticFile, request: HttpRequest) -> HttpResponseBase:
        if request.method in _STATIC_METHODS:
            response: HttpResponseBase = WhiteNoiseMiddleware.serve(static_file, request)
            return response
        if request.method == "OPTIONS":
            # The file's own headers, without the request's conditionals (no 304 to an OPTIONS).
            headers = dict(static_file.get_response("HEAD", {}).headers)
            renders = [headers.get("Content-Type", "application/octet-stream")]
            return options_response(
                name="Static file",
                description="An asset of the browsable API.",
                allowed=_STATIC_METHODS,
                renders=renders,
            )
        return method_not_allowed(request, _STATIC_METHODS)
