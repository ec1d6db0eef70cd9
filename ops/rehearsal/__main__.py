"""The deploy rehearsal (`make rehearse`, part of `make test`): stage staging released with Zappa
against the embedded local AWS, then checked.

It runs what a release runs, in the README's order, in the lean venv `make package` builds, with
fake credentials and AWS_ENDPOINT_URL pointing every AWS call at moto: `provision --stage`,
`zappa deploy`, `provision --stage` again, `zappa update`, `zappa status`. The changes to
zappa_settings.json are what a user makes (the user pool instead of the placeholders) and
`"touch": false` (the deployed URL cannot be reached: moto does not run functions). Then it
checks what Zappa created, runs the zip `make package` built on its own against the same local
AWS, and checks the stage's role allows every call the zip made. Every command has a timeout;
the local AWS is stopped by PID whatever happens.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from ops.local.embedded_aws import EmbeddedAws
from ops.provisioning.dynamodb import ensure_table
from ops.provisioning.iam import POLICY_NAME
from ops.provisioning.sqs import ensure_queue, queue_attributes
from ops.provisioning.zappa_stage import load_stage
from ops.rehearsal import checks, monitoring, permissions
from ops.rehearsal.package import (
    FAKE_CREDENTIALS,
    ROLE_CREDENTIALS,
    ROOT,
    SETTINGS_FILE,
    local_client,
    package_path,
    stage_settings,
)
from ops.rehearsal.smoke import smoke_package

STAGE = "staging"
LAMBDA_VENV = ROOT / ".venv-lambda"
TIMEOUTS = {"provision": 90, "deploy": 300, "update": 300, "status": 60}


class RehearsalFailed(Exception):
    """A step failed; the message says which and shows its output."""


def main() -> int:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="zappa-rehearsal-") as scratch, EmbeddedAws() as aws:
        work = Path(scratch)
        rehearsal_settings = _rehearsal_settings(work)
        settings = stage_settings(STAGE, rehearsal_settings)
        try:
            recording = _release(aws, work, rehearsal_settings)
            problems, rule_arns = _check_stage(aws, settings, recording)
            problems += checks.check_package_contents(package_path(STAGE))
            if not problems:
                _without_pollers(aws, rehearsal_settings)
                _moto_api(aws, "recorder/reset-recording")
                _moto_api(aws, "recorder/start-recording")
                problems = smoke_package(aws, work, settings, rule_arns)
                _moto_api(aws, "recorder/stop-recording")
                package_calls = _entries(_moto_api(aws, "recorder/download-recording"))
                problems += _check_permissions(aws, settings, package_calls)
                problems += checks.roles_zappa_named(recording, settings["role_arn"])
            if not problems:
                problems = _rehearse_production(aws, work, rehearsal_settings)
        except RehearsalFailed as failure:
            problems = [str(failure)]
    elapsed = time.monotonic() - started
    if problems:
        print(f"rehearsal FAILED after {elapsed:.0f} s:", *problems, sep="\n  ")
        return 1
    print(
        f"rehearsal: stage {STAGE} deployed, updated and checked, and production's API key, alarms and"
        f" dashboard checked, against the local AWS in {elapsed:.0f} s"
    )
    return 0


# What a user puts in place of the placeholders before deploying (provision refuses them).
USER_POOL = {
    "JWT_ISSUER": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Rehearsal",
    "JWT_AUDIENCE": "rehearsal-app-client",
}


def _rehearsal_settings(work: Path) -> Path:
    stages = json.loads(SETTINGS_FILE.read_text())
    for name, stage in stages.items():
        variables = {**stage["aws_environment_variables"], **USER_POOL}
        stages[name] = {**stage, "touch": False, "aws_environment_variables": variables}
    path = work / "zappa_settings.json"
    path.write_text(json.dumps(stages, indent=4))
    return path


@dataclass(frozen=True)
class _Commands:
    """The release's commands, run against the local AWS with the rehearsal's settings."""

    aws: EmbeddedAws
    work: Path
    settings_file: Path

    def provision(self, stage: str) -> None:
        command = [sys.executable, "manage.py", "provision", "--stage", stage]
        command += ["--settings-file", str(self.settings_file), "--endpoint-url", self.aws.url]
        env = _aws_env(self.aws, self.work, ENVIRONMENT="development")
        _run("provision", command, env, label=f"python manage.py provision --stage {stage}")

    def zappa(self, action: str, stage: str) -> None:
        """Inside the lean venv, as Zappa must run."""
        path = f"{LAMBDA_VENV / 'bin'}{os.pathsep}{os.defpath}"
        env = _aws_env(self.aws, self.work, VIRTUAL_ENV=str(LAMBDA_VENV), PATH=path)
        command = [str(LAMBDA_VENV / "bin" / "zappa"), action, stage, "--settings_file", str(self.settings_file)]
        _run(action, command, env, label=f"zappa {action} {stage}")


def _release(aws: EmbeddedAws, work: Path, settings_file: Path) -> list[dict[str, Any]]:
    """Runs the release; returns moto's record of the calls it made."""
    if not package_path(STAGE).exists():
        raise RehearsalFailed(f"{package_path(STAGE)} is missing: `make rehearse` builds it first.")
    run = _Commands(aws, work, settings_file)
    # In the README's order. Before deploy: the role, table and queues; after it: what needs the
    # function and API (the triggers, on the alias the deploy published). The update comes last,
    # so the checks see that a release keeps what provision set: Zappa re-creates no trigger on
    # $LATEST, and the triggers follow the alias to the new version.
    _moto_api(aws, "recorder/reset-recording")
    _moto_api(aws, "recorder/start-recording")
    run.provision(STAGE)
    run.zappa("deploy", STAGE)
    run.provision(STAGE)
    run.zappa("update", STAGE)
    _moto_api(aws, "recorder/stop-recording")
    recording = _entries(_moto_api(aws, "recorder/download-recording"))
    run.zappa("status", STAGE)
    return recording


def _without_pollers(aws: EmbeddedAws, settings_file: Path) -> None:
    """The stage's table and queues made again, empty and without event source mappings.

    moto runs a mapping's function itself for every message sent and every stream record
    written (in Docker, which it lacks here); for a mapping on a version, as the alias's are
    stored, it answers that write with a 500. The smoke plays Lambda's pollers instead, and moto
    lets go of a deleted mapping only with its table or queue, so both are deleted and made anew.
    """
    resources = load_stage(settings_file, STAGE).resources()
    region = stage_settings(STAGE, settings_file)["aws_region"]
    lambdas = local_client(aws.url, "lambda", region)
    for mapping in lambdas.list_event_source_mappings()["EventSourceMappings"]:
        lambdas.delete_event_source_mapping(UUID=mapping["UUID"])
    dynamodb, sqs = local_client(aws.url, "dynamodb", region), local_client(aws.url, "sqs", region)
    dynamodb.delete_table(TableName=resources.table_name)
    dynamodb.get_waiter("table_not_exists").wait(TableName=resources.table_name, WaiterConfig={"Delay": 1})
    ensure_table(dynamodb, resources, dry_run=False)
    # Both queues with a mapping: the events queue and the webhooks queue (issue 14), whose
    # mapping would otherwise make moto fail SNS's delivery to it, and so every publish.
    for queue_name, dlq_name in (
        (resources.queue_name, resources.dead_letter_queue_name),
        (resources.webhooks_queue_name, resources.webhooks_dead_letter_queue_name),
    ):
        sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=queue_name)["QueueUrl"])
        ensure_queue(sqs, queue_name, queue_attributes(resources, resources.queue_arn(dlq_name)), dry_run=False)


def _rehearse_production(aws: EmbeddedAws, work: Path, settings_file: Path) -> list[str]:
    """Production's difference: every route needs the API key, which the usage plan meters; and
    its error answers, the missing key's among them, are SPEC §2's. Its alarms and dashboard
    watch its own resources and namespace."""
    run = _Commands(aws, work, settings_file)
    run.provision("production")
    run.zappa("deploy", "production")
    run.provision("production")
    settings = stage_settings("production", settings_file)
    region = settings["aws_region"]
    name = f"{settings['project_name']}-production"
    apigateway = local_client(aws.url, "apigateway", region)
    problems = checks.check_api_key(apigateway, local_client(aws.url, "cloudformation", region), name, "production")
    problems += monitoring.check_monitoring(local_client(aws.url, "cloudwatch", region), name, "production", settings)
    return problems + checks.check_gateway_responses(apigateway, name, "production")


def _entries(recording: str) -> list[dict[str, Any]]:
    """moto's recorder writes one JSON object per call, not always one per line."""
    decoder, entries, position = json.JSONDecoder(), [], 0
    while (position := len(recording) - len(recording[position:].lstrip())) < len(recording):
        entry, position = decoder.raw_decode(recording, position)
        entries.append(entry)
    return entries


def _moto_api(aws: EmbeddedAws, path: str) -> str:
    request = urllib.request.Request(f"{aws.url}/moto-api/{path}", method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:
        return str(response.read().decode())


def _aws_env(aws: EmbeddedAws, work: Path, **extra: str) -> dict[str, str]:
    """Fake credentials and the local endpoint, and nothing from the caller's AWS setup."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(work),  # no ~/.aws or ~/.zappa of the person running it
        "LANG": "C.UTF-8",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        **FAKE_CREDENTIALS,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": aws.url,
        # Any HTTPS request fails at once instead of leaving the machine: Zappa's check for a newer
        # Zappa on pypi.org, and any call that would miss the local AWS (which is plain HTTP).
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
        **extra,
    }


def _run(step: str, command: list[str], env: dict[str, str], *, label: str) -> str:
    print(f"rehearsal: {label}")
    started = time.monotonic()
    try:
        process = subprocess.run(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUTS[step],
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RehearsalFailed(f"{step} did not finish within {TIMEOUTS[step]} s") from None
    output = process.stdout + process.stderr
    if process.returncode != 0:
        raise RehearsalFailed(f"{step} failed (exit {process.returncode}):\n{output[-3000:]}")
    print(f"  ok in {time.monotonic() - started:.1f} s")
    return output


def _check_permissions(aws: EmbeddedAws, settings: dict[str, Any], recording: list[dict[str, Any]]) -> list[str]:
    """Every call the zip made in the smoke, allowed by the role `provision --stage` made for it."""
    role_name = settings["role_arn"].rsplit("/", 1)[-1]
    iam = local_client(aws.url, "iam", settings["aws_region"])
    document = iam.get_role_policy(RoleName=role_name, PolicyName=POLICY_NAME)["PolicyDocument"]
    policy = json.loads(unquote(document)) if isinstance(document, str) else dict(document)
    account = settings["role_arn"].split(":")[4]
    calls = permissions.calls_by(
        recording, ROLE_CREDENTIALS["AWS_ACCESS_KEY_ID"], region=settings["aws_region"], account=account
    )
    if not calls:
        return ["the package's calls to AWS were not recorded, so its role's permissions went unchecked"]
    print(f"rehearsal: role {role_name} checked against the {len(calls)} AWS calls the zip made", end="")
    # API Gateway invokes the function with the same role: it must trust API Gateway and allow that.
    document = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    trust: dict[str, Any] = json.loads(unquote(document)) if isinstance(document, str) else dict(document)
    principals = [p for statement in trust["Statement"] for p in _as_list(statement["Principal"]["Service"])]
    # Zappa has Lambda run as the role, API Gateway invoke with it, and EventBridge's rule name it.
    problems = [
        f"role {role_name} does not trust {service}, which Zappa has use it"
        for service in ("lambda.amazonaws.com", "apigateway.amazonaws.com", "events.amazonaws.com")
        if service not in principals
    ]
    invocations, integration_problems = _integration_targets(aws, settings, role_name)
    problems += integration_problems
    print(f", and API Gateway's {len(invocations)} invocations of the function")
    refused = permissions.denied([*calls, *(("lambda:InvokeFunction", target) for target in invocations)], policy)
    return problems + [f"role {role_name} does not allow {action} on {resource}" for action, resource in refused]


def _integration_targets(aws: EmbeddedAws, settings: dict[str, Any], role_name: str) -> tuple[list[str], list[str]]:
    """The functions API Gateway's integrations invoke, and integrations not using the stage's role.

    Read from the CloudFormation template Zappa deployed: moto keeps the template whole but
    drops an integration's credentials when it builds the API from it."""
    cloudformation = local_client(aws.url, "cloudformation", settings["aws_region"])
    body = cloudformation.get_template(StackName=f"{settings['project_name']}-{STAGE}")["TemplateBody"]
    template = json.loads(body) if isinstance(body, str) else dict(body)
    targets, problems = [], []
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::ApiGateway::Method":
            continue
        integration = resource["Properties"]["Integration"]
        if not str(integration.get("Credentials", "")).endswith(f"/{role_name}"):
            problems.append(f"API method {name} invokes the function with {integration.get('Credentials')}")
        targets.append(str(integration["Uri"]).split("/functions/", 1)[1].removesuffix("/invocations"))
    return targets, problems


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def _check_stage(
    aws: EmbeddedAws, settings: dict[str, Any], recording: list[dict[str, Any]]
) -> tuple[list[str], dict[str, str]]:
    name = f"{settings['project_name']}-{STAGE}"

    def client(service: str) -> Any:
        return local_client(aws.url, service, settings["aws_region"])

    variables = settings["aws_environment_variables"]
    queue = variables["EVENTS_QUEUE_URL"].rsplit("/", 1)[-1]
    account = variables["TOPIC_ARN"].split(":")[4]
    queue_arn = f"arn:aws:sqs:{settings['aws_region']}:{account}:{queue}"
    snap_start = settings.get("snap_start", "None") != "None"
    problems = checks.check_function(client("lambda"), name, settings, checks.snap_start_requests(recording))
    problems += checks.check_api(client("apigateway"), name, STAGE, settings)
    problems += checks.check_gateway_responses(client("apigateway"), name, STAGE)
    # Every trigger on the alias, none on $LATEST: by what AWS holds, and by what the release asked for.
    problems += checks.check_event_source(client("lambda"), name, queue_arn, snap_start)
    problems += checks.check_stream_source(
        client("lambda"), client("dynamodb"), client("sqs"), name, variables["TABLE_NAME"], snap_start
    )
    schedule_problems, rule_arns = checks.check_schedule(client("events"), client("lambda"), name, snap_start)
    if snap_start:
        problems += checks.check_no_trigger_on_latest(client("lambda"), client("events"), name)
    problems += checks.trigger_requests(recording, name, snap_start)
    problems += checks.check_provisioned(client("dynamodb"), client("sqs"), client("sns"), name, settings)
    problems += monitoring.check_monitoring(client("cloudwatch"), name, STAGE, settings)
    return problems + schedule_problems, rule_arns


if __name__ == "__main__":
    sys.exit(main())
