"""Fixes to moto's DynamoDB, installed only in the embedded local AWS's own process.

moto backs up the whole table before each item of a transaction, so one transaction costs
time in proportion to the table: 3 ms on an empty table, 160 ms at 4,000 items. That makes
the local stack slow after a day of use, and the 1,000-task tests unbearable. A transaction
only changes the items it names, so backing up those is enough: this replaces the backup
with one of the named items, restored if the transaction fails. DynamoDB calls reach moto
one at a time (see `embedded_aws`), so nothing else changes the table in between; the fix is
only correct with that lock, and is installed nowhere else.

moto's rollback of a failed transaction restored the whole table, its stream included; the
named-items backup must take back the stream records the failed transaction's first items
added, or the relay would publish the events of a change that never happened.

moto keeps every stream record and every shard iterator it hands out, for ever; DynamoDB keeps
records 24 hours and an iterator expires after 15 minutes. The local stack writes records on
every request and its relay asks for an iterator twice a second, so both are bounded here
(`STREAM_RECORDS_KEPT`, `SHARD_ITERATORS_KEPT`); a reader behind the trim horizon resumes at
the oldest record kept, and the sweeper publishes what it skipped.

moto also lacks Lambda's `ListFunctionUrlConfigs`, which `zappa update` calls: an empty list
(no function URLs, as Zappa's stages have none) lets the deploy rehearsal run `update`.
"""

from __future__ import annotations

import copy
import json
from typing import Any

STREAM_RECORDS_KEPT = 10_000  # trimmed back to this when twice as many: amortised, like DynamoDB's 24 h
SHARD_ITERATORS_KEPT = 1_000  # the newest; the local relay uses each once


def install() -> None:
    _list_function_url_configs()
    _bounded_streams()
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    moto_transact = DynamoDBBackend.transact_write_items
    if getattr(moto_transact, "backs_up_named_items_only", False):
        return

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        backup = _named_items(self, transact_items)
        # Where each stream stood, as a sequence number: a trim during the transaction moves positions.
        streamed = {
            table: table.stream_shard.starting_sequence_number + len(table.stream_shard.items)
            for table, *_ in backup
            if table.stream_shard is not None
        }
        setattr(Table, "__deepcopy__", lambda table, memo: table)  # noqa: B010 - moto's whole-table backup: a no-op
        try:
            moto_transact(self, transact_items)
        except BaseException:
            _restore(backup)
            for table, first_unwanted in streamed.items():
                shard = table.stream_shard
                del shard.items[max(first_unwanted - shard.starting_sequence_number, 0) :]
            raise
        finally:
            delattr(Table, "__deepcopy__")

    transact_write_items.backs_up_named_items_only = True  # type: ignore[attr-defined]
    setattr(DynamoDBBackend, "transact_write_items", transact_write_items)  # noqa: B010


def _list_function_url_configs() -> None:
    """GET /2021-10-31/functions/{name}/urls answers `{"FunctionUrlConfigs": []}`."""
    from moto.awslambda import urls
    from moto.awslambda.responses import LambdaResponse

    if hasattr(LambdaResponse, "list_function_url_configs"):
        return  # moto has it (a newer moto, or installed already)

    def list_function_url_configs(self: Any) -> str:
        return json.dumps({"FunctionUrlConfigs": []})

    setattr(LambdaResponse, "list_function_url_configs", list_function_url_configs)  # noqa: B010
    urls.url_paths[r"{0}/(?P<api_version>[^/]+)/functions/(?P<function_name>[\w_:%-]+)/urls/?$"] = (
        LambdaResponse.dispatch
    )


def _bounded_streams() -> None:
    """Trim each table's stream records and the streams backend's iterators (see the module's docstring)."""
    from moto.dynamodb.models.table import StreamShard
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    if getattr(StreamShard.add, "trims", False):
        return
    moto_add, moto_get, moto_get_records = StreamShard.add, StreamShard.get, DynamoDBStreamsBackend.get_records

    def add(self: Any, old: Any, new: Any) -> None:
        moto_add(self, old, new)
        if len(self.items) >= 2 * STREAM_RECORDS_KEPT:
            trimmed = len(self.items) - STREAM_RECORDS_KEPT
            del self.items[:trimmed]
            self.starting_sequence_number += trimmed  # sequence numbers stay those already handed out

    def get(self: Any, start: int, quantity: int) -> list[dict[str, Any]]:
        return list(moto_get(self, max(start, self.starting_sequence_number), quantity))

    def get_records(self: Any, iterator_arn: str, limit: int) -> dict[str, Any]:
        answer: dict[str, Any] = moto_get_records(self, iterator_arn, limit)
        excess = len(self.shard_iterators) - SHARD_ITERATORS_KEPT
        for arn in list(self.shard_iterators)[: max(excess, 0)]:  # insertion order: the oldest first
            del self.shard_iterators[arn]
        return answer

    add.trims = True  # type: ignore[attr-defined]
    setattr(StreamShard, "add", add)  # noqa: B010
    setattr(StreamShard, "get", get)  # noqa: B010
    setattr(DynamoDBStreamsBackend, "get_records", get_records)  # noqa: B010


def _named_items(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any, Any]]:
    """(table, hash key, range key, a copy of the item or None) for each item the transaction names."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    backup = []
    for entry in transact_items:
        operation: dict[str, Any] = next(iter(entry.values()), {})
        table = backend.tables.get(operation.get("TableName"))
        key = operation.get("Key") or operation.get("Item") or {}
        if table is None or table.hash_key_attr not in key:
            continue  # moto rejects it before changing anything
        range_attribute = table.range_key_attr
        if range_attribute is not None and range_attribute not in key:
            continue
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = DynamoType(key[range_attribute]) if range_attribute else None
        current = table.get_item(hash_key, range_key)
        backup.append((table, hash_key, range_key, copy.deepcopy(current) if current is not None else None))
    return backup


def _restore(backup: list[tuple[Any, Any, Any, Any]]) -> None:
    for table, hash_key, range_key, item in reversed(backup):
        if range_key is None:
            if item is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = item
            continue
        bucket = table.items[hash_key]
        if item is None:
            bucket.pop(range_key, None)
            if not bucket:
                del table.items[hash_key]
        else:
            bucket[range_key] = item
