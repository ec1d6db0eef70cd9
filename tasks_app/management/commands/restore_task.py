"""`restore_task`: take a task out of the trash from the shell, through the same service as the API."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from tasks_app import bootstrap
from tasks_app.application import services
from tasks_app.management.base import TRASH_DAYS, TaskCommand, add_task_id


class Command(TaskCommand):
    help = (
        f"Take a deleted task out of the trash exactly as it was (one version later) and publish its "
        f"TaskRestored event. Possible for {TRASH_DAYS} days after the deletion."
    )
    examples = (
        "python manage.py list_trash --user alice",
        "python manage.py restore_task task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21 --json",
    )
    not_found_hint = (
        "Only a task in the trash can be restored: `python manage.py list_trash --user <owner>` lists "
        f"them. Tasks deleted more than {TRASH_DAYS} days ago are gone for good."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_task_id(parser)
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        task = services.task_restore(
            task_id=options["task_id"],
            repository=bootstrap.task_repository(),
            now=bootstrap.utc_now(),
        )
        self.show(task, as_json=options["json"])
