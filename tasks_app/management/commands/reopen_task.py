"""`reopen_task`: bring a completed or cancelled task back to pending, through the same service as the API."""

from __future__ import annotations

from tasks_app.management.base import StatusActionCommand


class Command(StatusActionCommand):
    help = (
        "Reopen a completed or cancelled task: it becomes pending again, without its completion "
        "time, and its TaskStatusChanged event is published."
    )
    examples = (
        "python manage.py reopen_task task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21",
        "python manage.py reopen_task task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21 --if-match 3 --json",
    )
    action = "reopen"
