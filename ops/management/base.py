"""What every operations command shares with the task commands, plus clear operations errors."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError

from ops.errors import OperationsError
from tasks_app.management.base import AwsCommand


class OpsCommand(AwsCommand):
    """An `AwsCommand` that also turns `OperationsError` (provisioning, the local stack,
    table dumps) into a `CommandError` whose message says what to do."""

    def execute(self, *args: Any, **options: Any) -> str | None:
        try:
            return super().execute(*args, **options)
        except OperationsError as error:
            raise CommandError(str(error)) from error
