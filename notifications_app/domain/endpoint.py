"""A webhook endpoint: where a user wants events POSTed, which ones, and the secrets that sign them."""

from __future__ import annotations

import base64
import re
import secrets
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from tasks_app.domain.errors import InvalidValue
from tasks_app.domain.events import (
    TaskCompleted,
    TaskCreated,
    TaskDeleted,
    TaskDueSoon,
    TaskOverdue,
    TaskRestored,
    TaskStatusChanged,
    TaskUpdated,
)

# The event types of SPEC §4 a webhook may subscribe to (the reminders of issue 14 included);
# "*" alone means all of them.
EVENT_TYPES: tuple[str, ...] = tuple(
    kind.__name__
    for kind in (
        TaskCreated,
        TaskUpdated,
        TaskStatusChanged,
        TaskCompleted,
        TaskDeleted,
        TaskRestored,
        TaskDueSoon,
        TaskOverdue,
    )
)
ALL_EVENTS = "*"
# A test delivery (`POST /webhooks/{id}/test`): sent to the endpoint whatever it subscribes to.
PING_EVENT_TYPE = "ping"

URL_MAX_LENGTH = 2048  # what browsers and most servers accept in a request line
DESCRIPTION_MAX_LENGTH = 500
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret. Standard Webhooks: the secret is `whsec_` + base64 of its bytes
SECRET_BYTES = 32  # the Standard Webhooks specification asks for 24 to 64 random bytes
# Issue 14: after a rotation, the old secret keeps signing beside the new one for a day, so
# receivers can switch without losing a delivery.
ROTATION_OVERLAP = timedelta(hours=24)
# Issue 14: an endpoint whose deliveries failed this many times in a row (each after all its
# retries) is disabled; any success starts the count again.
FAILURES_BEFORE_DISABLING = 20
# Issue 14 (a production API's bound): every event of a user is fanned out over all their
# endpoints in one Query and one delivery each, so the number a user may register is capped.
MAX_ENDPOINTS_PER_USER = 20


WEBHOOK_ID = re.compile(r"wh-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def is_webhook_id(text: str) -> bool:
    """Whether `text` could be an endpoint id (anything else names no endpoint, and is never
    sent to DynamoDB, whose keys have a length limit)."""
    return WEBHOOK_ID.fullmatch(text) is not None


def new_webhook_id() -> str:
    """A fresh endpoint id, `wh-<uuid4>`: unguessable, so ids do not reveal how many exist."""
    return f"wh-{uuid.uuid4()}"


def new_secret() -> str:
    """A fresh signing secret in the Standard Webhooks format (`whsec_` + base64 of 32 random bytes)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


# The URLs the API takes, as a pattern the OpenAPI schema publishes too: `https://` to a DNS
# name (a literal IP address is never a public endpoint's), an optional port, a path and query;
# in development also `http://127.0.0.1:<port>`, `http://[::1]:<port>` and
# `http://localhost:<port>`, for a local receiver (issue 14, item 3: the loopback URLs
# `check_url` accepts there). The outbound check (`check_url`, then the address check at each
# delivery) comes first.
_PORT = r"(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
_HOST = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
_PATH = r"(?:/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?"
_HTTPS_URL = rf"https://{_HOST}(?::{_PORT})?{_PATH}"
_LOOPBACK_URL = rf"http://(?:127\.0\.0\.1|\[::1\]|localhost):{_PORT}{_PATH}"


def url_pattern(*, allow_loopback_http: bool) -> str:
    """The regular expression (anchored) of the URLs webhooks may be registered for."""
    return rf"^(?:{_HTTPS_URL}|{_LOOPBACK_URL})$" if allow_loopback_http else rf"^{_HTTPS_URL}$"


def parse_event_types(raw: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The subscribed event types, deduplicated in the order given; ("*",) for all, which "*"
    means even beside others.

    Raises `InvalidValue("event_types", ...)` for an empty list or an unknown type.
    """
    if not raw:
        raise InvalidValue("event_types", f'Give at least one of {", ".join(EVENT_TYPES)}, or ["*"] for all.')
    unknown = [name for name in raw if name not in EVENT_TYPES and name != ALL_EVENTS]
    if unknown:
        raise InvalidValue(
            "event_types", f"Unknown event type(s) {', '.join(map(repr, unknown))}; known: {', '.join(EVENT_TYPES)}."
        )
    if ALL_EVENTS in raw:
        return (ALL_EVENTS,)
    return tuple(dict.fromkeys(raw))


def check_description(description: str) -> None:
    """Raises `InvalidValue("description", ...)` when it is longer than `DESCRIPTION_MAX_LENGTH`."""
    if len(description) > DESCRIPTION_MAX_LENGTH:
        raise InvalidValue("description", f"Must be at most {DESCRIPTION_MAX_LENGTH} characters.")


@dataclass
class WebhookEndpoint:
    """A user's webhook endpoint (issue 14).

    `secret` signs every delivery; after `rotate`, `previous_secret` signs beside it until
    `previous_secret_expires_at`. `consecutive_failures` counts deliveries that failed after
    all their retries since the last success; at `FAILURES_BEFORE_DISABLING` the endpoint is
    disabled with a `disabled_reason`, until its owner enables it again.
    """

    webhook_id: str
    user_id: str
    url: str
    event_types: tuple[str, ...]
    secret: str
    created_at: datetime
    description: str = ""
    enabled: bool = True
    disabled_reason: str | None = None
    consecutive_failures: int = 0
    previous_secret: str | None = None
    previous_secret_expires_at: datetime | None = None
    updated_at: datetime | None = field(default=None)

    def subscribes_to(self, event_type: str) -> bool:
        """Whether an event of `event_type` is delivered here (a ping always is)."""
        return event_type == PING_EVENT_TYPE or ALL_EVENTS in self.event_types or event_type in self.event_types

    def signing_secrets(self, now: datetime) -> list[str]:
        """The secrets a delivery at `now` is signed with: the current one, and the previous one
        during its 24 h of overlap (the Standard Webhooks header then carries both signatures)."""
        keep_previous = (
            self.previous_secret is not None
            and self.previous_secret_expires_at is not None
            and now < self.previous_secret_expires_at
        )
        return [self.secret, self.previous_secret] if keep_previous and self.previous_secret else [self.secret]

    def changed(
        self,
        *,
        url: str | None = None,
        event_types: tuple[str, ...] | None = None,
        description: str | None = None,
        enabled: bool | None = None,
        now: datetime,
    ) -> WebhookEndpoint:
        """This endpoint with the fields given (None: kept) changed at `now`; enabling it again
        also clears `disabled_reason` and the failure streak (issue 14: a fresh start). Nothing
        given: this endpoint, unchanged (`updated_at` too)."""
        if url is None and event_types is None and description is None and enabled is None:
            return self
        fresh_start = enabled is True
        return replace(
            self,
            url=self.url if url is None else url,
            event_types=self.event_types if event_types is None else event_types,
            description=self.description if description is None else description,
            enabled=self.enabled if enabled is None else enabled,
            disabled_reason=None if fresh_start else self.disabled_reason,
            consecutive_failures=0 if fresh_start else self.consecutive_failures,
            updated_at=now,
        )

    def rotated(self, now: datetime) -> WebhookEndpoint:
        """This endpoint with a new secret; the current one keeps signing for `ROTATION_OVERLAP`.

        Only the latest previous secret is kept: a second rotation within the overlap ends the
        first one's at once (a chosen, documented limit: two signatures at most, and a receiver
        that rotated twice has the newest two secrets anyway)."""
        return replace(
            self,
            secret=new_secret(),
            previous_secret=self.secret,
            previous_secret_expires_at=now + ROTATION_OVERLAP,
            updated_at=now,
        )
