"""`import_table`: put every item of an `export_table` file back into the table."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError

from ops.data import table_dump
from ops.management.base import OpsCommand
from tasks_app import bootstrap
from tasks_app.management.base import counted


class Command(OpsCommand):
    help = (
        "Import a JSON Lines file written by `export_table`. Items with the same key are "
        "overwritten; items not in the file are left alone."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("input", help="File written by export_table.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["input"])
        if not path.is_file():
            raise CommandError(f"{path} does not exist.")
        client = bootstrap.aws_target().client("dynamodb")
        count = table_dump.import_from_file(client, settings.TABLE_NAME, path)
        self.stdout.write(f"Imported {counted(count, 'item')} into {settings.TABLE_NAME} from {path}.")
