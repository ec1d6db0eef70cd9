"""Does the stage's execution role allow every AWS call the package made? Read from moto's recorder.

moto does not enforce IAM, so the rehearsal records the calls the zip made while serving its
smoke invocations (told apart by their access key) and evaluates each against the role's
policy: action and resource, as IAM would match them (wildcards included, no conditions).
A call it cannot name counts as refused. What it cannot see: calls AWS makes with the role on
its own (the SQS poller, log delivery, EventBridge's check of the rule's role; the rehearsal
checks the trust policy and Zappa's requests for those) and code paths the smoke does not run.
"""

from __future__ import annotations

import base64
import fnmatch
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

# TransactWriteItems is authorized as the actions of its parts.
_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def calls_by(recording: list[dict[str, Any]], access_key: str, *, region: str, account: str) -> list[tuple[str, str]]:
    """(action, resource ARN) of each call signed with `access_key`."""
    calls: list[tuple[str, str]] = []
    for entry in recording:
        headers = {name.lower(): value for name, value in entry["headers"].items()}
        if f"Credential={access_key}/" not in headers.get("authorization", ""):
            continue
        body = base64.b64decode(entry["body"]).decode() if entry.get("body_encoded") else entry.get("body") or ""
        calls += _named(entry["method"], entry["url"], headers, body, region=region, account=account)
    return calls


def denied(calls: list[tuple[str, str]], policy: dict[str, Any]) -> list[tuple[str, str]]:
    allowed = [
        (_as_list(statement["Action"]), _as_list(statement["Resource"]))
        for statement in policy["Statement"]
        if statement.get("Effect") == "Allow"
    ]
    return [
        (action, resource)
        for action, resource in calls
        if not any(
            any(fnmatch.fnmatchcase(action, pattern) for pattern in actions)
            and any(fnmatch.fnmatchcase(resource, pattern) for pattern in resources)
            for actions, resources in allowed
        )
    ]


def _named(
    method: str, url: str, headers: dict[str, str], body: str, *, region: str, account: str
) -> list[tuple[str, str]]:
    target = headers.get("x-amz-target", "")
    if target.startswith("DynamoDB_"):
        return _dynamodb(target.split(".", 1)[1], json.loads(body or "{}"), region=region, account=account)
    if target.startswith("AmazonSQS."):
        queue_url = json.loads(body or "{}").get("QueueUrl", "")
        return [(f"sqs:{target.split('.', 1)[1]}", _queue_arn(queue_url, region=region))]
    form = {key: values[0] for key, values in parse_qs(body).items()}
    if "Action" in form and "TopicArn" in form:  # SNS's query protocol; PublishBatch is sns:Publish
        action = "Publish" if form["Action"] in {"Publish", "PublishBatch"} else form["Action"]
        return [(f"sns:{action}", form["TopicArn"])]
    if "/s3/" in headers.get("authorization", "") and method == "GET":
        return [("s3:GetObject", f"arn:aws:s3:::{urlsplit(url).path.lstrip('/')}")]
    return [("unknown", f"{method} {url}")]


def _dynamodb(operation: str, request: dict[str, Any], *, region: str, account: str) -> list[tuple[str, str]]:
    def table(name: str, index: str | None = None) -> str:
        arn = f"arn:aws:dynamodb:{region}:{account}:table/{name}"
        return f"{arn}/index/{index}" if index else arn

    if operation == "TransactWriteItems":
        return [
            (f"dynamodb:{_TRANSACT_ACTIONS[kind]}", table(part["TableName"]))
            for item in request["TransactItems"]
            for kind, part in item.items()
        ]
    if operation in {"BatchGetItem", "BatchWriteItem"}:
        return [(f"dynamodb:{operation}", table(name)) for name in request["RequestItems"]]
    return [(f"dynamodb:{operation}", table(request["TableName"], request.get("IndexName")))]


def _queue_arn(queue_url: str, *, region: str) -> str:
    account, name = urlsplit(queue_url).path.strip("/").split("/")[-2:]
    return f"arn:aws:sqs:{region}:{account}:{name}"


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value
