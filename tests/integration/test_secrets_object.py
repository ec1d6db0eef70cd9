"""A deployed stage reads its secrets from the S3 object SECRETS_S3_URL names, while its settings load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ops.local.embedded_aws import EmbeddedAws
from ops.rehearsal.package import local_client

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "a-long-random-secret-read-from-s3-0123456789abcdefghijkl"
# Loads the settings as Lambda's init does (Zappa's handler, through DJANGO_SETTINGS_MODULE).
LOAD_SETTINGS = "from django.conf import settings; print(settings.SECRET_KEY, settings.JWT.audience)"


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


def _load_settings(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", LOAD_SETTINGS], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def secrets_bucket(local_aws: EmbeddedAws) -> EmbeddedAws:
    local_aws.reset()
    local_client(local_aws.url, "s3").create_bucket(Bucket="tasks-config")
    return local_aws


def test_the_objects_variables_are_in_the_settings_over_the_functions(secrets_bucket):
    body = {"DJANGO_SECRET_KEY": SECRET_KEY, "JWT_AUDIENCE": "from-the-object"}
    local_client(secrets_bucket.url, "s3").put_object(Bucket="tasks-config", Key="staging.json", Body=json.dumps(body))
    loaded = _load_settings(_staging(secrets_bucket))
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.split() == [SECRET_KEY, "from-the-object"]  # the object wins, as with Zappa's remote_env


def test_a_missing_object_stops_start_up_naming_it(secrets_bucket):
    loaded = _load_settings(_staging(secrets_bucket))
    assert loaded.returncode != 0
    assert "SECRETS_S3_URL (s3://tasks-config/staging.json) could not be read" in loaded.stderr
    assert "NoSuchKey" in loaded.stderr


def test_an_object_that_is_not_a_json_object_of_strings_stops_start_up(secrets_bucket):
    s3 = local_client(secrets_bucket.url, "s3")
    s3.put_object(Bucket="tasks-config", Key="staging.json", Body=json.dumps({"DJANGO_SECRET_KEY": 42}))
    loaded = _load_settings(_staging(secrets_bucket))
    assert loaded.returncode != 0
    assert "must be a JSON object of strings" in loaded.stderr
