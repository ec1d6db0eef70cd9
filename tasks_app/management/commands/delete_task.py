"""`delete_task`: move a task to the trash from the shell, through the same service as the API."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from tasks_app import bootstrap
from tasks_app.application import services
from tasks_app.management.base import (
    TRASH_DAYS,
    AwsCommand,
    add_if_match,
    add_task_id,
    describe_task,
    expected_versions,
)


class Command(AwsCommand):
    help = (
        f"Move a task to the trash and publish its TaskDeleted event. It leaves listings and reads, "
        f"keeps its history, and `restore_task` brings it back as it was for {TRASH_DAYS} days; "
        f"then it is purged."
    )
    examples = (
        "python manage.py delete_task task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21",
        "python manage.py delete_task task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21 --if-match 4",
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_task_id(parser)
        add_if_match(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        task = services.task_delete(
            task_id=options["task_id"],
            expected_versions=expected_versions(options),
            repository=bootstrap.task_repository(),
            now=bootstrap.utc_now(),
        )
        self.stdout.write(describe_task(task))
        self.stdout.write(f"Moved to the trash. Undo: python manage.py restore_task {task.task_id}")
