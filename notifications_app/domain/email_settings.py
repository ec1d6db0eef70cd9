"""A user's email notification settings (issue 14, item 5): one address, confirmed by double
opt-in, and which events mail it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta

REMINDER_WINDOW_MINUTES_MIN = 5
REMINDER_WINDOW_MINUTES_MAX = 1440  # the contract's MAX_REMINDER_WINDOW: 24 hours
REMINDER_WINDOW_MINUTES_DEFAULT = 60  # the contract's DEFAULT_REMINDER_WINDOW: 1 hour
EMAIL_MAX_LENGTH = 254  # RFC 5321's path limit, as Django's EmailField uses

# Confirmation mails per user (issue 14's findings: anyone could PUT a victim's address over and
# over and mail them a link each time). One a minute is enough for "I mistyped it" or "it did not
# arrive"; ten a UTC day bounds what one account can send a stranger, and what it costs our SES
# sending reputation, at a level no honest user reaches.
CONFIRMATION_INTERVAL = timedelta(seconds=60)
CONFIRMATIONS_PER_DAY = 10

COMPLETION_EVENTS = frozenset({"TaskCompleted"})
DUE_EVENTS = frozenset({"TaskDueSoon", "TaskOverdue"})
MAILED_EVENTS = COMPLETION_EVENTS | DUE_EVENTS


def normalized_address(address: str) -> str:
    """`address` trimmed, its domain lower-cased (domains are case-insensitive, RFC 5321 §2.4;
    the local part is kept as given)."""
    local, _, domain = address.strip().rpartition("@")
    return f"{local}@{domain.lower()}" if local else address.strip()


@dataclass(frozen=True)
class EmailSettings:
    """What one user wants mailed, and where. `email_confirmed` says the owner of `email` opened
    the confirmation link; nothing but that confirmation is ever sent to an unconfirmed address."""

    user_id: str
    email: str | None = None
    email_confirmed: bool = False
    notify_on_completion: bool = True
    notify_on_due_soon: bool = True
    reminder_window_minutes: int = REMINDER_WINDOW_MINUTES_DEFAULT
    updated_at: datetime | None = None
    # When the last confirmation mail was sent (UTC), and how many were sent on that UTC day.
    confirmation_sent_at: datetime | None = None
    confirmations_that_day: int = 0

    @property
    def reminder_window(self) -> timedelta:
        """How long before a task's due date its reminder is sent."""
        return timedelta(minutes=self.reminder_window_minutes)

    def needs_confirmation(self, before: EmailSettings | None) -> bool:
        """Whether saving these settings over `before` mails a confirmation: a new or changed
        address, or the same one still unconfirmed (saving again re-sends the link)."""
        if self.email is None:
            return False
        return before is None or before.email != self.email or not before.email_confirmed

    def replacing(self, before: EmailSettings | None) -> EmailSettings:
        """These settings as stored over `before`: the address stays confirmed only if unchanged;
        the count of confirmation mails is `before`'s (no save resets the limit)."""
        kept = before is not None and self.email is not None and before.email == self.email and before.email_confirmed
        if before is None:
            return replace(self, email_confirmed=kept, confirmation_sent_at=None, confirmations_that_day=0)
        return replace(
            self,
            email_confirmed=kept,
            confirmation_sent_at=before.confirmation_sent_at,
            confirmations_that_day=before.confirmations_that_day,
        )

    def confirmation_wait(self, now: datetime) -> timedelta | None:
        """How long from `now` (aware, UTC) until another confirmation mail may be sent, or None
        if one may be sent now: `CONFIRMATION_INTERVAL` after the last one, and after
        `CONFIRMATIONS_PER_DAY` of them, the next UTC midnight. A mail counted after `now` (by a
        concurrent request that started later) counts as sent at `now`: the wait is never more
        than the interval, or than the time to midnight."""
        if self.confirmation_sent_at is None:
            return None
        sent_at = min(self.confirmation_sent_at, now)
        waits = [sent_at + CONFIRMATION_INTERVAL - now]
        if sent_at.date() == now.date() and self.confirmations_that_day >= CONFIRMATIONS_PER_DAY:
            waits.append(datetime.combine(now.date() + timedelta(days=1), time(), tzinfo=now.tzinfo) - now)
        wait = max(waits)
        return wait if wait > timedelta(0) else None

    def with_confirmation_sent(self, now: datetime) -> EmailSettings:
        """These settings after a confirmation mail was sent at `now` (aware, UTC)."""
        same_day = self.confirmation_sent_at is not None and self.confirmation_sent_at.date() == now.date()
        count = self.confirmations_that_day + 1 if same_day else 1
        return replace(self, confirmation_sent_at=now, confirmations_that_day=count)

    def mails(self, event_type: str) -> bool:
        """Whether an event of `event_type` is mailed to this user: a confirmed address and the
        matching choice on."""
        if self.email is None or not self.email_confirmed:
            return False
        if event_type in COMPLETION_EVENTS:
            return self.notify_on_completion
        if event_type in DUE_EVENTS:
            return self.notify_on_due_soon
        return False
