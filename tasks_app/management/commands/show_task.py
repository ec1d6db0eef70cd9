"""`show_task`: print one task."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from tasks_app import bootstrap
from tasks_app.application import services
from tasks_app.management.base import TaskCommand


class Command(TaskCommand):
    help = "Print one task by id."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("task_id", help="The task's id (task-<uuid>).")
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        task = services.task_get(task_id=options["task_id"], repository=bootstrap.task_repository())
        self.show(task, as_json=options["json"])
