"""What `zappa deploy` and `zappa update` must have left in the (local) AWS for one stage.

Each check returns the problems it found, worded to say what to fix; none means the stage
looks as zappa_settings.json says it should.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ops.provisioning.dynamodb import INDEX_NAMES
from ops.provisioning.event_sources import OUTBOX_INSERTS, QUEUE_BATCH_SIZE
from ops.provisioning.gateway_responses import DEPLOYMENT_DESCRIPTION, GATEWAY_ANSWERS, GatewayAnswer, render
from ops.provisioning.schedule import SCHEDULES, Schedule
from ops.provisioning.sqs import stream_failures_queue_name
from ops.provisioning.stage import SNAPSTART_ALIAS  # Zappa points API Gateway at it; provision the triggers

DEFAULT_HANDLER = "handler.lambda_handler"  # Zappa's copy at the package root, when a stage names none
# Top-level folders of the source tree that must never ship: operations code (provisioning, the
# local stack, this rehearsal) and the tests. The serving apps import neither (import-linter).
NOT_SHIPPED = ("ops/", "tests/")


def check_package_contents(package: Path) -> list[str]:
    """The zip holds none of the `NOT_SHIPPED` folders, and a hash-based .pyc for every module.

    Lambda's /var/task is read-only and Zappa zips files without their times, so a module without
    one (or with one checked against its source's time) is compiled again at every cold start:
    `make package` compiles the lean venv unchecked-hash and the project checked-hash. Exempt:
    what Zappa writes into the zip after compiling (its handler, settings and Django app, at the
    root), `manage.py`, and the `__init__.py` Zappa adds to every folder, `__pycache__` included.
    """
    with zipfile.ZipFile(package) as archive:
        names = archive.namelist()
        hash_based = {
            name for name in names if name.endswith(".pyc") and archive.read(name)[4:8] != bytes(4)
        }  # bytes 4-8 are the .pyc's flags (PEP 552): 0 means checked against the source's time
    problems = [
        f"{package.name} holds {folder} ({sum(name.startswith(folder) for name in names)} files): "
        "exclude it in zappa_settings.json"
        for folder in NOT_SHIPPED
        if any(name.startswith(folder) for name in names)
    ]
    written_by_zappa = {"__init__.py", "handler.py", "zappa_settings.py", "django_zappa_app.py", "manage.py"}
    uncompiled = [
        name
        for name in names
        if name.endswith(".py")
        and name not in written_by_zappa
        and "__pycache__/" not in name
        and importlib.util.cache_from_source(name) not in hash_based  # this Python's tag: the runtime's, 3.13
    ]
    if uncompiled:
        problems.append(
            f"{package.name} holds {len(uncompiled)} modules without a hash-based .pyc (Lambda compiles them at "
            f"every cold start), e.g. {', '.join(uncompiled[:5])}: compile them as `make package` does, and "
            "exclude no __pycache__ folder in zappa_settings.json"
        )
    return problems


def snap_start_requests(recording: list[dict[str, Any]]) -> list[str]:
    """The SnapStart setting of each CreateFunction and UpdateFunctionConfiguration call recorded.

    moto accepts SnapStart but always reports it off, so what Zappa asked for is checked instead."""
    applied = []
    for entry in recording:
        path = entry["url"].split("?", 1)[0]
        creates = entry["method"] == "POST" and path.endswith("/functions")
        configures = entry["method"] == "PUT" and path.endswith("/configuration")
        if creates or configures:
            body = base64.b64decode(entry["body"]) if entry.get("body_encoded") else entry["body"]
            applied.append(json.loads(body).get("SnapStart", {}).get("ApplyOn", "None"))
    return applied


def check_function(
    lambda_client: Any, name: str, settings: dict[str, Any], snap_start_requested: list[str]
) -> list[str]:
    config = lambda_client.get_function(FunctionName=name)["Configuration"]
    wanted = {
        "Handler": settings.get("lambda_handler", DEFAULT_HANDLER),
        "Runtime": settings["runtime"],
        "MemorySize": settings["memory_size"],
        "Timeout": settings["timeout_seconds"],
    }
    problems = [
        f"function {name}: {key} is {config.get(key)!r}, zappa_settings.json says {value!r}"
        for key, value in wanted.items()
        if config.get(key) != value
    ]
    wanted_snap_start = settings.get("snap_start", "None")
    if len(snap_start_requested) < 2 or set(snap_start_requested) != {wanted_snap_start}:
        problems.append(
            f"function {name}: Zappa set SnapStart {snap_start_requested} on create and update, "
            f"expected {wanted_snap_start!r} each time"
        )
    variables = config.get("Environment", {}).get("Variables", {})
    for key, value in settings["aws_environment_variables"].items():
        if variables.get(key) != value:
            problems.append(f"function {name}: environment {key}={variables.get(key)!r}, expected {value!r}")
    if settings.get("role_arn") and config.get("Role") != settings["role_arn"]:
        problems.append(
            f"function {name}: runs as {config.get('Role')}, zappa_settings.json says {settings['role_arn']}"
        )
    if "DJANGO_SECRET_KEY" in variables:
        problems.append(
            f"function {name}: DJANGO_SECRET_KEY is in its configuration; "
            "it belongs in the S3 object SECRETS_S3_URL names"
        )
    return problems + _check_versions(lambda_client, name, settings)


def _check_versions(lambda_client: Any, name: str, settings: dict[str, Any]) -> list[str]:
    """deploy and update each publish a version; with SnapStart the alias follows the newest."""
    versions = [v["Version"] for v in lambda_client.list_versions_by_function(FunctionName=name)["Versions"]]
    published = [v for v in versions if v != "$LATEST"]
    problems = [] if len(published) >= 2 else [f"function {name}: versions {versions}, expected two published"]
    if settings.get("snap_start", "None") != "None":
        alias = lambda_client.get_alias(FunctionName=name, Name=SNAPSTART_ALIAS)
        if alias["FunctionVersion"] != max(published, key=int, default=None):
            problems.append(f"alias {SNAPSTART_ALIAS} is on version {alias['FunctionVersion']}, not the newest")
    return problems


def check_api(apigateway: Any, name: str, stage: str, settings: dict[str, Any]) -> list[str]:
    apis = [api for api in apigateway.get_rest_apis()["items"] if api["name"] == name]
    if not apis:
        return [f"no REST API named {name}"]
    api_id = apis[0]["id"]
    resources = {r["path"]: r for r in apigateway.get_resources(restApiId=api_id, embed=["methods"])["items"]}
    problems = [
        f"REST API {name}: no ANY method on {path}"
        for path in ("/", "/{proxy+}")
        if "ANY" not in resources.get(path, {}).get("resourceMethods", {})
    ]
    stages = [s["stageName"] for s in apigateway.get_stages(restApiId=api_id)["item"]]
    if stage not in stages:
        problems.append(f"REST API {name}: no stage {stage} (stages: {stages})")
    if "/{proxy+}" in resources and not problems:
        uri = apigateway.get_integration(restApiId=api_id, resourceId=resources["/{proxy+}"]["id"], httpMethod="ANY")[
            "uri"
        ]
        target = f"function:{name}:{SNAPSTART_ALIAS}/" if settings.get("snap_start") else f"function:{name}/"
        if target not in uri:
            problems.append(f"REST API {name}: the proxy invokes {uri}, expected ...{target}...")
    return problems


def check_event_source(lambda_client: Any, name: str, queue_arn: str, snap_start: bool) -> list[str]:
    """The events queue's one mapping to the function: batches of 10, failures reported one by
    one, enabled, on the alias with SnapStart (`trigger_requests` proves the alias: moto stores
    the version it is on), never on $LATEST."""
    found = _mappings_to(lambda_client, name, lambda source: source == queue_arn)
    if len(found) != 1:
        return [f"{len(found)} event source mappings from {queue_arn} to {name}, expected 1 (provision --stage)"]
    [mapping] = found
    problems = _not_latest(mapping, snap_start)
    if mapping["BatchSize"] != QUEUE_BATCH_SIZE:
        problems.append(f"event source {queue_arn}: batch size {mapping['BatchSize']}, expected {QUEUE_BATCH_SIZE}")
    if mapping["State"] != "Enabled":
        problems.append(f"event source {queue_arn}: state {mapping['State']}, expected Enabled")
    if "ReportBatchItemFailures" not in mapping.get("FunctionResponseTypes", []):
        problems.append(f"event source {queue_arn}: no ReportBatchItemFailures; run provision --stage after deploy")
    return problems


def check_stream_source(
    lambda_client: Any, dynamodb: Any, sqs: Any, name: str, table: str, snap_start: bool
) -> list[str]:
    """The table stream's one mapping to the function, as the relay needs it: from the oldest
    record, outbox inserts only, batch failures reported, bisected on error, retries and age
    bounded, and what it gives up sent to the stream failure queue (which exists)."""
    described = dynamodb.describe_table(TableName=table)["Table"]
    if described.get("StreamSpecification", {}).get("StreamViewType") != "NEW_IMAGE":
        return [f"table {table}: stream {described.get('StreamSpecification')}, expected NEW_IMAGE"]
    stream_arn = described["LatestStreamArn"]
    found = _mappings_to(lambda_client, name, lambda source: source.startswith(f"{described['TableArn']}/stream/"))
    if len(found) != 1 or found[0]["EventSourceArn"] != stream_arn:
        sources = [m["EventSourceArn"] for m in found]
        return [
            f"event source mappings from table {table}'s streams {sources} to {name}, expected one from {stream_arn}"
        ]
    [mapping] = found
    problems = _not_latest(mapping, snap_start)
    where = f"stream event source of {table}"
    if mapping.get("StartingPosition") != "TRIM_HORIZON":
        problems.append(f"{where}: starts at {mapping.get('StartingPosition')}, expected TRIM_HORIZON (none missed)")
    patterns = [json.loads(f["Pattern"]) for f in mapping.get("FilterCriteria", {}).get("Filters", [])]
    if patterns != [OUTBOX_INSERTS]:
        problems.append(f"{where}: filters {patterns}, expected only outbox inserts {OUTBOX_INSERTS}")
    if "ReportBatchItemFailures" not in mapping.get("FunctionResponseTypes", []):
        problems.append(f"{where}: no ReportBatchItemFailures")
    if mapping.get("BisectBatchOnFunctionError") is not True:
        problems.append(f"{where}: does not bisect a failing batch")
    for setting in ("MaximumRetryAttempts", "MaximumRecordAgeInSeconds"):
        if mapping.get(setting) in (None, -1):
            problems.append(f"{where}: {setting} is unbounded: one bad record would hold up its shard for a day")
    destination = mapping.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination", "")
    failures = stream_failures_queue_name(table)
    if not destination.endswith(f":{failures}"):
        problems.append(f"{where}: failures go to {destination or 'nowhere'}, expected queue {failures}")
    else:
        sqs.get_queue_url(QueueName=failures)  # raises if the destination queue was never made
    return problems


def check_schedule(events: Any, lambda_client: Any, name: str, snap_start: bool) -> tuple[list[str], dict[str, str]]:
    """Each schedule's rule (`SCHEDULES`: the outbox sweeper every few minutes, the reminder
    sweep every minute) runs its handler on the alias (the function itself without SnapStart),
    which lets the rule invoke it. Returns the problems, and the ARN of each rule found by the
    handler it runs (`Schedule.handler`)."""
    rules = events.list_rules()["Rules"]
    keep_warm = [rule["Name"] for rule in rules if "keep-warm" in rule["Name"]]
    problems = [f"keep_warm is off, but rules {keep_warm} exist"] if keep_warm else []
    arns: dict[str, str] = {}
    for schedule in SCHEDULES:
        found, arn = _check_rule(events, lambda_client, rules, name, schedule, snap_start)
        problems += found
        if arn is not None:
            arns[schedule.handler] = arn
    return problems, arns


def _check_rule(
    events: Any, lambda_client: Any, rules: list[dict[str, Any]], name: str, schedule: Schedule, snap_start: bool
) -> tuple[list[str], str | None]:
    rule_name = schedule.rule_name(name)
    matching = [rule for rule in rules if rule["Name"] == rule_name]
    if not matching:
        return [f"no schedule rule {rule_name} (rules: {[r['Name'] for r in rules]})"], None
    rule, problems = matching[0], []
    if rule.get("ScheduleExpression") != schedule.expression:
        problems.append(f"rule {rule_name}: {rule.get('ScheduleExpression')}, expected {schedule.expression}")
    function_arn = lambda_client.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    target_arn = f"{function_arn}:{SNAPSTART_ALIAS}" if snap_start else function_arn
    targets = [target["Arn"] for target in events.list_targets_by_rule(Rule=rule_name)["Targets"]]
    if targets != [target_arn]:
        problems.append(f"rule {rule_name} targets {targets}, expected only {target_arn}")
    return problems + _check_invoke_permission(lambda_client, name, rule["Arn"], snap_start), str(rule["Arn"])


def _check_invoke_permission(lambda_client: Any, name: str, rule_arn: str, snap_start: bool) -> list[str]:
    """A permission on the alias itself: one on the function would not let the rule invoke the alias."""
    qualifier = {"Qualifier": SNAPSTART_ALIAS} if snap_start else {}
    policy = json.loads(lambda_client.get_policy(FunctionName=name, **qualifier)["Policy"])
    for statement in policy.get("Statement", []):
        source = statement.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn")
        resource = str(statement.get("Resource", ""))
        on_target = resource.endswith(f":{SNAPSTART_ALIAS}") if snap_start else resource.endswith(f":{name}")
        if statement.get("Principal", {}).get("Service") == "events.amazonaws.com" and source == rule_arn and on_target:
            return []
    return [f"function {name}: no permission for rule {rule_arn} to invoke {qualifier or 'it'}"]


def check_no_trigger_on_latest(lambda_client: Any, events: Any, name: str) -> list[str]:
    """No event source mapping and no rule invokes the unqualified function ($LATEST, no SnapStart)."""
    function_arn = lambda_client.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    on_latest = _mappings_to(lambda_client, name, lambda source: True)
    problems = [
        f"event source {m['EventSourceArn']} invokes {name} on $LATEST"
        for m in on_latest
        if len(m["FunctionArn"].split(":")) == 7 or m["FunctionArn"].endswith(":$LATEST")
    ]
    for arn in (function_arn, f"{function_arn}:$LATEST"):
        rules = events.list_rule_names_by_target(TargetArn=arn)["RuleNames"]
        problems += [f"rule {rule} invokes {name} on $LATEST" for rule in rules]
    return problems


def trigger_requests(recording: list[dict[str, Any]], name: str, snap_start: bool) -> list[str]:
    """Every event source mapping and rule target the release asked for names the alias (or, with
    no SnapStart, the function); moto keeps what a mapping asked for only as the alias's version
    of the day, so the requests are what prove the alias. A release that asked for none is a problem."""
    wanted = f":function:{name}:{SNAPSTART_ALIAS}" if snap_start else f":function:{name}"
    asked = []
    for entry in recording:
        path = entry["url"].split("?", 1)[0]
        target = {k.lower(): v for k, v in entry["headers"].items()}.get("x-amz-target", "")
        mapping = "/event-source-mappings" in path and entry["method"] in ("POST", "PUT")
        if not mapping and target != "AWSEvents.PutTargets":
            continue
        raw = entry.get("body") or ""
        request = json.loads(base64.b64decode(raw) if entry.get("body_encoded") else raw or "{}")
        if mapping and "FunctionName" in request:
            asked.append(("an event source mapping", str(request["FunctionName"])))
        for rule_target in request.get("Targets", []) if not mapping else []:
            asked.append((f"rule {request.get('Rule')}", str(rule_target["Arn"])))
    mappings = sum(what == "an event source mapping" for what, _ in asked)
    problems = [] if mappings >= 2 else [f"the release asked for {mappings} event source mappings, expected 2"]
    if len(asked) == mappings:
        problems.append("the release put no rule target: the sweeper's schedule was not made")
    return problems + [f"{what} was made on {arn}, not on {wanted}" for what, arn in asked if not arn.endswith(wanted)]


def _mappings_to(lambda_client: Any, name: str, source_matches: Callable[[str], bool]) -> list[dict[str, Any]]:
    """The function's mappings (any qualifier) from matching sources. (Filtered here: moto's
    FunctionName filter matches no ARN.)"""
    mappings = []
    for page in lambda_client.get_paginator("list_event_source_mappings").paginate():
        mappings += [
            m
            for m in page["EventSourceMappings"]
            if m["FunctionArn"].split(":")[6] == name and source_matches(m["EventSourceArn"])
        ]
    return mappings


def _not_latest(mapping: dict[str, Any], snap_start: bool) -> list[str]:
    parts = mapping["FunctionArn"].split(":")
    if snap_start and (len(parts) == 7 or parts[7] == "$LATEST"):
        return [f"event source {mapping['EventSourceArn']} invokes $LATEST, which has no SnapStart"]
    return []


def check_api_key(apigateway: Any, cloudformation: Any, name: str, stage: str) -> list[str]:
    """Every method needs the key (read from the template Zappa deployed: moto drops the flag when
    it builds the API), and the key is in a usage plan with SPEC §6's limits on this stage."""
    body = cloudformation.get_template(StackName=name)["TemplateBody"]
    template = json.loads(body) if isinstance(body, str) else body
    methods = {
        key: r["Properties"] for key, r in template["Resources"].items() if r["Type"] == "AWS::ApiGateway::Method"
    }
    problems = [
        f"API {name}: method {key} does not require the API key"
        for key, m in methods.items()
        if not m.get("ApiKeyRequired")
    ]
    if not methods:
        problems.append(f"API {name}: the deployed template has no methods")
    [api_id] = [api["id"] for api in apigateway.get_rest_apis()["items"] if api["name"] == name]
    plans = [
        plan
        for plan in apigateway.get_usage_plans()["items"]
        if {"apiId": api_id, "stage": stage}
        in [{"apiId": s["apiId"], "stage": s["stage"]} for s in plan.get("apiStages", [])]
    ]
    if len(plans) != 1:
        return [*problems, f"API {name}: {len(plans)} usage plans on stage {stage}, expected 1"]
    [plan] = plans
    limits = (plan.get("throttle", {}).get("rateLimit"), plan.get("throttle", {}).get("burstLimit"))
    quota = (plan.get("quota", {}).get("limit"), plan.get("quota", {}).get("period"))
    if limits != (1000, 2000) or quota != (10000, "DAY"):
        problems.append(
            f"usage plan {plan['name']}: throttle {limits}, quota {quota}; SPEC §6 wants (1000, 2000), (10000, DAY)"
        )
    keys = apigateway.get_usage_plan_keys(usagePlanId=plan["id"])["items"]
    if not keys:
        problems.append(f"usage plan {plan['name']} has no API key: nobody could call production")
    return problems


def check_gateway_responses(apigateway: Any, name: str, stage: str) -> list[str]:
    """API Gateway's own answers (unknown path, throttling, timeout…) are SPEC §2's envelope with
    its status, code and headers, as `provision --stage` puts them, and it deployed the stage
    afterwards (gateway responses answer only once deployed)."""
    [api_id] = [api["id"] for api in apigateway.get_rest_apis()["items"] if api["name"] == name]
    found = {item["responseType"]: item for item in apigateway.get_gateway_responses(restApiId=api_id)["items"]}
    problems = []
    for answer in GATEWAY_ANSWERS:
        response = found.get(answer.response_type, {"defaultResponse": True})
        if response.get("defaultResponse"):
            problems.append(f"API {name}: {answer.response_type} is API Gateway's default answer, not SPEC §2's")
        else:
            problems += [
                f"API {name}: {answer.response_type} {problem}" for problem in _answer_problems(answer, response)
            ]
    descriptions = [d.get("description") for d in apigateway.get_deployments(restApiId=api_id)["items"]]
    if DEPLOYMENT_DESCRIPTION not in descriptions:
        problems.append(f"API {name}: provision --stage {stage} put gateway responses but deployed no stage with them")
    return problems


# What API Gateway substitutes for `$context.error.messageString`: quoted, so quotes and newlines stay JSON.
_GATEWAY_MESSAGE = 'Invalid "signature"\nline two'


def _answer_problems(answer: GatewayAnswer, response: dict[str, Any]) -> list[str]:
    problems = []
    if response.get("statusCode") != answer.status_code():
        problems.append(f"answers {response.get('statusCode')}, expected {answer.status_code()}")
    headers = {
        key.removeprefix("gatewayresponse.header.").lower(): value
        for key, value in response.get("responseParameters", {}).items()
    }
    if headers.get("content-type") != "'application/json'":
        problems.append(f"has Content-Type {headers.get('content-type')}, expected 'application/json'")
    if answer.status in (429, 503) and not str(headers.get("retry-after", "")).strip("'").isdigit():
        problems.append(f"has no Retry-After in seconds (SPEC §2 wants one with {answer.status})")
    template = response.get("responseTemplates", {}).get("application/json", "")
    try:
        body = json.loads(render(template, request_id="rehearsal-request-id", gateway_message=_GATEWAY_MESSAGE))
    except ValueError:
        return [*problems, f"template is not JSON once filled in: {template}"]
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or body.get("success") is not False or set(error) != {"message", "code"}:
        problems.append(f"body is not SPEC §2's error envelope: {body}")
    elif error["code"] != answer.code or not error["message"]:
        problems.append(f"says code {error['code']!r} and message {error['message']!r}, expected code {answer.code}")
    return problems


def check_provisioned(dynamodb: Any, sqs: Any, sns: Any, name: str, settings: dict[str, Any]) -> list[str]:
    """What `provision --stage` made around the function: table, queues, subscriptions. (Its
    alarms and dashboard: `ops.rehearsal.monitoring`.)"""
    variables = settings["aws_environment_variables"]
    table = variables["TABLE_NAME"]
    problems = []
    described = dynamodb.describe_table(TableName=table)["Table"]
    indexes = sorted(index["IndexName"] for index in described.get("GlobalSecondaryIndexes", []))
    if indexes != list(INDEX_NAMES):
        problems.append(
            f"table {table}: indexes {indexes}, not GSI1 (by user), GSI2 (by status), GSI3 (by due date), "
            "GSI4 (reminders, by the hour they are next looked at)"
        )
    backups = dynamodb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    if backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] != "ENABLED":
        problems.append(f"table {table}: point-in-time recovery is off")
    if dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"].get("TimeToLiveStatus") != "ENABLED":
        problems.append(f"table {table}: TTL is off")
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=variables["TOPIC_ARN"])["Subscriptions"]
    # The events queue (SPEC §4) and the webhooks queue (issue 14): each with its DLQ, each subscribed.
    for queue_name in (variables["EVENTS_QUEUE_URL"].rsplit("/", 1)[-1], f"{table}-webhooks"):
        queue_url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
        redrive = json.loads(attributes.get("RedrivePolicy", "{}"))
        if (
            not str(redrive.get("deadLetterTargetArn", "")).endswith(f":{queue_name}-dlq")
            or int(redrive.get("maxReceiveCount", 0)) != 3
        ):
            problems.append(f"queue {queue_name}: redrive policy {redrive}, expected 3 receives then {queue_name}-dlq")
        if not any(sub["Endpoint"] == attributes["QueueArn"] for sub in subscriptions):
            problems.append(f"topic {variables['TOPIC_ARN']} is not subscribed by queue {queue_name}")
    return problems


def roles_zappa_named(recording: list[dict[str, Any]], role_arn: str) -> list[str]:
    """Every role Zappa handed AWS in the release is the stage's: the function's, and any schedule
    rule's (it makes none now that provision --stage owns the sweeper's rule)."""
    named = []
    for entry in recording:
        target = {k.lower(): v for k, v in entry["headers"].items()}.get("x-amz-target", "")
        creates_function = entry["method"] == "POST" and entry["url"].split("?", 1)[0].endswith("/functions")
        if target != "AWSEvents.PutRule" and not creates_function:
            continue  # (package uploads are binary)
        raw = entry.get("body") or ""
        request = json.loads(base64.b64decode(raw) if entry.get("body_encoded") else raw or "{}")
        if creates_function:
            named.append(("the function", request["Role"]))
        elif "RoleArn" in request:
            named.append((f"the rule {request.get('Name')}", request["RoleArn"]))
    if not any(what == "the function" for what, _ in named):
        return ["the release recorded no function created with a role: the trust check above proves less"]
    return [f"{what} runs as {arn}, not the stage's role {role_arn}" for what, arn in named if arn != role_arn]
