"""The single table (SPEC §3): on demand, GSI1-GSI4, TTL on `ExpiresAt`, point-in-time recovery when deployed,
and a stream of new images.

GSI1-GSI3 serve the listings (`tasks_app.adapters.dynamodb.listing`): GSI1 a user's tasks by
creation (and the trash by deletion), GSI2 by status, GSI3 by due date. GSI4 serves the due-date
reminder sweep (issue 14 item 6: open tasks with a reminder pending, by UTC hour). DynamoDB adds one GSI
per `UpdateTable`, and refuses the next while one is still being built, so a table that lacks
several gets them one at a time, each waited for until ACTIVE.

The stream (NEW_IMAGE) carries every write; the outbox relay is woken by the outbox inserts in it
(issue 12), so an event is published as soon as it is committed rather than at the next sweep.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, Literal

from ops.errors import OperationsError
from ops.provisioning.changes import Change, act

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import GlobalSecondaryIndexTypeDef, TableDescriptionTypeDef

    from ops.provisioning.resources import Resources

EXPIRY_ATTRIBUTE = "ExpiresAt"
INDEX_NAMES = ("GSI1", "GSI2", "GSI3", "GSI4")
# Building an index over a large table takes minutes to hours; past this, provisioning stops
# with an error saying so (running it again resumes: it waits for the index being built).
INDEX_WAIT_SECONDS = 2 * 3600
INDEX_POLL_SECONDS = 10
# The relay reads the inserted outbox item itself, so the new image is all the stream needs to carry.
STREAM_VIEW_TYPE: Final[Literal["NEW_IMAGE"]] = "NEW_IMAGE"


def _index(name: str) -> GlobalSecondaryIndexTypeDef:
    return {
        "IndexName": name,
        "KeySchema": [
            {"AttributeName": f"{name}PK", "KeyType": "HASH"},
            {"AttributeName": f"{name}SK", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    }


def _key_attributes(*index_names: str) -> list[str]:
    return [attribute for name in index_names for attribute in (f"{name}PK", f"{name}SK")]


def ensure_table(
    client: DynamoDBClient,
    resources: Resources,
    *,
    dry_run: bool,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Change]:
    """Create the table, or bring billing and the indexes in line; then its TTL and backups.

    Raises `OperationsError` when an index is not ACTIVE within `INDEX_WAIT_SECONDS`, and
    botocore's `ClientError` when AWS refuses a call.
    """
    name = resources.table_name
    try:
        table = client.describe_table(TableName=name)["Table"]
    except client.exceptions.ResourceNotFoundException:
        if not dry_run:
            client.create_table(
                TableName=name,
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[
                    {"AttributeName": a, "AttributeType": "S"} for a in ["PK", "SK", *_key_attributes(*INDEX_NAMES)]
                ],
                KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
                GlobalSecondaryIndexes=[_index(index) for index in INDEX_NAMES],
                StreamSpecification={"StreamEnabled": True, "StreamViewType": STREAM_VIEW_TYPE},
            )
            client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        created = f"PAY_PER_REQUEST, {', '.join(INDEX_NAMES)}, stream {STREAM_VIEW_TYPE}"
        changes = [Change("table", name, act("created", dry_run), created)]
        changes += _ensure_expiry(client, name, dry_run=dry_run, table_exists=not dry_run)
        return changes + _ensure_recovery(client, resources, dry_run=dry_run, table_exists=not dry_run)

    updates = []
    if table.get("BillingModeSummary", {}).get("BillingMode") != "PAY_PER_REQUEST":
        updates.append("billing PAY_PER_REQUEST")
        if not dry_run:
            client.update_table(TableName=name, BillingMode="PAY_PER_REQUEST")
    existing = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}
    for index in INDEX_NAMES:
        if index in existing:
            continue
        updates.append(f"index {index} added")
        if not dry_run:
            _wait_for_indexes(client, name, sleep=sleep)  # DynamoDB builds one index at a time
            client.update_table(
                TableName=name,
                AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in _key_attributes(index)],
                GlobalSecondaryIndexUpdates=[{"Create": _index(index)}],
            )
            _wait_for_indexes(client, name, sleep=sleep)
    updates += _ensure_stream(client, table, dry_run=dry_run, sleep=sleep)
    action = act("updated", dry_run) if updates else "unchanged"
    return [
        Change("table", name, action, ", ".join(updates)),
        *_ensure_expiry(client, name, dry_run=dry_run),
        *_ensure_recovery(client, resources, dry_run=dry_run),
    ]


def _ensure_stream(
    client: DynamoDBClient, table: TableDescriptionTypeDef, *, dry_run: bool, sleep: Callable[[float], None]
) -> list[str]:
    """Turn the NEW_IMAGE stream on when the table has none, or has one of another view type.

    Returns the update made (or that would be made) for the change line; none when it is in place.
    DynamoDB cannot change a stream's view type in place: the old stream is disabled first, then
    a new one enabled (its records are new; the sweeper relays anything the gap left behind).
    """
    specification = table.get("StreamSpecification", {})
    if specification.get("StreamEnabled") and specification.get("StreamViewType") == STREAM_VIEW_TYPE:
        return []
    name = table["TableName"]
    if not dry_run:
        if specification.get("StreamEnabled"):
            _wait_for_indexes(client, name, sleep=sleep)
            client.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
        _wait_for_indexes(client, name, sleep=sleep)  # one table update at a time
        client.update_table(
            TableName=name, StreamSpecification={"StreamEnabled": True, "StreamViewType": STREAM_VIEW_TYPE}
        )
        _wait_for_indexes(client, name, sleep=sleep)
    return [f"stream {STREAM_VIEW_TYPE}"]


def _wait_for_indexes(
    client: DynamoDBClient,
    name: str,
    *,
    sleep: Callable[[float], None],
    timeout_seconds: float = INDEX_WAIT_SECONDS,
    poll_seconds: float = INDEX_POLL_SECONDS,
) -> None:
    """Return once the table and every index are ACTIVE; `OperationsError` after `timeout_seconds`."""
    waited = 0.0
    while True:
        table = client.describe_table(TableName=name)["Table"]
        building = [
            index["IndexName"]
            for index in table.get("GlobalSecondaryIndexes", [])
            if index.get("IndexStatus", "ACTIVE") != "ACTIVE"
        ]
        if table.get("TableStatus", "ACTIVE") == "ACTIVE" and not building:
            return
        if waited >= timeout_seconds:
            raise OperationsError(
                f"Table {name}: index {', '.join(building) or '(table update)'} still not ACTIVE after "
                f"{timeout_seconds:.0f} s. DynamoDB is still building it; run provision again later to go on."
            )
        sleep(poll_seconds)
        waited += poll_seconds


def _ensure_expiry(client: DynamoDBClient, name: str, *, dry_run: bool, table_exists: bool = True) -> list[Change]:
    """Items with `ExpiresAt` (rate-limit counters, idempotency records, trashed tasks) are
    deleted by DynamoDB once it has passed."""
    if table_exists:
        description = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if description.get("TimeToLiveStatus") in {"ENABLED", "ENABLING"} and description.get("AttributeName") == (
            EXPIRY_ATTRIBUTE
        ):
            return [Change("table expiry", name, "unchanged", f"TTL on {EXPIRY_ATTRIBUTE}")]
    if not dry_run:
        client.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": EXPIRY_ATTRIBUTE}
        )
    return [Change("table expiry", name, act("updated", dry_run), f"TTL on {EXPIRY_ATTRIBUTE}")]


def _ensure_recovery(
    client: DynamoDBClient, resources: Resources, *, dry_run: bool, table_exists: bool = True
) -> list[Change]:
    if not resources.point_in_time_recovery:
        return []
    name = resources.table_name
    if table_exists:
        description = client.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        if description.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus") == "ENABLED":
            return [Change("table backup", name, "unchanged", "point-in-time recovery on")]
    if not dry_run:
        client.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    return [Change("table backup", name, act("updated", dry_run), "point-in-time recovery on")]
