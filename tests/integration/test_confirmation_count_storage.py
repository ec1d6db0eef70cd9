"""The confirmation mails' count on the local AWS (README, Email: the limit): claimed by one
conditional write on the count read, given back when the mail was not sent, never written by a
save of the settings."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from notifications_app import bootstrap as notifications_wiring
from notifications_app.domain.email_settings import EmailSettings

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def test_of_two_claims_from_one_reading_only_the_first_counts(aws: Any) -> None:
    repository = notifications_wiring.email_settings_repository()
    wanted = EmailSettings(user_id="alice", email="a@example.com", updated_at=NOW)
    first, second = wanted.with_confirmation_sent(NOW), wanted.with_confirmation_sent(NOW + timedelta(seconds=1))

    assert repository.claim_confirmation(None, first) is True
    assert repository.claim_confirmation(None, second) is False
    stored = repository.get("alice")
    assert stored is not None
    assert (stored.confirmation_sent_at, stored.confirmations_that_day) == (NOW, 1)
    assert stored.email is None, "a claim stores the count only: the address waits for its mail"
    assert stored.notify_on_completion is True, "a user without settings gets the defaults"

    later = replace(first, email="b@example.com").with_confirmation_sent(NOW + timedelta(minutes=2))
    assert repository.claim_confirmation(second, later) is False
    assert repository.claim_confirmation(first, later) is True
    assert repository.get("alice") == replace(
        stored, confirmation_sent_at=later.confirmation_sent_at, confirmations_that_day=2
    )


def test_saving_the_settings_without_the_count_keeps_a_claim_made_since(aws: Any) -> None:
    repository = notifications_wiring.email_settings_repository()
    read = EmailSettings(user_id="alice", email="a@example.com", email_confirmed=True, updated_at=NOW)
    repository.put(read)
    claimed = replace(read, email="b@example.com", email_confirmed=False).with_confirmation_sent(NOW)
    assert repository.claim_confirmation(read, claimed) is True

    repository.put(replace(read, reminder_window_minutes=15, updated_at=NOW), with_count=False)
    stored = repository.get("alice")
    assert stored is not None
    assert (stored.reminder_window_minutes, stored.email) == (15, "a@example.com")
    assert (stored.confirmation_sent_at, stored.confirmations_that_day) == (NOW, 1)


def test_a_released_claim_leaves_the_settings_as_they_were(aws: Any) -> None:
    repository = notifications_wiring.email_settings_repository()
    claimed = EmailSettings(user_id="alice", email="a@example.com").with_confirmation_sent(NOW)
    assert repository.claim_confirmation(None, claimed)
    repository.release_confirmation(claimed, None)
    assert repository.get("alice") is None, "the item the claim made is gone again"

    saved = replace(claimed, updated_at=NOW + timedelta(days=1)).with_confirmation_sent(NOW + timedelta(days=1))
    repository.put(saved)
    again = saved.with_confirmation_sent(NOW + timedelta(days=1, minutes=2))
    assert repository.claim_confirmation(saved, again)
    repository.release_confirmation(again, saved)
    assert repository.get("alice") == saved
