"""Use cases of email notifications (issue 14, item 5), named `email_<action>`: a user's settings,
the double opt-in, and mailing an event to its task's owner.

Double opt-in: a new or changed address is stored unconfirmed and gets one message, the
confirmation link; nothing else is mailed to it until the link is opened.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from notifications_app.application.ports import (
    ConfirmationTokens,
    EmailSettingsRepository,
    MailComposer,
    MailLog,
    MailSender,
    RecipientRefused,
)
from notifications_app.domain.email_settings import (
    CONFIRMATION_INTERVAL,
    MAILED_EVENTS,
    REMINDER_WINDOW_MINUTES_MAX,
    REMINDER_WINDOW_MINUTES_MIN,
    EmailSettings,
)
from tasks_app.application.access import AccessDenied, Caller, acting_user
from tasks_app.domain.errors import InvalidValue

logger = logging.getLogger(__name__)

# Reads of the count a PUT makes before it gives up to concurrent ones (each lost race means a
# mail was just counted, which the limit refuses the next read anyway: this is a bound, not a rate).
CLAIM_ATTEMPTS = 3

STALE_LINK = (
    "This confirmation link is for an address that is no longer the one in your notification settings. "
    "Use the link of the latest confirmation email."
)
NO_ADDRESS = (
    "This confirmation link is for an address that has since been removed from your notification settings "
    "(or the settings were deleted). Save your address again (PUT /notifications/settings) for a new link."
)


class ConfirmationsLimited(Exception):
    """A confirmation mail now would go over the per-user limit (`CONFIRMATION_INTERVAL`,
    `CONFIRMATIONS_PER_DAY`); `wait` is how long until one may be sent. Nothing was changed."""

    def __init__(self, wait: timedelta) -> None:
        super().__init__(f"No confirmation email may be sent for {wait.total_seconds():.0f} s.")
        self.wait = wait


def email_settings_get(
    *, user_id: str | None, caller: Caller | None, repository: EmailSettingsRepository
) -> EmailSettings:
    """The user's settings (the defaults, no address, if they never saved any); admins may read
    another user's; `AccessDenied` for anyone else's."""
    owner = str(acting_user(caller, user_id, resource="notification settings"))
    return repository.get(owner) or EmailSettings(user_id=owner)


def email_settings_put(
    *,
    user_id: str | None,
    wanted: EmailSettings,
    caller: Caller | None,
    repository: EmailSettingsRepository,
    tokens: ConfirmationTokens,
    composer: MailComposer,
    sender: MailSender,
    confirm_link: Callable[[str], str],
    now: datetime,
) -> EmailSettings:
    """Replace the user's settings with `wanted` (its `user_id`, confirmation and confirmation
    count are ignored).

    A new or changed address, or the same one still unconfirmed, is mailed the confirmation link
    (`confirm_link(token)`) before anything is stored: when the mail service is down
    (`DependencyUnavailable`) the settings stay as they were. The owner only (admins may read).

    Raises `ConfirmationsLimited` (nothing changed) when that mail would be sent within
    `CONFIRMATION_INTERVAL` of the last one, or over `CONFIRMATIONS_PER_DAY` in a UTC day
    (settings that need no confirmation are never limited), and `InvalidValue("email", why)`
    when the mail service refuses the address (`RecipientRefused`).

    The limit holds under concurrent PUTs (README, Email): the mail is counted before it is sent,
    by a conditional write on the count read (`claim_confirmation`); a request that loses that
    race reads again, and the limit then refuses it. A mail not sent is given back
    (`release_confirmation`), and saving the settings never writes the count.
    """
    owner = str(acting_user(caller, user_id, resource="notification settings"))
    if caller is not None and owner != str(caller.user_id):
        raise AccessDenied(f"Admins may read {owner}'s notification settings, but only {owner} may change them.")
    if not REMINDER_WINDOW_MINUTES_MIN <= wanted.reminder_window_minutes <= REMINDER_WINDOW_MINUTES_MAX:
        raise InvalidValue(
            "reminder_window_minutes",
            f"Must be between {REMINDER_WINDOW_MINUTES_MIN} and {REMINDER_WINDOW_MINUTES_MAX} minutes.",
        )
    for _ in range(CLAIM_ATTEMPTS):
        before = repository.get(owner)
        settings = replace(wanted, user_id=owner, updated_at=now).replacing(before)
        if settings.email is None or not settings.needs_confirmation(before):
            repository.put(settings, with_count=False)
            return settings
        if (wait := settings.confirmation_wait(now)) is not None:
            logger.warning("Refused a confirmation email over the limit", extra={"user_id": owner})
            raise ConfirmationsLimited(wait)
        claimed = settings.with_confirmation_sent(now)
        if repository.claim_confirmation(before, claimed):
            _send_confirmation(settings.email, claimed, before, repository, tokens, composer, sender, confirm_link)
            repository.put(claimed, with_count=False)
            return claimed
    # Others claimed each time this request read: as busy as the limit allows, so refused like it.
    logger.warning("Refused a confirmation email: its count kept moving", extra={"user_id": owner})
    raise ConfirmationsLimited(CONFIRMATION_INTERVAL)


def _send_confirmation(
    email: str,
    claimed: EmailSettings,
    before: EmailSettings | None,
    repository: EmailSettingsRepository,
    tokens: ConfirmationTokens,
    composer: MailComposer,
    sender: MailSender,
    confirm_link: Callable[[str], str],
) -> None:
    """Mail `email` (`claimed`'s address) its confirmation link, counted already in `claimed`; a
    mail that was not sent is given back to the count (`before`'s). `InvalidValue("email", why)`
    when the mail service refuses it."""
    link = confirm_link(tokens.issue(claimed.user_id, email))
    try:
        sender.send(email, composer.confirmation(email=email, link=link))
    except RecipientRefused as refused:
        repository.release_confirmation(claimed, before)
        raise InvalidValue("email", f"The mail service cannot deliver to this address: {refused.reason}") from None
    except BaseException:
        repository.release_confirmation(claimed, before)
        raise
    logger.info("Sent an email confirmation", extra={"user_id": claimed.user_id})


def email_confirm(
    *, token: str, tokens: ConfirmationTokens, repository: EmailSettingsRepository, now: datetime
) -> EmailSettings:
    """Confirm the address a confirmation link was sent to; the settings as stored after.
    Confirming twice is harmless and changes nothing the second time (`updated_at` included).
    `InvalidValue("token", why)` for a forged, malformed or expired token, for a user with no
    address (`NO_ADDRESS`), or for an address that is no longer the user's (`STALE_LINK`)."""
    user_id, email = tokens.read(token)
    current = repository.get(user_id)
    if current is None or current.email is None:
        raise InvalidValue("token", NO_ADDRESS)
    if current.email != email:
        raise InvalidValue("token", STALE_LINK)
    if current.email_confirmed:
        return current
    confirmed = repository.confirm(user_id, email, now=now)
    if confirmed is None:  # changed or removed between the read and the write
        raise InvalidValue("token", STALE_LINK)
    return confirmed


def email_event(
    *,
    message: Mapping[str, Any],
    repository: EmailSettingsRepository,
    log: MailLog,
    composer: MailComposer,
    sender: MailSender,
) -> bool:
    """Mail the event (SPEC §4's message) to its task's owner if they confirmed their address and
    chose this kind of event; returns whether a message was sent now.

    At most once per event and user: the mail log's claim comes before the send, and is released
    if the send fails (`DependencyUnavailable` is raised again, so the queue redelivers the event
    and the retry sends it). A process killed between the claim and the send loses that one mail.
    A mail the service refuses (`RecipientRefused`) is dropped with a warning and stays claimed:
    no retry could send it.
    """
    event_type, user_id = message["event_type"], message["data"]["user_id"]
    if event_type not in MAILED_EVENTS:
        return False
    settings = repository.get(user_id)
    if settings is None or settings.email is None or not settings.mails(event_type):
        return False
    if not log.claim(message["event_id"], user_id):
        return False
    try:
        sender.send(settings.email, composer.for_event(message))
    except RecipientRefused as refused:
        logger.warning(
            "The mail service refused an event's mail; dropped: %s",
            refused.reason,
            extra={"user_id": user_id, "event_type": event_type},
        )
        return False
    except BaseException:
        log.release(message["event_id"], user_id)
        raise
    logger.info("Mailed an event", extra={"user_id": user_id, "event_type": event_type})
    return True


def reminder_windows(*, user_ids: Collection[str], repository: EmailSettingsRepository) -> dict[str, timedelta]:
    """Each user's reminder window, for those of `user_ids` who saved settings (the rest get the
    sweep's default)."""
    return {settings.user_id: settings.reminder_window for settings in repository.many(set(user_ids))}
