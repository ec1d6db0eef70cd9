"""Everything a deployed Zappa stage needs that Zappa does not create; running it twice changes nothing.

The table (with point-in-time recovery and its stream), topic, queues and subscription come
first, as for development, with the stream relay's failure queue; then every trigger of the
function (the queues, the table's stream, the sweepers' schedules) on its SnapStart alias,
the usage plan and API key, API Gateway's own error answers in SPEC §2's envelope, the
CloudWatch alarms (SPEC §6's and issue 13's) and the stage's dashboard. The triggers, the usage
plan and the error answers need the function and REST API that `zappa deploy` creates, so before
the first deploy they are reported `absent`, and the operator runs `provision --stage` again
after deploying.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from config.environment import SECRETS_URL_VARIABLE
from ops.errors import OperationsError
from ops.provisioning.apigateway import ApiStage, ensure_usage_plan
from ops.provisioning.changes import Change, act
from ops.provisioning.cloudwatch import DEFAULT_SERVICE, Watched, ensure_alarms, stage_alarms
from ops.provisioning.dashboard import dashboard_body, ensure_dashboard
from ops.provisioning.event_sources import (
    WEBHOOKS_BATCH_SIZE,
    Target,
    ensure_mapping,
    find_target,
    queue_spec,
    stream_spec,
)
from ops.provisioning.gateway_responses import ensure_gateway_responses
from ops.provisioning.iam import ensure_execution_role, execution_role
from ops.provisioning.resources import Resources, provision
from ops.provisioning.schedule import SCHEDULES, ensure_schedules
from ops.provisioning.ses import stage_ses
from ops.provisioning.sqs import dlq_attributes, ensure_queue, stream_failures_queue_name
from ops.provisioning.zappa_stage import ZappaStage
from tasks_app.adapters.aws import AwsTarget

if TYPE_CHECKING:
    from mypy_boto3_apigateway.client import APIGatewayClient
    from mypy_boto3_iam.client import IAMClient


def provision_stage(
    target: AwsTarget, stage: ZappaStage, *, alarm_actions: Sequence[str] = (), dry_run: bool = False
) -> list[Change]:
    resources = stage.resources()
    refuse_placeholders(stage, caller_account=target.client("sts").get_caller_identity()["Account"])
    changes = [role_change(target.client("iam"), stage, dry_run=dry_run)]
    if changes[0].action == "created" and target.endpoint_url is None:
        # A new role is not assumable by Lambda for a few seconds; a deploy right after would fail.
        time.sleep(IAM_PROPAGATION_SECONDS)
    changes += provision(target, resources, dry_run=dry_run)
    changes += stage_ses(target, stage.environment, dry_run=dry_run)  # the sender's identity, the configuration set
    failures = stream_failures_queue_name(resources.table_name)
    failures_change, _ = ensure_queue(target.client("sqs"), failures, dlq_attributes(), dry_run=dry_run)
    changes += [failures_change, *trigger_changes(target, stage, resources, dry_run=dry_run)]
    changes += usage_plan_changes(target.client("apigateway"), stage, dry_run=dry_run)
    # Every stage, key or not: API Gateway answers unrouted paths and its own throttling anywhere.
    api = ApiStage(api_name=stage.api_name, stage=stage.name)
    changes += ensure_gateway_responses(target.client("apigateway"), api, dry_run=dry_run)
    return changes + monitoring_changes(
        target, watched_names(stage, resources), alarm_actions=alarm_actions, dry_run=dry_run
    )


def monitoring_changes(
    target: AwsTarget, watched: Watched, *, alarm_actions: Sequence[str], dry_run: bool
) -> list[Change]:
    """The alarms, then the dashboard that shows their states. Metrics need no deployed function
    or API, so both are made before the first deploy too."""
    cloudwatch = target.client("cloudwatch")
    alarms = stage_alarms(watched)
    changes = ensure_alarms(cloudwatch, alarms, actions=alarm_actions, dry_run=dry_run)
    body = dashboard_body(watched, [alarm.name for alarm in alarms])
    return [*changes, ensure_dashboard(cloudwatch, watched.function_name, body, dry_run=dry_run)]


def watched_names(stage: ZappaStage, resources: Resources) -> Watched:
    """What the stage's alarms and dashboard watch. The EMF namespace and service are the stage's
    POWERTOOLS_METRICS_NAMESPACE and POWERTOOLS_SERVICE_NAME, as the function emits them (the
    metrics contract's defaults, `TasksApi/<stage>` and `tasks-api`, when zappa_settings.json sets none)."""
    arn = resources.topic_arn.split(":")  # the account's partition and id, as the role's policy reads them
    return Watched(
        stage=stage.name,
        region=stage.region,
        account=arn[4],
        partition=arn[1],
        function_name=stage.function_name,
        api_name=stage.api_name,
        table_name=resources.table_name,
        queue_name=resources.queue_name,
        dead_letter_queue=resources.dead_letter_queue_name,
        stream_failures_queue=stream_failures_queue_name(resources.table_name),
        namespace=stage.environment.get("POWERTOOLS_METRICS_NAMESPACE") or f"TasksApi/{stage.name}",
        service=stage.environment.get("POWERTOOLS_SERVICE_NAME") or DEFAULT_SERVICE,
    )


IAM_PROPAGATION_SECONDS = 10
SNAPSTART_ALIAS = "snapstart"  # the alias Zappa keeps on the newest published version (zappa.core)


def trigger_changes(target: AwsTarget, stage: ZappaStage, resources: Resources, *, dry_run: bool) -> list[Change]:
    """The function's triggers on its SnapStart alias (on the function itself for a stage without
    SnapStart): the events and webhooks queues, the table's stream, the schedules of the outbox
    sweeper and of the reminder sweep. Each is `absent` while the function or its alias is not
    deployed. Raises botocore's `ClientError` when AWS refuses a call."""
    lambdas = target.client("lambda")
    alias = SNAPSTART_ALIAS if stage.snap_start else None
    found = find_target(lambdas, stage.function_name, alias=alias, local=target.endpoint_url is not None)
    stream_name = f"{resources.table_name} stream"
    if not isinstance(found, Target):
        return [
            Change("event source", resources.queue_name, "absent", found),
            Change("event source", resources.webhooks_queue_name, "absent", found),
            Change("event source", stream_name, "absent", found),
            *(Change("schedule", schedule.rule_name(stage.function_name), "absent", found) for schedule in SCHEDULES),
        ]
    failures_arn = resources.queue_arn(stream_failures_queue_name(resources.table_name))
    queue = queue_spec(resources.queue_name, resources.queue_arn(resources.queue_name))
    webhooks = queue_spec(
        resources.webhooks_queue_name,
        resources.queue_arn(resources.webhooks_queue_name),
        batch_size=WEBHOOKS_BATCH_SIZE,
    )
    changes = [
        ensure_mapping(lambdas, queue, found, dry_run=dry_run),
        ensure_mapping(lambdas, webhooks, found, dry_run=dry_run),
    ]
    stream_arn = _stream_arn(target, resources.table_name)
    if stream_arn is not None:
        stream = stream_spec(resources.table_name, stream_arn, failures_arn)
        changes.append(ensure_mapping(lambdas, stream, found, dry_run=dry_run))
    elif dry_run:  # the table or its stream is still to be made
        changes.append(Change("event source", stream_name, act("created", True), f"on {found.label}"))
    else:
        raise OperationsError(f"Table {resources.table_name} has no stream after provisioning it.")
    events = target.client("events")  # type: ignore[call-overload] # AwsTarget types the services it serves
    return [*changes, *ensure_schedules(events, lambdas, found, dry_run=dry_run)]


def _stream_arn(target: AwsTarget, table_name: str) -> str | None:
    client = target.client("dynamodb")
    try:
        table = client.describe_table(TableName=table_name)["Table"]
    except client.exceptions.ResourceNotFoundException:
        return None  # a dry run on an account without the table
    if not table.get("StreamSpecification", {}).get("StreamEnabled"):
        return None
    return table.get("LatestStreamArn")


# zappa_settings.json's examples: the placeholders of the user pool, and the account id.
PLACEHOLDERS = ("REPLACEME", "REPLACE-WITH-")
EXAMPLE_ACCOUNT = "123456789012"


def refuse_placeholders(stage: ZappaStage, *, caller_account: str) -> None:
    """Settings still holding the examples' placeholders, or naming another account or region than
    the credentials and the stage, would deploy a stage that cannot work: stop before anything."""
    for name, value in stage.environment.items():
        if any(placeholder in value for placeholder in PLACEHOLDERS):
            raise OperationsError(
                f"Stage {stage.name}: {name} is still the placeholder {value!r} in zappa_settings.json."
            )
    if stage.remote_env:
        # The function reads its secrets itself now, and its role may read only SECRETS_S3_URL's object:
        # Zappa's fetch of remote_env would fail, and the function start without them.
        raise OperationsError(
            f"Stage {stage.name}: remote_env is no longer read. Move {stage.remote_env!r} to "
            f"aws_environment_variables as {SECRETS_URL_VARIABLE} and remove remote_env from zappa_settings.json."
        )
    if caller_account != EXAMPLE_ACCOUNT:
        # Bucket names are global: the example account's would be somebody else's bucket.
        for setting, value in (("s3_bucket", stage.s3_bucket or ""), (SECRETS_URL_VARIABLE, stage.secrets_url or "")):
            if EXAMPLE_ACCOUNT in value:
                raise OperationsError(
                    f"Stage {stage.name}: {setting} {value!r} still names the example account {EXAMPLE_ACCOUNT}."
                )
    if stage.zappa_triggers:
        raise OperationsError(
            f"Stage {stage.name}: zappa_settings.json's events name {', '.join(stage.zappa_triggers)}. Zappa would "
            "point those triggers at $LATEST (without SnapStart) at every deploy; provision --stage makes them on the "
            'alias now. Remove them ("events": []).'
        )
    named = [("TOPIC_ARN", stage.environment.get("TOPIC_ARN", "")), ("role_arn", stage.role_arn or "")]
    for setting, arn in named:
        parts = arn.split(":")
        if len(parts) < 6:
            continue
        if parts[4] != caller_account:
            raise OperationsError(
                f"Stage {stage.name}: {setting} names account {parts[4]}, but these credentials are for account "
                f"{caller_account}. Replace the account id in zappa_settings.json (or use that account's credentials)."
            )
        if parts[3] and parts[3] != stage.region:
            raise OperationsError(
                f"Stage {stage.name}: {setting} is in region {parts[3]}, but the stage's aws_region is {stage.region}."
            )


def role_change(client: IAMClient, stage: ZappaStage, *, dry_run: bool) -> Change:
    """The least-privilege execution role, for a stage that has Zappa use it instead of its own."""
    if stage.manage_roles:
        return Change("role", stage.function_name, "skipped", "Zappa manages it, with its broad default policy")
    if not stage.role_arn:
        raise OperationsError(f"Stage {stage.name} sets manage_roles false but no role_arn for Zappa to use.")
    role = execution_role(
        role_arn=stage.role_arn,
        function_name=stage.function_name,
        environment=stage.environment,
        secrets_url=stage.secrets_url,
        xray=stage.xray_tracing,
    )
    return ensure_execution_role(client, role, dry_run=dry_run)


def usage_plan_changes(client: APIGatewayClient, stage: ZappaStage, *, dry_run: bool) -> list[Change]:
    """Only a stage whose API requires a key gets a plan: API Gateway meters and throttles a
    usage plan per key, so requests that carry none would pass by it."""
    api = ApiStage(api_name=stage.api_name, stage=stage.name, key_id=stage.api_key_id)
    if not stage.api_key_required:
        why = "api_key_required is off for this stage"
        if stage.name == "production":
            why += ": SPEC §6 wants production behind an API key, set it in zappa_settings.json"
        return [Change("usage plan", api.plan_name, "skipped", why)]
    return ensure_usage_plan(client, api, dry_run=dry_run)
