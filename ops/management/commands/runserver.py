"""`runserver` with the local HTTP server of `ops.local.http_server`: chunked bodies, JSON errors."""

from __future__ import annotations

from django.contrib.staticfiles.management.commands.runserver import Command as StaticFilesRunserver

from ops.local.http_server import LocalWSGIServer


class Command(StaticFilesRunserver):
    """Django's `runserver` (staticfiles' version, which it extends) on `LocalWSGIServer`.

    It takes over from staticfiles' command only when `ops` comes before
    `django.contrib.staticfiles` in INSTALLED_APPS: of two apps with a command of the same
    name, Django runs the one listed first.
    """

    help = (
        "Starts the development server, which also serves static files, decodes chunked request "
        "bodies and answers its own HTTP errors (a URL or a header too long) in the JSON error envelope."
    )
    server_cls = LocalWSGIServer
