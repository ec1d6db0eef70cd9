"""What the task commands share: clear errors instead of tracebacks, the options they parse
(times, versions, statuses), and how they print one task, pages of tasks, and counts."""

from __future__ import annotations

import gc
import json
from argparse import ArgumentParser, ArgumentTypeError, _ActionsContainer
from datetime import UTC, datetime
from typing import Any, ClassVar

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser, DjangoHelpFormatter, OutputWrapper
from pynamodb.exceptions import PynamoDBException

from tasks_app import bootstrap
from tasks_app.api.rfc3339 import NotRfc3339, parse_date_time
from tasks_app.application import services
from tasks_app.application.ports import DependencyUnavailable, Page
from tasks_app.application.services import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX
from tasks_app.domain.errors import DomainError, InvalidTransition, InvalidValue, TaskNotFound, VersionMismatch
from tasks_app.domain.task import TRASH_RETENTION, Task, isoformat_utc
from tasks_app.domain.values import Priority, TaskStatus

TRASH_DAYS = TRASH_RETENTION.days  # SPEC §1: a deleted task can be restored for 30 days, then it is purged
TIME_EXAMPLE = "2026-12-01T17:00:00Z"
PRIORITIES = [priority.value for priority in Priority]
# The status actions (SPEC §1) by their command's verb, and the status each one leads to.
STATUS_ACTIONS: dict[str, TaskStatus] = {
    "start": TaskStatus.IN_PROGRESS,
    "complete": TaskStatus.COMPLETED,
    "cancel": TaskStatus.CANCELLED,
    "reopen": TaskStatus.PENDING,
}
# Domain fields whose command-line option has another name.
_OPTION_OF_FIELD = {"user_id": "user", "due_at": "due", "tags": "tag"}


class _ExampleFormatter(DjangoHelpFormatter):
    """Wraps paragraphs as usual, but keeps indented lines (the examples) exactly as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        fill = super()._fill_text
        return "\n".join(line if line.startswith("  ") else fill(line, width, indent) for line in text.splitlines())


class AwsCommand(BaseCommand):
    """Turns domain errors and AWS failures into `CommandError`s that say what to do; lists its
    `examples` under `--help`."""

    # Django's system checks load the URLconf, and with it the whole API (DRF, drf-spectacular):
    # a third of a second of every command's start, spent checking what serves HTTP, which no
    # command does. `manage.py check`, runserver and the tests still run them.
    requires_system_checks = []
    examples: ClassVar[tuple[str, ...]] = ()
    uses_aws: ClassVar[bool] = True  # False for a command that reads only local files: no "Using the local AWS" note
    not_found_hint = (
        "Find ids with `python manage.py list_tasks --user <owner>`; a deleted task is listed by "
        "`list_trash` and comes back with `restore_task`."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        if self.examples:
            kwargs.setdefault("formatter_class", _ExampleFormatter)
            kwargs.setdefault("epilog", "examples:\n" + "\n".join(f"  {example}" for example in self.examples))
        return super().create_parser(prog_name, subcommand, **kwargs)

    def run_from_argv(self, argv: list[str]) -> None:
        """Run from the command line, then let the process exit without its last garbage collections."""
        try:
            super().run_from_argv(argv)
        finally:
            # The process ends once the command is done, and Python's finalization then runs
            # several full collections over all that is still alive (botocore's API models,
            # Django): half a second of every command here, to free memory the exit frees anyway.
            # Output is flushed and files are closed by then (each in its `with`), so freezing
            # the lot, which takes the survivors out of those collections, loses nothing.
            gc.freeze()

    def execute(self, *args: Any, **options: Any) -> str | None:
        if options.get("stderr"):  # as BaseCommand.execute does, so that the note goes where the caller asked
            self.stderr = OutputWrapper(options["stderr"])
        found_locally = settings.AWS_ENDPOINT_SOURCE.startswith("the local stack")
        if self.uses_aws and found_locally and options.get("verbosity", 1) >= 1:
            # Found, not given: say which stack this acts on (SPEC §5; `config.local_stack`).
            self.stderr.write(f"Using the local AWS at {settings.AWS_ENDPOINT_URL} ({settings.AWS_ENDPOINT_SOURCE}).")
        try:
            return super().execute(*args, **options)
        except DomainError as error:
            raise CommandError(self.explain(error)) from error
        except (BotoCoreError, ClientError, PynamoDBException, DependencyUnavailable) as error:
            raise CommandError(describe_aws_error(error)) from error

    def explain(self, error: DomainError) -> str:
        """The error's message, with what to do next in shell terms (options, not API fields)."""
        if isinstance(error, TaskNotFound):
            return f"{error} {self.not_found_hint}"
        if isinstance(error, InvalidTransition):
            return f"{error} {_transition_hint(error)}"
        if isinstance(error, VersionMismatch):
            return (
                f"{error} See it with `python manage.py show_task {error.task_id}`; if your change "
                f"still applies, run it again with --if-match {error.current_version}."
            )
        if isinstance(error, InvalidValue):
            option = _OPTION_OF_FIELD.get(error.field, error.field.replace("_", "-"))
            return f"--{option}: {error.message}"
        return str(error)


def _transition_hint(error: InvalidTransition) -> str:
    if error.current == "in the trash":
        return f"Restore it first: `python manage.py restore_task {error.task_id}`."
    if error.current not in TaskStatus:
        return "Only a deleted task can be restored."
    current = TaskStatus(error.current)
    allowed = [f"`{verb}_task`" for verb, target in STATUS_ACTIONS.items() if current.can_become(target)]
    return f"From {current.value} it can go on with {' or '.join(allowed)}."


def describe_aws_error(error: BaseException) -> str:
    """What went wrong with AWS (or the local AWS), and what to do about it, in a sentence."""
    if isinstance(error, DependencyUnavailable) and error.__cause__ is not None:
        error = error.__cause__  # the adapters' outage, raised from the SDK's error, which says more here
    cause = getattr(error, "cause", None) or error
    where = settings.AWS_ENDPOINT_URL or f"AWS ({settings.AWS_REGION})"
    if isinstance(cause, EndpointConnectionError):
        if not settings.AWS_ENDPOINT_URL:
            return f"Cannot reach {where}."
        return f"Cannot reach {where} ({settings.AWS_ENDPOINT_SOURCE}). Is `make run` running?"
    if isinstance(cause, ClientError):
        code = cause.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            return f"{cause.response['Error'].get('Message', code)} at {where}. Run `python manage.py provision` first."
        return f"{where} refused the request: {code}: {cause.response.get('Error', {}).get('Message', '')}"
    return f"The request to {where} failed: {cause}"


# Option parsers: argparse reports their `ArgumentTypeError` as a usage error naming the option
# (a `CommandError` under `call_command`).


def rfc3339(text: str) -> datetime:
    """A time given on the command line, read as the API reads `due_at` (`tasks_app.api.rfc3339`:
    RFC 3339 with an offset, nothing else ISO 8601 allows). Raises `ArgumentTypeError` saying the
    form expected, or why a well-formed time names no such moment."""
    try:
        return parse_date_time(text.strip())
    except NotRfc3339:
        if _without_offset(text.strip()):
            raise ArgumentTypeError(f"{text!r} has no offset: add Z for UTC or +HH:MM, like {TIME_EXAMPLE}.") from None
        raise ArgumentTypeError(
            f"{text!r} is not a time: give RFC 3339 with an offset, like {TIME_EXAMPLE} or 2026-12-01T18:00:00+01:00."
        ) from None
    except ValueError as error:
        raise ArgumentTypeError(f"{text!r} names no such time: {error}.") from None


def _without_offset(text: str) -> bool:
    """Whether `text` is a date or a date-time ISO 8601 reads, lacking only its offset."""
    try:
        return datetime.fromisoformat(text).utcoffset() is None
    except ValueError:
        return False


def version_number(text: str) -> int:
    """A task version as `--if-match` takes it: `3`, or the ETag `"3"`."""
    digits = text.strip().strip('"')
    if not digits.isdigit() or int(digits) < 1:
        raise ArgumentTypeError(f"{text!r} is not a version: give the task's `version`, a number like 3.")
    return int(digits)


def statuses(text: str) -> tuple[TaskStatus, ...]:
    """One or more statuses, comma-separated (`pending,in_progress`)."""
    names = list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    wrong = [name for name in names if name not in TaskStatus]
    if wrong or not names:
        choices = ", ".join(status.value for status in TaskStatus)
        raise ArgumentTypeError(f"{', '.join(wrong) or text!r}: give one or more of {choices}, separated by commas.")
    return tuple(TaskStatus(name) for name in names)


def add_task_id(parser: ArgumentParser) -> None:
    parser.add_argument("task_id", help="The task's id (task-<uuid>).")


def add_if_match(parser: ArgumentParser) -> None:
    parser.add_argument(
        "--if-match",
        type=version_number,
        metavar="VERSION",
        help="Only if the task is still at this version (shown as `version`); refused if someone changed it since.",
    )


def expected_versions(options: dict[str, Any]) -> frozenset[int] | None:
    """What the services take for `--if-match`: the one version given, or None for any."""
    version: int | None = options["if_match"]
    return None if version is None else frozenset({version})


def add_field_options(parser: ArgumentParser, *, clearable: bool) -> None:
    """`--priority`, `--due` and `--tag` as create_task and update_task take them; `clearable`
    adds `--no-due` and `--no-tags`, each exclusive with its setter."""
    parser.add_argument("--priority", choices=PRIORITIES, help="How urgent it is (normal for a new task).")
    due: _ActionsContainer = parser.add_mutually_exclusive_group() if clearable else parser
    due.add_argument("--due", type=rfc3339, metavar="AT", help=f"When it is due, with an offset: {TIME_EXAMPLE}.")
    tags: _ActionsContainer = parser.add_mutually_exclusive_group() if clearable else parser
    tags.add_argument(
        "--tag",
        action="append",
        metavar="TAG",
        help="A label; repeat for several (up to 20, stored lower-case)"
        + (", replacing the task's tags." if clearable else "."),
    )
    if clearable:
        due.add_argument("--no-due", action="store_true", help="Remove the due date.")
        tags.add_argument("--no-tags", action="store_true", help="Remove every tag.")


class TaskCommand(AwsCommand):
    """A command that shows tasks: a readable block by default, the API's JSON with `--json`."""

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the task JSON the API would return.")

    def show(self, task: Task, *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(task_json(task), ensure_ascii=False, indent=2))
            return
        self.stdout.write(describe_task(task))


class StatusActionCommand(TaskCommand):
    """`<action>_task ID [--if-match V] [--json]`: one status action of SPEC §1 through `task_act`."""

    action: ClassVar[str]

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_task_id(parser)
        add_if_match(parser)
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        task = services.task_act(
            task_id=options["task_id"],
            action=self.action,
            expected_versions=expected_versions(options),
            repository=bootstrap.task_repository(),
            now=bootstrap.utc_now(),
        )
        self.show(task, as_json=options["json"])


class ListingCommand(AwsCommand):
    """A user's tasks a page at a time, one line each or JSON Lines; `--all` follows the cursors."""

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--user", required=True, help="Whose tasks to list.")
        parser.add_argument(
            "--limit", type=int, default=PAGE_SIZE_DEFAULT, help=f"Tasks per page, 1 to {PAGE_SIZE_MAX}."
        )
        parser.add_argument("--cursor", help="Start after this cursor (printed at the end of a page).")
        parser.add_argument("--all", action="store_true", help="Follow the cursors to the last page.")
        parser.add_argument("--json", action="store_true", help="Print JSON Lines, one task per line.")

    def page(self, options: dict[str, Any], cursor: str | None) -> Page:
        raise NotImplementedError

    def line(self, task: Task) -> str:
        raise NotImplementedError

    def handle(self, *args: Any, **options: Any) -> None:
        cursor: str | None = options["cursor"]
        while True:
            page = self.page(options, cursor)
            for task in page.items:
                if options["json"]:
                    self.stdout.write(json.dumps(task_json(task), ensure_ascii=False))
                else:
                    self.stdout.write(self.line(task))
            cursor = page.next_cursor
            if cursor is None or not options["all"]:
                break
        if cursor is not None:
            self.stderr.write(f"More tasks: --cursor {cursor}")


def task_json(task: Task) -> dict[str, Any]:
    """The task as the API renders it (`--json`), through the API's own serializer."""
    # Imported here, not at the top: the serializers bring DRF and drf-spectacular, a quarter of
    # a second of every command's start that only `--json` needs.
    from tasks_app.api.serializers import TaskResponse

    return dict(TaskResponse(task).data)


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """'1 event', '2 events', '0 events': a count with its noun agreeing, for every command's totals.

    `plural` is for nouns that do not just take an s ('1 entry', '2 entries').
    """
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def short_time(moment: datetime) -> str:
    """A time to the second, in UTC: what listings show, and what the time options accept."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def task_line(task: Task) -> str:
    """One task in a listing: id, status, priority, due date, version, title and tags."""
    due = f"due {short_time(task.due_at)}" if task.due_at else "no due date"
    tags = "".join(f"  #{tag}" for tag in task.tags)
    return f"{task.task_id}  {task.status:<11}  {task.priority:<6}  {due:<24}  v{task.version:<3}  {task.title}{tags}"


def describe_task(task: Task) -> str:
    """One task, a field a line, with what to do when it is in the trash."""
    lines = [
        f"{task.task_id}  [{task.status}]  {task.title}",
        f"  owner        {task.user_id}",
        f"  priority     {task.priority}",
    ]
    if task.due_at:
        lines.append(f"  due          {isoformat_utc(task.due_at)}")
    if task.tags:
        lines.append(f"  tags         {', '.join(task.tags)}")
    lines += [f"  version      {task.version}", f"  created      {isoformat_utc(task.created_at)}"]
    if task.updated_at:
        lines.append(f"  updated      {isoformat_utc(task.updated_at)}")
    if task.completed_at:
        lines.append(f"  completed    {isoformat_utc(task.completed_at)}")
    if task.deleted_at:
        until = short_time(task.deleted_at + TRASH_RETENTION)
        lines.append(f"  deleted      {isoformat_utc(task.deleted_at)}  (in the trash until {until})")
    if task.description:
        lines.append(f"  description  {task.description}")
    return "\n".join(lines)
