"""zappa_settings.json says what SPEC §6 asks for; the rehearsal (`make rehearse`) proves Zappa does it."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import botocore
import pytest

from ops.rehearsal.package import stage_settings

STAGES = ("dev", "staging", "production")
# The services the function calls: the table, the topic, the queues (dlq commands), remote_env, STS.
KEPT_SERVICES = {"dynamodb", "s3", "sesv2", "sns", "sqs", "sts"}


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_sets_django_up_at_init_and_configures_spec_variables(stage):
    variables = stage_settings(stage)["aws_environment_variables"]
    assert variables["INSTANTIATE_LAMBDA_HANDLER_ON_IMPORT"] == "true", "SnapStart snapshots only what init does"
    for name in ("ENVIRONMENT", "AUTH_MODE", "TABLE_NAME", "TOPIC_ARN", "EVENTS_QUEUE_URL", "JWT_ISSUER"):
        assert variables.get(name), f"stage {stage}: set {name} in aws_environment_variables"
    assert variables["AUTH_MODE"] == "jwt"


@pytest.mark.parametrize("stage", STAGES)
def test_the_secret_key_is_never_in_the_settings_but_in_the_s3_object_they_name(stage):
    settings = stage_settings(stage)
    for section in ("aws_environment_variables", "environment_variables"):
        assert "DJANGO_SECRET_KEY" not in settings.get(section, {}), "keep the key in the SECRETS_S3_URL S3 object"
    assert settings["aws_environment_variables"]["SECRETS_S3_URL"].startswith("s3://")
    # Zappa would fetch it again, with a boto3 session of its own: about 90 ms per cold start.
    assert "remote_env" not in settings


@pytest.mark.parametrize(
    ("stage", "snap_start", "api_key"),
    [("dev", None, False), ("staging", "PublishedVersions", False), ("production", "PublishedVersions", True)],
)
def test_snap_start_and_api_keys_are_on_where_the_spec_says(stage, snap_start, api_key):
    settings = stage_settings(stage)
    assert settings.get("snap_start") == snap_start
    assert settings.get("api_key_required", False) is api_key
    assert settings["runtime"] == "python3.13"


@pytest.mark.parametrize("stage", STAGES)
def test_zappa_makes_no_trigger_so_none_runs_latest(stage):
    """`provision --stage` owns the queue's, the stream's and the sweeper's triggers, on the
    SnapStart alias; Zappa would re-create its own on $LATEST at every deploy and update."""
    settings = stage_settings(stage)
    assert settings.get("events", []) == []
    assert not settings.get("keep_warm", True), "keep_warm would schedule $LATEST too"
    # Lambda wants the queue's visibility timeout (5 minutes) at least six times the function's.
    assert settings["timeout_seconds"] * 6 <= 300


def test_the_package_keeps_the_api_models_of_the_services_the_function_calls_and_no_others():
    services = [path.name for path in (Path(botocore.__file__).parent / "data").iterdir() if path.is_dir()]
    patterns = [
        pattern.removeprefix("botocore/data/").rstrip("/")
        for pattern in stage_settings("staging")["exclude_glob"]
        if pattern.startswith("botocore/data/")
    ]
    kept = {service for service in services if not any(fnmatch.fnmatchcase(service, p) for p in patterns)}
    assert kept == KEPT_SERVICES, "adjust the botocore/data patterns in exclude_glob"
