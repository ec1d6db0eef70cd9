"""`cancel_task`: cancel a task from the shell, through the same service as the API."""

from __future__ import annotations

from tasks_app.management.base import StatusActionCommand


class Command(StatusActionCommand):
    help = (
        "Cancel a pending or in-progress task and publish its TaskStatusChanged event. "
        "`reopen_task` brings it back to pending."
    )
    examples = (
        "python manage.py cancel_task task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21",
        "python manage.py cancel_task task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21 --if-match 2 --json",
    )
    action = "cancel"
