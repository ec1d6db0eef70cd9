"""Webhook endpoints and deliveries in the single table, through PynamoDB (`models` says where).

Writes that could race a worker's are conditional: the failure streak is an update of the
fields it changes; a delivery's attempt is a put of the whole item on the condition that its
attempt count is still the one read (`record_attempt`). A request's `Idempotency-Key` record is
written in the same transaction as the endpoint's change (SPEC §2), as the tasks' are.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import PutError, PynamoDBException, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from notifications_app.adapters.models import (
    DELIVERY_PREFIX,
    ENDPOINT_PREFIX,
    OWNER_SORT_KEY,
    DeliveryItem,
    WebhookItem,
    WebhookOwnerItem,
    webhook_partition,
)
from notifications_app.application.ports import DeliveryPage, EndpointChanges, EndpointPage
from notifications_app.domain.delivery import Delivery, is_delivery_id
from notifications_app.domain.endpoint import WebhookEndpoint, is_webhook_id
from notifications_app.domain.errors import DeliveryNotFound, WebhookNotFound
from tasks_app.adapters.cursor import CursorCodec
from tasks_app.adapters.dynamodb.idempotency import IdempotencyItem
from tasks_app.adapters.dynamodb.keys import user_partition
from tasks_app.adapters.dynamodb.models import TableModel, item_failed, response_code
from tasks_app.adapters.outages import RETRY_AFTER_THROTTLED, reports_outages
from tasks_app.application.idempotency import IdempotencyKeyInUse, IdempotencyRecord
from tasks_app.application.ports import DependencyUnavailable
from tasks_app.domain.errors import InvalidCursor

_CONDITION_FAILED = "ConditionalCheckFailedException"
_CONFLICTS = ("ConditionalCheckFailed", "TransactionConflict")
ENDPOINT_LISTING = "webhooks"
DELIVERY_LISTING = "webhook-deliveries"


def _condition_failed(error: PynamoDBException) -> bool:
    return response_code(error) == _CONDITION_FAILED or _CONDITION_FAILED in str(error)


def _endpoint_item(endpoint: WebhookEndpoint) -> WebhookItem:
    """The key of `endpoint`'s item, from the endpoint as read: no read of the owner pointer."""
    return WebhookItem(user_partition(endpoint.user_id), f"{ENDPOINT_PREFIX}{endpoint.webhook_id}")


@reports_outages("DynamoDB")
class DynamoEndpointRepository:
    """`EndpointRepository` on the table; cursors are signed and bound to the user's listing."""

    def __init__(self, cursors: CursorCodec, connection: Connection) -> None:
        self._cursors = cursors
        self._connection = connection

    def add(self, endpoint: WebhookEndpoint, *, idempotency: IdempotencyRecord | None = None) -> None:
        def write(transaction: TransactWrite) -> None:
            transaction.save(WebhookItem.from_domain(endpoint), condition=WebhookItem.pk.does_not_exist())
            transaction.save(WebhookOwnerItem.of(endpoint), condition=WebhookOwnerItem.pk.does_not_exist())

        self._transact(write, record_at=2, idempotency=idempotency)  # after the endpoint and its owner pointer

    def get(self, webhook_id: str) -> WebhookEndpoint:
        return self._item(webhook_id).to_domain()

    def update(
        self,
        endpoint: WebhookEndpoint,
        changes: EndpointChanges,
        *,
        now: datetime,
        idempotency: IdempotencyRecord | None = None,
    ) -> WebhookEndpoint:
        webhook_id = endpoint.webhook_id
        item = _endpoint_item(endpoint)
        actions: list[Any] = []
        if changes.url is not None:
            actions.append(WebhookItem.url.set(changes.url))
        if changes.event_types is not None:
            actions.append(WebhookItem.event_types.set(list(changes.event_types)))  # type: ignore[arg-type]
        if changes.description is not None:
            actions.append(
                WebhookItem.description.set(changes.description)
                if changes.description
                else WebhookItem.description.remove()
            )
        if changes.enabled is not None:
            actions.append(WebhookItem.enabled.set(changes.enabled))
            if changes.enabled:  # enabled again by its owner: a fresh start
                actions += [WebhookItem.disabled_reason.remove(), WebhookItem.consecutive_failures.set(0)]
        if actions:
            actions.append(WebhookItem.updated_at.set(now))
        if idempotency is not None:
            # A transaction returns no item: the endpoint as the record's response shows it.
            self._update_with_record(item, webhook_id, actions, idempotency)
            return endpoint.changed(
                url=changes.url,
                event_types=changes.event_types,
                description=changes.description,
                enabled=changes.enabled,
                now=now,
            )
        if not actions:
            return endpoint
        try:
            item.update(actions=actions, condition=WebhookItem.pk.exists())
        except UpdateError as error:
            if _condition_failed(error):
                raise WebhookNotFound(webhook_id) from None
            raise
        return item.to_domain()

    def replace_secrets(self, endpoint: WebhookEndpoint, *, idempotency: IdempotencyRecord | None = None) -> None:
        item = _endpoint_item(endpoint)
        actions: list[Any] = [
            WebhookItem.secret.set(endpoint.secret),
            # PynamoDB's stubs refuse None, which its `set` takes as "remove".
            WebhookItem.previous_secret.set(endpoint.previous_secret),  # type: ignore[arg-type]
            WebhookItem.previous_secret_expires_at.set(endpoint.previous_secret_expires_at),  # type: ignore[arg-type]
            WebhookItem.updated_at.set(endpoint.updated_at),  # type: ignore[arg-type]
        ]
        if idempotency is not None:
            self._update_with_record(item, endpoint.webhook_id, actions, idempotency)
            return
        try:
            item.update(actions=actions, condition=WebhookItem.pk.exists())
        except UpdateError as error:
            if _condition_failed(error):
                raise WebhookNotFound(endpoint.webhook_id) from None
            raise

    def delete(self, endpoint: WebhookEndpoint) -> None:
        with TransactWrite(connection=self._connection) as transaction:
            transaction.delete(_endpoint_item(endpoint))
            transaction.delete(WebhookOwnerItem(webhook_partition(endpoint.webhook_id), OWNER_SORT_KEY))

    def list_for_user(self, user_id: str, *, limit: int, cursor: str | None) -> EndpointPage:
        position = None if cursor is None else self._cursors.decode(cursor, owner=user_id, listing=ENDPOINT_LISTING)
        partition = user_partition(user_id)
        items, last = _page(WebhookItem, partition, ENDPOINT_PREFIX, position, limit=limit, descending=False)
        next_cursor = (
            None if last is None else self._cursors.encode(owner=user_id, position=last, listing=ENDPOINT_LISTING)
        )
        return EndpointPage(items=[item.to_domain() for item in items], next_cursor=next_cursor)

    def subscribed(self, user_id: str, event_type: str) -> list[WebhookEndpoint]:
        endpoints = (
            item.to_domain()
            for item in WebhookItem.query(
                user_partition(user_id), WebhookItem.sk.startswith(ENDPOINT_PREFIX), consistent_read=True
            )
        )
        return [endpoint for endpoint in endpoints if endpoint.enabled and endpoint.subscribes_to(event_type)]

    def count_for_user(self, user_id: str) -> int:
        return int(
            WebhookItem.count(user_partition(user_id), WebhookItem.sk.startswith(ENDPOINT_PREFIX), consistent_read=True)
        )

    def record_outcome(self, endpoint: WebhookEndpoint, *, succeeded: bool, disable_after: int) -> None:
        item = _endpoint_item(endpoint)  # each update below sets the item's attributes to what is stored
        try:
            if succeeded:
                item.update(actions=[WebhookItem.consecutive_failures.set(0)], condition=WebhookItem.pk.exists())
                return
            item.update(actions=[WebhookItem.consecutive_failures.add(1)], condition=WebhookItem.pk.exists())
            if item.consecutive_failures >= disable_after and item.enabled:
                item.update(
                    actions=[
                        WebhookItem.enabled.set(False),
                        WebhookItem.disabled_reason.set(
                            f"Disabled after {disable_after} deliveries in a row failed (each after all its "
                            "retries). Fix the receiver, then PATCH enabled: true."
                        ),
                    ],
                    condition=WebhookItem.consecutive_failures >= disable_after,
                )
        except UpdateError as error:
            if not _condition_failed(error):  # deleted meanwhile, or a success reset the streak
                raise

    def _update_with_record(
        self, item: WebhookItem, webhook_id: str, actions: list[Any], idempotency: IdempotencyRecord
    ) -> None:
        """`item.update(actions)` and the request's record in one transaction (only the record
        when there are no actions); `WebhookNotFound` if the endpoint was deleted meanwhile.
        PynamoDB sends a transaction's puts before its updates: the record is item 0, the update 1."""

        def write(transaction: TransactWrite) -> None:
            if actions:
                transaction.update(item, actions=actions, condition=WebhookItem.pk.exists())

        try:
            self._transact(write, record_at=0, idempotency=idempotency)
        except TransactWriteError as error:
            if actions and item_failed(error, 1, "ConditionalCheckFailed"):
                raise WebhookNotFound(webhook_id) from None
            if actions and item_failed(error, 1, "TransactionConflict"):  # a worker's write at that instant
                reason = "throttled (TransactionConflict)"
                raise DependencyUnavailable("DynamoDB", reason, retry_after=RETRY_AFTER_THROTTLED) from error
            raise

    def _transact(
        self, write: Callable[[TransactWrite], None], *, record_at: int, idempotency: IdempotencyRecord | None
    ) -> None:
        """One `TransactWriteItems`: the items `write` adds and the idempotency record if any, on
        the condition that its key is free (or expired: SPEC §2's 24 hours); `IdempotencyKeyInUse`
        when another request stored the key first. `record_at` is the record's place among the
        items as sent (PynamoDB groups them: condition checks, deletes, puts, then updates), which
        DynamoDB's cancellation reasons follow.

        The transaction's token is a fresh id: AWS treats botocore's resend of a transaction whose
        answer was lost as the same one, not a second that fails its own conditions."""
        try:
            with TransactWrite(connection=self._connection, client_request_token=str(uuid.uuid4())) as transaction:
                write(transaction)
                if idempotency is not None:
                    record = IdempotencyItem.from_record(idempotency)
                    transaction.save(record, condition=IdempotencyItem.claimable(datetime.now(UTC)))
        except TransactWriteError as error:
            if idempotency is not None and item_failed(error, record_at, *_CONFLICTS):
                raise IdempotencyKeyInUse(idempotency.key) from None
            raise

    def _item(self, webhook_id: str) -> WebhookItem:
        if not is_webhook_id(webhook_id):
            raise WebhookNotFound(webhook_id)
        partition = webhook_partition(webhook_id)
        try:
            owner = WebhookOwnerItem.get(partition, OWNER_SORT_KEY, consistent_read=True)
            return WebhookItem.get(user_partition(owner.user_id), partition, consistent_read=True)
        except (WebhookOwnerItem.DoesNotExist, WebhookItem.DoesNotExist):
            raise WebhookNotFound(webhook_id) from None


@reports_outages("DynamoDB")
class DynamoDeliveryRepository:
    """`DeliveryRepository` on the table; cursors are signed and bound to the endpoint's log."""

    def __init__(self, cursors: CursorCodec) -> None:
        self._cursors = cursors

    def add_if_absent(self, delivery: Delivery) -> bool:
        try:
            DeliveryItem.from_domain(delivery).save(condition=DeliveryItem.pk.does_not_exist())
        except PutError as error:
            if _condition_failed(error):
                return False
            raise
        return True

    def get(self, webhook_id: str, delivery_id: str) -> Delivery:
        if not (is_webhook_id(webhook_id) and is_delivery_id(delivery_id)):
            raise DeliveryNotFound(delivery_id)
        try:
            item = DeliveryItem.get(
                webhook_partition(webhook_id), f"{DELIVERY_PREFIX}{delivery_id}", consistent_read=True
            )
        except DeliveryItem.DoesNotExist:
            raise DeliveryNotFound(delivery_id) from None
        return item.to_domain()

    def record_attempt(self, delivery: Delivery, *, attempts_before: int) -> bool:
        condition: Condition = DeliveryItem.pk.exists() & (DeliveryItem.attempts == attempts_before)
        try:
            DeliveryItem.from_domain(delivery).save(condition=condition)
        except PutError as error:
            if _condition_failed(error):
                return False
            raise
        return True

    def list_for_endpoint(self, webhook_id: str, *, limit: int, cursor: str | None) -> DeliveryPage:
        position = None if cursor is None else self._cursors.decode(cursor, owner=webhook_id, listing=DELIVERY_LISTING)
        partition = webhook_partition(webhook_id)
        items, last = _page(DeliveryItem, partition, DELIVERY_PREFIX, position, limit=limit, descending=True)
        next_cursor = (
            None if last is None else self._cursors.encode(owner=webhook_id, position=last, listing=DELIVERY_LISTING)
        )
        return DeliveryPage(items=[item.to_domain() for item in items], next_cursor=next_cursor)


def _page[M: TableModel](
    model: type[M], partition: str, prefix: str, position: str | None, *, limit: int, descending: bool
) -> tuple[list[M], str | None]:
    """Up to `limit` items of `partition` whose sort key starts with `prefix`, after `position`
    (a sort key), and the sort key to go on from (None on the last page): one `Query` of
    `limit + 1` items, so the last page says it is the last."""
    if position is not None and not position.startswith(prefix):
        raise InvalidCursor()
    results = model.query(
        partition,
        model.sk.startswith(prefix),
        scan_index_forward=not descending,
        limit=limit + 1,
        last_evaluated_key=None if position is None else {"PK": {"S": partition}, "SK": {"S": position}},
        consistent_read=True,
    )
    items = list(results)
    if len(items) <= limit:
        return items, None
    return items[:limit], items[limit - 1].sk
