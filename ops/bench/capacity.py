"""What an operation asks of DynamoDB: its requests as moto's recorder saw them on the wire, what
each request's shape is (to check that two ways of doing something make the same requests), and
the write capacity units of the items it wrote.

Write units are computed from the recorded requests, because moto does not compute them: it
answers `ReturnConsumedCapacity` (which PynamoDB sends on every call) with an empty list for
`TransactWriteItems` and a constant for reads, whatever the items (`reported_capacity` shows
its answers). The rules are DynamoDB's (developer guide: "Item sizes and formats", "Capacity
unit consumption", "Capacity management for transactions"):

- an item's size is the sum over its attributes of the name's UTF-8 length plus the value's
  size: text its UTF-8 length, binary its length, a number 1 byte per 2 significant digits plus
  1, a boolean or null 1 byte, a list or map 3 bytes plus 1 per element plus the elements (a
  map's keys counted like names), a set the sum of its members;
- a write costs 1 WCU per KB of the item, rounded up per item; inside `TransactWriteItems` 2 per
  KB per item (DynamoDB prepares and then commits each one);
- a Put is sized by the item it writes. An Update, Delete or ConditionCheck is sized by the item
  already stored, which the request does not hold: it is counted by its key, i.e. at the 1 KB
  minimum (the API writes its changes as whole-item Puts, so this only concerns other callers).

Not counted: the writes DynamoDB makes to global secondary indexes, billed on top (the note
under the table says how many a task write causes).
"""

from __future__ import annotations

import base64
import json
import math
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ops.local.embedded_aws import AwsCall, EmbeddedAws

KB = 1024
TRANSACTIONAL_FACTOR = 2  # TransactWriteItems: prepare and commit, each a write of the item


@dataclass(frozen=True)
class Request:
    """One recorded AWS request: the service, the operation and (for DynamoDB) its JSON body."""

    service: str
    operation: str
    body: dict[str, Any]

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> Request:
        call = AwsCall.from_entry(entry)
        body: dict[str, Any] = {}
        if call.service == "dynamodb":
            raw = str(entry.get("body") or "")
            text = base64.b64decode(raw).decode() if entry.get("body_encoded") else raw
            body = dict(json.loads(text)) if text else {}
        return cls(call.service, call.operation, body)


@contextmanager
def recorded(aws: EmbeddedAws) -> Iterator[list[Request]]:
    """Every AWS request made inside the block, in order, with its body (moto's request recorder:
    `EmbeddedAws.recording` gives the same list without the bodies)."""
    requests: list[Request] = []
    _recorder(aws, "reset-recording")
    _recorder(aws, "start-recording")
    try:
        yield requests
    finally:
        _recorder(aws, "stop-recording")
        lines = _recorder(aws, "download-recording").splitlines()
        requests.extend(Request.from_entry(json.loads(line)) for line in lines if line.strip())


def dynamodb(requests: Iterable[Request]) -> list[Request]:
    return [request for request in requests if request.service == "dynamodb"]


def by_operation(requests: Iterable[Request]) -> Counter[str]:
    """DynamoDB requests per operation name."""
    return Counter(request.operation for request in dynamodb(requests))


def describe(operations: Counter[str]) -> str:
    """`GetItem + TransactWriteItems`, `4x Query`, `-`: the requests in the order first made."""
    return " + ".join(f"{count}x {name}" if count > 1 else name for name, count in operations.items()) or "-"


@dataclass(frozen=True)
class Writes:
    """Items written and the write capacity units they cost."""

    items: int = 0
    units: int = 0
    size: int = 0  # bytes, all items together

    def __add__(self, other: Writes) -> Writes:
        return Writes(self.items + other.items, self.units + other.units, self.size + other.size)

    def __str__(self) -> str:
        return f"{self.units} = {self.items} items, {self.size / KB:.1f} KB" if self.items else "0"


def writes(requests: Iterable[Request]) -> Writes:
    """The items the requests wrote and their write units, by the rules in the module docstring."""
    total = Writes()
    for request in dynamodb(requests):
        body = request.body
        if request.operation == "TransactWriteItems":
            for action in body["TransactItems"]:
                total += _write(*action.values(), factor=TRANSACTIONAL_FACTOR)
        elif request.operation in {"PutItem", "UpdateItem", "DeleteItem"}:
            total += _write(body, factor=1)
        elif request.operation == "BatchWriteItem":
            for table_requests in body["RequestItems"].values():
                for write in table_requests:
                    total += _write(*write.values(), factor=1)
    return total


def _write(action: dict[str, Any], *, factor: int) -> Writes:
    size = item_size(action.get("Item") or action["Key"])
    return Writes(items=1, units=factor * max(1, math.ceil(size / KB)), size=size)


def item_size(item: dict[str, dict[str, Any]]) -> int:
    """The size DynamoDB bills an item (in DynamoDB JSON: `{"Name": {"S": "value"}}`) by, in bytes."""
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def value_size(value: dict[str, Any]) -> int:
    ((kind, content),) = value.items()
    match kind:
        case "S":
            return len(str(content).encode())
        case "B":
            return len(base64.b64decode(content))
        case "N":
            return _number_size(str(content))
        case "BOOL" | "NULL":
            return 1
        case "SS":
            return sum(len(str(member).encode()) for member in content)
        case "BS":
            return sum(len(base64.b64decode(member)) for member in content)
        case "NS":
            return sum(_number_size(str(member)) for member in content)
        case "L":
            return 3 + sum(1 + value_size(element) for element in content)
        case "M":
            return 3 + sum(1 + len(key.encode()) + value_size(element) for key, element in content.items())
    raise ValueError(f"Unknown DynamoDB type {kind!r}")


def _number_size(text: str) -> int:
    digits = Decimal(text).normalize().as_tuple().digits  # leading and trailing zeroes trimmed
    significant = 0 if digits == (0,) else len(digits)
    return math.ceil(significant / 2) + 1


def shape(request: Request) -> tuple[Any, ...]:
    """What a DynamoDB request asks, without the values that differ from one task to the next:
    the operation, key attributes, index, page size, order, consistency, each expression with
    the attributes it names (PynamoDB numbers placeholders in order, so the same conditions built
    the same way read the same), and for a transaction each action's kind, item type and condition."""
    body = request.body
    actions = tuple(
        (
            kind,
            action.get("Item", {}).get("Type", {}).get("S"),
            action.get("ConditionExpression"),
            _names(action),
            action.get("ReturnValuesOnConditionCheckFailure"),
        )
        for item in body.get("TransactItems", [])
        for kind, action in item.items()
    )
    expressions = tuple(
        body.get(name)
        for name in ("KeyConditionExpression", "FilterExpression", "ConditionExpression", "ProjectionExpression")
    )
    settings = (body.get("IndexName"), body.get("Limit"), body.get("ScanIndexForward"), body.get("ConsistentRead"))
    return (request.operation, tuple(body.get("Key", {})), *settings, *expressions, _names(body), actions)


def split_request_path(inside: Iterable[Request], own: Iterable[Request]) -> tuple[list[Request], list[Request]]:
    """The requests made inside an invocation (`inside`, in order), split into the operation's own
    (each matching, by `shape`, one of the requests in `own`, which bare PynamoDB made doing the
    operation, each used once) and the rest: rate limiting, a relay inside the request, anything
    else on the path. Returns (own, rest), each in the order made; knows nothing of what the rest
    are, so it holds whatever the API does around the operation."""
    wanted = Counter(shape(request) for request in own)
    matched: list[Request] = []
    rest: list[Request] = []
    for request in inside:
        key = shape(request) if request.service == "dynamodb" else None
        if key is not None and wanted[key] > 0:
            wanted[key] -= 1
            matched.append(request)
        else:
            rest.append(request)
    return matched, rest


def count_by_service(requests: Iterable[Request]) -> Counter[str]:
    """Requests per operation, other services' named with their service: `UpdateItem`, `sns PublishBatch`."""
    return Counter(
        request.operation if request.service == "dynamodb" else f"{request.service} {request.operation}"
        for request in requests
    )


def _names(part: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(part.get("ExpressionAttributeNames", {}).items()))


@contextmanager
def reported_capacity() -> Iterator[dict[str, list[Any]]]:
    """What DynamoDB answered, per operation, to the `ReturnConsumedCapacity=TOTAL` that PynamoDB
    adds to each call made inside the block (its `ConsumedCapacity`, or None)."""
    from pynamodb.connection.base import Connection

    answers: dict[str, list[Any]] = defaultdict(list)
    dispatch = Connection.dispatch

    def answered(connection: Connection, operation_name: str, operation_kwargs: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = dispatch(connection, operation_name, operation_kwargs)
        answers[operation_name].append((data or {}).get("ConsumedCapacity"))
        return data

    Connection.dispatch = answered  # type: ignore[method-assign,assignment]
    try:
        yield answers
    finally:
        Connection.dispatch = dispatch  # type: ignore[method-assign]


def summarize_capacity(answers: dict[str, list[Any]]) -> str:
    """`GetItem 0.5, TransactWriteItems []`: the distinct answers per operation."""
    parts = []
    for operation, reported in answers.items():
        values = sorted({json.dumps(_units(answer)) for answer in reported})
        parts.append(f"{operation} {' or '.join(values)}")
    return ", ".join(parts) or "nothing"


def _units(answer: Any) -> Any:
    if isinstance(answer, dict):
        return answer.get("CapacityUnits")
    if isinstance(answer, list):
        return [_units(entry) for entry in answer]
    return answer


def _recorder(aws: EmbeddedAws, action: str) -> str:
    request = urllib.request.Request(f"{aws.url}/moto-api/recorder/{action}", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(response.read().decode())
