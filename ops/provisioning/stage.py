"""Everything a deployed Zappa stage needs that Zappa does not create; running it twice changes nothing.

The table (with point-in-time recovery), topic, queues and subscription come first, as for
development; then the usage plan and API key, API Gateway's own error answers in SPEC §2's
envelope, and the CloudWatch alarms (SPEC §6). The usage plan and the error answers need the
REST API that `zappa deploy` creates, so before the first deploy they are reported `absent`,
and the operator runs `provision --stage` again after deploying.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from ops.errors import OperationsError
from ops.provisioning.apigateway import ApiStage, ensure_usage_plan
from ops.provisioning.changes import Change
from ops.provisioning.cloudwatch import ensure_alarms, stage_alarms
from ops.provisioning.gateway_responses import ensure_gateway_responses
from ops.provisioning.iam import ensure_execution_role, execution_role
from ops.provisioning.resources import provision
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
    changes += _explained(provision(target, resources, dry_run=dry_run), target, stage)
    changes += usage_plan_changes(target.client("apigateway"), stage, dry_run=dry_run)
    # Every stage, key or not: API Gateway answers unrouted paths and its own throttling anywhere.
    api = ApiStage(api_name=stage.api_name, stage=stage.name)
    changes += ensure_gateway_responses(target.client("apigateway"), api, dry_run=dry_run)
    alarms = stage_alarms(
        function_name=stage.function_name, api_name=stage.api_name, stage=stage.name, table_name=resources.table_name
    )
    return changes + ensure_alarms(target.client("cloudwatch"), alarms, actions=alarm_actions, dry_run=dry_run)


IAM_PROPAGATION_SECONDS = 10
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
    if caller_account != EXAMPLE_ACCOUNT:
        # Bucket names are global: the example account's would be somebody else's bucket.
        for setting, value in (("s3_bucket", stage.s3_bucket or ""), ("remote_env", stage.remote_env or "")):
            if EXAMPLE_ACCOUNT in value:
                raise OperationsError(
                    f"Stage {stage.name}: {setting} {value!r} still names the example account {EXAMPLE_ACCOUNT}."
                )
    named = [("TOPIC_ARN", stage.environment.get("TOPIC_ARN", "")), ("role_arn", stage.role_arn or "")]
    named += [("the SQS event_source arn", arn) for arn in stage.sqs_event_sources]
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
    queue = stage.resources().queue_name
    for arn in stage.sqs_event_sources:
        if arn.rsplit(":", 1)[-1] != queue:
            raise OperationsError(
                f"Stage {stage.name}: the SQS event source {arn} is not EVENTS_QUEUE_URL's queue {queue}."
            )


def _explained(changes: list[Change], target: AwsTarget, stage: ZappaStage) -> list[Change]:
    """A missing trigger after the deploy means Zappa could not make it (it logs that and goes on)."""
    if not any(change.kind == "event source" and change.action == "absent" for change in changes):
        return changes
    try:
        target.client("lambda").get_function(FunctionName=stage.function_name)
    except ClientError:
        return changes  # not deployed yet: "deploy, then provision again" stands
    why = (
        f"{stage.function_name} exists but has no trigger on the queue: "
        f"fix the event_source arn, then zappa schedule {stage.name}"
    )
    return [
        Change(c.kind, c.name, c.action, why) if c.kind == "event source" and c.action == "absent" else c
        for c in changes
    ]


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
        remote_env=stage.remote_env,
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
