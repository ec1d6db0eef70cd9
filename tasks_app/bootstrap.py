"""The one place that wires the task API's real adapters to its services, lazily: nothing
connects at import. `events_app.bootstrap` wires the read models the same way, on the same table."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from django.conf import settings
from pynamodb.connection import Connection

from tasks_app.adapters.aws import AwsTarget, forget_clients
from tasks_app.adapters.cursor import CursorCodec
from tasks_app.adapters.dynamodb.idempotency import IdempotencyItem
from tasks_app.adapters.dynamodb.models import OutboxItem, SharedClientConnection, TableModel, TaskItem, bind_table
from tasks_app.adapters.dynamodb.outbox import DynamoOutbox
from tasks_app.adapters.dynamodb.rate_counter import DynamoRateCounter, RateCounterItem
from tasks_app.adapters.dynamodb.reminders import DynamoReminderIndex, SweepMarkItem
from tasks_app.adapters.dynamodb.repository import DynamoTaskRepository
from tasks_app.adapters.dynamodb.stream import reported_events
from tasks_app.adapters.metrics import EmfRelayMetrics
from tasks_app.adapters.rate_leases import TokenLeases
from tasks_app.adapters.sns import SnsEventPublisher
from tasks_app.application.ports import EventPublisher, Outbox, ReminderIndex, ReminderWindows, TaskRepository
from tasks_app.application.relay import RelayResult, relay_outbox, relay_reported
from tasks_app.application.reminders import DefaultReminderWindows, ReminderSweepResult, reminders_sweep

if TYPE_CHECKING:
    from tasks_app.adapters.tokens import TokenVerifier

logger = logging.getLogger(__name__)

TABLE_MODELS: tuple[type[TableModel], ...] = (TaskItem, OutboxItem, IdempotencyItem, RateCounterItem, SweepMarkItem)


def aws_target() -> AwsTarget:
    return AwsTarget(region=settings.AWS_REGION, endpoint_url=settings.AWS_ENDPOINT_URL)


@cache
def table_connection() -> Connection:
    """Binds every model to the table, and returns the connection transactions go through. All
    of them send through one DynamoDB client, built from the session every AWS client shares."""
    client = aws_target().client("dynamodb")
    bind_table(
        TABLE_MODELS,
        table_name=settings.TABLE_NAME,
        client=client,
        host=settings.AWS_ENDPOINT_URL,
        region=settings.AWS_REGION,
    )
    return SharedClientConnection(client)


@cache
def task_repository() -> TaskRepository:
    # The key when a cursor first needs it: a deployed stage reads it then (config.secrets).
    return DynamoTaskRepository(CursorCodec(lambda: str(settings.SECRET_KEY)), table_connection())


@cache
def outbox() -> Outbox:
    table_connection()
    return DynamoOutbox()


@cache
def reminder_index() -> ReminderIndex:
    table_connection()
    return DynamoReminderIndex()


def sweep_reminders(
    *, windows: ReminderWindows | None = None, now: datetime | None = None, advance_mark: bool = True
) -> ReminderSweepResult:
    """One due-date reminder sweep (issue 14 item 6, `tasks_app.application.reminders`) on the
    configured table, at `now` (default: the clock), with each owner's window from `windows`
    (default: `DEFAULT_REMINDER_WINDOW` for everyone); `advance_mark` as `reminders_sweep` takes
    it. Raises `DependencyUnavailable` when DynamoDB (or `windows`' store) is down; run it again
    then, nothing is recorded twice. `ValueError` for a `now` the sweep cannot use."""
    return reminders_sweep(
        tasks=task_repository(),
        index=reminder_index(),
        windows=windows if windows is not None else DefaultReminderWindows(),
        now=now or utc_now(),
        advance_mark=advance_mark,
    )


@cache
def event_publisher() -> EventPublisher:
    return SnsEventPublisher(aws_target().client("sns"), settings.TOPIC_ARN)


@cache
def rate_counter() -> DynamoRateCounter:
    table_connection()
    return DynamoRateCounter()


_LEASES_LOCK = threading.Lock()


def rate_leases() -> TokenLeases:
    """This process's token leases over the rate counter (`tasks_app.adapters.rate_leases`):
    one, even when a threaded server's first requests ask for it at once (`cache` alone would
    let each make its own, take tokens and drop them: 4 of a limit of 40 served on a cold
    server)."""
    with _LEASES_LOCK:
        return _rate_leases()


@cache
def _rate_leases() -> TokenLeases:
    return TokenLeases(rate_counter())


@cache
def token_verifier() -> TokenVerifier:
    """The bearer-token verifier of AUTH_MODE=jwt: keys from the user pool's JWKS URL, or the local key's file."""
    # Imported here: PyJWT and cryptography take a tenth of a second to import, which the API
    # (whose authentication imports them anyway) pays, but the commands and the worker need not.
    from tasks_app.adapters.tokens import LOCAL_JWKS_FILE, JwksFileKeys, JwksUrlKeys, KeySource, TokenVerifier

    jwt = settings.JWT
    if jwt is None:
        raise RuntimeError("Tokens are only verified with AUTH_MODE=jwt.")
    keys: KeySource = (
        JwksUrlKeys(jwt.jwks_url) if jwt.jwks_url else JwksFileKeys(settings.LOCAL_STATE_DIR / LOCAL_JWKS_FILE)
    )
    return TokenVerifier(
        issuer=jwt.issuer, audience=jwt.audience, token_use=jwt.token_use, keys=keys, leeway_seconds=jwt.leeway_seconds
    )


def relay_all(*, settle: timedelta | None = None) -> RelayResult:
    """The sweeper: relay until a pass publishes nothing. Events stored in the last `settle`
    (default OUTBOX_SETTLE_SECONDS) are left to the stream relay, which normally publishes them
    within a second. Raises `DependencyUnavailable` in an outage."""
    if settle is None:
        settle = timedelta(seconds=settings.OUTBOX_SETTLE_SECONDS)
    published = 0
    while True:  # one pass reads a bounded number of entries per shard
        result = relay_outbox(
            outbox=outbox(), publisher=event_publisher(), stored_before=utc_now() - settle, metrics=EmfRelayMetrics()
        )
        published += result.published
        if not result.published:
            return RelayResult(published=published, held_back=result.held_back)


def relay_stream_records(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """The stream relay: publish the events that `records` (DynamoDB stream records, in shard
    order) inserted into the outbox. Returns the sequence numbers of the records not published,
    in order, for Lambda's `batchItemFailures` (it retries the shard from the lowest one). Raises
    nothing: an outage fails every outbox record of the batch, to be retried, and the sweeper
    publishes whatever the retries do not."""
    reported = reported_events(records)
    if not reported:
        return []
    try:
        entries = [event.entry for event in reported]
        result = relay_reported(
            entries, outbox=outbox(), publisher=event_publisher(), after_earlier=True, metrics=EmfRelayMetrics()
        )
    except Exception:
        logger.warning("Relaying from the stream failed; the records will be retried", exc_info=True)
        return [event.sequence_number for event in reported]
    unpublished = {entry.event_id for entry in result.unpublished}
    return [event.sequence_number for event in reported if event.entry.event_id in unpublished]


def utc_now() -> datetime:
    return datetime.now(UTC)


def utc_today() -> date:
    return utc_now().date()


def reset() -> None:
    """Forget the wired adapters, so the next use follows changed settings (tests do this)."""
    for wired in (
        table_connection,
        task_repository,
        outbox,
        reminder_index,
        event_publisher,
        rate_counter,
        _rate_leases,
        token_verifier,
    ):
        wired.cache_clear()


def disconnect() -> None:
    """Forget every AWS client and connection too, not only the adapters: a process restored
    from a SnapStart snapshot must make its own, with the credentials it was given."""
    forget_clients()
    for model in TABLE_MODELS:
        model._connection = None  # PynamoDB keeps one per model class
    reset()
