"""`show_task`: print one task."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from tasks_app import bootstrap
from tasks_app.application import services
from tasks_app.management.base import TaskCommand, add_task_id


class Command(TaskCommand):
    help = "Print one task by id: its fields, version and status; deleted tasks are shown by `list_trash`."
    examples = (
        "python manage.py show_task task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21",
        "python manage.py show_task task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21 --json",
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_task_id(parser)
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        task = services.task_get(task_id=options["task_id"], repository=bootstrap.task_repository())
        self.show(task, as_json=options["json"])
