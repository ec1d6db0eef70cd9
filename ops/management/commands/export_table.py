"""`export_table`: write every item of the table to a JSON Lines file (or stdout)."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings

from ops.data import table_dump
from ops.management.base import OpsCommand
from tasks_app import bootstrap
from tasks_app.management.base import counted


class Command(OpsCommand):
    help = (
        "Export every item of the table (tasks and any other item type) as JSON Lines in "
        "DynamoDB JSON. `import_table` reads the file back."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("output", help="File to write, replaced atomically; '-' for stdout.")

    def handle(self, *args: Any, **options: Any) -> None:
        client = bootstrap.aws_target().client("dynamodb")
        if options["output"] == "-":
            table_dump.dump(table_dump.scan_items(client, settings.TABLE_NAME), self.stdout)
            return
        count = table_dump.export_to_file(client, settings.TABLE_NAME, Path(options["output"]))
        self.stdout.write(f"Exported {counted(count, 'item')} from {settings.TABLE_NAME} to {options['output']}.")
