"""The project's own app config: process-wide hooks that belong to no single app."""

import os

from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """Installs the SnapStart hooks on Lambda, where they must cover both serving apps' clients."""

    name = "config"
    verbose_name = "Project wiring"

    def ready(self) -> None:
        if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
            from config import snapstart

            snapstart.install()
