"""Start-up fails fast, naming the problem, when the environment cannot run the API."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings

STAGING = {
    "ENVIRONMENT": "staging",
    "DJANGO_SECRET_KEY": "a-long-random-secret-for-the-tests-0123456789abcdefghij",
    "JWT_ISSUER": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
    "JWT_AUDIENCE": "app-client-id",
    "AWS_REGION": "eu-west-1",
    "TABLE_NAME": "tasks-staging",
    "TOPIC_ARN": "arn:aws:sns:eu-west-1:111122223333:tasks-staging-events",
    "EVENTS_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/111122223333/tasks-staging-events",
}


def manage_check(env: dict[str, str], *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check", *options],
        cwd=settings.BASE_DIR,
        env={"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_development_starts_with_no_configuration():
    result = manage_check({})
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("missing", ["TABLE_NAME", "DJANGO_SECRET_KEY"])
def test_staging_without_a_required_variable_stops_naming_it(missing):
    env = {key: value for key, value in STAGING.items() if key != missing}
    result = manage_check(env)
    assert result.returncode != 0
    assert f"{missing} is required when ENVIRONMENT=staging" in result.stderr


def test_staging_refuses_to_run_without_authentication():
    result = manage_check({**STAGING, "AUTH_MODE": "none"})
    assert result.returncode != 0
    assert "AUTH_MODE=none is refused when ENVIRONMENT=staging" in result.stderr


def test_staging_settings_pass_djangos_deployment_checks():
    result = manage_check(STAGING, "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
