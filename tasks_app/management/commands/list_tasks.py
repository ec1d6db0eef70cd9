"""`list_tasks`: print a user's tasks, newest first or soonest due, filtered, a page at a time or all."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from tasks_app import bootstrap
from tasks_app.application import services
from tasks_app.application.ports import Page, TaskFilters, TaskSort
from tasks_app.domain.task import Task
from tasks_app.domain.values import Priority
from tasks_app.management.base import PRIORITIES, ListingCommand, rfc3339, statuses, task_line


class Command(ListingCommand):
    help = (
        "List a user's tasks (not those in the trash), newest first or soonest due, optionally "
        "filtered by status, priority, tag and due date. Filtered pages may come back short: "
        "`--all` follows the cursors to the end."
    )
    examples = (
        "python manage.py list_tasks --user alice",
        "python manage.py list_tasks --user alice --status pending,in_progress --sort due_at",
        "python manage.py list_tasks --user alice --tag home --due-before 2026-12-01T00:00:00Z --all --json",
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--status", type=statuses, help="One or more statuses, comma-separated.")
        parser.add_argument("--priority", choices=PRIORITIES, help="Only tasks of this priority.")
        parser.add_argument("--tag", help="Only tasks with this tag.")
        parser.add_argument("--due-before", type=rfc3339, metavar="AT", help="Only tasks due before this time.")
        parser.add_argument("--due-after", type=rfc3339, metavar="AT", help="Only tasks due after this time.")
        parser.add_argument(
            "--sort",
            choices=[sort.value for sort in TaskSort],
            default=TaskSort.NEWEST_FIRST.value,
            help="-created_at: newest first (the default); due_at: soonest due first, undated last. "
            "Write --sort=-created_at, with the =.",
        )

    def page(self, options: dict[str, Any], cursor: str | None) -> Page:
        filters = TaskFilters(
            statuses=options["status"] or (),
            priority=Priority(options["priority"]) if options["priority"] else None,
            tag=(options["tag"] or "").strip().lower() or None,
            due_before=options["due_before"],
            due_after=options["due_after"],
        )
        return services.task_list(
            user_id=options["user"],
            limit=options["limit"],
            cursor=cursor,
            filters=filters,
            sort=TaskSort(options["sort"]),
            repository=bootstrap.task_repository(),
        )

    def line(self, task: Task) -> str:
        return task_line(task)
