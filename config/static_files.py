"""Static file URLs that follow the request's path prefix, for Zappa's two ways in."""

from __future__ import annotations

from django.conf import settings
from django.contrib.staticfiles.storage import StaticFilesStorage


class PrefixFollowingStaticFilesStorage(StaticFilesStorage):
    """Asset URLs under the prefix of the request being served.

    On the raw execute-api URL every path sits under `/<stage>/`, on a custom domain under
    nothing, and one Lambda instance can serve both. Django adds the current request's script
    prefix each time `settings.STATIC_URL` is read, but Django's storage reads it once and keeps
    the first request's prefix; this one reads it every time.
    """

    @property
    def base_url(self) -> str:
        return str(settings.STATIC_URL)
