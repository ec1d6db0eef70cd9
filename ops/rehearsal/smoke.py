"""The zip `make package` built, run on its own against the local AWS through Zappa's handler:
HTTP requests, then the stream relay, the outbox schedule and the SQS consumer, as Lambda would
invoke them. The stream's records are read here, as Lambda's poller reads them (the zip has no
DynamoDB Streams client: the function never reads the stream itself), between two runs of the
zip: the first serves the requests that write them, the second relays and consumes."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from config.environment import SECRETS_URL_VARIABLE
from ops.local.embedded_aws import EmbeddedAws
from ops.local.user_pool import CLIENT_ID, ISSUER, TokenIssuer
from ops.provisioning.schedule import OUTBOX_SWEEPER, REMINDER_SWEEP
from ops.rehearsal.jwks import HttpsJwks
from ops.rehearsal.package import ROLE_CREDENTIALS, api_event, local_client, package_path, run_in_package, unpack

STAGE = "staging"
ACCOUNT = "123456789012"
# Only the Celery worker and Zappa's command line use these (and nothing uses Django's PostgreSQL
# support): the trimmed zip must not hold them.
ABSENT = (
    "celery",
    "kombu",
    "billiard",
    "pycurl",
    "click",
    "troposphere",
    "pip",
    "setuptools",
    "jsonschema",
    "requests",
    "django.contrib.postgres",  # DRF imports it if it is there (3 ms of each cold start), for fields we have none of
)
STATIC_FILE = "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css"


def package_env(settings: dict[str, Any], aws: EmbeddedAws, jwks: HttpsJwks) -> dict[str, str]:
    """What the function's configuration gives it, plus the local AWS and a local token issuer."""
    _store_secrets(aws, settings["aws_environment_variables"][SECRETS_URL_VARIABLE])
    return {
        **settings["aws_environment_variables"],
        **ROLE_CREDENTIALS,
        "AWS_REGION": settings["aws_region"],  # Lambda sets these two
        "AWS_DEFAULT_REGION": settings["aws_region"],
        "AWS_ENDPOINT_URL": aws.url,
        "JWT_ISSUER": ISSUER,
        "JWT_AUDIENCE": CLIENT_ID,
        "JWT_JWKS_URL": jwks.url,
        "SSL_CERT_FILE": str(jwks.certificate),  # OpenSSL's own variable: -I does not drop it
    }


def _store_secrets(aws: EmbeddedAws, secrets_url: str) -> None:
    """The secret the stage reads from S3 at start-up (SECRETS_S3_URL's object), as an operator stores it."""
    bucket, _, key = secrets_url.removeprefix("s3://").partition("/")
    s3 = local_client(aws.url, "s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps({"DJANGO_SECRET_KEY": secrets.token_urlsafe(50)}))


def smoke_package(aws: EmbeddedAws, work: Path, settings: dict[str, Any], rule_arns: dict[str, str]) -> list[str]:
    """Serve requests and the triggers' events from the unpacked zip alone, as Lambda would;
    `rule_arns` are the schedules' rules by handler (`check_schedule`). Returns the problems."""
    directory = unpack(package_path(STAGE), work / "package")
    queue = settings["aws_environment_variables"]["EVENTS_QUEUE_URL"].rsplit("/", 1)[-1]
    webhooks_queue = f"{settings['aws_environment_variables']['TABLE_NAME']}-webhooks"
    issuer = TokenIssuer()
    jwks = HttpsJwks(issuer, work)
    try:
        token = issuer.token("alice")
        requests: list[dict[str, Any]] = [{"kind": "import", "module": module} for module in ABSENT]
        requests += [
            {"kind": "event", "event": api_event("POST", "/tasks", stage=STAGE, token=token, body=_new_task())},
            {"kind": "event", "event": api_event("POST", "/tasks", stage=STAGE, token=token, body=_new_task())},
            {"kind": "event", "event": api_event("GET", "/tasks/{task_id}", stage=STAGE, token=token)},
            # Its next cursor is signed with the key from SECRETS_S3_URL's object, read only now (config.secrets).
            {"kind": "event", "event": api_event("GET", "/tasks?limit=1", stage=STAGE, token=token)},
            {"kind": "event", "event": api_event("GET", "/api/schema", stage=STAGE)},
            {"kind": "event", "event": api_event("GET", f"/static/{STATIC_FILE}", stage=STAGE)},
            # Issue 14's app is in the zip and wired: a deployed stage takes https to a DNS name.
            {"kind": "event", "event": api_event("POST", "/webhooks", stage=STAGE, token=token, body=_new_webhook())},
        ]
        env = package_env(settings, aws, jwks)
        stream = _StreamPoller(aws, settings)
        served = run_in_package(directory, env, requests)
        records = stream.records()
        events: list[dict[str, Any]] = [
            {"kind": "event", "event": {"Records": records}},
            _scheduled(rule_arns.get(OUTBOX_SWEEPER.handler, "")),
            # The creates are due within the hour: the reminder sweep records their TaskDueSoon.
            _scheduled(rule_arns.get(REMINDER_SWEEP.handler, "")),
            {
                "kind": "sqs",
                "queue_url": f"{aws.url}/{ACCOUNT}/{queue}",
                "queue_arn": f"arn:aws:sqs:{settings['aws_region']}:{ACCOUNT}:{queue}",
            },
            {
                # The creates' events reach the webhooks queue too; alice's webhook takes none of them.
                "kind": "sqs",
                "queue_url": f"{aws.url}/{ACCOUNT}/{webhooks_queue}",
                "queue_arn": f"arn:aws:sqs:{settings['aws_region']}:{ACCOUNT}:{webhooks_queue}",
            },
        ]
        poison = _send_poison(aws, f"{aws.url}/{ACCOUNT}/{queue}")
        relayed = run_in_package(directory, env, events)
    finally:
        jwks.stop()
        issuer.stop()
    results = [step["result"] for step in served.steps + relayed.steps]
    print(
        f"rehearsal: the zip alone served {len(results) - len(ABSENT)} invocations "
        f"(init {served.init_seconds:.2f} s; {len(records)} stream records relayed)"
    )
    return _problems(results, served.log + relayed.log, poison)


class _StreamPoller:
    """The table's stream read as Lambda's poller reads it for the stream event source: from its
    end when made, the outbox inserts only (the mapping's filter), in Lambda's record format."""

    def __init__(self, aws: EmbeddedAws, settings: dict[str, Any]) -> None:
        region, table = settings["aws_region"], settings["aws_environment_variables"]["TABLE_NAME"]
        self._streams = local_client(aws.url, "dynamodbstreams", region)
        self._arn = local_client(aws.url, "dynamodb", region).describe_table(TableName=table)["Table"][
            "LatestStreamArn"
        ]
        [shard] = self._streams.describe_stream(StreamArn=self._arn)["StreamDescription"]["Shards"]
        self._iterator = self._streams.get_shard_iterator(
            StreamArn=self._arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
        )["ShardIterator"]

    def records(self) -> list[dict[str, Any]]:
        answer = self._streams.get_records(ShardIterator=self._iterator, Limit=100)
        return [
            _as_lambda_sends(record, self._arn)
            for record in answer["Records"]
            if record["eventName"] == "INSERT"
            and record["dynamodb"]["NewImage"].get("Type", {}).get("S") == "OutboxEvent"
        ]


def _scheduled(rule_arn: str) -> dict[str, Any]:
    """EventBridge's event for a target of the rule `rule_arn`, as `dispatch` reads it."""
    return {
        "kind": "event",
        "event": {"detail-type": "Scheduled Event", "source": "aws.events", "resources": [rule_arn]},
    }


def _new_task() -> dict[str, str]:
    due_at = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=30)
    return {"user_id": "alice", "title": "Rehearse the release", "due_at": due_at.isoformat().replace("+00:00", "Z")}


def _new_webhook() -> dict[str, Any]:
    return {"url": "https://hooks.example.com/tasks", "event_types": ["TaskRestored"]}


def _send_poison(aws: EmbeddedAws, queue_url: str) -> str:
    """A message no handler can apply, queued with the real events: only it may come back as failed."""
    sqs = local_client(aws.url, "sqs")
    return str(sqs.send_message(QueueUrl=queue_url, MessageBody="not an event")["MessageId"])


def _problems(results: list[Any], log: str, poison: str) -> list[str]:
    imports, (create, _, get, page, schema, static, webhook, stream, relay, remind, consume, fan_out) = (
        results[: len(ABSENT)],
        results[len(ABSENT) :],
    )
    problems = [
        f"the zip holds {name}, which the Lambda never imports"
        for name, found in zip(ABSENT, imports, strict=False)
        if found != "absent"
    ]
    for label, response, status in (
        ("POST /tasks", create, 201),
        ("GET /tasks/{id}", get, 200),
        ("GET /tasks?limit=1", page, 200),
        ("GET /api/schema", schema, 200),
        (f"GET /static/{STATIC_FILE}", static, 200),
        ("POST /webhooks", webhook, 201),
    ):
        if response.get("statusCode") != status:
            body = str(response.get("body"))[:300]
            problems.append(f"{label} through the zip: {response.get('statusCode')}, expected {status}: {body}")
    if page.get("statusCode") == 200 and not json.loads(page["body"])["pagination"]["next_cursor"]:
        problems.append("GET /tasks?limit=1 of two tasks gave no next cursor, which the secret key signs")
    # The creates' TaskCreated came through the stream relay, which published them: nothing failed.
    if stream != {"batchItemFailures": []}:
        problems.append(f"relay_stream on the create's stream record returned {stream!r}")
    if not isinstance(relay, dict) or "published" not in relay:
        problems.append(f"the relay_outbox schedule returned {relay!r}")
    if not isinstance(remind, dict) or remind.get("due_soon") != 2:
        problems.append(f"the sweep_reminders schedule on two tasks due within the hour returned {remind!r}")
    # Zappa's handler must hand Lambda the consumer's answer as it is: only the poison failed.
    if consume["records"] < 2 or consume["response"] != {"batchItemFailures": [{"itemIdentifier": poison}]}:
        problems.append(f"consume_events on the queued events and one poison message ({poison}): {consume}")
    if fan_out["records"] < 2 or fan_out["response"] != {"batchItemFailures": []}:
        problems.append(f"consume_webhooks on the creates' events: {fan_out}")
    if problems:
        problems.append(f"the package's log ends:\n{log[-2000:]}")
    return problems


def _as_lambda_sends(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record as Lambda's event carries it: with its source, and its creation time
    in epoch seconds (boto3 hands a datetime)."""
    change = dict(record["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if created is not None and hasattr(created, "timestamp"):
        change["ApproximateCreationDateTime"] = int(created.timestamp())
    return {**record, "dynamodb": change, "eventSource": "aws:dynamodb", "eventSourceARN": stream_arn}
