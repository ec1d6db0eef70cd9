"""Static file URLs that follow the request's path prefix, for Zappa's two ways in."""

from __future__ import annotations

from typing import Any

from django.contrib.staticfiles.storage import StaticFilesStorage
from django.urls import get_script_prefix


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
