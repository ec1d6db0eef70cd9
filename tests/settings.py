"""Settings for the test run: development mode, aimed at nothing until a fixture starts a local AWS.

The shell's own configuration must not leak in (a developer's ENVIRONMENT or a running
`make run` on port 4566), so the variables are set here, before the project's settings read them.
"""

import os
import tempfile

os.environ.update(
    {
        "ENVIRONMENT": "development",
        "AUTH_MODE": "none",
        # Port 9 (discard) refuses connections: a test that forgot the `aws` fixture fails fast.
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "TABLE_NAME": "tasks-test",
        "TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:tasks-test-events",
        "LOG_LEVEL": "INFO",
        # Rate limits are tested on purpose (test_throttling); elsewhere they would only get in the way.
        "THROTTLE_USER_RATE": "off",
        "THROTTLE_IP_RATE": "off",
        "LOCAL_STATE_DIR": tempfile.mkdtemp(prefix="tasks-test-state-"),
    }
)
for name in (
    "JWT_ISSUER",
    "JWT_AUDIENCE",
    "CORS_ALLOWED_ORIGINS",
    "EVENTS_QUEUE_URL",
    "DJANGO_DEBUG",
    "ALLOWED_HOSTS",
    "MAX_REQUEST_BODY_BYTES",
    "EVENTS_VISIBILITY_TIMEOUT",
    "TRACING",  # tests/api/test_tracing.py turns it on where it is tested
):
    os.environ.pop(name, None)

from config.settings import *  # noqa: E402, F403
