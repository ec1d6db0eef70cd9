"""The function's schedules: EventBridge rules invoking a handler on the stage's target.

Two schedules: the outbox sweeper (`relay_outbox`) and the reminder sweep (`sweep_reminders`,
issue 14 item 6). Zappa's own schedule invokes the unqualified function (`$LATEST`, without
SnapStart), so `provision --stage` owns the rules. Each keeps the name Zappa gives a schedule of
its handler (`<function>-config.lambda_handlers.<handler>`): an older stage's rule is taken over
rather than left beside a second one, Zappa's handler could still tell the function from the
name, and `config.lambda_handlers.dispatch` tells the two schedules' events apart by it.
The stream relays each event as it is stored; the sweeper only publishes what the stream relay
gave up or missed, so it runs every few minutes. Reminders fall due by the minute, so their
sweep runs every minute (EventBridge's finest rate).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ops.provisioning.changes import Change, act, error_code
from ops.provisioning.event_sources import Target, qualifier

if TYPE_CHECKING:
    from mypy_boto3_lambda.client import LambdaClient

_RULE_NAME_LENGTH = 64  # EventBridge's limit


@dataclass(frozen=True)
class Schedule:
    """One rule: the `handler` it invokes (its dotted path, the rule's description and name's
    end), its EventBridge `expression`, and the ids of its target and of its invoke permission
    (a function's policy statement ids must differ from one rule to the next)."""

    handler: str
    expression: str
    target_id: str
    permission_id: str

    def rule_name(self, function_name: str) -> str:
        """`<function>-<handler>`, the function's name cut to fit 64 characters, as Zappa names a
        schedule (`Zappa.get_event_name`): its handler reads the function to call after the last '-'."""
        width = max(0, _RULE_NAME_LENGTH - 1 - len(self.handler))
        return f"{function_name[:width]}-{self.handler}"[:_RULE_NAME_LENGTH]


SWEEP_MINUTES = 5
OUTBOX_SWEEPER = Schedule(
    handler="config.lambda_handlers.relay_outbox",
    expression=f"rate({SWEEP_MINUTES} minutes)",
    target_id="outbox-sweeper",
    permission_id="outbox-sweeper-schedule",
)
REMINDER_SWEEP = Schedule(
    handler="config.lambda_handlers.sweep_reminders",
    expression="rate(1 minute)",  # EventBridge's finest rate; a reminder is at most this late
    target_id="reminder-sweep",
    permission_id="reminder-sweep-schedule",
)
SCHEDULES = (OUTBOX_SWEEPER, REMINDER_SWEEP)  # in the order `provision` reports them


def sweeper_rule_name(function_name: str) -> str:
    """The outbox sweeper's rule name (`Schedule.rule_name`)."""
    return OUTBOX_SWEEPER.rule_name(function_name)


def ensure_schedules(events: Any, lambdas: LambdaClient, target: Target, *, dry_run: bool) -> list[Change]:
    """Every schedule of `SCHEDULES` on `target` (`ensure_schedule`), in order."""
    return [ensure_schedule(events, lambdas, target, schedule, dry_run=dry_run) for schedule in SCHEDULES]


def ensure_schedule(events: Any, lambdas: LambdaClient, target: Target, schedule: Schedule, *, dry_run: bool) -> Change:
    """The rule of `schedule` runs on its `expression`, its only target is `target`, and `target`
    lets the rule invoke it (a permission on the alias itself: one on the function would not
    cover the alias). Targets on `$LATEST` or another version (Zappa's) are removed; a rule
    someone disabled is enabled again (a schedule that does not run is an outage, not a choice).

    `events` is an EventBridge client (untyped: the venv has no mypy-boto3-events stubs).
    Returns the change; raises botocore's `ClientError` when AWS refuses a call.
    """
    name, expression = schedule.rule_name(target.function_name), schedule.expression
    rule = {"Name": name, "ScheduleExpression": expression, "State": "ENABLED", "Description": schedule.handler}
    rule_target = {"Id": schedule.target_id, "Arn": target.arn}
    try:
        found = events.describe_rule(Name=name)
    except ClientError as error:
        if error_code(error) != "ResourceNotFoundException":
            raise
        if not dry_run:
            arn = events.put_rule(**rule)
            events.put_targets(Rule=name, Targets=[rule_target])
            _allow_rule(lambdas, target, schedule, arn["RuleArn"])
        return Change("schedule", name, act("created", dry_run), f"on {target.label}, {expression}")

    updates = []
    if found.get("ScheduleExpression") != expression or found.get("State") != "ENABLED":
        updates.append(f"{found.get('ScheduleExpression')} {found.get('State', '').lower()} → {expression}")
        if not dry_run:
            events.put_rule(**rule)
    targets = events.list_targets_by_rule(Rule=name)["Targets"]
    ours = [t for t in targets if t["Id"] == schedule.target_id and target.holds(t["Arn"]) and _plain(t)]
    stale = [t for t in targets if t not in ours]
    if stale or not ours:
        updates.append(f"target {', '.join(qualifier(t['Arn']) for t in stale) or 'none'} → {target.label}")
    if not dry_run:
        if stale:
            events.remove_targets(Rule=name, Ids=[t["Id"] for t in stale])
        if not ours:
            events.put_targets(Rule=name, Targets=[rule_target])
    if not _allowed(lambdas, target, found["Arn"]):
        updates.append(f"permission on {target.label}")
        if not dry_run:
            _allow_rule(lambdas, target, schedule, found["Arn"])
    if updates:
        return Change("schedule", name, act("updated", dry_run), ", ".join(updates))
    return Change("schedule", name, "unchanged", f"on {target.label}, {expression}")


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


def _allow_rule(lambdas: LambdaClient, target: Target, schedule: Schedule, rule_arn: str) -> None:
    try:
        lambdas.remove_permission(
            FunctionName=target.function_name, StatementId=schedule.permission_id, **_qualified(target)
        )
    except ClientError as error:
        if error_code(error) != "ResourceNotFoundException":
            raise
    account = rule_arn.split(":")[4]
    lambdas.add_permission(
        FunctionName=target.function_name,
        StatementId=schedule.permission_id,
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
        SourceArn=rule_arn,
        SourceAccount=account,
        **_qualified(target),
    )


def _qualified(target: Target) -> dict[str, Any]:
    return {"Qualifier": target.alias} if target.alias else {}
