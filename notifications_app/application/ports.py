"""The ports the notifications' services need: storage of endpoints and deliveries, the
webhooks queue, the URL check and the HTTP sender; for email, the settings, the mail log, the
sender, the messages' composer and the confirmation tokens. Adapters implement them; unit tests
fake them."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from notifications_app.domain.delivery import Delivery
from notifications_app.domain.email_settings import EmailSettings
from notifications_app.domain.endpoint import WebhookEndpoint
from tasks_app.application.idempotency import IdempotencyRecord


@dataclass(frozen=True)
class EndpointChanges:
    """What a PATCH changes; None leaves a field as it is."""

    url: str | None = None
    event_types: tuple[str, ...] | None = None
    description: str | None = None
    enabled: bool | None = None


@dataclass(frozen=True)
class EndpointPage:
    """One page of a user's endpoints, oldest first; `next_cursor` is None on the last page."""

    items: list[WebhookEndpoint]
    next_cursor: str | None


@dataclass(frozen=True)
class DeliveryPage:
    """One page of an endpoint's deliveries, newest first; `next_cursor` is None on the last page."""

    items: list[Delivery]
    next_cursor: str | None


class EndpointRepository(Protocol):
    """Webhook endpoints in the table; every method raises `DependencyUnavailable` in an outage.

    The writes a request makes take the request's `IdempotencyRecord` (SPEC §2, `Idempotency-Key`)
    and store it in the same transaction as the change; `IdempotencyKeyInUse` (nothing written)
    when another request stored that key first.
    """

    def add(self, endpoint: WebhookEndpoint, *, idempotency: IdempotencyRecord | None = None) -> None:
        """Store a new endpoint."""

    def get(self, webhook_id: str) -> WebhookEndpoint:
        """The endpoint; `WebhookNotFound` if there is none."""

    def update(
        self,
        endpoint: WebhookEndpoint,
        changes: EndpointChanges,
        *,
        now: datetime,
        idempotency: IdempotencyRecord | None = None,
    ) -> WebhookEndpoint:
        """Apply `changes` at `now` to `endpoint` (as just read: its owner locates the item without
        another read; enabling again also clears the failure streak and the reason); returns the
        endpoint as stored (with `idempotency`, as `WebhookEndpoint.changed` makes it: the
        record's response shows that); `WebhookNotFound` if it was deleted meanwhile. No change
        given: nothing but the record is written."""

    def replace_secrets(self, endpoint: WebhookEndpoint, *, idempotency: IdempotencyRecord | None = None) -> None:
        """Store `endpoint`'s secrets (after a rotation); `WebhookNotFound` if it was deleted."""

    def delete(self, endpoint: WebhookEndpoint) -> None:
        """Delete `endpoint` (as just read; its deliveries expire with the table's TTL)."""

    def list_for_user(self, user_id: str, *, limit: int, cursor: str | None) -> EndpointPage:
        """A page of the user's endpoints; `InvalidCursor` for a cursor of another listing."""

    def subscribed(self, user_id: str, event_type: str) -> list[WebhookEndpoint]:
        """The user's enabled endpoints that subscribe to `event_type`, in one Query."""

    def count_for_user(self, user_id: str) -> int:
        """How many endpoints the user has registered (enabled or not), in one Query."""

    def record_outcome(self, endpoint: WebhookEndpoint, *, succeeded: bool, disable_after: int) -> None:
        """Count a delivery's final outcome: a success ends the failure streak; a failure adds
        one, and the `disable_after`-th in a row disables the endpoint with a reason."""


class DeliveryRepository(Protocol):
    """Deliveries, each under its endpoint; every method raises `DependencyUnavailable` in an outage."""

    def add_if_absent(self, delivery: Delivery) -> bool:
        """Store a new delivery unless the endpoint already has one of this event; True if stored."""

    def get(self, webhook_id: str, delivery_id: str) -> Delivery:
        """The delivery; `DeliveryNotFound` if the endpoint has none with this id."""

    def record_attempt(self, delivery: Delivery, *, attempts_before: int) -> bool:
        """Store `delivery` after an attempt, if no one recorded one since `attempts_before`
        attempts were read (a duplicate message's attempt is not counted twice); True if stored."""

    def list_for_endpoint(self, webhook_id: str, *, limit: int, cursor: str | None) -> DeliveryPage:
        """A page of the endpoint's deliveries, newest first; `InvalidCursor` for a foreign cursor."""


@dataclass(frozen=True)
class DeliveryTicket:
    """The webhooks queue's message for one attempt of one delivery."""

    webhook_id: str
    delivery_id: str
    attempt: int  # 1 for the first attempt


class DeliveryQueue(Protocol):
    """The webhooks queue: attempts wait there until they are due."""

    def send(self, ticket: DeliveryTicket, *, delay_seconds: int) -> None:
        """Queue `ticket`, visible after `delay_seconds` (0 to 900, SQS's maximum)."""


class SentRequest(Protocol):
    """What became of one POST (see `notifications_app.adapters.outbound_http.HttpResult`)."""

    @property
    def status_code(self) -> int | None: ...
    @property
    def body(self) -> bytes: ...
    @property
    def latency_seconds(self) -> float: ...
    @property
    def error(self) -> str | None: ...


class WebhookSender(Protocol):
    """POSTs a delivery; never raises for a network fault or an unsafe address (`error` says)."""

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> SentRequest:
        """The outcome of POSTing `body` with `headers` to `url`."""


class UrlCheck(Protocol):
    """The registration-time URL check (`outbound_http.check_url` under the stage's policy)."""

    def __call__(self, url: str) -> None:
        """Raises `ValueError` (`UnsafeUrl`) saying why `url` may not receive webhooks."""


@dataclass(frozen=True)
class MailMessage:
    """One email: a one-line subject, and the same text as plain text and as HTML."""

    subject: str
    text: str
    html: str


class EmailSettingsRepository(Protocol):
    """Users' email settings, one item each; every method raises `DependencyUnavailable` in an outage."""

    def get(self, user_id: str) -> EmailSettings | None:
        """The user's settings; None if they never saved any."""

    def put(self, settings: EmailSettings, *, with_count: bool = True) -> None:
        """Store `settings`, replacing the user's; `with_count=False` leaves the stored count of
        confirmation mails as it is (what `claim_confirmation` counted is never undone by a
        request that read the settings before it)."""

    def claim_confirmation(self, before: EmailSettings | None, claimed: EmailSettings) -> bool:
        """Count a confirmation mail about to be sent: store `claimed`'s count
        (`confirmation_sent_at`, `confirmations_that_day`), nothing else of it, if the stored
        count is still `before`'s (none sent, for None or a user with no settings: they get the
        default settings, no address). One conditional write: of concurrent requests that read
        the same count, one claims and the others get False (read again: the limit decides)."""

    def release_confirmation(self, claimed: EmailSettings, before: EmailSettings | None) -> None:
        """Put the count back to `before`'s if it is still `claimed`'s: the mail was not sent."""

    def confirm(self, user_id: str, email: str, *, now: datetime) -> EmailSettings | None:
        """Mark `email` confirmed if it is still the user's address; the settings as stored, or
        None when it is not (changed since, or no settings)."""

    def many(self, user_ids: Collection[str]) -> list[EmailSettings]:
        """The settings of those of `user_ids` who have some, in any order."""


class MailLog(Protocol):
    """Which event was mailed to whom, so a redelivered event is not mailed twice."""

    def claim(self, event_id: str, user_id: str) -> bool:
        """Record that the event is being mailed to the user; False if it already was."""

    def release(self, event_id: str, user_id: str) -> None:
        """Forget a claim whose send failed, so the retry of the event sends it."""


class RecipientRefused(Exception):
    """The mail service refused this message for its recipient or content (an address it cannot
    deliver to, a message it rejects): sending the same again can never succeed, unlike an
    outage. `reason` is the service's own words, fit to show to the address's owner."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"The mail service refused the message: {reason}")
        self.reason = reason


class MailSender(Protocol):
    """Sends one email; raises `DependencyUnavailable` when the mail service cannot take it now,
    and `RecipientRefused` when it never will (the address or the message)."""

    def send(self, to: str, message: MailMessage) -> None:
        """Send `message` to the address `to`."""


class MailComposer(Protocol):
    """Builds the messages from their templates."""

    def confirmation(self, *, email: str, link: str) -> MailMessage:
        """The message asking the owner of `email` to open `link`."""

    def for_event(self, event: Mapping[str, Any]) -> MailMessage:
        """The message telling a task's owner about `event` (SPEC §4's message)."""


class ConfirmationTokens(Protocol):
    """Signed, expiring tokens binding a user to an address."""

    def issue(self, user_id: str, email: str) -> str:
        """A token for the confirmation link."""

    def read(self, token: str) -> tuple[str, str]:
        """The `(user_id, email)` a token binds; `InvalidValue("token", why)` if it is forged,
        malformed or expired."""
