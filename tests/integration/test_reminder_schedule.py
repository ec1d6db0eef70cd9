"""The reminder sweep's schedule deployed (issue 14 items 6 and 7): `provision --stage` puts an
EventBridge rule every minute on the stage's alias, `serve_http` hands its events to the sweep
and nothing else, the rehearsal checks the rule, and the role may read the reminder index."""

from __future__ import annotations

import json

from config import lambda_handlers
from config.environment import LOCAL_ACCOUNT
from ops.provisioning.iam import execution_role
from ops.rehearsal import checks
from tests.integration import test_stage_provisioning as stage_tests
from tests.integration.test_stage_provisioning import REGION, SWEEPER, outcome, zappa_deploy

# The fixtures, as the stage provisioning tests make them.
run = stage_tests.run
settings_file = stage_tests.settings_file

REMINDERS = "config.lambda_handlers.sweep_reminders"
RULE = f"tasks-production-{REMINDERS}"
ALIAS_ARN = f"arn:aws:lambda:{REGION}:{LOCAL_ACCOUNT}:function:tasks-production:snapstart"


def scheduled_event(rule_name: str) -> dict[str, object]:
    """What EventBridge sends a target of the rule `rule_name`."""
    return {
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": LOCAL_ACCOUNT,
        "time": "2026-12-02T03:00:00Z",
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{LOCAL_ACCOUNT}:rule/{rule_name}"],
        "detail": {},
    }


def test_dispatch_gives_the_reminders_rule_to_the_reminder_sweep_and_nothing_else_to_it():
    assert lambda_handlers.dispatch(scheduled_event(RULE)) is lambda_handlers.sweep_reminders
    assert lambda_handlers.dispatch(scheduled_event(f"tasks-production-{SWEEPER}")) is lambda_handlers.relay_outbox
    for other in ("tasks-production-keep-warm", f"{RULE}-copy", "tasks-production-sweep_reminders"):
        assert lambda_handlers.dispatch(scheduled_event(other)) is None, other
    # Not a scheduled event, whatever its resources say.
    assert lambda_handlers.dispatch({**scheduled_event(RULE), "detail-type": "Object Created"}) is None
    assert lambda_handlers.dispatch({"httpMethod": "GET", "path": "/", **scheduled_event(RULE)}) is None


def test_provision_puts_the_reminders_rule_every_minute_on_the_alias_with_its_permission(run, aws):
    before_deploy = run("production")
    assert outcome(before_deploy, "schedule", RULE) == "absent (deploy, then provision again)"
    zappa_deploy(aws)
    output = run("production")
    assert outcome(output, "schedule", RULE) == "created (on snapstart, rate(1 minute))"

    events = stage_tests._events(aws)
    rule = events.describe_rule(Name=RULE)
    assert (rule["ScheduleExpression"], rule["State"]) == ("rate(1 minute)", "ENABLED")
    [target] = events.list_targets_by_rule(Rule=RULE)["Targets"]
    assert target["Arn"] == ALIAS_ARN
    assert "InputTransformer" not in target  # dispatch reads the rule's ARN in EventBridge's own event
    assert "Input" not in target
    policy = aws.target.client("lambda").get_policy(FunctionName="tasks-production", Qualifier="snapstart")
    statements = json.loads(policy["Policy"])["Statement"]
    invokers = {
        st["Condition"]["ArnLike"]["AWS:SourceArn"]
        for st in statements
        if st["Resource"] == ALIAS_ARN and st["Principal"]["Service"] == "events.amazonaws.com"
    }
    sweeper_rule = events.describe_rule(Name=f"tasks-production-{SWEEPER}")
    assert invokers == {rule["Arn"], sweeper_rule["Arn"]}  # each rule its own permission; neither replaced


def test_a_second_run_leaves_the_reminders_rule_unchanged(run, aws):
    run("production")
    zappa_deploy(aws)
    run("production")
    events = stage_tests._events(aws)

    def state() -> tuple[object, ...]:
        rule = {k: v for k, v in events.describe_rule(Name=RULE).items() if k != "ResponseMetadata"}
        return rule, events.list_targets_by_rule(Rule=RULE)["Targets"]

    before = state()
    with aws.server.recording() as calls:
        output = run("production")
    assert outcome(output, "schedule", RULE) == "unchanged (on snapstart, rate(1 minute))"
    operations = [c.operation for c in calls]
    assert "DescribeRule" in operations  # the recorder sees EventBridge's calls,
    assert [op for op in operations if op in ("PutRule", "PutTargets", "RemoveTargets")] == []  # and none writes
    assert state() == before


def test_a_dry_run_shows_the_reminders_rule_and_makes_nothing(run, aws):
    run("production")
    zappa_deploy(aws)
    output = run("production", "--dry-run")
    assert outcome(output, "schedule", RULE) == "would be created (on snapstart, rate(1 minute))"
    assert [rule["Name"] for rule in stage_tests._events(aws).list_rules()["Rules"]] == []


def test_a_disabled_or_retargeted_reminders_rule_is_put_back(run, aws):
    run("production")
    zappa_deploy(aws)
    run("production")
    events = stage_tests._events(aws)
    events.put_rule(Name=RULE, ScheduleExpression="rate(5 minutes)", State="DISABLED")
    events.put_targets(Rule=RULE, Targets=[{"Id": "by-hand", "Arn": ALIAS_ARN.removesuffix(":snapstart")}])
    dry = run("production", "--dry-run")
    assert outcome(dry, "schedule", RULE) == (
        "would be updated (rate(5 minutes) disabled → rate(1 minute), target $LATEST → snapstart)"
    )
    assert events.describe_rule(Name=RULE)["State"] == "DISABLED"
    run("production")
    assert events.describe_rule(Name=RULE)["State"] == "ENABLED"
    assert [t["Arn"] for t in events.list_targets_by_rule(Rule=RULE)["Targets"]] == [ALIAS_ARN]
    assert "Nothing to change" in run("production")


def test_the_rehearsal_finds_a_missing_reminders_rule(run, aws):
    run("production")
    zappa_deploy(aws)
    run("production")
    lambdas, events = aws.target.client("lambda"), stage_tests._events(aws)
    assert checks.check_schedule(events, lambdas, "tasks-production", snap_start=True)[0] == []

    events.remove_targets(Rule=RULE, Ids=[t["Id"] for t in events.list_targets_by_rule(Rule=RULE)["Targets"]])
    problems, rule_arns = checks.check_schedule(events, lambdas, "tasks-production", snap_start=True)
    assert problems == [f"rule {RULE} targets [], expected only {ALIAS_ARN}"]
    assert rule_arns == {  # what the smoke test sends the zip, one scheduled event each
        SWEEPER: events.describe_rule(Name=f"tasks-production-{SWEEPER}")["Arn"],
        REMINDERS: events.describe_rule(Name=RULE)["Arn"],
    }

    events.delete_rule(Name=RULE)
    problems, _ = checks.check_schedule(events, lambdas, "tasks-production", snap_start=True)
    assert [problem.split(" (rules:")[0] for problem in problems] == [f"no schedule rule {RULE}"]


def test_the_stages_role_may_query_the_reminder_index():
    environment = stage_tests.stage_settings("production")["aws_environment_variables"]
    role = execution_role(
        role_arn=stage_tests.ROLE_ARN,
        function_name="tasks-production",
        environment=environment,
        secrets_url=None,
        xray=False,
    )
    table = f"arn:aws:dynamodb:{REGION}:{LOCAL_ACCOUNT}:table/tasks-production"
    querying = [
        statement
        for statement in role.policy["Statement"]
        if "dynamodb:Query" in statement["Action"] and f"{table}/index/*" in statement["Resource"]
    ]
    assert querying, role.policy  # GSI4, the reminder index, as every other index
