"""What every command that talks to AWS shares: clear errors instead of tracebacks."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from pynamodb.exceptions import PynamoDBException

from tasks_app.api.serializers import TaskResponse
from tasks_app.domain.errors import DomainError
from tasks_app.domain.task import Task, isoformat_utc


class AwsCommand(BaseCommand):
    """Turns domain errors and AWS failures into `CommandError`s that say what to do."""

    def execute(self, *args: Any, **options: Any) -> str | None:
        try:
            return super().execute(*args, **options)
        except DomainError as error:
            raise CommandError(str(error)) from error
        except (BotoCoreError, ClientError, PynamoDBException) as error:
            raise CommandError(describe_aws_error(error)) from error


def describe_aws_error(error: Exception) -> str:
    cause = getattr(error, "cause", None) or error
    where = settings.AWS_ENDPOINT_URL or f"AWS ({settings.AWS_REGION})"
    if isinstance(cause, EndpointConnectionError):
        hint = " Is `make run` running?" if settings.AWS_ENDPOINT_URL else ""
        return f"Cannot reach {where}.{hint}"
    if isinstance(cause, ClientError):
        code = cause.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            return f"{cause.response['Error'].get('Message', code)} at {where}. Run `python manage.py provision` first."
        return f"{where} refused the request: {code}: {cause.response.get('Error', {}).get('Message', '')}"
    return f"The request to {where} failed: {cause}"


class TaskCommand(AwsCommand):
    """A command that shows tasks: a readable block by default, the API's JSON with `--json`."""

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the task JSON the API would return.")

    def show(self, task: Task, *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(TaskResponse(task).data, ensure_ascii=False, indent=2))
            return
        self.stdout.write(describe_task(task))


def describe_task(task: Task) -> str:
    lines = [
        f"{task.task_id}  [{task.status}]  {task.title}",
        f"  owner        {task.user_id}",
        f"  created      {isoformat_utc(task.created_at)}",
    ]
    if task.completed_at:
        lines.append(f"  completed    {isoformat_utc(task.completed_at)}")
    if task.description:
        lines.append(f"  description  {task.description}")
    return "\n".join(lines)
