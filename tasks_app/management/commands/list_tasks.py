"""`list_tasks`: print a user's tasks, newest first, one page at a time or all of them."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from tasks_app import bootstrap
from tasks_app.api.serializers import TaskResponse
from tasks_app.application import services
from tasks_app.application.services import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX
from tasks_app.management.base import AwsCommand


class Command(AwsCommand):
    help = "List a user's tasks, newest first."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--user", required=True, help="Whose tasks to list.")
        parser.add_argument(
            "--limit", type=int, default=PAGE_SIZE_DEFAULT, help=f"Tasks per page, 1 to {PAGE_SIZE_MAX}."
        )
        parser.add_argument("--cursor", help="Start after this cursor (printed at the end of a page).")
        parser.add_argument("--all", action="store_true", help="Follow the cursors to the last page.")
        parser.add_argument("--json", action="store_true", help="Print JSON Lines, one task per line.")

    def handle(self, *args: Any, **options: Any) -> None:
        cursor: str | None = options["cursor"]
        while True:
            page = services.task_list(
                user_id=options["user"], limit=options["limit"], cursor=cursor, repository=bootstrap.task_repository()
            )
            for task in page.items:
                if options["json"]:
                    self.stdout.write(json.dumps(TaskResponse(task).data, ensure_ascii=False))
                else:
                    self.stdout.write(f"{task.task_id}  {task.status:<11}  {task.title}")
            cursor = page.next_cursor
            if cursor is None or not options["all"]:
                break
        if cursor is not None:
            self.stderr.write(f"More tasks: --cursor {cursor}")
