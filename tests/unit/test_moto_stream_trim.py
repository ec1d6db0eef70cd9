"""The local AWS's bounded stream: a trim that falls inside a cancelled transaction must still
take back the transaction's records, or the relay would publish a change that never happened.
(moto in-process, with our patches and a tiny bound, so that the trim lands mid-transaction.)"""

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models import dynamodb_backends

from ops.local import moto_patches

ACCOUNT = "123456789012"  # moto's default account


def test_a_cancelled_transaction_leaves_no_record_even_when_a_trim_falls_inside_it(monkeypatch):
    monkeypatch.setattr(moto_patches, "STREAM_RECORDS_KEPT", 5)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # moto in this process, not a server
    with mock_aws():
        moto_patches.install()
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="t",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        )
        for i in range(8):  # the stream holds 8: the transaction's second put reaches 10 and trims
            dynamodb.put_item(TableName="t", Item={"k": {"S": f"x{i}"}})
        put: list[Any] = [{"Put": {"TableName": "t", "Item": {"k": {"S": f"phantom{i}"}}}} for i in (1, 2)]
        taken: Any = {"TableName": "t", "Item": {"k": {"S": "x0"}}, "ConditionExpression": "attribute_not_exists(k)"}
        with pytest.raises(ClientError, match="TransactionCanceled"):
            dynamodb.transact_write_items(TransactItems=[*put, {"Put": taken}])
        shard = dynamodb_backends[ACCOUNT]["us-east-1"].get_table("t").stream_shard
        assert shard is not None
        streamed = [record.to_json()["dynamodb"]["NewImage"]["k"]["S"] for record in shard.items]
        assert streamed
        assert not [key for key in streamed if key.startswith("phantom")], streamed
