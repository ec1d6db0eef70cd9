"""The project's own app config: process-wide hooks that belong to no single app."""

import os

from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """Installs the SnapStart hooks on Lambda, where they must cover both serving apps' clients, and
    X-Ray when TRACING=on: every process that sets Django up (the API, the worker, the Lambda
    handlers) is traced."""

    name = "config"
    verbose_name = "Project wiring"

    def ready(self) -> None:
        if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
            from config import snapstart

            snapstart.install()
        from django.conf import settings

        if getattr(settings, "TRACING", False):
            from tasks_app import tracing

            tracing.install()
