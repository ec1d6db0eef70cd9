"""The email's operations on the local AWS: `mailbox` shows what SES accepted, and provisioning
makes SES's sender identity and configuration set, once (issue 14, items 5 and 7)."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from notifications_app.adapters.ses import SesMailSender
from notifications_app.application.ports import MailMessage
from ops.provisioning.ses import ensure_local_ses, ses_statements, stage_ses
from tasks_app.application.ports import DependencyUnavailable


def mailbox(*args: str) -> str:
    out = StringIO()
    call_command("mailbox", *args, stdout=out)
    return out.getvalue()


def send(aws: Any, to: str, subject: str, html: str) -> None:
    client = aws.target.client("sesv2")
    SesMailSender(lambda: client, sender="tasks@example.com", configuration_set="tasks-test-email").send(
        to, MailMessage(subject=subject, text="plain", html=html)
    )


def test_the_mailbox_lists_recipients_subjects_and_links_newest_last(aws):
    send(aws, "alice@example.com", "First", '<a href="http://testserver/notifications/confirm?token=a&amp;b=1">x</a>')
    send(aws, "bob@example.com", "Second", "<p>No links here.</p>")

    assert mailbox() == (
        "To: alice@example.com  Subject: First\n"
        "  http://testserver/notifications/confirm?token=a&b=1\n"
        "To: bob@example.com  Subject: Second\n"
        "2 messages.\n"
    )
    shown = [json.loads(line) for line in mailbox("--json").splitlines()]
    assert [(mail["to"], mail["subject"], mail["links"]) for mail in shown] == [
        (["alice@example.com"], "First", ["http://testserver/notifications/confirm?token=a&b=1"]),
        (["bob@example.com"], "Second", []),
    ]
    assert shown[0]["from"] == "tasks@example.com"
    assert mailbox("--to", "bob@example.com").splitlines()[-1] == "1 message."
    assert mailbox("--to", "Alice@Example.com").splitlines()[0] == "To: alice@example.com  Subject: First", (
        "addresses match in any case"
    )


def test_an_empty_mailbox_says_so(aws):
    assert mailbox() == "0 messages.\n"


@pytest.mark.parametrize("endpoint", [None, "https://email.us-east-1.amazonaws.com"])
def test_the_mailbox_refuses_anything_but_a_local_aws(aws, settings, endpoint):
    settings.AWS_ENDPOINT_URL = endpoint
    with pytest.raises(CommandError, match="nothing to read back"):
        mailbox()


def test_a_stopped_local_aws_is_a_clear_error(settings):
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:9"
    with pytest.raises(CommandError, match="Is the local stack running"):
        mailbox()


def test_provisioning_the_local_ses_twice_changes_nothing_the_second_time(aws):
    aws.server.reset()
    dry = ensure_local_ses(aws.target, dry_run=True)
    assert [change.action for change in dry] == ["would be created", "would be created"]
    assert aws.target.client("sesv2").list_email_identities()["EmailIdentities"] == []

    first, again = ensure_local_ses(aws.target), ensure_local_ses(aws.target)
    assert [(change.kind, change.name, change.action) for change in first] == [
        ("ses identity", "tasks@example.com", "created"),
        ("ses config", "tasks-test-email", "created"),
    ]
    assert [change.action for change in again] == ["unchanged", "unchanged"]
    send(aws, "alice@example.com", "Accepted", "<p>hi</p>")  # the local SES now takes the sender's mail


def test_a_stage_verifies_its_domain_and_says_what_a_human_must_do(aws):
    aws.server.reset()
    environment = {"TABLE_NAME": "tasks-staging", "EMAIL_FROM": "Tasks <tasks@mail.example.org>", "SES_IDENTITY": ""}
    identity, configuration_set = stage_ses(aws.target, environment, dry_run=False)
    assert (identity.name, identity.action) == ("tasks@mail.example.org", "created")
    assert "opens the link SES mailed" in identity.detail
    assert (configuration_set.name, configuration_set.action) == ("tasks-staging-email", "created")

    domain = stage_ses(aws.target, {**environment, "SES_IDENTITY": "mail.example.org"}, dry_run=False)[0]
    assert (domain.name, domain.action) == ("mail.example.org", "created")
    assert "DKIM CNAME records" in domain.detail
    assert [change.action for change in stage_ses(aws.target, environment, dry_run=False)] == [
        "unchanged",
        "unchanged",
    ]
    (skipped,) = stage_ses(aws.target, {"TABLE_NAME": "tasks-staging"}, dry_run=False)
    assert skipped.action == "skipped"
    assert "EMAIL_FROM" in skipped.detail


def test_a_stage_role_may_send_only_from_its_sender_through_its_configuration_set():
    prefix = "arn:aws:ses:eu-west-1:111122223333"
    environment = {"TABLE_NAME": "tasks-production", "EMAIL_FROM": "tasks@example.org"}
    assert ses_statements(environment, prefix) == [
        {
            "Effect": "Allow",
            "Action": ["ses:SendEmail"],
            "Resource": [f"{prefix}:identity/tasks@example.org", f"{prefix}:configuration-set/tasks-production-email"],
        }
    ]
    assert ses_statements({"TABLE_NAME": "tasks-production"}, prefix) == []


def test_a_stage_without_a_sender_answers_an_address_with_a_503_not_a_500(aws):
    sender = SesMailSender(lambda: aws.target.client("sesv2"), sender="", configuration_set=None)
    with pytest.raises(DependencyUnavailable, match="set EMAIL_FROM"):
        sender.send("alice@example.com", MailMessage(subject="s", text="t", html="h"))
