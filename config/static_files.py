"""Static files for Zappa's two ways in: URLs that follow the request's path prefix, and `/favicon.ico`."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import StaticFilesStorage
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.urls import get_script_prefix
from django.views.decorators.csrf import csrf_exempt

from tasks_app.api.errors import ErrorCode, error_body
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
        body = error_body(ErrorCode.METHOD_NOT_ALLOWED, f'Method "{request.method}" not allowed.')
        return JsonResponse(body, status=405, headers={"Allow": ", ".join((*_FAVICON_METHODS, "OPTIONS"))})
    # A day: browsers ask again often enough to see a new icon, rarely enough to cost nothing.
    return HttpResponse(_favicon_bytes(), content_type=_ICON_TYPE, headers={"Cache-Control": "public, max-age=86400"})


@cache
def _favicon_bytes() -> bytes:
    """The icon's bytes, read once per process from the app's static folder (in the Lambda zip too)."""
    path = finders.find(FAVICON)
    if not isinstance(path, str):
        raise ImproperlyConfigured(f"The static file {FAVICON} is missing: tasks_app/static/ holds it.")
    return Path(path).read_bytes()
