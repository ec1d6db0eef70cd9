"""The email services on in-memory fakes of their ports: the double opt-in's rules, mailing an
event at most once, and the reminder windows (issue 14, item 5)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from notifications_app.adapters.ses import refusal_of
from notifications_app.application import email
from notifications_app.application.ports import MailMessage, RecipientRefused
from notifications_app.domain.email_settings import (
    CONFIRMATION_INTERVAL,
    CONFIRMATIONS_PER_DAY,
    EmailSettings,
    normalized_address,
)
from tasks_app.application.access import AccessDenied, Caller
from tasks_app.application.ports import DependencyUnavailable
from tasks_app.domain.errors import InvalidValue
from tasks_app.domain.values import UserId

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


class FakeSettings:
    def __init__(self) -> None:
        self.stored: dict[str, EmailSettings] = {}

    def get(self, user_id: str) -> EmailSettings | None:
        return self.stored.get(user_id)

    def put(self, settings: EmailSettings, *, with_count: bool = True) -> None:
        current = self.stored.get(settings.user_id)
        if not with_count:
            settings = replace(
                settings,
                confirmation_sent_at=current.confirmation_sent_at if current else None,
                confirmations_that_day=current.confirmations_that_day if current else 0,
            )
        self.stored[settings.user_id] = settings

    def claim_confirmation(self, before: EmailSettings | None, claimed: EmailSettings) -> bool:
        current = self.stored.get(claimed.user_id) or EmailSettings(user_id=claimed.user_id)
        if current.confirmation_sent_at != (before.confirmation_sent_at if before else None):
            return False
        self.stored[claimed.user_id] = replace(
            current,
            confirmation_sent_at=claimed.confirmation_sent_at,
            confirmations_that_day=claimed.confirmations_that_day,
        )
        return True

    def release_confirmation(self, claimed: EmailSettings, before: EmailSettings | None) -> None:
        current = self.stored.get(claimed.user_id)
        if current is not None and current.confirmation_sent_at == claimed.confirmation_sent_at:
            if before is None and current.updated_at is None:  # made by the claim: gone again
                del self.stored[claimed.user_id]
                return
            self.stored[claimed.user_id] = replace(
                current,
                confirmation_sent_at=before.confirmation_sent_at if before else None,
                confirmations_that_day=before.confirmations_that_day if before else 0,
            )

    def confirm(self, user_id: str, email: str, *, now: datetime) -> EmailSettings | None:
        current = self.stored.get(user_id)
        if current is None or current.email != email:
            return None
        self.stored[user_id] = replace(current, email_confirmed=True, updated_at=now)
        return self.stored[user_id]

    def many(self, user_ids: Collection[str]) -> list[EmailSettings]:
        return [self.stored[user] for user in user_ids if user in self.stored]


@dataclass
class FakeLog:
    claimed: set[tuple[str, str]] = field(default_factory=set)

    def claim(self, event_id: str, user_id: str) -> bool:
        if (event_id, user_id) in self.claimed:
            return False
        self.claimed.add((event_id, user_id))
        return True

    def release(self, event_id: str, user_id: str) -> None:
        self.claimed.discard((event_id, user_id))


@dataclass
class FakeSender:
    sent: list[tuple[str, MailMessage]] = field(default_factory=list)
    down: bool = False
    refused: set[str] = field(default_factory=set)

    def send(self, to: str, message: MailMessage) -> None:
        if self.down:
            raise DependencyUnavailable("SES", "down", retry_after=5)
        if to in self.refused:
            raise RecipientRefused("Missing domain")
        self.sent.append((to, message))


class FakeComposer:
    def confirmation(self, *, email: str, link: str) -> MailMessage:
        return MailMessage(subject="confirm", text=link, html=link)

    def for_event(self, event: Mapping[str, Any]) -> MailMessage:
        return MailMessage(subject=str(event["event_type"]), text="", html="")


class FakeTokens:
    def issue(self, user_id: str, email: str) -> str:
        return f"{user_id}|{email}"

    def read(self, token: str) -> tuple[str, str]:
        user_id, _, email = token.partition("|")
        if not email:
            raise InvalidValue("token", "not valid")
        return user_id, email


@dataclass
class World:
    settings: FakeSettings = field(default_factory=FakeSettings)
    log: FakeLog = field(default_factory=FakeLog)
    sender: FakeSender = field(default_factory=FakeSender)

    def save(
        self,
        address: str | None,
        *,
        caller: Caller | None = None,
        user: str = "alice",
        now: datetime = NOW,
        **wanted: Any,
    ) -> EmailSettings:
        return email.email_settings_put(
            user_id=user,
            wanted=EmailSettings(user_id="ignored", email=address, **wanted),
            caller=caller,
            repository=self.settings,
            tokens=FakeTokens(),
            composer=FakeComposer(),
            sender=self.sender,
            confirm_link=lambda token: f"https://api.example.com/staging/notifications/confirm?token={token}",
            now=now,
        )

    def confirm_last(self, now: datetime = NOW) -> EmailSettings:
        token = self.sender.sent[-1][1].text.rsplit("=", 1)[1]
        return email.email_confirm(token=token, tokens=FakeTokens(), repository=self.settings, now=now)

    def mail(self, event_type: str, event_id: str = "e1", user: str = "alice") -> bool:
        message = {"event_type": event_type, "event_id": event_id, "data": {"user_id": user, "task_title": "T"}}
        return email.email_event(
            message=message, repository=self.settings, log=self.log, composer=FakeComposer(), sender=self.sender
        )


def test_a_new_address_is_stored_unconfirmed_after_its_link_is_mailed():
    world = World()
    saved = world.save("alice@example.com")
    assert (saved.email, saved.email_confirmed, saved.updated_at) == ("alice@example.com", False, NOW)
    ((to, message),) = world.sender.sent
    assert to == "alice@example.com"
    assert message.text == "https://api.example.com/staging/notifications/confirm?token=alice|alice@example.com"


def test_a_confirmed_address_saved_again_stays_confirmed_and_is_not_mailed():
    world = World()
    world.save("alice@example.com")
    world.confirm_last()
    again = world.save("alice@example.com", notify_on_completion=False)
    assert again.email_confirmed is True
    assert again.notify_on_completion is False
    assert len(world.sender.sent) == 1


def test_a_changed_address_needs_confirming_again_and_the_old_link_goes_stale():
    world = World()
    world.save("alice@example.com")
    old_token = world.sender.sent[-1][1].text.rsplit("=", 1)[1]
    world.confirm_last()
    assert world.save("alice@new.example.com", now=NOW + CONFIRMATION_INTERVAL).email_confirmed is False
    with pytest.raises(InvalidValue, match="no longer the one"):
        email.email_confirm(token=old_token, tokens=FakeTokens(), repository=world.settings, now=NOW)
    assert world.confirm_last().email_confirmed is True


def test_the_mail_service_down_leaves_the_settings_as_they_were():
    world = World()
    world.sender.down = True
    with pytest.raises(DependencyUnavailable):
        world.save("alice@example.com")
    assert world.settings.get("alice") is None


def test_only_the_owner_changes_settings_and_admins_read_them():
    world = World()
    admin = Caller(UserId("root"), is_admin=True)
    with pytest.raises(AccessDenied):
        world.save("root@example.com", caller=admin, user="alice")
    with pytest.raises(AccessDenied):
        email.email_settings_get(user_id="alice", caller=Caller(UserId("bob")), repository=world.settings)
    shown = email.email_settings_get(user_id="alice", caller=admin, repository=world.settings)
    assert shown == EmailSettings(user_id="alice")


@pytest.mark.parametrize("minutes", [4, 1441])
def test_a_reminder_window_outside_5_minutes_to_a_day_is_refused(minutes):
    with pytest.raises(InvalidValue, match="between 5 and 1440"):
        World().save("alice@example.com", reminder_window_minutes=minutes)


def test_events_are_mailed_only_to_a_confirmed_address_with_the_choice_on():
    world = World()
    world.save("alice@example.com", notify_on_due_soon=False)
    assert world.mail("TaskCompleted", "e1") is False, "unconfirmed"
    world.confirm_last()
    assert world.mail("TaskCompleted", "e2") is True
    assert world.mail("TaskDueSoon", "e3") is False, "due reminders are off"
    assert world.mail("TaskCreated", "e4") is False, "not a mailed event"
    assert world.mail("TaskCompleted", "e5", user="bob") is False, "no settings"
    assert [message.subject for _, message in world.sender.sent] == ["confirm", "TaskCompleted"]


def test_an_event_is_mailed_once_and_a_failed_send_is_retried():
    world = World()
    world.save("alice@example.com")
    world.confirm_last()
    world.sender.down = True
    with pytest.raises(DependencyUnavailable):
        world.mail("TaskOverdue")
    world.sender.down = False
    assert world.mail("TaskOverdue") is True, "the failed send's claim was released"
    assert world.mail("TaskOverdue") is False, "a redelivered event is not mailed twice"
    assert [message.subject for _, message in world.sender.sent] == ["confirm", "TaskOverdue"]


def test_reminder_windows_come_from_the_settings_of_those_who_have_some():
    world = World()
    world.save("alice@example.com", reminder_window_minutes=15)
    world.save(None, user="bob", reminder_window_minutes=1440)
    windows = email.reminder_windows(user_ids=["alice", "bob", "carol"], repository=world.settings)
    assert windows == {"alice": timedelta(minutes=15), "bob": timedelta(days=1)}


def test_addresses_keep_their_local_part_and_lower_their_domain():
    assert normalized_address("  Alice.Smith@Example.COM ") == "Alice.Smith@example.com"


def test_a_second_confirmation_within_a_minute_is_limited_and_changes_nothing():
    world = World()
    world.save("victim@example.com")
    with pytest.raises(email.ConfirmationsLimited) as limited:
        world.save("victim@example.com", now=NOW + timedelta(seconds=20), reminder_window_minutes=30)
    assert limited.value.wait == timedelta(seconds=40)
    with pytest.raises(email.ConfirmationsLimited):
        world.save("other@example.com", now=NOW + timedelta(seconds=59))
    assert len(world.sender.sent) == 1
    stored = world.settings.get("alice")
    assert stored is not None
    assert (stored.email, stored.reminder_window_minutes, stored.updated_at) == ("victim@example.com", 60, NOW)
    world.save("victim@example.com", now=NOW + CONFIRMATION_INTERVAL)
    assert len(world.sender.sent) == 2, "a minute later the link may be sent again"


def test_at_most_ten_confirmations_a_utc_day_and_clearing_the_address_does_not_reset_the_count():
    world = World()
    start = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    for sent in range(CONFIRMATIONS_PER_DAY):
        world.save(f"victim{sent}@example.com", now=start + sent * CONFIRMATION_INTERVAL)
        world.save(None, now=start + sent * CONFIRMATION_INTERVAL + timedelta(seconds=1))
    late = start + timedelta(hours=5)
    with pytest.raises(email.ConfirmationsLimited) as limited:
        world.save("victim@example.com", now=late)
    assert limited.value.wait == datetime(2026, 12, 3, tzinfo=UTC) - late, "until the next UTC midnight"
    assert len(world.sender.sent) == CONFIRMATIONS_PER_DAY
    world.save("victim@example.com", now=datetime(2026, 12, 3, 0, 0, tzinfo=UTC))
    assert len(world.sender.sent) == CONFIRMATIONS_PER_DAY + 1, "a new UTC day, a new count"


def test_a_mail_counted_by_a_request_that_started_later_makes_a_wait_of_at_most_the_interval():
    counted_later = EmailSettings("alice", email="a@example.com").with_confirmation_sent(NOW + timedelta(seconds=2))
    assert counted_later.confirmation_wait(NOW) == CONFIRMATION_INTERVAL


def test_a_confirmation_the_mail_service_could_not_take_is_not_counted():
    world = World()
    world.sender.down = True
    with pytest.raises(DependencyUnavailable):
        world.save("alice@example.com")
    assert world.settings.get("alice") is None
    world.sender.down = False
    world.save("alice@example.com", now=NOW + timedelta(seconds=1))
    assert len(world.sender.sent) == 1
    with pytest.raises(email.ConfirmationsLimited):
        world.save("alice@example.com", now=NOW + timedelta(seconds=2))


def test_settings_that_need_no_confirmation_are_never_limited():
    world = World()
    world.save("alice@example.com")
    world.confirm_last()
    for second in range(1, 4):
        saved = world.save("alice@example.com", now=NOW + timedelta(seconds=second), notify_on_completion=False)
        assert saved.email_confirmed is True
    assert world.save(None, now=NOW + timedelta(seconds=5)).email is None
    assert len(world.sender.sent) == 1


def test_an_address_the_mail_service_refuses_is_an_invalid_email_and_nothing_is_stored():
    world = World()
    world.sender.refused.add("a@example.com")
    with pytest.raises(InvalidValue) as refused:
        world.save("a@example.com")
    assert refused.value.field == "email"
    assert "Missing domain" in refused.value.message
    assert world.settings.get("alice") is None
    world.save("alice@example.com")
    assert len(world.sender.sent) == 1, "a refused address used none of the confirmation limit"


def test_an_events_mail_the_service_refuses_is_dropped_with_a_warning_not_retried(caplog):
    world = World()
    world.settings.put(EmailSettings("alice", email="a@example.com", email_confirmed=True))
    world.sender.refused.add("a@example.com")
    with caplog.at_level("WARNING", logger="notifications_app.application.email"):
        assert world.mail("TaskCompleted", "e1") is False
    assert any(record.levelname == "WARNING" and "Missing domain" in record.getMessage() for record in caplog.records)
    world.sender.refused.clear()
    assert world.mail("TaskCompleted", "e1") is False, "the dropped mail stays claimed: a redelivery sends nothing"


def test_opening_a_confirmation_link_twice_changes_nothing_the_second_time():
    world = World()
    world.save("alice@example.com")
    first = world.confirm_last(now=NOW + timedelta(minutes=1))
    again = world.confirm_last(now=NOW + timedelta(minutes=2))
    assert again == first
    assert again.updated_at == NOW + timedelta(minutes=1)


def test_a_link_for_a_removed_address_or_no_settings_says_so():
    world = World()
    world.save("alice@example.com")
    token = world.sender.sent[-1][1].text.rsplit("=", 1)[1]
    world.save(None)
    with pytest.raises(InvalidValue, match="removed") as removed:
        email.email_confirm(token=token, tokens=FakeTokens(), repository=world.settings, now=NOW)
    assert removed.value.message == email.NO_ADDRESS
    with pytest.raises(InvalidValue, match="removed"):
        email.email_confirm(token="bob|bob@example.com", tokens=FakeTokens(), repository=world.settings, now=NOW)


@pytest.mark.parametrize(
    ("code", "message", "meaning"),
    [
        ("BadRequestException", "Invalid domain name: '[127.0.0.1]'", RecipientRefused),
        ("InvalidParameterValue", "Missing domain", RecipientRefused),
        ("MessageRejected", "Email address is not verified: alice@example.com", RecipientRefused),
        ("MessageRejected", "Email address is not verified: Tasks@Example.com", DependencyUnavailable),
        ("SendingPausedException", "Sending is paused", DependencyUnavailable),
        ("ValidationException", "a bug of ours", type(None)),
    ],
)
def test_ses_refusals_of_the_recipient_are_told_from_those_an_operator_must_fix(code, message, meaning):
    error = ClientError({"Error": {"Code": code, "Message": message}}, "SendEmail")
    assert isinstance(refusal_of(error, "Tasks <tasks@example.com>"), meaning)
