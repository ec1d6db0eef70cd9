"""PynamoDB models of the webhook items in the single table (SPEC §3: other item types share it).

| Item | PK | SK |
|---|---|---|
| Endpoint | `USER#<user id>` | `WEBHOOK#<webhook id>` |
| Owner pointer | `WEBHOOK#<webhook id>` | `OWNER` |
| Delivery | `WEBHOOK#<webhook id>` | `DELIVERY#<delivery id>` |

A user's endpoints are one partition, so the event fan-out finds the owner's subscribers with
one `Query` (strongly consistent: an endpoint registered a moment ago gets the next event). The
pointer finds an endpoint by id alone (an admin's read, a delivery's attempt): two `GetItem`s.
Deliveries sort by their id, which starts with the event's time: newest first is one `Query`
read backwards. Deliveries expire (`ExpiresAt`, the table's TTL) after `DELIVERY_RETENTION`.
"""

from __future__ import annotations

from datetime import timedelta

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)

from notifications_app.domain.delivery import Delivery, DeliveryState
from notifications_app.domain.endpoint import WebhookEndpoint
from tasks_app.adapters.dynamodb.keys import user_partition
from tasks_app.adapters.dynamodb.models import EXPIRY_ATTRIBUTE, TableModel, UtcTimestampAttribute

ENDPOINT_PREFIX = "WEBHOOK#"
DELIVERY_PREFIX = "DELIVERY#"
OWNER_SORT_KEY = "OWNER"
# The delivery log keeps a month: long enough to look into a week-old incident, short enough
# that a busy endpoint's partition stays small.
DELIVERY_RETENTION = timedelta(days=30)


def webhook_partition(webhook_id: str) -> str:
    """`PK` of an endpoint's owner pointer and deliveries."""
    return f"{ENDPOINT_PREFIX}{webhook_id}"


class WebhookItem(TableModel):
    """A webhook endpoint as stored; `from_domain` and `to_domain` are the only ways in and out."""

    item_type = UnicodeAttribute(attr_name="Type", default="WebhookEndpoint")
    webhook_id = UnicodeAttribute(attr_name="WebhookId")
    user_id = UnicodeAttribute(attr_name="UserId")
    url = UnicodeAttribute(attr_name="Url")
    event_types = ListAttribute(of=UnicodeAttribute, attr_name="EventTypes")
    description = UnicodeAttribute(attr_name="Description", null=True)
    enabled = BooleanAttribute(attr_name="Enabled")
    disabled_reason = UnicodeAttribute(attr_name="DisabledReason", null=True)
    consecutive_failures = NumberAttribute(attr_name="ConsecutiveFailures", default=0)
    secret = UnicodeAttribute(attr_name="Secret")
    previous_secret = UnicodeAttribute(attr_name="PreviousSecret", null=True)
    previous_secret_expires_at = UtcTimestampAttribute(attr_name="PreviousSecretExpiresAt", null=True)
    created_at = UtcTimestampAttribute(attr_name="CreatedAt")
    updated_at = UtcTimestampAttribute(attr_name="UpdatedAt", null=True)

    @classmethod
    def from_domain(cls, endpoint: WebhookEndpoint) -> WebhookItem:
        """The item of `endpoint`."""
        return cls(
            pk=user_partition(endpoint.user_id),
            sk=f"{ENDPOINT_PREFIX}{endpoint.webhook_id}",
            webhook_id=endpoint.webhook_id,
            user_id=endpoint.user_id,
            url=endpoint.url,
            event_types=list(endpoint.event_types),
            description=endpoint.description or None,
            enabled=endpoint.enabled,
            disabled_reason=endpoint.disabled_reason,
            consecutive_failures=endpoint.consecutive_failures,
            secret=endpoint.secret,
            previous_secret=endpoint.previous_secret,
            previous_secret_expires_at=endpoint.previous_secret_expires_at,
            created_at=endpoint.created_at,
            updated_at=endpoint.updated_at,
        )

    def to_domain(self) -> WebhookEndpoint:
        """The endpoint this item stores."""
        return WebhookEndpoint(
            webhook_id=self.webhook_id,
            user_id=self.user_id,
            url=self.url,
            event_types=tuple(str(name) for name in self.event_types),
            secret=self.secret,
            created_at=self.created_at,
            description=self.description or "",
            enabled=self.enabled,
            disabled_reason=self.disabled_reason,
            consecutive_failures=int(self.consecutive_failures),
            previous_secret=self.previous_secret,
            previous_secret_expires_at=self.previous_secret_expires_at,
            updated_at=self.updated_at,
        )


class WebhookOwnerItem(TableModel):
    """Who owns an endpoint, so that it can be found by its id alone."""

    item_type = UnicodeAttribute(attr_name="Type", default="WebhookOwner")
    user_id = UnicodeAttribute(attr_name="UserId")

    @classmethod
    def of(cls, endpoint: WebhookEndpoint) -> WebhookOwnerItem:
        """The pointer to `endpoint`."""
        return cls(pk=webhook_partition(endpoint.webhook_id), sk=OWNER_SORT_KEY, user_id=endpoint.user_id)


class DeliveryItem(TableModel):
    """A delivery as stored, under its endpoint."""

    item_type = UnicodeAttribute(attr_name="Type", default="WebhookDelivery")
    webhook_id = UnicodeAttribute(attr_name="WebhookId")
    delivery_id = UnicodeAttribute(attr_name="DeliveryId")
    event_id = UnicodeAttribute(attr_name="EventId")
    event_type = UnicodeAttribute(attr_name="EventType")
    message = UnicodeAttribute(attr_name="Message")
    state = UnicodeAttribute(attr_name="State")
    attempts = NumberAttribute(attr_name="Attempts")
    max_attempts = NumberAttribute(attr_name="MaxAttempts")
    created_at = UtcTimestampAttribute(attr_name="CreatedAt")
    next_attempt_at = UtcTimestampAttribute(attr_name="NextAttemptAt", null=True)
    last_attempt_at = UtcTimestampAttribute(attr_name="LastAttemptAt", null=True)
    last_status_code = NumberAttribute(attr_name="LastStatusCode", null=True)
    last_latency_seconds = NumberAttribute(attr_name="LastLatencySeconds", null=True)
    last_error = UnicodeAttribute(attr_name="LastError", null=True)
    expires_at = TTLAttribute(attr_name=EXPIRY_ATTRIBUTE)

    @classmethod
    def from_domain(cls, delivery: Delivery) -> DeliveryItem:
        """The item of `delivery`, expiring `DELIVERY_RETENTION` after it was created."""
        return cls(
            pk=webhook_partition(delivery.webhook_id),
            sk=f"{DELIVERY_PREFIX}{delivery.delivery_id}",
            webhook_id=delivery.webhook_id,
            delivery_id=delivery.delivery_id,
            event_id=delivery.event_id,
            event_type=delivery.event_type,
            message=delivery.message,
            state=delivery.state.value,
            attempts=delivery.attempts,
            max_attempts=delivery.max_attempts,
            created_at=delivery.created_at,
            next_attempt_at=delivery.next_attempt_at,
            last_attempt_at=delivery.last_attempt_at,
            last_status_code=delivery.last_status_code,
            last_latency_seconds=delivery.last_latency_seconds,
            last_error=delivery.last_error,
            expires_at=delivery.created_at + DELIVERY_RETENTION,
        )

    def to_domain(self) -> Delivery:
        """The delivery this item stores."""
        return Delivery(
            webhook_id=self.webhook_id,
            delivery_id=self.delivery_id,
            event_id=self.event_id,
            event_type=self.event_type,
            message=self.message,
            created_at=self.created_at,
            max_attempts=int(self.max_attempts),
            state=DeliveryState(self.state),
            attempts=int(self.attempts),
            next_attempt_at=self.next_attempt_at,
            last_attempt_at=self.last_attempt_at,
            last_status_code=None if self.last_status_code is None else int(self.last_status_code),
            last_latency_seconds=None if self.last_latency_seconds is None else float(self.last_latency_seconds),
            last_error=self.last_error,
        )


WEBHOOK_MODELS: tuple[type[TableModel], ...] = (WebhookItem, WebhookOwnerItem, DeliveryItem)
