"""`create_task`: create a task from the shell, through the same service as the API."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from tasks_app import bootstrap
from tasks_app.application import services
from tasks_app.domain.values import Priority
from tasks_app.management.base import TaskCommand, add_field_options


class Command(TaskCommand):
    help = "Create a pending task for a user and publish its TaskCreated event."
    examples = (
        'python manage.py create_task --user alice --title "Renew passport"',
        'python manage.py create_task --user alice --title "File taxes" --priority high '
        "--due 2026-12-01T17:00:00Z --tag home --tag admin --json",
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--user", required=True, help="The owner's user id.")
        parser.add_argument("--title", required=True, help="1 to 200 characters, trimmed.")
        parser.add_argument("--description", default="", help="At most 1000 characters.")
        add_field_options(parser, clearable=False)
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        task = services.task_create(
            user_id=options["user"],
            title=options["title"],
            description=options["description"],
            priority=Priority(options["priority"] or Priority.NORMAL),
            due_at=options["due"],
            tags=options["tag"] or (),
            repository=bootstrap.task_repository(),
            now=bootstrap.utc_now(),
        )
        self.show(task, as_json=options["json"])
