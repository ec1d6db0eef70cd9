"""The outbox sweeper's schedule: an EventBridge rule invoking `relay_outbox` on the stage's target.

Zappa's own schedule invokes the unqualified function (`$LATEST`, without SnapStart), so
`provision --stage` owns the rule. It keeps the name Zappa gives a schedule of that function
(`<function>-config.lambda_handlers.relay_outbox`): an older stage's rule is taken over rather
than left beside a second one, and Zappa's handler could still tell the function from the name.
The stream relays each event as it is stored; the sweeper only publishes what the stream
relay gave up or missed, so it runs every few minutes rather than every minute.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ops.provisioning.changes import Change, act, error_code
from ops.provisioning.event_sources import Target, qualifier

if TYPE_CHECKING:
    from mypy_boto3_lambda.client import LambdaClient

SWEEPER = "config.lambda_handlers.relay_outbox"
SWEEP_MINUTES = 5
SWEEP_EXPRESSION = f"rate({SWEEP_MINUTES} minutes)"
TARGET_ID = "outbox-sweeper"
PERMISSION_ID = "outbox-sweeper-schedule"
_RULE_NAME_LENGTH = 64  # EventBridge's limit


def sweeper_rule_name(function_name: str) -> str:
    """`<function>-<SWEEPER>`, the function's name cut to fit 64 characters, as Zappa names a
    schedule (`Zappa.get_event_name`): its handler reads the function to call after the last '-'."""
    width = max(0, _RULE_NAME_LENGTH - 1 - len(SWEEPER))
    return f"{function_name[:width]}-{SWEEPER}"[:_RULE_NAME_LENGTH]


def ensure_sweeper_schedule(events: Any, lambdas: LambdaClient, target: Target, *, dry_run: bool) -> Change:
    """The rule runs every `SWEEP_MINUTES` minutes, its only target is `target`, and `target`
    lets the rule invoke it (a permission on the alias itself: one on the function would not
    cover the alias). Targets on `$LATEST` or another version (Zappa's) are removed.

    `events` is an EventBridge client (untyped: the venv has no mypy-boto3-events stubs).
    Returns the change; raises botocore's `ClientError` when AWS refuses a call.
    """
    name = sweeper_rule_name(target.function_name)
    try:
        rule = events.describe_rule(Name=name)
    except ClientError as error:
        if error_code(error) != "ResourceNotFoundException":
            raise
        if not dry_run:
            arn = events.put_rule(Name=name, ScheduleExpression=SWEEP_EXPRESSION, State="ENABLED", Description=SWEEPER)
            events.put_targets(Rule=name, Targets=[{"Id": TARGET_ID, "Arn": target.arn}])
            _allow_rule(lambdas, target, arn["RuleArn"])
        return Change("schedule", name, act("created", dry_run), f"on {target.label}, {SWEEP_EXPRESSION}")

    updates = []
    if rule.get("ScheduleExpression") != SWEEP_EXPRESSION or rule.get("State") != "ENABLED":
        updates.append(f"{rule.get('ScheduleExpression')} {rule.get('State', '').lower()} → {SWEEP_EXPRESSION}")
        if not dry_run:
            events.put_rule(Name=name, ScheduleExpression=SWEEP_EXPRESSION, State="ENABLED", Description=SWEEPER)
    targets = events.list_targets_by_rule(Rule=name)["Targets"]
    ours = [t for t in targets if t["Id"] == TARGET_ID and target.holds(t["Arn"]) and _plain(t)]
    stale = [t for t in targets if t not in ours]
    if stale or not ours:
        updates.append(f"target {', '.join(qualifier(t['Arn']) for t in stale) or 'none'} → {target.label}")
    if not dry_run:
        if stale:
            events.remove_targets(Rule=name, Ids=[t["Id"] for t in stale])
        if not ours:
            events.put_targets(Rule=name, Targets=[{"Id": TARGET_ID, "Arn": target.arn}])
    if not _allowed(lambdas, target, rule["Arn"]):
        updates.append(f"permission on {target.label}")
        if not dry_run:
            _allow_rule(lambdas, target, rule["Arn"])
    if updates:
        return Change("schedule", name, act("updated", dry_run), ", ".join(updates))
    return Change("schedule", name, "unchanged", f"on {target.label}, {SWEEP_EXPRESSION}")


def _plain(rule_target: Mapping[str, Any]) -> bool:
    """Ours passes EventBridge's scheduled event as it is (Zappa's rewrites it with a template)."""
    return "InputTransformer" not in rule_target and "Input" not in rule_target


def _allowed(lambdas: LambdaClient, target: Target, rule_arn: str) -> bool:
    try:
        policy = lambdas.get_policy(FunctionName=target.function_name, **_qualified(target))["Policy"]
    except ClientError as error:
        if error_code(error) != "ResourceNotFoundException":
            raise
        return False
    for statement in json.loads(policy).get("Statement", []):
        source = statement.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn")
        service = statement.get("Principal", {}).get("Service")
        # A function's policies: moto returns every qualifier's statements together; AWS only the asked one's.
        if service == "events.amazonaws.com" and source == rule_arn and statement.get("Resource") == target.arn:
            return True
    return False


def _allow_rule(lambdas: LambdaClient, target: Target, rule_arn: str) -> None:
    try:
        lambdas.remove_permission(FunctionName=target.function_name, StatementId=PERMISSION_ID, **_qualified(target))
    except ClientError as error:
        if error_code(error) != "ResourceNotFoundException":
            raise
    account = rule_arn.split(":")[4]
    lambdas.add_permission(
        FunctionName=target.function_name,
        StatementId=PERMISSION_ID,
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
        SourceArn=rule_arn,
        SourceAccount=account,
        **_qualified(target),
    )


def _qualified(target: Target) -> dict[str, Any]:
    return {"Qualifier": target.alias} if target.alias else {}
