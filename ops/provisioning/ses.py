"""What SES needs that `provision` can make (issue 14, item 5): the sender's identity and the
configuration set that sends go through; running it twice changes nothing.

Verifying an identity is only half done here. For an address, SES mails its owner a link; for
a domain, SES hands out three DKIM CNAME records that someone must publish in DNS. Leaving the
SES sandbox (mail to any recipient) is a request to AWS Support. Both need a human: the README's
"Notifications: email" section says what to do. Locally, moto takes the identity as verified
at once, so the local loop sends from `EMAIL_FROM` right after `provision`.
"""

from __future__ import annotations

from collections.abc import Mapping
from email.utils import parseaddr
from typing import Any

from botocore.exceptions import ClientError
from django.conf import settings

from ops.provisioning.changes import Change, act, error_code
from tasks_app.adapters.aws import AwsTarget

DEFAULT_EMAIL_FROM = "tasks@example.com"
# "NotFoundException" is SES v2's answer; moto answers a missing configuration set as v1 does.
_MISSING = frozenset({"NotFoundException", "ConfigurationSetDoesNotExist"})


def identity_of(email_from: str, identity: str | None = None) -> str:
    """The SES identity that lets `email_from` send: `identity` when given (a domain, say),
    otherwise the address itself (`"Tasks <tasks@example.com>"` -> `tasks@example.com`)."""
    return identity or parseaddr(email_from)[1] or email_from


def ensure_identity(client: Any, identity: str, *, dry_run: bool, local: bool = False) -> Change:
    """The email identity (an address or a domain), created if missing; its detail says whether
    SES has verified it, and what a human must do if not (`local`: moto, which sends from any
    identity it has at once)."""
    try:
        found = client.get_email_identity(EmailIdentity=identity)
    except ClientError as error:
        if error_code(error) not in _MISSING:
            raise
    else:
        if found.get("VerifiedForSendingStatus"):
            return Change("ses identity", identity, "unchanged", "verified")
        return Change("ses identity", identity, "unchanged", _LOCAL if local else _pending(identity))
    if not dry_run:
        client.create_email_identity(EmailIdentity=identity)
    return Change("ses identity", identity, act("created", dry_run), _LOCAL if local else _pending(identity))


_LOCAL = "the local AWS sends from it at once"


def _pending(identity: str) -> str:
    if "@" in identity:
        return f"not verified until its owner opens the link SES mailed to {identity}"
    return "not verified until its DKIM CNAME records are in DNS (sesv2 get-email-identity lists them)"


def ensure_configuration_set(client: Any, name: str, *, dry_run: bool) -> Change:
    """The configuration set sends go through (where bounce and complaint events can be published)."""
    try:
        client.get_configuration_set(ConfigurationSetName=name)
        return Change("ses config", name, "unchanged")
    except ClientError as error:
        if error_code(error) not in _MISSING:
            raise
    if not dry_run:
        client.create_configuration_set(ConfigurationSetName=name)
    return Change("ses config", name, act("created", dry_run))


def ensure_ses(
    client: Any, *, email_from: str, identity: str | None, configuration_set: str, dry_run: bool, local: bool = False
) -> list[Change]:
    """The sender's identity and the configuration set; raises botocore's `ClientError` when SES
    refuses a call."""
    return [
        ensure_identity(client, identity_of(email_from, identity), dry_run=dry_run, local=local),
        ensure_configuration_set(client, configuration_set, dry_run=dry_run),
    ]


def ensure_local_ses(target: AwsTarget, *, dry_run: bool = False) -> list[Change]:
    """SES of the local AWS as the settings name it (`EMAIL_FROM`, `SES_CONFIGURATION_SET`), so
    that the local stack's sends are accepted."""
    return ensure_ses(
        target.client("sesv2"),  # type: ignore[call-overload] # AwsTarget types the services it serves
        email_from=settings.EMAIL_FROM,
        identity=None,
        configuration_set=settings.SES_CONFIGURATION_SET,
        dry_run=dry_run,
        local=True,
    )


def stage_ses(target: AwsTarget, environment: Mapping[str, str], *, dry_run: bool) -> list[Change]:
    """SES for a Zappa stage, from its `aws_environment_variables`: `EMAIL_FROM` (skipped when
    unset: the example sender is nobody's), `SES_IDENTITY` (a domain to verify instead of the
    address) and `SES_CONFIGURATION_SET` (default `<TABLE_NAME>-email`, as the function reads it)."""
    email_from = environment.get("EMAIL_FROM")
    configuration_set = environment.get("SES_CONFIGURATION_SET") or f"{environment['TABLE_NAME']}-email"
    if not email_from:
        why = "EMAIL_FROM is not set for this stage: set it in aws_environment_variables to send email"
        return [Change("ses identity", "-", "skipped", why)]
    return ensure_ses(
        target.client("sesv2"),  # type: ignore[call-overload]
        email_from=email_from,
        identity=environment.get("SES_IDENTITY") or None,
        configuration_set=configuration_set,
        dry_run=dry_run,
    )


def ses_statements(environment: Mapping[str, str], arn_prefix: str) -> list[dict[str, Any]]:
    """The IAM statements a stage's function needs to send its email: `ses:SendEmail` on the
    sender's identity and the configuration set (SES authorizes a send on both); none for a stage
    without `EMAIL_FROM`. `arn_prefix` is `arn:<partition>:ses:<region>:<account>`."""
    email_from = environment.get("EMAIL_FROM")
    if not email_from:
        return []
    identity = identity_of(email_from, environment.get("SES_IDENTITY") or None)
    configuration_set = environment.get("SES_CONFIGURATION_SET") or f"{environment['TABLE_NAME']}-email"
    resources = [f"{arn_prefix}:identity/{identity}", f"{arn_prefix}:configuration-set/{configuration_set}"]
    return [{"Effect": "Allow", "Action": ["ses:SendEmail"], "Resource": resources}]
