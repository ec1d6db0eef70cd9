"""The embedded local AWS's WSGI application: moto, plus what the local stack needs around it.

- **One DynamoDB call at a time.** moto's DynamoDB is not thread-safe: a transaction copies the
  whole table to roll back, and a write arriving meanwhile fails it with a 500. Real DynamoDB
  takes concurrent calls, so concurrent callers must work here too; serialising DynamoDB (and
  only it, not SQS's long polls) makes them.
- **Its own persistence** (`ops.local.persistence`): each write call's items are journalled
  under that lock; `POST /_local/state/load` restores the table and queues once the stack has
  provisioned them, and `POST /_local/state/save` saves, from memory, without a `Scan`.
- **One owner.** A stack's local AWS answers only its own checkout's clients: every client of
  this project names its checkout in its User-Agent (`app/<id>`, see `config.local_stack`), and
  a call from another checkout is refused with a message saying whose local AWS this is, rather
  than acting on another project's table.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ops.local import persistence
from ops.local.persistence import SaveReport, StateError, TableJournal

logger = logging.getLogger("ops.local.aws_server")
STATE_PATH = "/_local/state/"
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass(frozen=True)
class Owner:
    """The checkout whose stack started this local AWS: its client id and its directory."""

    client_id: str
    checkout: str


class StateKeeper:
    """The table and queues one stack keeps across restarts, once `load` has restored them."""

    def __init__(self, state_dir: Path, region: str) -> None:
        self.state_dir = state_dir
        self.region = region
        self.dynamodb_lock = threading.Lock()
        self._save_lock = threading.Lock()  # one save at a time: two must not merge the same journals
        self.table_name: str | None = None
        self.queue_names: list[str] = []
        self.journal: TableJournal | None = None
        self.queue_journal: persistence.QueueJournal | None = None

    # Journalling, under `dynamodb_lock`

    def record(self, operation: str, request: dict[str, Any]) -> None:
        """After a successful write call: journal the new state of the items it named."""
        if self.journal is None or operation not in persistence.WRITE_OPERATIONS:
            return
        table = self._table()
        keys = persistence.named_keys(operation, request, str(self.table_name), self.journal.key_names)
        if keys:
            self.journal.append((key, _current_item(table, key, self.journal.key_names)) for key in keys)

    # Loading and saving

    def load(self, table_name: str, queue_names: list[str]) -> dict[str, Any]:
        """Restore the table's items and the queues' messages from the state directory, then
        journal every write. The table and queues must exist (the stack provisions them first).

        Returns {"items": n, "messages": {queue: n}}. Raises StateError, with nothing changed,
        if a file is malformed.
        """
        with self._save_lock, self.dynamodb_lock:
            table = self._dynamodb().get_table(table_name)
            key_names = tuple(name for name in (table.hash_key_attr, table.range_key_attr) if name)
            items = persistence.read_table_state(self.state_dir, key_names)
            queues = [self._sqs().get_queue(name) for name in queue_names]
            dead_letter_queues = {queue.dead_letter_queue.name for queue in queues if queue.dead_letter_queue}
            saved_queues = persistence.read_queue_state(self.state_dir, dead_letter_queues)
            for item in items.values():
                _insert(table, item, key_names)
            restored: dict[str, int] = {}
            for name in queue_names:
                queue = self._sqs().get_queue(name)
                messages = saved_queues.get(name, [])
                for state in messages:
                    queue.add_message(persistence.restored_message(state))
                restored[name] = len(messages)
            # Fold the journals into the snapshots now: the next start then reads one file each.
            persistence.write_snapshot(self.state_dir, items.values(), persistence.journal_numbers(self.state_dir))
            persistence.write_queues(self.state_dir, {name: saved_queues.get(name, []) for name in queue_names})
            persistence.delete_queue_journals(self.state_dir, persistence.queue_journal_numbers(self.state_dir))
            self.queue_journal = persistence.QueueJournal(self.state_dir)
            _journal_queue_changes(self)
            self.table_name, self.queue_names = table_name, queue_names
            self.journal = TableJournal(self.state_dir, key_names)
        return {"items": len(items), "messages": restored}

    def save(self, *, compact: bool) -> SaveReport:
        """Write the queues whole and, when `compact` or the journal has grown, seal the journal.

        Writes wait only while the journal is sealed (a file close); the caller merges the sealed
        journals into the snapshot (`persistence.merge_journals`), outside this process. Raises
        StateError before `load`, OSError if the disk refuses.
        """
        if self.journal is None:
            raise StateError("Nothing to save: the state was not loaded.")
        with self._save_lock:
            held = 0.0
            table = self._table()
            if compact or persistence.should_compact(self.journal.records, _count_items(table)):
                with self.dynamodb_lock:
                    locked = time.perf_counter()
                    self.journal.seal()
                    held = time.perf_counter() - locked
            # Sealed first: a change made meanwhile is in the snapshot, the new journal, or both,
            # and replaying it again changes nothing.
            sealed_queue_journals = self.queue_journal.seal() if self.queue_journal else []
            queues = {name: self._queue_messages(name) for name in self.queue_names}
            persistence.write_queues(self.state_dir, queues)
            persistence.delete_queue_journals(self.state_dir, sealed_queue_journals)
            sealed = [number for number in persistence.journal_numbers(self.state_dir) if number < self.journal.number]
        return SaveReport(
            items=_count_items(table),
            messages={name: len(messages) for name, messages in queues.items()},
            lock_held_seconds=held,
            sealed_journals=sealed,
            key_names=list(self.journal.key_names),
        )

    def _queue_messages(self, name: str) -> list[dict[str, Any]]:
        queue = self._sqs().get_queue(name)
        with queue._messages_lock:  # a copy of the list: sends and deletes go on meanwhile
            messages = list(queue._messages)
        return [persistence.message_state(message) for message in messages]

    def _table(self) -> Any:
        return self._dynamodb().get_table(str(self.table_name))

    def _dynamodb(self) -> Any:
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        return dynamodb_backends[DEFAULT_ACCOUNT_ID][self.region]

    def _sqs(self) -> Any:
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.sqs.models import sqs_backends

        return sqs_backends[DEFAULT_ACCOUNT_ID][self.region]


def _journal_queue_changes(keeper: StateKeeper) -> None:
    """Journal each message added to or deleted from the kept queues, from inside moto's SQS model.

    At the model, not the HTTP API, because SNS delivers to SQS (and SQS moves messages to the
    dead-letter queue) inside the local AWS, with no request of its own. Installed once per process.
    """
    from moto.sqs.models import Queue, SQSBackend

    if getattr(Queue.add_message, "journalled", False):
        return
    add_message, delete_message, purge_queue = Queue.add_message, Queue.delete_message, SQSBackend.purge_queue

    def journal(queue_name: str, record: dict[str, Any]) -> None:
        if keeper.queue_journal is not None and queue_name in keeper.queue_names:
            keeper.queue_journal.append({"queue": queue_name, **record})

    def journalled_add(queue: Any, message: Any) -> None:
        add_message(queue, message)
        journal(queue.name, {"add": persistence.message_state(message)})

    def journalled_delete(queue: Any, receipt_handle: str) -> None:
        ids = [message.id for message in list(queue._messages) if message.had_receipt_handle(receipt_handle)]
        delete_message(queue, receipt_handle)
        if ids:
            journal(queue.name, {"delete": ids})

    def journalled_purge(backend: Any, queue_name: str) -> None:
        purge_queue(backend, queue_name)
        journal(queue_name, {"purge": True})

    journalled_add.journalled = True  # type: ignore[attr-defined]
    setattr(Queue, "add_message", journalled_add)  # noqa: B010
    setattr(Queue, "delete_message", journalled_delete)  # noqa: B010
    setattr(SQSBackend, "purge_queue", journalled_purge)  # noqa: B010


def _count_items(table: Any) -> int:
    """How many items `table` holds, without iterating items that writes may change meanwhile."""
    buckets = list(table.items.values())  # one C call: atomic under the GIL
    return sum(len(bucket) for bucket in buckets) if table.range_key_attr else len(buckets)


def _insert(table: Any, attributes: dict[str, Any], key_names: tuple[str, ...]) -> None:
    """Put a restored item straight into moto's table: no conditions to check, and no stream
    record, since restoring is not a change anyone must hear about again."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    hash_key = DynamoType(attributes[key_names[0]])
    if len(key_names) > 1:
        range_key = DynamoType(attributes[key_names[1]])
        table.items[hash_key][range_key] = Item(hash_key, range_key, attributes)
    else:
        table.items[hash_key] = Item(hash_key, None, attributes)


def _current_item(table: Any, key: dict[str, Any], key_names: tuple[str, ...]) -> dict[str, Any] | None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    hash_key = DynamoType(key[key_names[0]])
    range_key = DynamoType(key[key_names[1]]) if len(key_names) > 1 else None
    item = table.get_item(hash_key, range_key)
    return None if item is None else dict(item.to_json()["Attributes"])


def local_aws_app(moto: WsgiApp, keeper: StateKeeper | None, owner: Owner | None) -> WsgiApp:
    """moto's WSGI app with the DynamoDB lock, and, for a stack, its state and its owner's guard."""
    dynamodb_lock = keeper.dynamodb_lock if keeper else threading.Lock()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if owner and (refusal := _refusal(environ, owner)):
            return _respond(start_response, "403 Forbidden", refusal, environ)
        path = str(environ.get("PATH_INFO", ""))
        if keeper and path.startswith(STATE_PATH):
            return _state_call(keeper, path.removeprefix(STATE_PATH), environ, start_response)
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        if not target.startswith("DynamoDB"):
            return moto(environ, start_response)
        operation = target.partition(".")[2]
        body = _read_body(environ) if keeper and operation in persistence.WRITE_OPERATIONS else None
        status: list[str] = []

        def recording_start_response(code: str, headers: Any, *args: Any) -> Any:
            status.append(code)
            return start_response(code, headers, *args)

        with dynamodb_lock:
            response = moto(environ, recording_start_response)
            if keeper and body is not None and status and status[0].startswith("200"):
                keeper.record(operation, json.loads(body or b"{}"))
        return response

    return app


def _read_body(environ: dict[str, Any]) -> bytes:
    """The request body, put back for moto to read again."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return bytes(body)


def _state_call(
    keeper: StateKeeper, action: str, environ: dict[str, Any], start_response: Callable[..., Any]
) -> Iterable[bytes]:
    try:
        request = json.loads(_read_body(environ) or b"{}")
        if action == "load":
            result = keeper.load(request["table"], list(request.get("queues") or []))
        elif action == "save":
            result = keeper.save(compact=bool(request.get("compact"))).as_json()
        else:
            return _json(start_response, "404 Not Found", {"error": f"no state action {action!r}"})
    except StateError as error:
        return _json(start_response, "400 Bad Request", {"error": str(error)})
    except Exception as error:  # the caller (the supervisor) reports it and retries
        logger.exception("state %s failed", action)
        return _json(start_response, "500 Internal Server Error", {"error": f"{type(error).__name__}: {error}"})
    return _json(start_response, "200 OK", result)


def _refusal(environ: dict[str, Any], owner: Owner) -> str | None:
    """Why a call from another checkout is refused, or None when it is this stack's own (or no one's)."""
    agent = str(environ.get("HTTP_USER_AGENT", ""))
    client = next((part.removeprefix("app/") for part in agent.split() if part.startswith("app/tasks-")), None)
    if client is None or client == owner.client_id:
        return None
    host = environ.get("HTTP_HOST", "this port")
    return (
        f"The local AWS at {host} belongs to the local stack of another checkout ({owner.checkout}). "
        "Unset AWS_ENDPOINT_URL so that commands find this checkout's own stack (start it with `make run`), "
        "or point it at that stack's local AWS."
    )


def _respond(start_response: Callable[..., Any], status: str, message: str, environ: dict[str, Any]) -> list[bytes]:
    """An AWS-style error: JSON for JSON protocols (DynamoDB, SQS), XML for query protocols (SNS)."""
    if environ.get("HTTP_X_AMZ_TARGET"):
        return _json(start_response, status, {"__type": "AccessDeniedException", "message": message})
    body = (
        "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
        f"<Message>{_xml_escape(message)}</Message></Error></ErrorResponse>"
    ).encode()
    start_response(status, [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
    return [body]


def _json(start_response: Callable[..., Any], status: str, document: dict[str, Any]) -> list[bytes]:
    body = json.dumps(document).encode()
    start_response(status, [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(body)))])
    return [body]


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
