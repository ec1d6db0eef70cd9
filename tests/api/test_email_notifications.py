"""Email notifications over HTTP, through the local AWS's SES: settings, the double opt-in, and
the mail the webhooks queue's handler sends for events (issue 14, item 5)."""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.core import signing

from notifications_app import bootstrap as notifications_wiring
from notifications_app.confirmation import EXPIRED, INVALID, SALT
from notifications_app.domain.email_settings import EmailSettings
from notifications_app.handlers import handle_webhooks_message
from ops.local.local_ses import SentMail, sent_mail
from ops.local.user_pool import bearer
from ops.provisioning.ses import ensure_local_ses
from tasks_app import bootstrap as tasks_wiring
from tasks_app.application.ports import DependencyUnavailable

SETTINGS = "/notifications/settings"


@pytest.fixture
def ses(aws: Any) -> Any:
    """The local AWS with the sender verified, as `make run` provisions it."""
    ensure_local_ses(aws.target)
    return aws


def mailbox(aws: Any) -> list[SentMail]:
    return sent_mail(aws.server.url)


def put(api: Any, user: str = "alice", **body: Any) -> Any:
    return api.client.put(f"{SETTINGS}?user_id={user}", {"email": f"{user}@example.com", **body}, format="json")


def rewind_confirmation_limit(user: str = "alice") -> None:
    """As if the user's last confirmation email went out a day ago (the limit allows one a minute)."""
    repository = notifications_wiring.email_settings_repository()
    stored = repository.get(user)
    assert stored is not None
    assert stored.confirmation_sent_at is not None
    repository.put(replace(stored, confirmation_sent_at=stored.confirmation_sent_at - timedelta(days=1)))


def confirmation_link(mail: SentMail) -> str:
    (link,) = [link for link in mail.links if "/notifications/confirm" in link]
    return link


def open_link(api: Any, link: str) -> Any:
    parts = urlsplit(link)
    return api.client.get(parts.path, parse_qs(parts.query))


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    return dict(error)


def work(aws: Any) -> int:
    """Do what the worker does with every message now on the webhooks queue; returns how many."""
    aws.relay()
    sqs = aws.target.client("sqs")
    handled = 0
    while batch := sqs.receive_message(QueueUrl=settings.WEBHOOKS_QUEUE_URL, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        for message in batch:
            handle_webhooks_message(message["Body"], wiring=notifications_wiring.delivery_wiring())
            sqs.delete_message(QueueUrl=settings.WEBHOOKS_QUEUE_URL, ReceiptHandle=message["ReceiptHandle"])
            handled += 1
    return handled


def complete_a_task(api: Any, title: str = "Ship the release") -> dict[str, Any]:
    task = api.created(title=title)
    assert api.complete(task["task_id"]).status_code == 200
    return task


def test_never_saved_settings_are_the_defaults_without_an_address(api):
    response = api.client.get(SETTINGS, {"user_id": "alice"})
    assert response.status_code == 200, response.content
    assert response.json()["data"] == {
        "user_id": "alice",
        "email": None,
        "email_confirmed": False,
        "notify_on_completion": True,
        "notify_on_due_soon": True,
        "reminder_window_minutes": 60,
        "updated_at": None,
    }


def test_the_opt_in_flow_end_to_end_through_the_local_ses(api, ses):
    saved = put(api, notify_on_due_soon=False, reminder_window_minutes=30)
    assert saved.status_code == 200, saved.content
    assert saved.json()["data"]["email_confirmed"] is False

    (confirmation,) = mailbox(ses)
    assert confirmation.to == ["alice@example.com"]
    assert confirmation.sender == settings.EMAIL_FROM
    assert "Confirm" in confirmation.subject
    link = confirmation_link(confirmation)
    assert link.startswith("http://testserver/notifications/confirm?token=")

    complete_a_task(api, "Before confirming")
    work(ses)
    assert len(mailbox(ses)) == 1, "nothing but the confirmation may go to an unconfirmed address"

    confirmed = open_link(api, link)
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["data"] == {"email": "alice@example.com", "email_confirmed": True}, (
        "the link needs no authentication: it shows the address confirmed, none of the other settings"
    )
    shown = api.client.get(SETTINGS, {"user_id": "alice"}).json()["data"]
    assert shown["email_confirmed"] is True
    assert shown["reminder_window_minutes"] == 30
    again = open_link(api, link)
    assert again.status_code == 200, "opening the link twice is harmless"
    assert again.json()["data"] == confirmed.json()["data"]
    assert api.client.get(SETTINGS, {"user_id": "alice"}).json()["data"] == shown, "and changes nothing"

    task = complete_a_task(api, "After confirming")
    work(ses)
    mails = mailbox(ses)
    assert len(mails) == 2
    assert mails[-1].to == ["alice@example.com"]
    assert mails[-1].subject == "Completed: After confirming"
    assert task["task_id"] in mails[-1].body


def test_a_redelivered_event_is_mailed_once(api, ses):
    put(api)
    assert open_link(api, confirmation_link(mailbox(ses)[0])).status_code == 200
    task = complete_a_task(api)
    ses.relay()
    sqs = ses.target.client("sqs")
    bodies = [
        message["Body"]
        for message in sqs.receive_message(QueueUrl=settings.WEBHOOKS_QUEUE_URL, MaxNumberOfMessages=10)["Messages"]
    ]
    completed = [body for body in bodies if json.loads(body)["event_type"] == "TaskCompleted"]
    assert len(completed) == 1
    for _ in range(3):  # SQS delivers at least once
        handle_webhooks_message(completed[0], wiring=notifications_wiring.delivery_wiring())
    assert [mail.subject for mail in mailbox(ses)][1:] == [f"Completed: {task['title']}"]


def due_event(event_type: str, user_id: str = "alice", title: str = "Pay <the> invoice & tax") -> str:
    """A reminder event as the sweep records it (the shared contract's fields)."""
    return json.dumps(
        {
            "event_type": event_type,
            "event_id": str(uuid.uuid4()),
            "aggregate_id": f"task-{uuid.uuid4()}",
            "timestamp": "2026-12-02T09:00:00.000000Z",
            "sequence": 3,
            "data": {"task_title": title, "user_id": user_id, "due_at": "2026-12-02T10:00:00.000000Z"},
        }
    )


def test_due_soon_and_overdue_events_mail_a_confirmed_owner_who_wants_them(api, ses):
    put(api)
    open_link(api, confirmation_link(mailbox(ses)[0]))
    sqs = ses.target.client("sqs")
    for event_type in ("TaskDueSoon", "TaskOverdue"):
        sqs.send_message(QueueUrl=settings.WEBHOOKS_QUEUE_URL, MessageBody=due_event(event_type))
    work(ses)
    subjects = [mail.subject for mail in mailbox(ses)[1:]]
    assert subjects == ["Due soon: Pay <the> invoice & tax", "Overdue: Pay <the> invoice & tax"]
    html_body = mailbox(ses)[1].body
    assert "Pay &lt;the&gt; invoice &amp; tax" in html_body, "task titles are escaped in the HTML part"
    assert "2026-12-02 10:00 UTC" in html_body

    put(api, notify_on_due_soon=False)  # the same, confirmed address: no new confirmation
    sqs.send_message(QueueUrl=settings.WEBHOOKS_QUEUE_URL, MessageBody=due_event("TaskDueSoon"))
    work(ses)
    assert len(mailbox(ses)) == 3, "no mail once due reminders are off, and no confirmation for an unchanged address"


def test_saving_the_same_unconfirmed_address_sends_the_link_again_and_a_new_address_needs_confirming(api, ses):
    put(api)
    rewind_confirmation_limit()
    put(api)
    first, second = mailbox(ses)
    assert first.to == second.to == ["alice@example.com"]
    assert open_link(api, confirmation_link(second)).json()["data"]["email_confirmed"] is True

    rewind_confirmation_limit()
    changed = put(api, email="alice@Work.Example.COM")
    assert changed.json()["data"] == {
        **changed.json()["data"],
        "email": "alice@work.example.com",
        "email_confirmed": False,
    }
    assert mailbox(ses)[-1].to == ["alice@work.example.com"]
    stale = open_link(api, confirmation_link(first))
    assert "no longer the one" in assert_error(stale, 400, "VALIDATION_ERROR")["details"]["token"][0]

    cleared = put(api, email=None)
    assert cleared.json()["data"]["email"] is None
    assert len(mailbox(ses)) == 3, "clearing the address mails nobody"
    removed = open_link(api, confirmation_link(mailbox(ses)[-1]))
    message = assert_error(removed, 400, "VALIDATION_ERROR")["details"]["token"][0]
    assert "removed from your notification settings" in message


class BackdatedSigner(signing.TimestampSigner):
    """Signs as if four days ago: the links last three."""

    def timestamp(self) -> str:
        return signing.b62_encode(int(time.time() - timedelta(days=4).total_seconds()))


def test_bad_and_expired_tokens_are_refused_with_a_clear_message(api, ses, settings):
    cases = {
        "garbage": "not-a-token",
        "forged": signing.TimestampSigner(salt="another-salt").sign_object({"u": "alice", "e": "alice@example.com"}),
        "other key": signing.TimestampSigner(key="not-our-key", salt=SALT).sign_object(
            {"u": "alice", "e": "alice@example.com"}
        ),
        "not an object": signing.TimestampSigner(salt=SALT).sign_object(["alice"]),
    }
    for name, token in cases.items():
        error = assert_error(api.client.get("/notifications/confirm", {"token": token}), 400, "VALIDATION_ERROR")
        assert error["details"]["token"] == [INVALID], name
    assert_error(api.client.get("/notifications/confirm"), 400, "VALIDATION_ERROR")

    put(api)
    token = parse_qs(urlsplit(confirmation_link(mailbox(ses)[0])).query)["token"][0]
    expired = BackdatedSigner(salt=SALT).sign_object(signing.TimestampSigner(salt=SALT).unsign_object(token))
    error = assert_error(api.client.get("/notifications/confirm", {"token": expired}), 400, "VALIDATION_ERROR")
    assert error["details"]["token"] == [EXPIRED]
    assert api.client.get(SETTINGS, {"user_id": "alice"}).json()["data"]["email_confirmed"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not an address"}, "email"),
        ({"email": "alice@"}, "email"),
        ({"email": "a@b@example.com"}, "email"),
        ({"email": 12}, "email"),
        ({"email": "x" * 250 + "@example.com"}, "email"),
        ({"email": "a@[127.0.0.1]"}, "email"),
        ({"email": "a@[IPv6:::1]"}, "email"),
        ({"email": "a@localhost"}, "email"),
        ({"email": "alice@example.com", "reminder_window_minutes": 4}, "reminder_window_minutes"),
        ({"email": "alice@example.com", "reminder_window_minutes": 1441}, "reminder_window_minutes"),
        ({"email": "alice@example.com", "reminder_window_minutes": "60"}, "reminder_window_minutes"),
        ({"email": "alice@example.com", "reminder_window_minutes": True}, "reminder_window_minutes"),
        ({"email": "alice@example.com", "notify_on_completion": "yes"}, "notify_on_completion"),
        ({"email": "alice@example.com", "email_confirmed": True}, "email_confirmed"),
        ({}, "email"),
    ],
)
def test_invalid_settings_are_a_validation_error_naming_the_field(api, ses, body, field):
    error = assert_error(api.client.put(f"{SETTINGS}?user_id=alice", body, format="json"), 400, "VALIDATION_ERROR")
    assert field in error["details"], error
    assert mailbox(ses) == []


def test_settings_need_a_user_with_authentication_off(api):
    assert "user_id" in assert_error(api.client.get(SETTINGS), 400, "VALIDATION_ERROR")["details"]


def test_an_ses_refusal_is_a_503_and_changes_nothing(api, ses):
    ses.target.client("sesv2").delete_email_identity(EmailIdentity=settings.EMAIL_FROM)
    response = put(api)
    assert_error(response, 503, "SERVICE_UNAVAILABLE")
    assert response["Retry-After"]
    assert api.client.get(SETTINGS, {"user_id": "alice"}).json()["data"]["email"] is None


def test_an_ses_outage_while_mailing_an_event_leaves_it_for_the_queue_to_retry(api, ses):
    put(api)
    open_link(api, confirmation_link(mailbox(ses)[0]))
    ses.target.client("sesv2").delete_email_identity(EmailIdentity=settings.EMAIL_FROM)
    body = due_event("TaskDueSoon")
    with pytest.raises(DependencyUnavailable):
        handle_webhooks_message(body, wiring=notifications_wiring.delivery_wiring())
    ensure_local_ses(ses.target)  # SES is back: the redelivered message is mailed, once
    handle_webhooks_message(body, wiring=notifications_wiring.delivery_wiring())
    handle_webhooks_message(body, wiring=notifications_wiring.delivery_wiring())
    assert [mail.subject for mail in mailbox(ses)[1:]] == ["Due soon: Pay <the> invoice & tax"]


def test_an_ses_outage_does_not_hold_up_the_events_webhooks(api, ses):
    put(api)
    open_link(api, confirmation_link(mailbox(ses)[0]))
    hook = api.client.post(
        "/webhooks",
        {"user_id": "alice", "url": "http://127.0.0.1:9/hook", "event_types": ["TaskDueSoon"]},
        format="json",
    )
    assert hook.status_code == 201, hook.content
    ses.target.client("sesv2").delete_email_identity(EmailIdentity=settings.EMAIL_FROM)
    with pytest.raises(DependencyUnavailable):  # the mail fails: the queue will deliver the event again
        handle_webhooks_message(due_event("TaskDueSoon"), wiring=notifications_wiring.delivery_wiring())
    webhook_id = hook.json()["data"]["webhook_id"]
    deliveries = api.client.get(f"/webhooks/{webhook_id}/deliveries", {"user_id": "alice"}).json()["data"]
    assert [delivery["event_type"] for delivery in deliveries] == ["TaskDueSoon"]  # made all the same


@pytest.fixture
def as_user(api, issuer):
    def signed_in(user: str, admin: bool = False):
        client = api.client.__class__()
        client.credentials(**bearer(issuer.token(user, groups=["admin"] if admin else None)))
        return client

    return signed_in


def test_users_change_only_their_own_settings_and_admins_may_read_them(as_user, ses):
    alice, bob, admin = as_user("alice"), as_user("bob"), as_user("root", admin=True)
    assert alice.put(SETTINGS, {"email": "alice@example.com"}, format="json").status_code == 200
    assert alice.get(SETTINGS).json()["data"]["email"] == "alice@example.com"
    assert bob.get(SETTINGS).json()["data"]["email"] is None
    assert_error(bob.get(SETTINGS, {"user_id": "alice"}), 403, "PERMISSION_DENIED")
    assert admin.get(SETTINGS, {"user_id": "alice"}).json()["data"]["email"] == "alice@example.com"
    assert_error(
        admin.put(f"{SETTINGS}?user_id=alice", {"email": "root@example.com"}, format="json"), 403, "PERMISSION_DENIED"
    )
    assert_error(alice.__class__().get(SETTINGS), 401, "NOT_AUTHENTICATED")
    parts = urlsplit(confirmation_link(mailbox(ses)[0]))
    opened = alice.__class__().get(parts.path, parse_qs(parts.query))
    assert opened.status_code == 200, "the link works without a bearer token: it is opened from an email"
    assert alice.get(SETTINGS).json()["data"]["email_confirmed"] is True


def test_the_reminder_sweep_reads_each_users_window_from_their_settings(api, ses):
    put(api, reminder_window_minutes=15)
    put(api, "bob", email=None, reminder_window_minutes=1440)
    windows = notifications_wiring.reminder_windows().windows_for(["alice", "bob", "carol"])
    assert dict(windows) == {"alice": timedelta(minutes=15), "bob": timedelta(days=1)}
    assert notifications_wiring.reminder_windows().windows_for([]) == {}


def test_an_address_ses_refuses_is_a_400_naming_email_with_its_reason(api, ses):
    # Django's validator takes a quoted local part holding an "@"; SES (here moto) does not.
    response = put(api, email='"a@b"@example.com')
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert "Missing domain" in error["details"]["email"][0], error
    assert mailbox(ses) == []
    assert api.client.get(SETTINGS, {"user_id": "alice"}).json()["data"]["email"] is None


def test_an_events_mail_ses_refuses_is_dropped_with_a_warning_not_left_to_the_queue(api, ses, caplog):
    refused = replace(
        notifications_wiring.email_settings_repository().get("alice") or EmailSettings("alice"),
        email='"a@b"@example.com',
        email_confirmed=True,
    )
    notifications_wiring.email_settings_repository().put(refused)
    body = due_event("TaskDueSoon")
    with caplog.at_level(logging.WARNING, logger="notifications_app.application.email"):
        handle_webhooks_message(body, wiring=notifications_wiring.delivery_wiring())  # no exception: no redelivery
    assert any("Missing domain" in record.getMessage() for record in caplog.records if record.levelname == "WARNING")
    handle_webhooks_message(body, wiring=notifications_wiring.delivery_wiring())
    assert mailbox(ses) == []


def test_putting_an_address_again_and_again_sends_one_confirmation_a_minute(api, ses):
    assert put(api, email="victim@example.com").status_code == 200
    for _ in range(7):
        response = put(api, email="victim@example.com", reminder_window_minutes=15)
        error = assert_error(response, 429, "THROTTLED")
        assert "Too many confirmation emails" in error["message"]
        assert 0 < int(response["Retry-After"]) <= 60
    assert len(mailbox(ses)) == 1
    shown = api.client.get(SETTINGS, {"user_id": "alice"}).json()["data"]
    assert shown["reminder_window_minutes"] == 60, "a refused PUT changes nothing"

    rewind_confirmation_limit()
    assert put(api, email="victim@example.com").status_code == 200
    assert len(mailbox(ses)) == 2, "a minute later, the link is sent again"


def test_saving_settings_that_need_no_confirmation_is_never_limited(api, ses):
    put(api)
    open_link(api, confirmation_link(mailbox(ses)[0]))
    for minutes in (15, 30, 45):
        assert put(api, reminder_window_minutes=minutes).status_code == 200
    assert put(api, email=None).status_code == 200
    assert len(mailbox(ses)) == 1


def test_a_confirmation_link_opened_over_the_rate_limit_confirms_nothing(api, ses, settings):
    """Opening the link writes: over the limit it must be refused before it confirms, even on an
    instance that holds no token yet (a read's take would run beside the view)."""
    assert put(api).status_code == 200
    link = confirmation_link(mailbox(ses)[-1])
    settings.THROTTLE_RATES = {"user": None, "ip": "1/day"}
    assert api.client.get(SETTINGS, {"user_id": "alice"}).status_code == 200  # the address's one for the day
    tasks_wiring.reset()  # the link reaches another instance, which knows nothing of that yet

    assert_error(open_link(api, link), 429, "THROTTLED")

    stored = notifications_wiring.email_settings_repository().get("alice")
    assert stored is not None
    assert stored.email_confirmed is False
