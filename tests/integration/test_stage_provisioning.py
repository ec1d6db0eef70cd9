"""`provision --stage`: what a Zappa stage needs beyond what Zappa creates, idempotently, on the local AWS."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from config.environment import LOCAL_ACCOUNT
from ops.errors import OperationsError
from ops.provisioning.iam import execution_role
from ops.provisioning.stage import refuse_placeholders
from ops.provisioning.zappa_stage import load_stage
from ops.rehearsal import checks

if TYPE_CHECKING:
    from mypy_boto3_apigateway.client import APIGatewayClient
    from mypy_boto3_cloudwatch.client import CloudWatchClient

REGION = "us-east-1"
CONSUMER = "config.lambda_handlers.consume_events"
SWEEPER = "config.lambda_handlers.relay_outbox"

Provision = Callable[..., str]
ROLE_ARN = f"arn:aws:iam::{LOCAL_ACCOUNT}:role/tasks-production-lambda"


def stage_settings(stage: str, variables: str = "aws_environment_variables", **extra: Any) -> dict[str, Any]:
    queue = f"tasks-{stage}-events"
    return {
        "project_name": "tasks",
        "aws_region": REGION,
        "runtime": "python3.13",
        "django_settings": "config.settings",
        variables: {
            "ENVIRONMENT": "production" if stage == "production" else "staging",
            "TABLE_NAME": f"tasks-{stage}",
            "TOPIC_ARN": f"arn:aws:sns:{REGION}:{LOCAL_ACCOUNT}:tasks-{stage}-events",
            "EVENTS_QUEUE_URL": f"https://sqs.{REGION}.amazonaws.com/{LOCAL_ACCOUNT}/{queue}",
        },
        **extra,
    }


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    path = tmp_path / "zappa_settings.json"
    stages = {
        "dev": stage_settings("dev", variables="environment_variables"),
        "staging": stage_settings("staging", snap_start="PublishedVersions"),
        # `extends`, as Zappa reads it: a shallow merge over the staging settings
        "production": {
            "extends": "staging",
            "api_key_required": True,
            **stage_settings("production"),
            "manage_roles": False,
            "role_arn": ROLE_ARN,
        },
    }
    stages["production"]["aws_environment_variables"]["SECRETS_S3_URL"] = "s3://tasks-config/production.json"
    path.write_text(json.dumps(stages, indent=2))
    return path


@pytest.fixture
def run(aws, settings_file: Path) -> Provision:
    """`provision --stage` against an empty local AWS; returns what it printed."""
    aws.server.reset()

    def provision(stage: str = "production", *args: str) -> str:
        out = StringIO()
        options = ["--stage", stage, "--settings-file", str(settings_file), "--endpoint-url", aws.server.url]
        call_command("provision", *options, *args, stdout=out)
        return out.getvalue()

    return provision


def zappa_deploy(
    aws, stage: str = "production", *, with_key: bool = False, snap_start: bool = True, legacy: bool = False
) -> str:
    """What `zappa deploy <stage>` creates that provisioning builds on; returns the REST API's id.

    With `snap_start`, a published version and the `snapstart` alias on it, as Zappa makes them.
    With `legacy`, also the triggers an older release's `events` had Zappa make on $LATEST: the
    queue's event source (without ReportBatchItemFailures) and the sweeper's rule every minute."""
    iam, lambdas, apigateway = aws.target.client("iam"), aws.target.client("lambda"), _apigateway(aws)
    role = iam.create_role(RoleName=f"tasks-{stage}-ZappaLambdaExecutionRole", AssumeRolePolicyDocument="{}")
    lambdas.create_function(
        FunctionName=f"tasks-{stage}",
        Runtime="python3.13",
        Role=role["Role"]["Arn"],
        Handler="handler.lambda_handler",
        Code={"ZipFile": _handler_zip()},
    )
    if snap_start:
        version = lambdas.publish_version(FunctionName=f"tasks-{stage}")["Version"]
        lambdas.create_alias(FunctionName=f"tasks-{stage}", Name="snapstart", FunctionVersion=version)
    if legacy:
        lambdas.create_event_source_mapping(
            EventSourceArn=f"arn:aws:sqs:{REGION}:{LOCAL_ACCOUNT}:tasks-{stage}-events",
            FunctionName=f"tasks-{stage}",
            BatchSize=10,
        )
        rule = _events(aws).put_rule(Name=f"tasks-{stage}-{SWEEPER}", ScheduleExpression="rate(1 minute)")
        _events(aws).put_targets(
            Rule=f"tasks-{stage}-{SWEEPER}",
            Targets=[
                {
                    "Id": "Id123456789012",
                    "Arn": _function_arn(stage),
                    "InputTransformer": {"InputPathsMap": {"time": "$.time"}, "InputTemplate": '{"time": <time>}'},
                }
            ],
        )
        lambdas.add_permission(
            FunctionName=f"tasks-{stage}",
            StatementId="ZAPPA123",
            Action="lambda:InvokeFunction",
            Principal="events.amazonaws.com",
            SourceArn=rule["RuleArn"],
        )
    api_id = apigateway.create_rest_api(name=f"tasks-{stage}")["id"]
    root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
    apigateway.put_method(
        restApiId=api_id, resourceId=root, httpMethod="ANY", authorizationType="NONE", apiKeyRequired=True
    )
    apigateway.put_integration(restApiId=api_id, resourceId=root, httpMethod="ANY", type="MOCK")
    apigateway.create_deployment(restApiId=api_id, stageName=stage)
    if with_key:  # as Zappa's create_api_key makes it
        apigateway.create_api_key(
            name=f"{stage}_{api_id}",
            description=f"Api Key for {api_id}",
            enabled=True,
            stageKeys=[{"restApiId": api_id, "stageName": stage}],
        )
    return api_id


def test_before_the_first_deploy_it_provisions_what_it_can_and_says_to_run_again(run, aws):
    output = run("production")
    assert outcome(output, "usage plan", "tasks-production-usage-plan").startswith("absent")
    assert "run again after zappa deploy" in output
    assert "run `python manage.py provision --stage production` again after `zappa deploy production`" in output
    for kind, name in TRIGGERS:
        assert outcome(output, kind, name) == "absent (deploy, then provision again)"
    assert outcome(output, "queue", "tasks-production-stream-failures") == "created"
    backups = aws.target.client("dynamodb").describe_continuous_backups(TableName="tasks-production")
    recovery = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert recovery["PointInTimeRecoveryStatus"] == "ENABLED"
    assert len(_alarms(aws)) == 17  # metrics need no deployed function or API
    assert outcome(output, "dashboard", "tasks-production").startswith("created")


def test_after_deploy_production_gets_the_usage_plan_key_alarms_and_its_triggers(run, aws):
    run("production")
    api_id = zappa_deploy(aws)
    output = run("production")

    apigateway = _apigateway(aws)
    [plan] = apigateway.get_usage_plans()["items"]
    assert plan["name"] == "tasks-production-usage-plan"
    assert plan["throttle"] == {"rateLimit": 1000.0, "burstLimit": 2000}
    assert (plan["quota"]["limit"], plan["quota"]["period"]) == (10_000, "DAY")
    assert plan["apiStages"] == [{"apiId": api_id, "stage": "production"}]
    [key] = apigateway.get_api_keys()["items"]
    assert key["name"] == f"production_{api_id}"  # Zappa's name, so `zappa undeploy` removes it
    assert key["enabled"]
    assert [k["id"] for k in apigateway.get_usage_plan_keys(usagePlanId=plan["id"])["items"]] == [key["id"]]
    assert outcome(output, "api key", f"production_{api_id}").startswith("created")
    assert key.get("value", "not printed") not in output

    for kind, name in TRIGGERS:
        assert outcome(output, kind, name).startswith("created (on snapstart"), output
    alarms = _alarms(aws)
    assert _shape(alarms["tasks-production-lambda-errors"]) == (
        "AWS/Lambda", "Errors", {"FunctionName": "tasks-production"}, 5.0, 2, "GreaterThanOrEqualToThreshold"
    )  # fmt: skip
    assert _shape(alarms["tasks-production-api-5xx"]) == (
        "AWS/ApiGateway", "5XXError", {"ApiName": "tasks-production", "Stage": "production"}, 10.0, 2,
        "GreaterThanOrEqualToThreshold",
    )  # fmt: skip
    for metric in ("ReadThrottleEvents", "WriteThrottleEvents"):
        throttles = [alarm for alarm in alarms.values() if alarm["MetricName"] == metric]
        # The table's, and each index's: CloudWatch counts an index's throttles under the index alone.
        indexes = [{"GlobalSecondaryIndexName": index} for index in ("GSI1", "GSI2", "GSI3", "GSI4")]
        assert sorted(sorted(_shape(alarm)[2].items()) for alarm in throttles) == sorted(
            sorted({"TableName": "tasks-production", **extra}.items()) for extra in [{}, *indexes]
        )
        assert {(*_shape(alarm)[:2], *_shape(alarm)[3:]) for alarm in throttles} == {
            ("AWS/DynamoDB", metric, 1.0, 1, "GreaterThanOrEqualToThreshold")
        }
    spec = ("lambda-errors", "api-5xx", "dynamodb-read-throttles", "dynamodb-write-throttles")  # SPEC §6's
    assert {alarms[f"tasks-production-{name}"]["Statistic"] for name in spec} == {"Sum"}
    assert {alarm["TreatMissingData"] for alarm in alarms.values()} == {"notBreaching"}


def test_the_key_zappa_created_is_the_one_put_in_the_plan(run, aws):
    run("production")
    api_id = zappa_deploy(aws, with_key=True)
    apigateway = _apigateway(aws)
    [zappa_key] = apigateway.get_api_keys()["items"]
    output = run("production")
    assert outcome(output, "api key", f"production_{api_id}") == (
        f"updated (id {zappa_key['id']}, added to the usage plan)"
    )
    assert len(apigateway.get_api_keys()["items"]) == 1
    [plan] = apigateway.get_usage_plans()["items"]
    assert [k["id"] for k in apigateway.get_usage_plan_keys(usagePlanId=plan["id"])["items"]] == [zappa_key["id"]]


def test_a_second_run_changes_nothing_and_says_so(run, aws):
    run("production")
    zappa_deploy(aws)
    run("production")
    before = _deployed_state(aws)
    with aws.server.recording() as calls:
        output = run("production")
    lines = [line for line in output.splitlines() if line.startswith("  ")]
    # role, table (3 lines), 4 queues (events, webhooks, their DLQs), topic, 2 subscriptions,
    # failure queue, 5 triggers (3 event sources, 2 schedules), plan, key, gateway responses, 17 alarms, dashboard
    assert len(lines) == 39, output  # with SES skipped: the test stage sets no EMAIL_FROM
    assert all(" unchanged" in line or " skipped (EMAIL_FROM is not set" in line for line in lines), output
    assert "Nothing to change: everything was already in place." in output
    # The recorder names the operations of DynamoDB, SNS, SQS and CloudWatch; API Gateway's and
    # Lambda's REST calls it cannot name, so their state is compared instead.
    writes = [c.operation for c in calls if re.match(r"(Create|Update|Put|Set|Subscribe)", c.operation)]
    assert writes == []
    assert _deployed_state(aws) == before


def test_a_stage_that_brings_its_own_role_gets_one_limited_to_its_resources(run, aws):
    output = run("production")
    assert outcome(output, "role", "tasks-production-lambda").startswith("created")
    iam = aws.target.client("iam")
    trust = iam.get_role(RoleName="tasks-production-lambda")["Role"]["AssumeRolePolicyDocument"]
    # Zappa runs the function with it, has API Gateway invoke the function with it, and names it
    # as the schedule's rule role, which EventBridge refuses unless it may assume it.
    assert set(trust["Statement"][0]["Principal"]["Service"]) == {
        "lambda.amazonaws.com",
        "apigateway.amazonaws.com",
        "events.amazonaws.com",
    }
    policy = iam.get_role_policy(RoleName="tasks-production-lambda", PolicyName="least-privilege")["PolicyDocument"]
    granted = {action: statement["Resource"] for statement in policy["Statement"] for action in statement["Action"]}
    table = f"arn:aws:dynamodb:{REGION}:{LOCAL_ACCOUNT}:table/tasks-production"
    assert granted["dynamodb:PutItem"] == [table, f"{table}/index/*"]
    assert granted["sns:Publish"] == [f"arn:aws:sns:{REGION}:{LOCAL_ACCOUNT}:tasks-production-events"]
    assert granted["sqs:ReceiveMessage"] == [
        f"arn:aws:sqs:{REGION}:{LOCAL_ACCOUNT}:tasks-production-events",
        f"arn:aws:sqs:{REGION}:{LOCAL_ACCOUNT}:tasks-production-webhooks",
    ]
    assert granted["s3:GetObject"] == ["arn:aws:s3:::tasks-config/production.json"]
    function = f"arn:aws:lambda:{REGION}:{LOCAL_ACCOUNT}:function:tasks-production"
    assert granted["lambda:InvokeFunction"] == [function, f"{function}:*"]
    # Lambda's stream poller reads the table's stream and sends what the relay gave up to its queue.
    for action in ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"):
        assert granted[action] == [f"{table}/stream/*"]
    # The relay's failures; the webhooks consumer queues its retries on its own queue (issue 14).
    assert granted["sqs:SendMessage"] == [
        f"arn:aws:sqs:{REGION}:{LOCAL_ACCOUNT}:tasks-production-stream-failures",
        f"arn:aws:sqs:{REGION}:{LOCAL_ACCOUNT}:tasks-production-webhooks",
    ]
    assert granted.pop("dynamodb:ListStreams") == ["*"]  # IAM has no resource for it: it lists ARNs only
    assert not any("*" in action for action in granted), "no wildcard actions"
    everything = [resource for resources in granted.values() for resource in resources]
    # Every resource is the stage's own: its log group, table, topic, queue, or its secrets object.
    assert all(
        "tasks-production" in resource or resource.startswith("arn:aws:s3:::tasks-config/") for resource in everything
    )


def test_a_changed_role_policy_is_put_back(run, aws):
    run("production")
    iam = aws.target.client("iam")
    iam.put_role_policy(
        RoleName="tasks-production-lambda",
        PolicyName="least-privilege",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )
    assert outcome(run("production"), "role", "tasks-production-lambda") == "updated (policy least-privilege)"
    policy = iam.get_role_policy(RoleName="tasks-production-lambda", PolicyName="least-privilege")["PolicyDocument"]
    assert all(statement["Action"] != "*" for statement in policy["Statement"])


def test_a_stage_zappa_makes_the_role_for_is_left_to_zappa(run, aws):
    output = run("staging")
    assert outcome(output, "role", "tasks-staging").startswith("skipped")
    assert aws.target.client("iam").list_roles()["Roles"] == []


def test_turning_off_zappas_role_without_naming_one_is_refused(aws, tmp_path):
    path = tmp_path / "zappa_settings.json"
    path.write_text(json.dumps({"staging": stage_settings("staging", manage_roles=False)}))
    with pytest.raises(CommandError, match="manage_roles false but no role_arn"):
        call_command("provision", "--stage", "staging", "--settings-file", str(path), "--endpoint-url", aws.server.url)


def test_drift_in_the_usage_plan_and_an_alarm_is_put_back(run, aws):
    run("production")
    zappa_deploy(aws)
    run("production")
    apigateway, cloudwatch = _apigateway(aws), _cloudwatch(aws)
    [plan] = apigateway.get_usage_plans()["items"]
    apigateway.update_usage_plan(
        usagePlanId=plan["id"],
        patchOperations=[
            {"op": "replace", "path": "/throttle/rateLimit", "value": "5"},
            {"op": "replace", "path": "/quota/limit", "value": "99"},
        ],
    )
    cloudwatch.put_metric_alarm(
        **{**_alarms(aws)["tasks-production-lambda-errors"], "Threshold": 50.0, "EvaluationPeriods": 1}
    )
    output = run("production")
    assert outcome(output, "usage plan", "tasks-production-usage-plan") == "updated (throttle/rateLimit, quota/limit)"
    assert outcome(output, "alarm", "tasks-production-lambda-errors") == "updated (EvaluationPeriods, Threshold)"
    [plan] = apigateway.get_usage_plans()["items"]
    assert (plan["throttle"]["rateLimit"], plan["quota"]["limit"]) == (1000.0, 10_000)
    alarm = _alarms(aws)["tasks-production-lambda-errors"]
    assert (alarm["Threshold"], alarm["EvaluationPeriods"]) == (5.0, 2)


def test_a_dry_run_on_an_empty_account_creates_nothing(run, aws):
    api_id = zappa_deploy(aws)
    output = run("production", "--dry-run")
    assert outcome(output, "usage plan", "tasks-production-usage-plan").startswith("would be created")
    assert outcome(output, "api key", f"production_{api_id}") == "would be created (in the usage plan)"
    assert output.count("  alarm ") == 17
    # resources (with the webhooks queue, its DLQ and subscription), failure queue, triggers,
    # alarms, dashboard, plan and key, role, gateway responses and the deployment that applies them
    assert output.count("would be created") == 8 + 1 + 5 + 17 + 1 + 2 + 1 + 2
    assert aws.target.client("lambda").list_event_source_mappings()["EventSourceMappings"] == []
    assert _events(aws).list_rules()["Rules"] == []
    assert [role["RoleName"] for role in aws.target.client("iam").list_roles()["Roles"]] == [
        "tasks-production-ZappaLambdaExecutionRole"  # zappa_deploy's, not provisioning's
    ]
    assert "Dry run:" in output
    assert aws.target.client("dynamodb").list_tables()["TableNames"] == []
    assert aws.target.client("sqs").list_queues().get("QueueUrls", []) == []
    assert aws.target.client("sns").list_topics()["Topics"] == []
    assert _apigateway(aws).get_usage_plans()["items"] == []
    assert _apigateway(aws).get_api_keys()["items"] == []
    assert _alarms(aws) == {}
    assert _cloudwatch(aws).list_dashboards()["DashboardEntries"] == []


def test_a_dry_run_after_drift_changes_nothing(run, aws):
    run("production")
    zappa_deploy(aws, legacy=True)  # its trigger is on $LATEST without ReportBatchItemFailures
    alarm = _alarms(aws)["tasks-production-api-5xx"]
    _cloudwatch(aws).put_metric_alarm(**{**alarm, "Threshold": 1.0})
    output = run("production", "--dry-run")
    assert outcome(output, "event source", "tasks-production-events") == (
        "would be updated (moved from $LATEST to snapstart, FunctionResponseTypes)"
    )
    assert outcome(output, "schedule", f"tasks-production-{SWEEPER}") == (
        "would be updated (rate(1 minute) enabled → rate(5 minutes), target $LATEST → snapstart, "
        "permission on snapstart)"
    )
    assert outcome(output, "usage plan", "tasks-production-usage-plan").startswith("would be created")
    assert outcome(output, "alarm", "tasks-production-api-5xx") == "would be updated (Threshold)"
    [mapping] = aws.target.client("lambda").list_event_source_mappings()["EventSourceMappings"]
    assert (mapping["FunctionArn"], mapping.get("FunctionResponseTypes", [])) == (_function_arn("production"), [])
    [target] = _events(aws).list_targets_by_rule(Rule=f"tasks-production-{SWEEPER}")["Targets"]
    assert target["Arn"] == _function_arn("production")
    assert _apigateway(aws).get_usage_plans()["items"] == []
    assert _alarms(aws)["tasks-production-api-5xx"]["Threshold"] == 1.0


def test_staging_without_api_key_required_gets_no_usage_plan(run, aws):
    run("staging")
    zappa_deploy(aws, "staging")
    output = run("staging")
    assert (
        outcome(output, "usage plan", "tasks-staging-usage-plan") == "skipped (api_key_required is off for this stage)"
    )
    assert _apigateway(aws).get_usage_plans()["items"] == []
    assert "tasks-staging-lambda-errors" in _alarms(aws, "staging")


def test_alarms_notify_the_alarm_topic_when_one_is_given(run, aws, monkeypatch):
    monkeypatch.delenv("ALARM_TOPIC_ARN", raising=False)
    sns = aws.target.client("sns")
    topic = sns.create_topic(Name="tasks-alarms")["TopicArn"]
    sns.create_topic(Name="tasks-alarms-2")
    assert "No alarm topic" not in run("production", "--alarm-topic-arn", topic)
    assert {tuple(alarm["AlarmActions"]) for alarm in _alarms(aws).values()} == {(topic,)}
    assert {tuple(alarm["OKActions"]) for alarm in _alarms(aws).values()} == {(topic,)}
    quiet = run("production")
    assert "Nothing to change" in quiet  # a run without the topic does not silence the alarms
    assert "No alarm topic (--alarm-topic-arn or ALARM_TOPIC_ARN): alarms made by this run notify nobody" in quiet
    assert {tuple(alarm["AlarmActions"]) for alarm in _alarms(aws).values()} == {(topic,)}
    monkeypatch.setenv("ALARM_TOPIC_ARN", f"{topic}-2")
    assert run("production").count("updated (AlarmActions, OKActions)") == 17


def test_an_alarm_topic_that_does_not_exist_is_refused_before_anything_is_made(run, aws):
    missing = f"arn:aws:sns:{REGION}:{LOCAL_ACCOUNT}:nobody-listens"
    with pytest.raises(CommandError, match=r"The alarm topic .*:nobody-listens does not exist in us-east-1"):
        run("production", "--alarm-topic-arn", missing)
    assert _alarms(aws) == {}


def test_an_unknown_stage_names_the_stages_that_exist(run):
    with pytest.raises(CommandError, match=r"no stage 'prod'; its stages are: dev, production, staging\."):
        run("prod")


def test_a_missing_settings_file_says_how_to_point_at_one(aws, tmp_path):
    missing = tmp_path / "nowhere.json"
    with pytest.raises(CommandError, match="does not exist: pass --settings-file"):
        call_command("provision", "--stage", "dev", "--settings-file", str(missing), stdout=StringIO())


def test_a_stage_is_not_provisioned_in_aws_with_the_local_aws_credentials(aws, settings_file):
    with pytest.raises(CommandError, match=r"run with AWS_ENDPOINT_URL= \(empty\)"):
        call_command("provision", "--stage", "production", "--settings-file", str(settings_file), stdout=StringIO())


def test_zappa_names_the_function_after_the_project_and_stage(settings_file):
    production = load_stage(settings_file, "production")
    assert (production.function_name, production.api_name) == ("tasks-production", "tasks-production")
    assert production.api_key_required
    assert production.environment["TABLE_NAME"] == "tasks-production"
    assert not load_stage(settings_file, "staging").api_key_required
    assert load_stage(settings_file, "dev").resources().table_name == "tasks-dev"


@pytest.mark.parametrize("stage", ["dev", "staging", "production"])
def test_the_project_zappa_settings_name_every_resource_provisioning_needs(settings, stage):
    path = Path(settings.BASE_DIR) / "zappa_settings.json"
    if not path.exists() or stage not in json.loads(path.read_text()):
        pytest.skip(f"{path} has no stage {stage} yet")
    zappa_stage = load_stage(path, stage)
    resources = zappa_stage.resources()
    assert resources.point_in_time_recovery
    assert zappa_stage.zappa_triggers == (), "provision --stage makes the triggers; Zappa's would run $LATEST"
    assert zappa_stage.snap_start == (stage != "dev")


def outcome(output: str, kind: str, name: str) -> str:
    """What `provision` printed for one resource: its action and detail."""
    for line in output.splitlines():
        if line[2:15].rstrip() == kind and line[16:].startswith(f"{name} "):
            return line[16 + len(name) :].strip()
    raise AssertionError(f"no line for {kind} {name} in:\n{output}")


def _deployed_state(aws) -> tuple[Any, ...]:
    apigateway = _apigateway(aws)
    plans = apigateway.get_usage_plans()["items"]
    plan_keys = [apigateway.get_usage_plan_keys(usagePlanId=plan["id"])["items"] for plan in plans]
    mappings = aws.target.client("lambda").list_event_source_mappings()["EventSourceMappings"]
    rules = [
        (rule, _events(aws).list_targets_by_rule(Rule=rule["Name"])["Targets"])
        for rule in _events(aws).list_rules()["Rules"]
    ]
    apis = [api["id"] for api in apigateway.get_rest_apis()["items"]]
    responses = [apigateway.get_gateway_responses(restApiId=api)["items"] for api in apis]
    deployments = [apigateway.get_deployments(restApiId=api)["items"] for api in apis]
    return plans, apigateway.get_api_keys()["items"], plan_keys, mappings, rules, responses, deployments


TRIGGERS = (
    ("event source", "tasks-production-events"),
    ("event source", "tasks-production-webhooks"),
    ("event source", "tasks-production stream"),
    ("schedule", f"tasks-production-{SWEEPER}"),
    ("schedule", "tasks-production-config.lambda_handlers.sweep_reminders"),
)


def _function_arn(stage: str) -> str:
    return f"arn:aws:lambda:{REGION}:{LOCAL_ACCOUNT}:function:tasks-{stage}"


def _events(aws) -> Any:
    return boto3.session.Session().client("events", region_name=REGION, endpoint_url=aws.server.url)


def _apigateway(aws) -> APIGatewayClient:
    return boto3.session.Session().client("apigateway", region_name=REGION, endpoint_url=aws.server.url)


def _cloudwatch(aws) -> CloudWatchClient:
    return boto3.session.Session().client("cloudwatch", region_name=REGION, endpoint_url=aws.server.url)


def _alarms(aws, stage: str = "production") -> dict[str, Any]:
    found = _cloudwatch(aws).describe_alarms(AlarmNamePrefix=f"tasks-{stage}-")["MetricAlarms"]
    keep = {"AlarmName", "AlarmDescription", "Namespace", "MetricName", "Dimensions", "Statistic",
            "ExtendedStatistic", "Period",
            "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator", "TreatMissingData",
            "AlarmActions", "OKActions"}  # fmt: skip
    return {alarm["AlarmName"]: {k: v for k, v in alarm.items() if k in keep} for alarm in found}


def _shape(alarm: dict[str, Any]) -> tuple[Any, ...]:
    dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
    return (
        alarm["Namespace"], alarm["MetricName"], dimensions, alarm["Threshold"], alarm["EvaluationPeriods"],
        alarm["ComparisonOperator"],
    )  # fmt: skip


def _handler_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def lambda_handler(event, context):\n    return None\n")
    return buffer.getvalue()


def _provision_with(aws, tmp_path: Path, **stage: Any) -> None:
    path = tmp_path / "zappa_settings.json"
    path.write_text(json.dumps({"staging": stage}))
    call_command("provision", "--stage", "staging", "--settings-file", str(path), "--endpoint-url", aws.server.url)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(
            {"JWT_AUDIENCE": "REPLACE-WITH-THE-APP-CLIENT-ID"},
            "JWT_AUDIENCE is still the placeholder",
            id="placeholder",
        ),
        pytest.param(
            {"TOPIC_ARN": f"arn:aws:sns:{REGION}:111122223333:tasks-staging-events"},
            f"TOPIC_ARN names account 111122223333, but these credentials are for account {LOCAL_ACCOUNT}",
            id="another account",
        ),
        pytest.param(
            {"TOPIC_ARN": f"arn:aws:sns:eu-west-1:{LOCAL_ACCOUNT}:tasks-staging-events"},
            "TOPIC_ARN is in region eu-west-1, but the stage's aws_region is us-east-1",
            id="another region",
        ),
    ],
)
def test_settings_that_cannot_work_are_refused_before_anything_is_made(aws, tmp_path, change, message):
    aws.server.reset()
    stage = stage_settings("staging")
    stage["aws_environment_variables"] |= change
    with pytest.raises(CommandError, match=re.escape(message)):
        _provision_with(aws, tmp_path, **stage)
    assert aws.target.client("dynamodb").list_tables()["TableNames"] == []


def test_a_stage_whose_events_would_have_zappa_trigger_latest_is_refused(aws, tmp_path):
    aws.server.reset()
    queue = f"arn:aws:sqs:{REGION}:{LOCAL_ACCOUNT}:tasks-staging-events"
    stage = stage_settings("staging", events=[{"function": CONSUMER, "event_source": {"arn": queue}}])
    with pytest.raises(CommandError, match=rf'events name {CONSUMER}\..*\$LATEST.*"events": \[\]'):
        _provision_with(aws, tmp_path, **stage)
    assert aws.target.client("dynamodb").list_tables()["TableNames"] == []


def test_the_role_follows_the_partition_and_refuses_a_path():
    china = {
        "TOPIC_ARN": "arn:aws-cn:sns:cn-north-1:123456789012:tasks-events",
        "TABLE_NAME": "tasks",
        "EVENTS_QUEUE_URL": "https://sqs.cn-north-1.amazonaws.com.cn/123456789012/tasks-events",
    }
    role = execution_role(
        role_arn="arn:aws-cn:iam::123456789012:role/tasks-lambda",
        function_name="tasks-prod",
        environment=china,
        secrets_url=None,
        xray=False,
    )
    resources = [r for statement in role.policy["Statement"] for r in statement["Resource"] if r != "*"]
    assert all(resource.startswith("arn:aws-cn:") for resource in resources), resources
    with pytest.raises(OperationsError, match="without a path"):
        execution_role(
            role_arn="arn:aws:iam::123456789012:role/service/tasks-lambda",
            function_name="tasks-prod",
            environment=china,
            secrets_url=None,
            xray=False,
        )


def test_only_the_examples_placeholders_are_refused(tmp_path):
    stage = stage_settings("staging")
    stage["aws_environment_variables"]["API_DOMAIN"] = "replacement-parts.example.com"  # a real name
    path = tmp_path / "zappa_settings.json"
    path.write_text(json.dumps({"staging": stage}))
    refuse_placeholders(load_stage(path, "staging"), caller_account=LOCAL_ACCOUNT)


def test_buckets_named_after_the_example_account_are_refused_in_another_account(tmp_path):
    account = "999999999999"
    stage = stage_settings("staging", s3_bucket=f"tasks-deploy-{LOCAL_ACCOUNT}")
    variables = stage["aws_environment_variables"]
    for name in ("TOPIC_ARN", "EVENTS_QUEUE_URL"):
        variables[name] = variables[name].replace(LOCAL_ACCOUNT, account)
    path = tmp_path / "zappa_settings.json"
    path.write_text(json.dumps({"staging": stage}))
    with pytest.raises(OperationsError, match=f"s3_bucket 'tasks-deploy-{LOCAL_ACCOUNT}' still names the example"):
        refuse_placeholders(load_stage(path, "staging"), caller_account=account)


def test_a_secrets_object_named_after_the_example_account_is_refused_in_another_account(tmp_path):
    account = "999999999999"
    stage = stage_settings("staging")
    variables = stage["aws_environment_variables"]
    for name in ("TOPIC_ARN", "EVENTS_QUEUE_URL"):
        variables[name] = variables[name].replace(LOCAL_ACCOUNT, account)
    variables["SECRETS_S3_URL"] = f"s3://tasks-config-{LOCAL_ACCOUNT}/staging.json"
    path = tmp_path / "zappa_settings.json"
    path.write_text(json.dumps({"staging": stage}))
    with pytest.raises(OperationsError, match=f"SECRETS_S3_URL 's3://tasks-config-{LOCAL_ACCOUNT}/staging.json' still"):
        refuse_placeholders(load_stage(path, "staging"), caller_account=account)


def test_a_stage_still_naming_zappas_remote_env_is_refused_with_where_to_move_it(tmp_path):
    # The role grants only SECRETS_S3_URL's object: Zappa's fetch would fail and the function start without its key.
    stage = stage_settings("staging", remote_env="s3://tasks-config/staging.json")
    path = tmp_path / "zappa_settings.json"
    path.write_text(json.dumps({"staging": stage}))
    with pytest.raises(OperationsError, match=r"remote_env is no longer read.*as SECRETS_S3_URL"):
        refuse_placeholders(load_stage(path, "staging"), caller_account=LOCAL_ACCOUNT)


def _mapping(aws, source: str) -> dict[str, Any]:
    """The one event source mapping whose source ARN contains `source`."""
    mappings = aws.target.client("lambda").list_event_source_mappings()["EventSourceMappings"]
    [mapping] = [m for m in mappings if source in m["EventSourceArn"]]
    return mapping


def _on_alias(aws, function_arn: str, stage: str = "production") -> bool:
    """On AWS a mapping made on the alias reads back as the alias's ARN; moto 5.2.5 stores the
    version the alias is on instead (so a mapping on $LATEST or another version is still told apart)."""
    alias = aws.target.client("lambda").get_alias(FunctionName=f"tasks-{stage}", Name="snapstart")
    return function_arn in (alias["AliasArn"], f"{_function_arn(stage)}:{alias['FunctionVersion']}")


def test_every_trigger_invokes_the_snapstart_alias_with_the_settings_the_relay_and_consumer_need(run, aws):
    run("production")
    zappa_deploy(aws)
    run("production")
    queue = _mapping(aws, ":tasks-production-events")
    assert _on_alias(aws, queue["FunctionArn"])
    assert (queue["BatchSize"], queue["FunctionResponseTypes"]) == (10, ["ReportBatchItemFailures"])

    stream = _mapping(aws, ":table/tasks-production/stream/")
    table = aws.target.client("dynamodb").describe_table(TableName="tasks-production")["Table"]
    assert stream["EventSourceArn"] == table["LatestStreamArn"]
    assert _on_alias(aws, stream["FunctionArn"])
    assert stream["StartingPosition"] == "TRIM_HORIZON"  # nothing stored before the mapping is missed
    [pattern] = [json.loads(f["Pattern"]) for f in stream["FilterCriteria"]["Filters"]]
    assert pattern == {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"Type": {"S": ["OutboxEvent"]}}}}
    assert stream["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert stream["BisectBatchOnFunctionError"] is True
    assert (stream["MaximumRetryAttempts"], stream["MaximumRecordAgeInSeconds"]) == (5, 900)
    assert (stream["BatchSize"], stream["MaximumBatchingWindowInSeconds"]) == (100, 0)
    failures = f"arn:aws:sqs:{REGION}:{LOCAL_ACCOUNT}:tasks-production-stream-failures"
    assert stream["DestinationConfig"]["OnFailure"]["Destination"] == failures
    assert aws.target.client("sqs").get_queue_url(QueueName="tasks-production-stream-failures")

    rule = _events(aws).describe_rule(Name=f"tasks-production-{SWEEPER}")
    assert (rule["ScheduleExpression"], rule["State"]) == ("rate(5 minutes)", "ENABLED")
    [target] = _events(aws).list_targets_by_rule(Rule=rule["Name"])["Targets"]
    alias_arn = f"{_function_arn('production')}:snapstart"
    assert target["Arn"] == alias_arn
    assert "InputTransformer" not in target  # serve_http gets EventBridge's event, rule ARN and all
    policy = aws.target.client("lambda").get_policy(FunctionName="tasks-production", Qualifier="snapstart")
    statements = json.loads(policy["Policy"])["Statement"]
    assert any(
        st["Resource"] == alias_arn and st["Condition"]["ArnLike"]["AWS:SourceArn"] == rule["Arn"] for st in statements
    ), statements


def test_triggers_an_older_release_left_on_latest_are_moved_to_the_alias(run, aws):
    run("production")
    zappa_deploy(aws, legacy=True)
    uuid = _mapping(aws, ":tasks-production-events")["UUID"]
    output = run("production")
    assert outcome(output, "event source", "tasks-production-events") == (
        "updated (moved from $LATEST to snapstart, FunctionResponseTypes)"
    )
    assert outcome(output, "schedule", f"tasks-production-{SWEEPER}").startswith(
        "updated (rate(1 minute) enabled → rate(5 minutes), target $LATEST → snapstart"
    )
    moved = _mapping(aws, ":tasks-production-events")
    assert moved["UUID"] == uuid  # the same mapping, so no message is polled twice meanwhile
    assert _on_alias(aws, moved["FunctionArn"])
    assert moved["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    targets = _events(aws).list_targets_by_rule(Rule=f"tasks-production-{SWEEPER}")["Targets"]
    assert [t["Arn"] for t in targets] == [f"{_function_arn('production')}:snapstart"]
    assert "Nothing to change" in run("production")


def test_a_second_mapping_on_latest_is_deleted_and_a_stream_mapping_from_latest_is_replaced(run, aws):
    run("production")
    zappa_deploy(aws)
    run("production")
    lambdas = aws.target.client("lambda")
    stream_arn = _mapping(aws, ":table/tasks-production/stream/")["EventSourceArn"]
    lambdas.delete_event_source_mapping(UUID=_mapping(aws, ":table/tasks-production/stream/")["UUID"])
    # as someone adding the stream by hand might: from LATEST (records before it are skipped), on $LATEST
    lambdas.create_event_source_mapping(
        EventSourceArn=stream_arn, FunctionName="tasks-production", StartingPosition="LATEST", BatchSize=100
    )
    lambdas.create_event_source_mapping(
        EventSourceArn=f"arn:aws:sqs:{REGION}:{LOCAL_ACCOUNT}:tasks-production-events",
        FunctionName="tasks-production",
        BatchSize=10,
    )
    output = run("production")
    assert outcome(output, "event source", "tasks-production stream").startswith("replaced (on snapstart")
    assert outcome(output, "event source", "tasks-production-events") == (
        "updated (1 other mapping ($LATEST on tasks-production-events) deleted)"
    )
    mappings = lambdas.list_event_source_mappings()["EventSourceMappings"]
    assert len(mappings) == 3  # the events queue's, the webhooks queue's, the stream's
    assert all(_on_alias(aws, m["FunctionArn"]) for m in mappings)
    assert _mapping(aws, ":table/tasks-production/stream/")["StartingPosition"] == "TRIM_HORIZON"
    assert "Nothing to change" in run("production")


def test_a_stage_without_snapstart_has_its_triggers_on_the_function(run, aws):
    run("dev")
    zappa_deploy(aws, "dev", snap_start=False)
    output = run("dev")
    assert (
        outcome(output, "event source", "tasks-dev-events") == "created (on $LATEST, batch 10, ReportBatchItemFailures)"
    )
    for source in (":tasks-dev-events", ":table/tasks-dev/stream/"):
        assert _mapping(aws, source)["FunctionArn"] == _function_arn("dev")
    [target] = _events(aws).list_targets_by_rule(Rule=f"tasks-dev-{SWEEPER}")["Targets"]
    assert target["Arn"] == _function_arn("dev")
    assert "Nothing to change" in run("dev")


def test_a_snapstart_stage_deployed_without_its_alias_gets_no_trigger_on_latest(run, aws):
    run("production")
    zappa_deploy(aws, snap_start=False)
    output = run("production")
    for kind, name in TRIGGERS:
        assert outcome(output, kind, name).startswith("absent (tasks-production has no alias snapstart: zappa update")
    assert aws.target.client("lambda").list_event_source_mappings()["EventSourceMappings"] == []
    assert _events(aws).list_rules()["Rules"] == []


def test_the_rehearsal_checks_fail_on_triggers_left_on_latest_and_pass_once_provisioned(run, aws):
    lambdas, events = aws.target.client("lambda"), _events(aws)
    dynamodb, sqs = aws.target.client("dynamodb"), aws.target.client("sqs")
    queue_arn = f"arn:aws:sqs:{REGION}:{LOCAL_ACCOUNT}:tasks-production-events"

    def problems() -> list[str]:
        found = checks.check_event_source(lambdas, "tasks-production", queue_arn, snap_start=True)
        found += checks.check_stream_source(lambdas, dynamodb, sqs, "tasks-production", "tasks-production", True)
        found += checks.check_schedule(events, lambdas, "tasks-production", snap_start=True)[0]
        return found + checks.check_no_trigger_on_latest(lambdas, events, "tasks-production")

    run("production")
    zappa_deploy(aws, legacy=True)
    before = "\n".join(problems())
    assert f"event source {queue_arn} invokes $LATEST" in before
    assert f"rule tasks-production-{SWEEPER} invokes tasks-production on $LATEST" in before
    assert "expected one from" in before  # no stream mapping yet
    run("production")
    assert problems() == []


def test_a_trigger_an_operator_disabled_stays_disabled(run, aws):
    """Pausing the consumer (an incident, Celery workers owning the queue) is the operator's call."""
    run("production")
    zappa_deploy(aws)
    run("production")
    lambdas = aws.target.client("lambda")
    lambdas.update_event_source_mapping(UUID=_mapping(aws, ":tasks-production-events")["UUID"], Enabled=False)
    output = run("production")
    assert outcome(output, "event source", "tasks-production-events").startswith("unchanged")
    assert _mapping(aws, ":tasks-production-events")["State"] == "Disabled"
