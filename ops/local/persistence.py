"""The local stack's state on disk, kept by the embedded local AWS itself, from its own memory.

Runs inside the local AWS process (`ops.local.aws_server`), never in the API or the worker.

- **The table** is a snapshot (`table-snapshot.jsonl`, one item per line in DynamoDB JSON, the
  format `export_table` writes) plus journals (`table-journal-<n>.jsonl`): after every write
  call, the new state of each item it named (or its deletion) is appended, while the call still
  holds the DynamoDB lock. A write is on disk before its caller hears back, so nothing written
  is lost even when every process is killed. Saving never reads the whole table through the
  API, which would hold the lock for seconds at 10,000 items: it seals the journal (a file
  rename under the lock, well under a millisecond) and merges it into the snapshot from the
  files, outside the lock.
- **The queues** (events and dead letters) are written whole to `queues-snapshot.json` on each
  save and when the local AWS stops: every message, in flight or not, with its receive count.
  Between saves, each message added or deleted is appended to `queue-journal-<n>.jsonl`, so a
  local AWS killed outright loses no event that a relay published before it died.
  On restore every message is visible again, as SQS would make it once the visibility timeout
  of a consumer that vanished ran out; the consumer's idempotency makes a second delivery of an
  already applied event harmless.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from ops.data import table_dump
from ops.errors import OperationsError

SNAPSHOT_NAME = "table-snapshot.jsonl"
QUEUES_SNAPSHOT_NAME = "queues-snapshot.json"
_JOURNAL = re.compile(r"table-journal-(?P<number>\d+)\.jsonl")
_QUEUE_JOURNAL = re.compile(r"queue-journal-(?P<number>\d+)\.jsonl")
# Merging rewrites the whole snapshot: worth it only once the journal is a fair share of it.
_COMPACT_SHARE = 0.25
_COMPACT_MINIMUM = 1_000

# The DynamoDB operations that change items, and where each names its items.
WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})


class StateError(OperationsError):
    """A state file could not be read; the message names the file and the line."""


@dataclass(frozen=True)
class SaveReport:
    """What one save did: items in the table, messages saved per queue, how long writes waited (s),
    and the sealed journals (by number) left to merge into the snapshot, with the table's key names."""

    items: int
    messages: dict[str, int]
    lock_held_seconds: float
    sealed_journals: list[int]
    key_names: list[str]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def named_keys(operation: str, request: dict[str, Any], table_name: str, key_names: tuple[str, ...]) -> list[Any]:
    """The keys of `table_name` that a write call names, as DynamoDB JSON maps of the key attributes.

    `operation` is the X-Amz-Target's operation (e.g. "TransactWriteItems"), `request` its JSON
    body. Items of other tables, and ConditionCheck entries (which change nothing), are left out.
    """
    entries: list[tuple[str | None, dict[str, Any]]] = []
    if operation == "PutItem":
        entries.append((request.get("TableName"), request.get("Item") or {}))
    elif operation in {"UpdateItem", "DeleteItem"}:
        entries.append((request.get("TableName"), request.get("Key") or {}))
    elif operation == "BatchWriteItem":
        for name, writes in (request.get("RequestItems") or {}).items():
            for write in writes:
                put, delete = write.get("PutRequest"), write.get("DeleteRequest")
                entries.append((name, (put or {}).get("Item") or (delete or {}).get("Key") or {}))
    elif operation == "TransactWriteItems":
        for entry in request.get("TransactItems") or []:
            for kind in ("Put", "Update", "Delete"):
                if kind in entry:
                    write = entry[kind]
                    entries.append((write.get("TableName"), write.get("Item") or write.get("Key") or {}))
    return [
        {name: attributes[name] for name in key_names}
        for table, attributes in entries
        if table == table_name and all(name in attributes for name in key_names)
    ]


def key_of(item: dict[str, Any], key_names: tuple[str, ...]) -> str:
    """A stable string for an item's key: what the snapshot and journals are merged on."""
    return json.dumps({name: item[name] for name in key_names}, sort_keys=True)


class TableJournal:
    """The journal files of one table in `state_dir`, appended to while the local AWS runs.

    Not thread-safe on its own: `append` and `seal` are called with the DynamoDB lock held.
    """

    def __init__(self, state_dir: Path, key_names: tuple[str, ...]) -> None:
        self.state_dir = state_dir
        self.key_names = key_names
        self.number = max(journal_numbers(state_dir), default=0) + 1  # of the journal written to
        self._file: IO[str] | None = None
        self.records = 0  # in the open journal

    def append(self, changes: Iterable[tuple[dict[str, Any], dict[str, Any] | None]]) -> None:
        """Record each (key, item after the call, or None if it is gone), and flush to the OS."""
        if self._file is None:
            self._file = (self.state_dir / f"table-journal-{self.number}.jsonl").open("a", encoding="utf-8")
        for key, item in changes:
            self._file.write(json.dumps({"key": key, "item": item}, ensure_ascii=False, sort_keys=True) + "\n")
            self.records += 1
        self._file.flush()  # a killed local AWS must not take the last writes with it

    def seal(self) -> None:
        """Close the open journal; the next write starts the next one. Sealed journals are merged by `compact`."""
        if self._file is not None:
            self._file.close()
            self._file = None
            self.number += 1
        self.records = 0

    def close(self) -> None:
        self.seal()


def journal_numbers(state_dir: Path) -> list[int]:
    """The journal files' numbers in `state_dir`, oldest first."""
    numbers = (_JOURNAL.fullmatch(path.name) for path in state_dir.glob("table-journal-*.jsonl"))
    return sorted(int(match["number"]) for match in numbers if match)


def read_table_state(
    state_dir: Path, key_names: tuple[str, ...], journals: list[int] | None = None
) -> dict[str, dict[str, Any]]:
    """The table as the snapshot and the journals after it leave it: items by `key_of`.

    `journals` names the journals to apply (default: all of them, oldest first).
    Raises StateError naming the file and line if one is malformed; the files are not changed.
    A last journal line without its newline is a write cut short by a kill, and is skipped.
    """
    items: dict[str, dict[str, Any]] = {}
    snapshot = state_dir / SNAPSHOT_NAME
    if snapshot.is_file():
        with snapshot.open(encoding="utf-8") as stream:
            try:
                for item in table_dump.load(stream):
                    items[key_of(item, key_names)] = item
            except OperationsError as error:
                raise StateError(f"{snapshot}: {error}") from None
            except KeyError as error:
                raise StateError(f"{snapshot}: an item has no key attribute {error}") from None
    for number in journal_numbers(state_dir) if journals is None else journals:
        path = state_dir / f"table-journal-{number}.jsonl"
        for key, after in _journal_records(path):
            try:
                merged_key = key_of(key, key_names)
            except (KeyError, TypeError) as error:
                raise StateError(f"{path}: a record's key has no attribute {error}") from None
            if after is None:
                items.pop(merged_key, None)
            else:
                items[merged_key] = after
    return items


def _journal_records(path: Path) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None]]:
    for number, record in _lines(path):
        try:
            yield record["key"], record["item"]
        except (KeyError, TypeError):
            raise StateError(f"{path}: line {number} is not a journal record") from None


def write_snapshot(state_dir: Path, items: Iterable[dict[str, Any]], journals: list[int]) -> None:
    """Replace the snapshot atomically with `items`, then delete `journals`, which it now contains."""
    _write_atomically(state_dir / SNAPSHOT_NAME, lambda stream: table_dump.dump(items, stream))
    for number in journals:
        (state_dir / f"table-journal-{number}.jsonl").unlink(missing_ok=True)


def merge_journals(state_dir: Path, key_names: tuple[str, ...], journals: list[int]) -> int:
    """Fold sealed `journals` into the snapshot; returns how many items it then holds.

    Pure file work, done by the process that asked for the save rather than by the local AWS:
    parsing and writing the whole table there would compete with its requests for the GIL and
    stall them for seconds (measured by `make bench`). Journals still being written are left.
    Raises StateError if a file is malformed, OSError if the disk refuses; the files are then as before.
    """
    items = read_table_state(state_dir, key_names, journals)
    write_snapshot(state_dir, items.values(), journals)
    return len(items)


def should_compact(journal_records: int, table_items: int) -> bool:
    """Whether merging the journal now is worth rewriting the snapshot."""
    return journal_records >= max(_COMPACT_MINIMUM, int(table_items * _COMPACT_SHARE))


# The queues


def message_state(message: Any) -> dict[str, Any]:
    """One moto SQS message as JSON: what SQS would keep of it across a restart."""
    return {
        "id": message.id,
        "body": message.body,
        "message_attributes": message.message_attributes,
        "system_attributes": message.system_attributes,
        "sent_timestamp": message.sent_timestamp,
        "first_receive_timestamp": message.approximate_first_receive_timestamp,
        "receive_count": message.approximate_receive_count,
        "group_id": message.group_id,
        "deduplication_id": message.deduplication_id,
        "sequence_number": message.sequence_number,
    }


def restored_message(state: dict[str, Any]) -> Any:
    """A moto SQS message rebuilt from `message_state`'s JSON, visible now."""
    from moto.sqs.models import Message

    message: Any = Message(state["id"], state["body"], state.get("system_attributes") or {})
    message.message_attributes = state.get("message_attributes") or {}
    message.sent_timestamp = state.get("sent_timestamp") or int(time.time() * 1000)
    message.approximate_first_receive_timestamp = state.get("first_receive_timestamp")
    message.approximate_receive_count = int(state.get("receive_count") or 0)
    message.group_id = state.get("group_id")
    message.deduplication_id = state.get("deduplication_id")
    message.sequence_number = state.get("sequence_number")
    return message


def write_queues(state_dir: Path, queues: dict[str, list[dict[str, Any]]]) -> None:
    """Replace the queue snapshot atomically: {"queues": {name: [message_state, ...]}}."""
    document = {"saved_at": time.time(), "queues": queues}
    _write_atomically(state_dir / QUEUES_SNAPSHOT_NAME, lambda stream: json.dump(document, stream, ensure_ascii=False))


def read_queues(state_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """The saved messages by queue name; empty if nothing was saved. Raises StateError if unreadable."""
    path = state_dir / QUEUES_SNAPSHOT_NAME
    if not path.is_file():
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        queues = document["queues"]
        if not isinstance(queues, dict) or not all(isinstance(messages, list) for messages in queues.values()):
            raise TypeError
        return queues
    except (ValueError, KeyError, TypeError):
        raise StateError(f"{path} is not a queue snapshot") from None


def _write_atomically(path: Path, write: Any) -> None:
    """Write to a temporary file next to `path`, then rename it over `path`: readers see old or new, whole."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            write(stream)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class QueueJournal:
    """Messages added to and deleted from the kept queues since the last queue snapshot.

    Thread-safe: SQS calls (and SNS deliveries) run concurrently in the local AWS. Each record is
    {"queue": name, "add": message_state} or {"queue": name, "delete": [message ids]} or
    {"queue": name, "purge": true}, flushed to the OS before the call returns.
    """

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.number = max(queue_journal_numbers(state_dir), default=0) + 1
        self._file: IO[str] | None = None
        self._lock = threading.Lock()

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock:
            if self._file is None:
                self._file = (self.state_dir / f"queue-journal-{self.number}.jsonl").open("a", encoding="utf-8")
            self._file.write(line)
            self._file.flush()

    def seal(self) -> list[int]:
        """Close the open journal; returns every journal number before the next one (to delete once saved)."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
            self.number += 1
            return [number for number in queue_journal_numbers(self.state_dir) if number < self.number]


def queue_journal_numbers(state_dir: Path) -> list[int]:
    """The queue journals' numbers in `state_dir`, oldest first."""
    numbers = (_QUEUE_JOURNAL.fullmatch(path.name) for path in state_dir.glob("queue-journal-*.jsonl"))
    return sorted(int(match["number"]) for match in numbers if match)


def read_queue_state(state_dir: Path, dead_letter_queues: set[str]) -> dict[str, list[dict[str, Any]]]:
    """The queues as the snapshot and the journals after it leave them: message states by queue.

    Replaying is idempotent (an add of a message already there, or a delete of one gone, changes
    nothing), so a message both in the snapshot and in a journal is counted once. A message that
    SQS moved to one of `dead_letter_queues` is journalled as added there but not as removed from
    its queue: the dead-letter copy wins. Raises StateError naming the file if one is malformed.
    """
    queues: dict[str, dict[str, dict[str, Any]]] = {
        name: {message["id"]: message for message in messages} for name, messages in read_queues(state_dir).items()
    }
    for number in queue_journal_numbers(state_dir):
        path = state_dir / f"queue-journal-{number}.jsonl"
        for line_number, record in _lines(path):
            try:
                messages = queues.setdefault(record["queue"], {})
                if "add" in record:
                    messages.setdefault(record["add"]["id"], record["add"])
                elif "delete" in record:
                    for message_id in record["delete"]:
                        messages.pop(message_id, None)
                elif record.get("purge"):
                    messages.clear()
            except (KeyError, TypeError):
                raise StateError(f"{path}: line {line_number} is not a queue journal record") from None
    dead = {message_id for name in dead_letter_queues for message_id in queues.get(name, {})}
    return {
        name: [
            message for message_id, message in messages.items() if name in dead_letter_queues or message_id not in dead
        ]
        for name, messages in queues.items()
    }


def delete_queue_journals(state_dir: Path, numbers: list[int]) -> None:
    for number in numbers:
        (state_dir / f"queue-journal-{number}.jsonl").unlink(missing_ok=True)


def _lines(path: Path) -> Iterator[tuple[int, Any]]:
    """The JSON records of a journal file, numbered; the torn last line of a killed writer is skipped."""
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip() or (number == len(lines) and not text.endswith("\n")):
            continue
        try:
            yield number, json.loads(line)
        except ValueError:
            raise StateError(f"{path}: line {number} is not JSON") from None
