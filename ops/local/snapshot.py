"""The local table kept across restarts: restored from a JSON Lines file at start, saved to it while running."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ops.data import table_dump
from ops.errors import OperationsError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


class SnapshotError(OperationsError):
    """The snapshot file could not be restored; the message says so, and that the file was left alone."""


class TableSnapshot:
    """One table's snapshot file, restored once and then saved as often as wanted.

    `dynamodb` is called for a client each time one is needed, so it may point at a local AWS
    that is only started later. `say` receives the lines meant for the user.
    """

    def __init__(
        self, path: Path, table_name: str, dynamodb: Callable[[], DynamoDBClient], say: Callable[[str], None]
    ) -> None:
        self.path = path
        self._table_name = table_name
        self._dynamodb = dynamodb
        self._say = say
        self._restored = False  # until then, saving would overwrite the snapshot with an empty table

    def restore(self) -> None:
        """Write the file's items into the table, if the file exists; then saving is allowed.

        Raises SnapshotError if the file is unreadable or malformed (the table is then unchanged,
        as the whole file is checked first) and the file is left untouched; saving stays off.
        """
        if self.path.is_file():
            try:
                count = table_dump.import_from_file(self._dynamodb(), self._table_name, self.path)
            except OperationsError as error:
                raise SnapshotError(
                    f"Could not restore {self.path}: {error}. "
                    "The file is left as it is: fix or move it, then start again."
                ) from None
            self._say(f"Restored {count} items from {self.path}.")
        self._restored = True

    def save(self, *, quiet: bool) -> None:
        """Replace the file with the table (atomically), and say so unless `quiet`.

        Does nothing before a successful `restore`. Errors from DynamoDB or the file system
        propagate; the previous file is then left whole.
        """
        if not self._restored:
            return
        count = table_dump.export_to_file(self._dynamodb(), self._table_name, self.path)
        if not quiet:
            self._say(f"Saved {count} items to {self.path}.")
