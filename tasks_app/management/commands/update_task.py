"""`update_task`: edit a task's title, description, priority, due date or tags from the shell."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError

from tasks_app import bootstrap
from tasks_app.application import services
from tasks_app.management.base import TaskCommand, add_field_options, add_if_match, add_task_id, expected_versions

_TEXT_FIELDS = ("title", "description", "priority")


class Command(TaskCommand):
    help = (
        "Change any of a task's title, description, priority, due date and tags, and publish its "
        "TaskUpdated event with the old and new values. Options left out stay as they are; giving "
        "the current values changes nothing and keeps the version."
    )
    examples = (
        "python manage.py update_task task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21 "
        "--priority urgent --due 2026-12-01T17:00:00Z",
        "python manage.py update_task task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21 "
        '--title "New title" --no-tags --if-match 3',
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_task_id(parser)
        parser.add_argument("--title", help="The new title: 1 to 200 characters, trimmed.")
        parser.add_argument("--description", help='The new description, at most 1000 characters ("" clears it).')
        add_field_options(parser, clearable=True)
        add_if_match(parser)
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        changes = requested_changes(options)
        if not changes:
            raise CommandError(
                "Nothing to change: give at least one of --title, --description, --priority, "
                "--due or --no-due, --tag or --no-tags."
            )
        now = bootstrap.utc_now()
        task = services.task_update(
            task_id=options["task_id"],
            changes=changes,
            expected_versions=expected_versions(options),
            repository=bootstrap.task_repository(),
            now=now,
        )
        if task.updated_at != now:  # a change is stamped with `now`; anything else means none was stored
            self.stderr.write(f"Nothing changed: the task already had these values (still version {task.version}).")
        self.show(task, as_json=options["json"])


def requested_changes(options: dict[str, Any]) -> dict[str, Any]:
    """The PATCH body the options amount to: only the fields they name."""
    changes = {name: options[name] for name in _TEXT_FIELDS if options[name] is not None}
    if options["due"] is not None or options["no_due"]:
        changes["due_at"] = options["due"]
    if options["tag"] is not None or options["no_tags"]:
        changes["tags"] = options["tag"] or []
    return changes
