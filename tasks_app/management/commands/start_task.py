"""`start_task`: move a pending task to in_progress from the shell, through the same service as the API."""

from __future__ import annotations

from tasks_app.management.base import StatusActionCommand


class Command(StatusActionCommand):
    help = "Start a pending task (it becomes in_progress) and publish its TaskStatusChanged event."
    examples = (
        "python manage.py start_task task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21",
        "python manage.py start_task task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21 --if-match 1 --json",
    )
    action = "start"
