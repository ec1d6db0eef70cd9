"""Errors of the notifications' domain; the API maps each one to an HTTP status."""

from __future__ import annotations

from tasks_app.domain.errors import NotFound


class WebhookNotFound(NotFound):
    """No webhook endpoint has this id (or it is another user's: its existence does not leak)."""

    def __init__(self, webhook_id: str) -> None:
        super().__init__(f"Webhook {webhook_id!r} was not found.")
        self.webhook_id = webhook_id


class DeliveryNotFound(NotFound):
    """The webhook endpoint has no delivery with this id."""

    def __init__(self, delivery_id: str) -> None:
        super().__init__(f"Delivery {delivery_id!r} was not found.")
        self.delivery_id = delivery_id
