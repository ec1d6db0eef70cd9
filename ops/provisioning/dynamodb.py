"""The single table (SPEC §3): on demand, GSI1, TTL on `ExpiresAt`, point-in-time recovery when deployed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ops.provisioning.changes import Change, act

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import GlobalSecondaryIndexTypeDef

    from ops.provisioning.resources import Resources

EXPIRY_ATTRIBUTE = "ExpiresAt"
_KEY_ATTRIBUTES = ["PK", "SK", "GSI1PK", "GSI1SK"]
_GSI1: GlobalSecondaryIndexTypeDef = {
    "IndexName": "GSI1",
    "KeySchema": [{"AttributeName": "GSI1PK", "KeyType": "HASH"}, {"AttributeName": "GSI1SK", "KeyType": "RANGE"}],
    "Projection": {"ProjectionType": "ALL"},
}


def ensure_table(client: DynamoDBClient, resources: Resources, *, dry_run: bool) -> list[Change]:
    """Create the table, or bring billing and GSI1 in line; then its TTL and backups."""
    name = resources.table_name
    try:
        table = client.describe_table(TableName=name)["Table"]
    except client.exceptions.ResourceNotFoundException:
        if not dry_run:
            client.create_table(
                TableName=name,
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in _KEY_ATTRIBUTES],
                KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
                GlobalSecondaryIndexes=[_GSI1],
            )
            client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        changes = [Change("table", name, act("created", dry_run), "PAY_PER_REQUEST, GSI1")]
        changes += _ensure_expiry(client, name, dry_run=dry_run, table_exists=not dry_run)
        return changes + _ensure_recovery(client, resources, dry_run=dry_run, table_exists=not dry_run)

    updates = []
    if table.get("BillingModeSummary", {}).get("BillingMode") != "PAY_PER_REQUEST":
        updates.append("billing PAY_PER_REQUEST")
        if not dry_run:
            client.update_table(TableName=name, BillingMode="PAY_PER_REQUEST")
    if not any(index["IndexName"] == "GSI1" for index in table.get("GlobalSecondaryIndexes", [])):
        updates.append("index GSI1 added")
        if not dry_run:
            client.update_table(
                TableName=name,
                AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in _KEY_ATTRIBUTES],
                GlobalSecondaryIndexUpdates=[{"Create": _GSI1}],
            )
    action = act("updated", dry_run) if updates else "unchanged"
    return [
        Change("table", name, action, ", ".join(updates)),
        *_ensure_expiry(client, name, dry_run=dry_run),
        *_ensure_recovery(client, resources, dry_run=dry_run),
    ]


def _ensure_expiry(client: DynamoDBClient, name: str, *, dry_run: bool, table_exists: bool = True) -> list[Change]:
    """Items with `ExpiresAt` (rate-limit counters) are deleted by DynamoDB once it has passed."""
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
