"""A deployed stage's secret key, read from the S3 object `SECRETS_S3_URL` names when first used.

Only list cursors (`tasks_app.adapters.cursor`) and Django's signing use the key: the task API
checks bearer tokens with the user pool's public keys, not with it. So a new instance does not
read the object in its init (about 25 ms of a cold start without SnapStart, `make bench`), but
on its first request that signs or reads a cursor. With SnapStart, the before-snapshot hook
reads it (`config.snapstart.warm_up`): once per published version, into the snapshot, which
Lambda encrypts; publishing fails if the object cannot be read.
"""

from __future__ import annotations

import os
from functools import cache

from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import lazy

from config.environment import (
    SECRET_KEY_VARIABLE,
    SECRETS_URL_VARIABLE,
    ConfigurationError,
    checked_secret_key,
    parse_secrets,
    secrets_object,
)


@cache
def secret_key_from_object() -> str:
    """`DJANGO_SECRET_KEY` from the object `SECRETS_S3_URL` names, read once per process through
    the session every AWS client of the process shares.

    Raises `DependencyUnavailable` (a 503) when S3 is unreachable, stalled or throttling after
    the SDK's retries, and ImproperlyConfigured, naming the object, if it cannot be read
    otherwise (`NoSuchKey`, `AccessDenied`; the next use reads it again), is not a
    JSON object of strings, holds another variable than `DJANGO_SECRET_KEY` (configuration
    belongs in `aws_environment_variables`, which the function has from its start), or holds a
    key too short to sign with.
    """
    location = secrets_object(os.environ)
    if location is None:
        raise ImproperlyConfigured(f"{SECRETS_URL_VARIABLE} is not set: there is no secrets object to read.")
    # Imported here: development, which sets no SECRETS_S3_URL, never needs boto3 for its key.
    from botocore.exceptions import BotoCoreError, ClientError

    from tasks_app.adapters.aws import AwsTarget
    from tasks_app.adapters.outages import outage_in

    source = f"{SECRETS_URL_VARIABLE} (s3://{location[0]}/{location[1]})"
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise ImproperlyConfigured(f"AWS_REGION is required to read {source}.")
    target = AwsTarget(region=region, endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)
    try:
        content = target.read_object(*location)
    except (BotoCoreError, ClientError) as error:
        # S3 unreachable, stalled or throttling is an outage: the request that needed the key
        # answers 503 with Retry-After (SPEC §2) and the next one reads again. Anything else
        # (NoSuchKey, AccessDenied) is the stage's configuration, which no retry mends.
        if (outage := outage_in(error, "S3")) is not None:
            raise outage from error
        raise ImproperlyConfigured(f"{source} could not be read: {error}") from None
    try:
        variables = parse_secrets(content, source=source)
        others = sorted(set(variables) - {SECRET_KEY_VARIABLE})
        if others:
            raise ConfigurationError(
                f"{source} holds {', '.join(others)}: only {SECRET_KEY_VARIABLE} is read from it, when first "
                "used; set configuration in the stage's aws_environment_variables."
            )
        if SECRET_KEY_VARIABLE not in variables:
            raise ConfigurationError(f"{source} holds no {SECRET_KEY_VARIABLE}.")
        return checked_secret_key(variables[SECRET_KEY_VARIABLE], source=source)
    except ConfigurationError as error:
        raise ImproperlyConfigured(str(error)) from None


# What settings.SECRET_KEY is when the key is in the object: a string that reads it when first
# used (Django's own lazy strings), so loading the settings reads nothing.
lazy_secret_key = lazy(secret_key_from_object, str)
