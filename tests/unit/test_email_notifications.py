"""The email services on in-memory fakes of their ports: the double opt-in's rules, mailing an
event at most once, and the reminder windows (issue 14, item 5)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from notifications_app.application import email
from notifications_app.application.ports import MailMessage
from notifications_app.domain.email_settings import EmailSettings, normalized_address
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

    def put(self, settings: EmailSettings) -> None:
        self.stored[settings.user_id] = settings

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

    def send(self, to: str, message: MailMessage) -> None:
        if self.down:
            raise DependencyUnavailable("SES", "down", retry_after=5)
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
        self, address: str | None, *, caller: Caller | None = None, user: str = "alice", **wanted: Any
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
            now=NOW,
        )

    def confirm_last(self) -> EmailSettings:
        token = self.sender.sent[-1][1].text.rsplit("=", 1)[1]
        return email.email_confirm(token=token, tokens=FakeTokens(), repository=self.settings, now=NOW)

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
    assert world.save("alice@new.example.com").email_confirmed is False
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
