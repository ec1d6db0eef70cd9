"""Everything a deployed Zappa stage needs that Zappa does not create; running it twice changes nothing.

The table (with point-in-time recovery), topic, queues and subscription come first, as for
development; then the usage plan and API key, and the CloudWatch alarms (SPEC §6). The
usage plan needs the REST API that `zappa deploy` creates, so before the first deploy it is
reported `absent`, and the operator runs `provision --stage` again after deploying.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import boto3

from tasks_app.adapters.aws import AwsTarget
from tasks_app.infrastructure.alarms import ensure_alarms, stage_alarms
from tasks_app.infrastructure.errors import InfrastructureError
from tasks_app.infrastructure.execution_role import ensure_execution_role, execution_role
from tasks_app.infrastructure.provisioning import Change, provision
from tasks_app.infrastructure.usage_plan import ApiStage, ensure_usage_plan
from tasks_app.infrastructure.zappa_stage import ZappaStage

if TYPE_CHECKING:
    from mypy_boto3_apigateway.client import APIGatewayClient
    from mypy_boto3_cloudwatch.client import CloudWatchClient
    from mypy_boto3_iam.client import IAMClient


def provision_stage(
    target: AwsTarget, stage: ZappaStage, *, alarm_actions: Sequence[str] = (), dry_run: bool = False
) -> list[Change]:
    resources = stage.resources()
    changes = [role_change(target.client("iam"), stage, dry_run=dry_run)]
    changes += provision(target, resources, dry_run=dry_run)
    changes += usage_plan_changes(_apigateway(target), stage, dry_run=dry_run)
    alarms = stage_alarms(
        function_name=stage.function_name, api_name=stage.api_name, stage=stage.name, table_name=resources.table_name
    )
    return changes + ensure_alarms(_cloudwatch(target), alarms, actions=alarm_actions, dry_run=dry_run)


def role_change(client: IAMClient, stage: ZappaStage, *, dry_run: bool) -> Change:
    """The least-privilege execution role, for a stage that has Zappa use it instead of its own."""
    if stage.manage_roles:
        return Change("role", stage.function_name, "skipped", "Zappa manages it, with its broad default policy")
    if not stage.role_arn:
        raise InfrastructureError(f"Stage {stage.name} sets manage_roles false but no role_arn for Zappa to use.")
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


# AwsTarget hands out the clients the API itself uses; these two only provisioning needs.


def _apigateway(target: AwsTarget) -> APIGatewayClient:
    return boto3.session.Session().client("apigateway", region_name=target.region, endpoint_url=target.endpoint_url)


def _cloudwatch(target: AwsTarget) -> CloudWatchClient:
    return boto3.session.Session().client("cloudwatch", region_name=target.region, endpoint_url=target.endpoint_url)
