"""`rebuild_read_models`: recompute every task's STATE item and every user's statistics from the history."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError

from events_app import bootstrap as events_wiring
from events_app.rebuild import USER_ATTEMPTS, RebuildError, RebuildSummary, rebuild_read_models
from ops.management.base import OpsCommand
from tasks_app import bootstrap
from tasks_app.management.base import counted


class Command(OpsCommand):
    help = (
        "Recompute the statistics read model from the history items (TASK#<id> / EVENT#<seq>): each "
        "task's STATE item, each user's STATS (live tasks by status) and STATS#<day> (created and "
        "completed that day) rows, exactly as applying every history event through the current "
        "read model would, replacing what the previous release counted. "
        "Safe while the consumers run, because every write is conditional: a STATE item is replaced "
        "only if no event changed it since it was read, and a counter row is corrected only if no "
        "event counted on it since this run marked it (its Type holds the mark meanwhile); a user "
        "whose rows an event changed is done again, up to "
        f"{USER_ATTEMPTS} times, then reported (run again with --user, or pause the consumers). "
        "Run it once the current release's consumers are the only ones: a previous release's "
        "consumer still applying events would count them the old way again. Reads the whole table "
        "once, in pages, then each user's tasks."
    )
    examples = (
        "python manage.py rebuild_read_models --dry-run",
        "python manage.py rebuild_read_models",
        "python manage.py rebuild_read_models --user alice",
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--user", help="Only this user's STATE items and counters (the whole table is still read to find them)."
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Read and report what would change; write nothing (events applied meanwhile may change the figures).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        connection = bootstrap.table_connection()  # binds the task items (GSI1 lists each user's tasks)
        events_wiring.read_models()  # binds the history, STATE and counter items
        try:
            summary = rebuild_read_models(
                connection=connection,
                client=bootstrap.aws_target().client("dynamodb"),
                table_name=settings.TABLE_NAME,
                user_id=options["user"],
                dry_run=options["dry_run"],
                report=self.stdout.write,
            )
        except RebuildError as error:
            raise CommandError(f"{error} Fix or remove that item, then run the rebuild again.") from error
        self.stdout.write(_describe(summary, dry_run=options["dry_run"], user=options["user"]))
        if summary.unfinished:
            users = ", ".join(summary.unfinished)
            raise CommandError(
                f"Events kept changing the statistics of {users} during the rebuild ({USER_ATTEMPTS} attempts "
                "each); they were left as they were. Run `python manage.py rebuild_read_models --user <user>` "
                "for each again, or pause the consumers first."
            )


def _describe(summary: RebuildSummary, *, dry_run: bool, user: str | None) -> str:
    if user is not None and not summary.users and not summary.unfinished:
        return f"Nothing found for user {user!r}: no history, STATE or counter items."
    if dry_run:
        return (
            f"Dry run: {counted(summary.users, 'user')}, {counted(summary.tasks, 'task')} read; "
            f"{counted(summary.states_repaired, 'STATE item')} "
            f"and {counted(summary.counters_changed, 'counter row')} would change. Nothing was written."
        )
    return (
        f"Rebuilt {counted(summary.users, 'user')} from the history of {counted(summary.tasks, 'task')}: "
        f"{counted(summary.states_repaired, 'STATE item')} repaired, "
        f"{counted(summary.counters_changed, 'counter row')} changed."
    )
