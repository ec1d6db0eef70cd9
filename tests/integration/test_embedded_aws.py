"""The embedded local AWS behaves like DynamoDB where the project relies on it."""

from __future__ import annotations

import threading

import pytest
from botocore.exceptions import ClientError

from ops.data import table_dump


def item(key: str, **attributes: str) -> dict:
    return {"PK": {"S": key}, "SK": {"S": key}, **{name: {"S": value} for name, value in attributes.items()}}


def get(aws, key: str) -> dict:
    dynamodb = aws.target.client("dynamodb")
    found = dynamodb.get_item(TableName=aws.resources.table_name, Key={"PK": {"S": key}, "SK": {"S": key}})
    return found.get("Item", {})


def test_a_cancelled_transaction_changes_none_of_its_items(aws):
    dynamodb, table = aws.target.client("dynamodb"), aws.resources.table_name
    dynamodb.put_item(TableName=table, Item=item("updated", Value="before"))
    dynamodb.put_item(TableName=table, Item=item("deleted", Value="kept"))
    dynamodb.put_item(TableName=table, Item=item("blocker"))
    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": item("new")}},
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"PK": {"S": "updated"}, "SK": {"S": "updated"}},
                        "UpdateExpression": "SET #v = :v",
                        "ExpressionAttributeNames": {"#v": "Value"},
                        "ExpressionAttributeValues": {":v": {"S": "after"}},
                    }
                },
                {"Delete": {"TableName": table, "Key": {"PK": {"S": "deleted"}, "SK": {"S": "deleted"}}}},
                {
                    "Put": {
                        "TableName": table,
                        "Item": item("blocker"),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
            ]
        )
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert get(aws, "new") == {}
    assert get(aws, "updated")["Value"] == {"S": "before"}
    assert get(aws, "deleted")["Value"] == {"S": "kept"}


def test_concurrent_transactions_all_succeed_on_a_big_table(aws):
    # moto alone fails some of these with a 500: a write lands while it copies the table.
    dynamodb, table = aws.target.client("dynamodb"), aws.resources.table_name
    table_dump.write_items(dynamodb, table, (item(f"filler-{n}", Title="x" * 50) for n in range(2000)))
    errors: list[str] = []

    def write(worker: int) -> None:
        for n in range(20):
            try:
                dynamodb.transact_write_items(
                    TransactItems=[
                        {"Put": {"TableName": table, "Item": item(f"w{worker}-{n}-a")}},
                        {"Put": {"TableName": table, "Item": item(f"w{worker}-{n}-b")}},
                    ]
                )
            except ClientError as error:
                errors.append(str(error))

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert all(get(aws, f"w{worker}-19-b") for worker in range(8))
