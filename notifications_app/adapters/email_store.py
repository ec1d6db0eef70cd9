"""Email settings and the mail log in the single table, through PynamoDB (SPEC §3: other item
types share it).

| Item | PK | SK |
|---|---|---|
| Email settings | `USER#<user id>` | `EMAIL_SETTINGS` |
| Mail log entry | `MAILED#<event id>` | `USER#<user id>` |

The settings sit in the user's partition, beside their webhooks: one `GetItem` reads them, one
`BatchGetItem` reads a sweep's worth of users' reminder windows. The confirmation mails' count
(`ConfirmationSentAt`, `ConfirmationsThatDay`) is claimed by one conditional `UpdateItem` before a
mail is sent, and left alone by a save of the settings, so concurrent PUTs cannot both count
from the same reading (README, Email: the limit). A mail log entry is written
before an event's message is sent (a conditional put: a redelivered event finds it) and expires
after `MAIL_LOG_RETENTION`, well past SQS's retention of a redelivered message (14 days at most).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.attributes import BooleanAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, PutError, UpdateError
from pynamodb.expressions.condition import Condition

from notifications_app.domain.email_settings import EmailSettings
from tasks_app.adapters.dynamodb.keys import user_partition
from tasks_app.adapters.dynamodb.models import EXPIRY_ATTRIBUTE, TableModel, UtcTimestampAttribute, response_code
from tasks_app.adapters.outages import reports_outages

SETTINGS_SORT_KEY = "EMAIL_SETTINGS"
MAIL_LOG_RETENTION = timedelta(days=15)
BATCH_GET_MAX_KEYS = 100  # DynamoDB's BatchGetItem limit per request
_CONDITION_FAILED = "ConditionalCheckFailedException"
_COUNT = frozenset({"confirmation_sent_at", "confirmations_that_day"})  # the confirmation mails' count


class EmailSettingsItem(TableModel):
    """A user's email settings as stored; `from_domain` and `to_domain` are the only ways in and out."""

    item_type = UnicodeAttribute(attr_name="Type", default="EmailSettings")
    user_id = UnicodeAttribute(attr_name="UserId")
    email = UnicodeAttribute(attr_name="Email", null=True)
    email_confirmed = BooleanAttribute(attr_name="EmailConfirmed")
    notify_on_completion = BooleanAttribute(attr_name="NotifyOnCompletion")
    notify_on_due_soon = BooleanAttribute(attr_name="NotifyOnDueSoon")
    reminder_window_minutes = NumberAttribute(attr_name="ReminderWindowMinutes")
    updated_at = UtcTimestampAttribute(attr_name="UpdatedAt", null=True)
    # The confirmation mails' limit; absent on items saved before it existed (none sent counted).
    confirmation_sent_at = UtcTimestampAttribute(attr_name="ConfirmationSentAt", null=True)
    confirmations_that_day = NumberAttribute(attr_name="ConfirmationsThatDay", null=True)

    @classmethod
    def from_domain(cls, settings: EmailSettings) -> EmailSettingsItem:
        """The item of `settings`."""
        return cls(
            pk=user_partition(settings.user_id),
            sk=SETTINGS_SORT_KEY,
            user_id=settings.user_id,
            email=settings.email,
            email_confirmed=settings.email_confirmed,
            notify_on_completion=settings.notify_on_completion,
            notify_on_due_soon=settings.notify_on_due_soon,
            reminder_window_minutes=settings.reminder_window_minutes,
            updated_at=settings.updated_at,
            confirmation_sent_at=settings.confirmation_sent_at,
            confirmations_that_day=settings.confirmations_that_day,
        )

    def to_domain(self) -> EmailSettings:
        """The settings this item stores."""
        return EmailSettings(
            user_id=self.user_id,
            email=self.email,
            email_confirmed=bool(self.email_confirmed),
            notify_on_completion=bool(self.notify_on_completion),
            notify_on_due_soon=bool(self.notify_on_due_soon),
            reminder_window_minutes=int(self.reminder_window_minutes),
            updated_at=self.updated_at,
            confirmation_sent_at=self.confirmation_sent_at,
            confirmations_that_day=int(self.confirmations_that_day or 0),
        )


class MailLogItem(TableModel):
    """One event mailed (or being mailed) to one user."""

    item_type = UnicodeAttribute(attr_name="Type", default="MailLog")
    mailed_at = UtcTimestampAttribute(attr_name="MailedAt")
    expires_at = TTLAttribute(attr_name=EXPIRY_ATTRIBUTE)


EMAIL_MODELS: tuple[type[TableModel], ...] = (EmailSettingsItem, MailLogItem)


def _condition_failed(error: DeleteError | PutError | UpdateError) -> bool:
    return response_code(error) == _CONDITION_FAILED or _CONDITION_FAILED in str(error)


def _count_is(settings: EmailSettings | None) -> Condition:
    """The condition that the stored count is `settings`'s: the time of the last confirmation
    mail (each claim stores a new one), or none for a user who was never sent one."""
    sent_at = settings.confirmation_sent_at if settings is not None else None
    if sent_at is None:
        condition: Condition = EmailSettingsItem.confirmation_sent_at.does_not_exist()
    else:
        condition = EmailSettingsItem.confirmation_sent_at == sent_at
    return condition


def _settings_actions(item: EmailSettingsItem, *, if_absent: bool) -> list[Any]:
    """An `UpdateItem`'s actions writing `item`'s attributes but its key and the count; a null
    one is removed. `if_absent`: each only where the stored item has none (`if_not_exists`), and
    nulls are left alone."""
    actions: list[Any] = []
    for name, attribute in EmailSettingsItem.get_attributes().items():
        if attribute.is_hash_key or attribute.is_range_key or name in _COUNT:
            continue
        value = getattr(item, name)
        if value is None:
            if not if_absent:
                actions.append(attribute.remove())
        else:
            actions.append(attribute.set(attribute | value if if_absent else value))
    return actions


@reports_outages("DynamoDB")
class DynamoEmailSettingsRepository:
    """`EmailSettingsRepository` on the table."""

    def get(self, user_id: str) -> EmailSettings | None:
        try:
            return EmailSettingsItem.get(user_partition(user_id), SETTINGS_SORT_KEY, consistent_read=True).to_domain()
        except EmailSettingsItem.DoesNotExist:
            return None

    def put(self, settings: EmailSettings, *, with_count: bool = True) -> None:
        item = EmailSettingsItem.from_domain(settings)
        if with_count:
            item.save()
        else:  # every attribute but the count, which a concurrent claim may have moved on
            item.update(actions=_settings_actions(item, if_absent=False))

    def claim_confirmation(self, before: EmailSettings | None, claimed: EmailSettings) -> bool:
        item = EmailSettingsItem(user_partition(claimed.user_id), SETTINGS_SORT_KEY)
        defaults = EmailSettingsItem.from_domain(EmailSettings(user_id=claimed.user_id))
        actions = [
            EmailSettingsItem.confirmation_sent_at.set(claimed.confirmation_sent_at),  # type: ignore[arg-type]
            EmailSettingsItem.confirmations_that_day.set(claimed.confirmations_that_day),
            # A user without settings gets the defaults (no address): the item reads as before.
            *_settings_actions(defaults, if_absent=True),
        ]
        try:
            item.update(actions=actions, condition=_count_is(before))
        except UpdateError as error:
            if _condition_failed(error):
                return False
            raise
        return True

    def release_confirmation(self, claimed: EmailSettings, before: EmailSettings | None) -> None:
        item = EmailSettingsItem(user_partition(claimed.user_id), SETTINGS_SORT_KEY)
        ours = _count_is(claimed)
        if before is None:  # the claim made the item: gone again, unless settings were saved on it since
            try:
                item.delete(condition=ours & EmailSettingsItem.updated_at.does_not_exist())
                return
            except DeleteError as error:
                if not _condition_failed(error):
                    raise
        sent_at = before.confirmation_sent_at if before is not None else None
        actions: list[Any] = (
            [EmailSettingsItem.confirmation_sent_at.remove(), EmailSettingsItem.confirmations_that_day.remove()]
            if before is None or sent_at is None
            else [
                EmailSettingsItem.confirmation_sent_at.set(sent_at),
                EmailSettingsItem.confirmations_that_day.set(before.confirmations_that_day),
            ]
        )
        try:
            item.update(actions=actions, condition=ours)
        except UpdateError as error:
            if not _condition_failed(error):  # moved on since: nothing of ours to give back
                raise

    def confirm(self, user_id: str, email: str, *, now: datetime) -> EmailSettings | None:
        item = EmailSettingsItem(user_partition(user_id), SETTINGS_SORT_KEY)
        try:
            item.update(
                actions=[EmailSettingsItem.email_confirmed.set(True), EmailSettingsItem.updated_at.set(now)],
                condition=EmailSettingsItem.email == email,
            )
        except UpdateError as error:
            if _condition_failed(error):
                return None
            raise
        return item.to_domain()

    def many(self, user_ids: Collection[str]) -> list[EmailSettings]:
        keys = [(user_partition(user_id), SETTINGS_SORT_KEY) for user_id in sorted(set(user_ids))]
        found: list[EmailSettings] = []
        for start in range(0, len(keys), BATCH_GET_MAX_KEYS):  # PynamoDB retries unprocessed keys itself
            batch = keys[start : start + BATCH_GET_MAX_KEYS]
            found += [item.to_domain() for item in EmailSettingsItem.batch_get(batch)]
        return found


@reports_outages("DynamoDB")
class DynamoMailLog:
    """`MailLog` on the table."""

    def claim(self, event_id: str, user_id: str) -> bool:
        now = datetime.now(UTC)
        item = MailLogItem(
            f"MAILED#{event_id}", user_partition(user_id), mailed_at=now, expires_at=now + MAIL_LOG_RETENTION
        )
        try:
            item.save(condition=MailLogItem.pk.does_not_exist())
        except PutError as error:
            if _condition_failed(error):
                return False
            raise
        return True

    def release(self, event_id: str, user_id: str) -> None:
        MailLogItem(f"MAILED#{event_id}", user_partition(user_id)).delete()
