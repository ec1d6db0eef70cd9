"""The stage's Lambda role: only the actions the function takes, on only its own resources.

Zappa's default role may use every table, topic, queue and bucket in the account. A stage that
sets `"manage_roles": false` and a `role_arn` gets this role from `provision --stage` instead,
made before `zappa deploy` needs it. Its policy is derived from the stage's own settings, so
nothing is written twice: the account and region come from TOPIC_ARN.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

from ops.errors import OperationsError
from ops.provisioning.changes import Change, act
from ops.provisioning.ses import ses_statements
from ops.provisioning.sqs import stream_failures_queue_name

if TYPE_CHECKING:
    from mypy_boto3_iam.client import IAMClient

POLICY_NAME = "least-privilege"
# Zappa uses the one role three ways: as the function's execution role, as the credentials
# API Gateway's integration invokes the function with, and as the RoleArn of the schedule's
# EventBridge rule (which EventBridge refuses unless it may assume the role).
ASSUME_ROLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": ["apigateway.amazonaws.com", "events.amazonaws.com", "lambda.amazonaws.com"]},
            "Action": "sts:AssumeRole",
        }
    ],
}
# What the API, the outbox sweeper and the SQS consumer call. TransactWriteItems is authorized
# through the actions of its parts (Put, Update, Delete, ConditionCheck).
DYNAMODB_ACTIONS = [
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
]
# Lambda's pollers for the event sources use the function's role: the events and webhooks queues',
SQS_CONSUMER_ACTIONS = [
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ReceiveMessage",
]
# and the table stream's (reading it, and sending what the relay gave up to the failure queue).
STREAM_READER_ACTIONS = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]


@dataclass(frozen=True)
class ExecutionRole:
    name: str
    policy: dict[str, Any]


def execution_role(
    *, role_arn: str, function_name: str, environment: Mapping[str, str], secrets_url: str | None, xray: bool
) -> ExecutionRole:
    """The role named by `role_arn`, allowed exactly what the stage's function needs: `secrets_url`
    is the S3 object (`s3://bucket/key`) it reads its secrets from at start-up, if any."""
    _, partition, _, region, account, topic = (environment["TOPIC_ARN"].split(":", 5) + [""] * 6)[:6]
    if not (partition and region and account and topic):
        raise OperationsError(f"TOPIC_ARN={environment['TOPIC_ARN']!r} is not an SNS topic ARN.")
    role_path, _, name = role_arn.partition(":role/")[2].rpartition("/")
    if role_path or not name:
        raise OperationsError(
            f"role_arn={role_arn!r}: name a role without a path, like arn:aws:iam::<account>:role/<name>."
        )
    table = f"arn:{partition}:dynamodb:{region}:{account}:table/{environment['TABLE_NAME']}"
    queue_name = environment["EVENTS_QUEUE_URL"].rstrip("/").rsplit("/", 1)[-1]
    queue = f"arn:{partition}:sqs:{region}:{account}:{queue_name}"
    failures = f"arn:{partition}:sqs:{region}:{account}:{stream_failures_queue_name(environment['TABLE_NAME'])}"
    webhooks = f"arn:{partition}:sqs:{region}:{account}:{environment['TABLE_NAME']}-webhooks"
    log_group = f"arn:{partition}:logs:{region}:{account}:log-group:/aws/lambda/{function_name}"
    function = f"arn:{partition}:lambda:{region}:{account}:function:{function_name}"
    statements: list[dict[str, Any]] = [
        _allow(["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], [log_group, f"{log_group}:*"]),
        # For API Gateway: the function, its versions and the `snapstart` alias.
        _allow(["lambda:InvokeFunction"], [function, f"{function}:*"]),
        _allow(DYNAMODB_ACTIONS, [table, f"{table}/index/*"]),
        # ListSubscriptionsByTopic: after the topic was missing, the relay publishes again only once
        # it has a subscriber (tasks_app.adapters.sns).
        _allow(["sns:Publish", "sns:ListSubscriptionsByTopic"], [environment["TOPIC_ARN"]]),
        _allow(SQS_CONSUMER_ACTIONS, [queue, webhooks]),
        _allow(STREAM_READER_ACTIONS, [f"{table}/stream/*"]),
        # ListStreams names no resource (IAM allows it only on "*"); it lists stream ARNs, no data.
        _allow(["dynamodb:ListStreams"], ["*"]),
        # The failure queue, and the webhooks queue, where the webhooks consumer queues its retries.
        _allow(["sqs:SendMessage"], [failures, webhooks]),
        # The notifications' email (issue 14): the stage's sender identity and configuration set, if it sends.
        *ses_statements(environment, f"arn:{partition}:ses:{region}:{account}"),
    ]
    if secrets_url:
        bucket, _, key = secrets_url.removeprefix("s3://").partition("/")
        statements.append(_allow(["s3:GetObject"], [f"arn:{partition}:s3:::{bucket}/{unquote(key)}"]))
    if xray:
        statements.append(_allow(["xray:PutTelemetryRecords", "xray:PutTraceSegments"], ["*"]))
    return ExecutionRole(name=name, policy={"Version": "2012-10-17", "Statement": statements})


def ensure_execution_role(client: IAMClient, role: ExecutionRole, *, dry_run: bool) -> Change:
    try:
        current = client.get_role(RoleName=role.name)["Role"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "NoSuchEntity":
            raise
        if not dry_run:
            client.create_role(
                RoleName=role.name,
                AssumeRolePolicyDocument=json.dumps(ASSUME_ROLE_POLICY),
                Description="The Task API's Lambda function: its own table, topic, queue and secrets only.",
            )
            _put_policy(client, role)
        return Change("role", role.name, act("created", dry_run), f"policy {POLICY_NAME}")
    updates = []
    if _document(current.get("AssumeRolePolicyDocument")) != ASSUME_ROLE_POLICY:
        updates.append("trust policy")
        if not dry_run:
            client.update_assume_role_policy(RoleName=role.name, PolicyDocument=json.dumps(ASSUME_ROLE_POLICY))
    if _current_policy(client, role.name) != role.policy:
        updates.append(f"policy {POLICY_NAME}")
        if not dry_run:
            _put_policy(client, role)
    return Change("role", role.name, act("updated", dry_run) if updates else "unchanged", ", ".join(updates))


def _allow(actions: list[str], resources: list[str]) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources}


def _put_policy(client: IAMClient, role: ExecutionRole) -> None:
    client.put_role_policy(RoleName=role.name, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(role.policy))


def _current_policy(client: IAMClient, role_name: str) -> Any:
    try:
        return _document(client.get_role_policy(RoleName=role_name, PolicyName=POLICY_NAME)["PolicyDocument"])
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "NoSuchEntity":
            return None
        raise


def _document(document: Any) -> Any:
    """IAM hands policies back URL-encoded strings or parsed dicts, depending on the SDK path."""
    if isinstance(document, str):
        return json.loads(unquote(document))
    return document
