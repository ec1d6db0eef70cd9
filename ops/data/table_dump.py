"""Every item of the table to a JSON Lines file and back: the local stack's snapshot, and backups.

One item per line in DynamoDB's own JSON, so items of every type (tasks and whatever shares
the table) survive the round trip untouched.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ops.errors import OperationsError

if TYPE_CHECKING:
    from _typeshed import SupportsWrite
    from mypy_boto3_dynamodb.client import DynamoDBClient

_BATCH_SIZE = 25  # the most BatchWriteItem takes
_MAX_UNPROCESSED_ROUNDS = 8


def scan_items(client: DynamoDBClient, table_name: str) -> Iterator[dict[str, Any]]:
    for page in client.get_paginator("scan").paginate(TableName=table_name, ConsistentRead=True):
        yield from page["Items"]


def write_items(client: DynamoDBClient, table_name: str, items: Iterable[dict[str, Any]]) -> int:
    """Put every item (overwriting ones with the same key); returns how many were written."""
    written = 0
    batch: list[dict[str, Any]] = []
    for item in items:
        batch.append(item)
        if len(batch) == _BATCH_SIZE:
            written += _write_batch(client, table_name, batch)
            batch = []
    if batch:
        written += _write_batch(client, table_name, batch)
    return written


def _write_batch(client: DynamoDBClient, table_name: str, items: list[dict[str, Any]]) -> int:
    requests: list[Any] = [{"PutRequest": {"Item": item}} for item in items]
    for attempt in range(_MAX_UNPROCESSED_ROUNDS):
        response = client.batch_write_item(RequestItems={table_name: requests})
        requests = list(response.get("UnprocessedItems", {}).get(table_name, []))
        if not requests:
            return len(items)
        time.sleep(0.05 * 2**attempt)  # throttled: back off before retrying what was left
    raise OperationsError(
        f"{len(requests)} items were still unprocessed after {_MAX_UNPROCESSED_ROUNDS} rounds of throttling; "
        "run the import again (it overwrites, so it is safe to repeat)."
    )


def dump(items: Iterable[dict[str, Any]], stream: SupportsWrite[str]) -> int:
    count = 0
    for item in items:
        stream.write(json.dumps(item, ensure_ascii=False, sort_keys=True) + "\n")
        count += 1
    return count


def load(stream: IO[str]) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as error:
            raise OperationsError(f"line {number} is not JSON: {error}") from None
        if not isinstance(item, dict) or not all(isinstance(v, dict) and len(v) == 1 for v in item.values()):
            raise OperationsError(f"line {number} is not an item in DynamoDB JSON ({{name: {{type: value}}}}).")
        yield item


def export_to_file(client: DynamoDBClient, table_name: str, path: Path) -> int:
    """Write the table to `path` atomically: a crash mid-export leaves the previous file whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            count = dump(scan_items(client, table_name), stream)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return count


def import_from_file(client: DynamoDBClient, table_name: str, path: Path) -> int:
    """Check every line first, so a bad file changes nothing; then write in batches."""
    with path.open(encoding="utf-8") as stream:
        for _ in load(stream):
            pass
    with path.open(encoding="utf-8") as stream:
        return write_items(client, table_name, load(stream))
