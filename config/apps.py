"""The project's own app config: process-wide hooks that belong to no single app."""

import os

from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """Installs the SnapStart hooks on Lambda, where they must cover both serving apps' clients, and
    X-Ray when TRACING=on: every process that sets Django up (the API, the worker, the Lambda
    handlers) is traced. Without a database, drops Django's per-request database housekeeping."""

    name = "config"
    verbose_name = "Project wiring"

    def ready(self) -> None:
        if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
            from config import snapstart

            snapstart.install()
        from django.conf import settings

        if not settings.DATABASES:
            _without_database_housekeeping()
        if getattr(settings, "TRACING", False):
            from tasks_app import tracing

            tracing.install()


def _without_database_housekeeping() -> None:
    """Disconnects what `django.db` connects to every request's start and end (`reset_queries`,
    `close_old_connections`): with `DATABASES = {}` (STACK-NOTES: the project keeps its data in
    DynamoDB) they loop over no connection, yet each request still dispatches to them, about
    20 us of a warm request's 600 outside DynamoDB (issue 12). Other receivers stay."""
    from django.core import signals
    from django.db import close_old_connections, reset_queries

    signals.request_started.disconnect(reset_queries)
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
