"""The local stand-in for Lambda's DynamoDB stream event source: it follows the table's stream
and hands each batch of records to the relay the deployed function runs
(`tasks_app.bootstrap.relay_stream_records`, through `config.lambda_handlers.relay_stream`).

Like Lambda's poller it reads every shard in order, a batch at a time, and when the relay reports
records it could not publish it reads the shard again from the lowest of them, after a pause. It
starts at the stream's end: the caller sweeps the outbox once it follows, so an event stored
while nothing followed the stream is published by the sweep instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ops.errors import OperationsError

# Records per GetRecords; DynamoDB Streams returns at most 1,000 (GetRecords' Limit).
BATCH_SIZE = 100
# Between polls of an idle stream: Lambda polls each shard 4 times a second; twice keeps the
# local stack's idle requests down while a relay's lag stays well under a second.
POLL_SECONDS = 0.5

StreamRelay = Callable[[Sequence[Mapping[str, Any]]], list[str]]


class StreamFollower:
    """Reads a table's stream from its end onwards. `dynamodb` and `streams` are boto3 clients of
    the DynamoDB and DynamoDB Streams APIs of one (local) AWS."""

    def __init__(self, dynamodb: Any, streams: Any, table_name: str, *, batch_size: int = BATCH_SIZE) -> None:
        self._dynamodb, self._streams, self._table_name, self._batch_size = dynamodb, streams, table_name, batch_size
        self._stream_arn = ""
        self._iterators: dict[str, str] = {}  # shard id -> the iterator to read it from next

    def start(self) -> None:
        """Find the table's stream and take an iterator at the end of each shard.

        Raises `OperationsError` if the table has no stream (provision adds it), and botocore's
        errors if the AWS cannot be reached.
        """
        table = self._dynamodb.describe_table(TableName=self._table_name)["Table"]
        stream_arn = table.get("LatestStreamArn")
        if not stream_arn or not table.get("StreamSpecification", {}).get("StreamEnabled"):
            raise OperationsError(
                f"The table {self._table_name} has no stream, so nothing wakes the relay: "
                "run `python manage.py provision`, which enables it."
            )
        self._stream_arn = stream_arn
        shards = self._streams.describe_stream(StreamArn=stream_arn)["StreamDescription"].get("Shards", [])
        self._iterators = {
            shard["ShardId"]: self._iterator(shard["ShardId"], ShardIteratorType="LATEST")
            for shard in shards
            if "EndingSequenceNumber" not in shard.get("SequenceNumberRange", {})  # open shards only
        }

    def poll(self, relay: StreamRelay) -> tuple[int, int]:
        """One GetRecords per shard, each batch handed to `relay`, which returns the sequence
        numbers of the records it could not publish. Returns (records read, records failed); a
        shard with failures is read again from the lowest of them next time.

        Raises botocore's errors (an iterator that expired, the AWS unreachable): the caller
        starts again.
        """
        read = failed = 0
        for shard_id, iterator in list(self._iterators.items()):
            answer = self._streams.get_records(ShardIterator=iterator, Limit=self._batch_size)
            records = answer.get("Records", [])
            following = answer.get("NextShardIterator")
            if records:
                read += len(records)
                failures = relay(records)
                if failures:
                    failed += len(failures)
                    lowest = min(failures, key=int)
                    following = self._iterator(shard_id, ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=lowest)
            if following is None:  # the shard was closed and read to its end
                del self._iterators[shard_id]
            else:
                self._iterators[shard_id] = following
        return read, failed

    def _iterator(self, shard_id: str, **position: str) -> str:
        answer = self._streams.get_shard_iterator(StreamArn=self._stream_arn, ShardId=shard_id, **position)
        return str(answer["ShardIterator"])
