"""`backfill_indexes`: give tasks stored by earlier releases their GSI2 (status), GSI3 (due date) and GSI4
(reminder) keys."""

from __future__ import annotations

from argparse import ArgumentParser
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from pynamodb.signals import post_dynamodb_send

from ops.management.base import OpsCommand
from tasks_app import bootstrap
from tasks_app.adapters.dynamodb.backfill import SCAN_PAGE_SIZE, backfill_index_keys, needing_keys
from tasks_app.adapters.dynamodb.models import TaskItem
from tasks_app.management.base import counted

PROGRESS_EVERY = 500  # items scanned between two progress lines
_KEYS = "GSI2/GSI3 keys (or GSI4 keys of a pending reminder)"


class Command(OpsCommand):
    help = (
        "Give every live task stored before GSI2, GSI3 and GSI4 existed its index keys, so that listings "
        "by status and by due date find it, and the reminder sweep finds open tasks due from now on "
        "(tasks get them anyway on their next change). Reads the "
        "whole table once, in pages, and updates each such task on the condition that it still "
        "lacks the keys and still has the version read: safe while the API serves, and safe to "
        "run again (the second run updates 0 tasks)."
    )
    examples = ("python manage.py backfill_indexes --dry-run", "python manage.py backfill_indexes")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Count the tasks lacking the keys; change nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        bootstrap.table_connection()  # binds TaskItem to TABLE_NAME
        with self._progress():
            if options["dry_run"]:
                count = _count_needing()
                self.stdout.write(f"Dry run: {counted(count, 'task')} without {_KEYS}; nothing was changed.")
                return
            updated = backfill_index_keys()
        self.stdout.write(f"Updated {counted(updated, 'task')} with their {_KEYS} in {settings.TABLE_NAME}.")

    @contextmanager
    def _progress(self) -> Iterator[None]:
        """A line every `PROGRESS_EVERY` items scanned, counted from PynamoDB's request signal:
        each Scan request reads up to `SCAN_PAGE_SIZE` items (the last one fewer, so the count
        is an upper bound), and each UpdateItem that returns is a task updated."""
        requests = {"Scan": 0, "UpdateItem": 0}

        def count(_sender: object, *, operation_name: str, table_name: str, **_: Any) -> None:
            if table_name != settings.TABLE_NAME or operation_name not in requests:
                return
            requests[operation_name] += 1
            scanned = requests["Scan"] * SCAN_PAGE_SIZE
            if operation_name == "Scan" and scanned // PROGRESS_EVERY > (scanned - SCAN_PAGE_SIZE) // PROGRESS_EVERY:
                updated_so_far = counted(requests["UpdateItem"], "task")
                self.stdout.write(f"Scanned up to {counted(scanned, 'item')}; {updated_so_far} updated so far.")

        with post_dynamodb_send.connected_to(count):
            yield


def _count_needing() -> int:
    """How many tasks `backfill_index_keys` would update now (its own filter, `needing_keys`)."""
    needing = needing_keys(datetime.now(UTC))
    return sum(1 for _ in TaskItem.scan(filter_condition=needing, page_size=SCAN_PAGE_SIZE, attributes_to_get=["PK"]))
