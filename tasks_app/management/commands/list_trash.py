"""`list_trash`: print a user's deleted tasks, latest deletion first."""

from __future__ import annotations

from typing import Any

from tasks_app import bootstrap
from tasks_app.application import services
from tasks_app.application.ports import Page
from tasks_app.domain.task import Task
from tasks_app.management.base import TRASH_DAYS, ListingCommand, short_time, task_line


class Command(ListingCommand):
    help = (
        f"List a user's tasks in the trash, latest deletion first, each with when it was deleted. "
        f"`restore_task` brings one back within {TRASH_DAYS} days of its deletion."
    )
    examples = (
        "python manage.py list_trash --user alice",
        "python manage.py list_trash --user alice --all --json",
    )

    def page(self, options: dict[str, Any], cursor: str | None) -> Page:
        return services.task_trash(
            user_id=options["user"], limit=options["limit"], cursor=cursor, repository=bootstrap.task_repository()
        )

    def line(self, task: Task) -> str:
        deleted = short_time(task.deleted_at) if task.deleted_at else "?"
        return f"deleted {deleted}  {task_line(task)}"
