"""Django app configuration for the task API."""

import os

from django.apps import AppConfig


class TasksAppConfig(AppConfig):
    name = "tasks_app"
    verbose_name = "Tasks"

    def ready(self) -> None:
        if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
            from tasks_app import snapstart

            snapstart.install()
