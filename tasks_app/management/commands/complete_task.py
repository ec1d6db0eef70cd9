"""`complete_task`: complete a task from the shell, through the same service as the API."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from tasks_app import bootstrap
from tasks_app.application import services
from tasks_app.management.base import TaskCommand


class Command(TaskCommand):
    help = "Complete a pending or in-progress task and publish its TaskStatusChanged and TaskCompleted events."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("task_id", help="The task's id (task-<uuid>).")
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        task = services.task_complete(
            task_id=options["task_id"],
            repository=bootstrap.task_repository(),
            relay=bootstrap.relay_quietly,
            now=bootstrap.utc_now(),
        )
        self.show(task, as_json=options["json"])
