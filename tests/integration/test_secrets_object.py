"""A deployed stage reads its secret key from the S3 object SECRETS_S3_URL names when the key is first
used (a cursor, Django's signing), not while its settings load: a cold start without SnapStart
reads nothing from S3 (config.secrets)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ops.local.embedded_aws import EmbeddedAws
from ops.rehearsal.package import local_client
from tests.snapstart_script import SNAPSHOT_PRELUDE

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "a-long-random-secret-read-from-s3-0123456789abcdefghijkl"
# Loads the settings as Lambda's init does (Zappa's handler, through DJANGO_SETTINGS_MODULE), then
# uses the key as the first cursor would.
LOAD_SETTINGS = "from django.conf import settings; print(settings.JWT.audience, flush=True)"
USE_KEY = LOAD_SETTINGS + "; print(settings.SECRET_KEY)"


def _staging(aws: EmbeddedAws, **variables: str) -> dict[str, str]:
    """A staging function's environment, its AWS the local one, without the secret key."""
    return {
        "PATH": os.defpath,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "ENVIRONMENT": "staging",
        "AUTH_MODE": "jwt",
        "JWT_ISSUER": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123",
        "JWT_AUDIENCE": "app-client-id",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": aws.url,
        "TABLE_NAME": "tasks-staging",
        "TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:tasks-staging-events",
        "EVENTS_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/tasks-staging-events",
        "SECRETS_S3_URL": "s3://tasks-config/staging.json",
        **variables,
    }


def _run(env: dict[str, str], script: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", script]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def _store(aws: EmbeddedAws, body: object) -> None:
    local_client(aws.url, "s3").put_object(Bucket="tasks-config", Key="staging.json", Body=json.dumps(body))


@pytest.fixture
def secrets_bucket(local_aws: EmbeddedAws) -> EmbeddedAws:
    local_aws.reset()
    local_client(local_aws.url, "s3").create_bucket(Bucket="tasks-config")
    return local_aws


def test_the_key_is_the_objects_when_first_used_over_the_functions(secrets_bucket):
    _store(secrets_bucket, {"DJANGO_SECRET_KEY": SECRET_KEY})
    function_key = "a-key-the-function-was-configured-with-0123456789abcdefgh"
    used = _run(_staging(secrets_bucket, DJANGO_SECRET_KEY=function_key), USE_KEY)
    assert used.returncode == 0, used.stderr
    assert used.stdout.split() == ["app-client-id", SECRET_KEY]  # the object wins, as with Zappa's remote_env


def test_loading_the_settings_reads_no_object(secrets_bucket):
    loaded = _run(_staging(secrets_bucket), LOAD_SETTINGS)  # there is no object: nothing asked for it
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.split() == ["app-client-id"]


def test_a_missing_object_fails_the_first_use_of_the_key_naming_it(secrets_bucket):
    used = _run(_staging(secrets_bucket), USE_KEY)
    assert used.returncode != 0
    assert "SECRETS_S3_URL (s3://tasks-config/staging.json) could not be read" in used.stderr
    assert "NoSuchKey" in used.stderr


def test_s3_unreachable_when_the_key_is_first_needed_is_an_outage_not_a_bug(secrets_bucket):
    """The request that needed the key answers 503 with Retry-After, as for any outage (SPEC §2),
    and the next use reads again."""
    script = (
        "from django.conf import settings\n"
        "from tasks_app.application.ports import DependencyUnavailable\n"
        "try:\n    str(settings.SECRET_KEY)\n"
        "except DependencyUnavailable as outage:\n    print(outage.dependency, outage.retry_after)\n"
    )
    used = _run(_staging(secrets_bucket, AWS_ENDPOINT_URL="http://127.0.0.1:9"), script)  # connections refused
    assert used.returncode == 0, used.stderr
    assert used.stdout.split() == ["S3", "5"]


def test_an_object_that_is_not_a_json_object_of_strings_is_refused(secrets_bucket):
    _store(secrets_bucket, {"DJANGO_SECRET_KEY": 42})
    used = _run(_staging(secrets_bucket), USE_KEY)
    assert used.returncode != 0
    assert "must be a JSON object of strings" in used.stderr


def test_configuration_in_the_object_is_refused_rather_than_ignored(secrets_bucket):
    # It would be read only after the settings were built from the function's variables.
    _store(secrets_bucket, {"DJANGO_SECRET_KEY": SECRET_KEY, "JWT_AUDIENCE": "from-the-object"})
    used = _run(_staging(secrets_bucket), USE_KEY)
    assert used.returncode != 0
    assert "holds JWT_AUDIENCE: only DJANGO_SECRET_KEY is read from it" in used.stderr


def test_a_short_key_in_the_object_is_refused(secrets_bucket):
    _store(secrets_bucket, {"DJANGO_SECRET_KEY": "short"})
    used = _run(_staging(secrets_bucket), USE_KEY)
    assert used.returncode != 0
    assert "at least 50 random characters" in used.stderr


# What SnapStart does at publish: Django set up, the before-snapshot hooks run; then, restored,
# the instance uses the key after the object is gone.
SNAPSHOT_THEN_USE_KEY = (
    SNAPSHOT_PRELUDE
    + """
[hook() for hook in hooks]
print("snapshot taken", flush=True)
from django.conf import settings
from tasks_app import bootstrap
bootstrap.aws_target().client("s3").delete_object(Bucket="tasks-config", Key="staging.json")
print(settings.SECRET_KEY)
"""
)


def test_with_snapstart_the_key_is_read_before_the_snapshot(secrets_bucket):
    _store(secrets_bucket, {"DJANGO_SECRET_KEY": SECRET_KEY})
    restored = _run(_staging(secrets_bucket), SNAPSHOT_THEN_USE_KEY)
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.split("\n")[:2] == ["snapshot taken", SECRET_KEY]  # read once, before: not again


def test_with_snapstart_an_unreadable_object_fails_the_snapshot(secrets_bucket):
    published = _run(_staging(secrets_bucket), SNAPSHOT_THEN_USE_KEY)
    assert published.returncode != 0
    assert "snapshot taken" not in published.stdout  # so the version is not published
    assert "SECRETS_S3_URL (s3://tasks-config/staging.json) could not be read" in published.stderr
