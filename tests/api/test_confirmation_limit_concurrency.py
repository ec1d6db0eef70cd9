"""The confirmation emails' limit under concurrent PUTs (README, Email: one a minute, 10 a UTC day,
per user): the limit is taken in DynamoDB, atomically, before the mail is sent, so racing requests
cannot each read "none sent yet" and each send one."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from notifications_app import bootstrap as notifications_wiring
from notifications_app.domain.email_settings import CONFIRMATIONS_PER_DAY
from ops.local.local_ses import sent_mail
from ops.provisioning.ses import ensure_local_ses
from tasks_app import bootstrap as tasks_wiring
from tests.api.test_concurrency import statuses, together

SETTINGS = "/notifications/settings"


@pytest.fixture
def ses(aws: Any) -> Any:
    """The local AWS with the sender verified, as `make run` provisions it."""
    ensure_local_ses(aws.target)
    return aws


def put(api: Any, email: str | None, user: str = "alice") -> Any:
    return api.client.put(f"{SETTINGS}?user_id={user}", {"email": email}, format="json")


def mails_to(aws: Any, address: str) -> int:
    return sum(1 for mail in sent_mail(aws.server.url) if address in mail.to)


def within_one_utc_day() -> None:
    """The day's count starts again at midnight UTC: outside the first 3 minutes of a day and its
    last one, a test that counts "two minutes ago" and then sends runs within one day."""
    now = tasks_wiring.utc_now()
    second_of_day = now.hour * 3600 + now.minute * 60 + now.second
    if second_of_day < 180:
        time.sleep(180 - second_of_day)
    elif second_of_day > 86400 - 60:
        time.sleep(86400 - second_of_day + 180)


def test_8_concurrent_puts_of_an_address_send_one_confirmation(api, ses):
    responses = together(8, lambda caller, i: put(caller, "victim@example.com"))
    assert statuses(responses) == {200: 1, 429: 7}, [r.content for r in responses]
    for refused in (r for r in responses if r.status_code == 429):
        assert refused.json()["error"]["code"] == "THROTTLED"
        assert 0 < int(refused["Retry-After"]) <= 60
    assert mails_to(ses, "victim@example.com") == 1
    stored = notifications_wiring.email_settings_repository().get("alice")
    assert stored is not None
    assert stored.confirmations_that_day == 1


def test_8_concurrent_puts_of_different_addresses_send_one_confirmation(api, ses):
    responses = together(8, lambda caller, i: put(caller, f"victim-{i}@example.com"))
    assert statuses(responses) == {200: 1, 429: 7}, [r.content for r in responses]
    [saved] = [r.json()["data"]["email"] for r in responses if r.status_code == 200]
    assert sum(mails_to(ses, f"victim-{i}@example.com") for i in range(8)) == 1
    assert mails_to(ses, saved) == 1, "the address saved is the one mailed"
    stored = notifications_wiring.email_settings_repository().get("alice")
    assert stored is not None
    assert stored.email == saved


def test_the_last_confirmation_of_the_day_goes_once_to_concurrent_puts(api, ses):
    within_one_utc_day()
    assert put(api, "first@example.com").status_code == 200
    repository = notifications_wiring.email_settings_repository()
    stored = repository.get("alice")
    assert stored is not None
    assert stored.confirmation_sent_at is not None
    # Nine sent today, the last two minutes ago: one more may go today, and only one.
    sent_at = tasks_wiring.utc_now() - timedelta(minutes=2)
    repository.put(replace(stored, confirmation_sent_at=sent_at, confirmations_that_day=CONFIRMATIONS_PER_DAY - 1))

    responses = together(8, lambda caller, i: put(caller, "last@example.com"))
    assert statuses(responses) == {200: 1, 429: 7}, [r.content for r in responses]
    assert mails_to(ses, "last@example.com") == 1
    after = repository.get("alice")
    assert after is not None
    assert after.confirmations_that_day == CONFIRMATIONS_PER_DAY
