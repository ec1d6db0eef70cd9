"""`webhook_deliveries`: one webhook endpoint's delivery log, newest first (issue 14)."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from notifications_app import bootstrap
from notifications_app.domain.delivery import Delivery
from ops.management.base import OpsCommand
from tasks_app.domain.task import isoformat_utc
from tasks_app.management.base import counted


class Command(OpsCommand):
    help = (
        "List a webhook endpoint's deliveries, newest first: event, state, attempts, last status code, "
        "latency and error, next attempt. `POST /webhooks/{id}/deliveries/{delivery_id}/redeliver` sends "
        "one again."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("webhook_id", help="As `webhook_list` shows it.")
        parser.add_argument("--most", type=int, default=50, help="List at most this many.")
        parser.add_argument("--json", action="store_true", help="One JSON object per delivery.")

    def handle(self, *args: Any, **options: Any) -> None:
        bootstrap.endpoint_repository().get(options["webhook_id"])  # WebhookNotFound: a clear error
        deliveries = bootstrap.delivery_repository()
        shown, cursor = 0, None
        while shown < options["most"]:
            page = deliveries.list_for_endpoint(
                options["webhook_id"], limit=min(100, options["most"] - shown), cursor=cursor
            )
            for delivery in page.items:
                self.stdout.write(json.dumps(_shown(delivery)) if options["json"] else _line(delivery))
            shown += len(page.items)
            if (cursor := page.next_cursor) is None:
                break
        if not options["json"]:
            self.stdout.write(f"{counted(shown, 'delivery', 'deliveries')}.")


def _shown(delivery: Delivery) -> dict[str, Any]:
    return {
        "delivery_id": delivery.delivery_id,
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
        "state": delivery.state.value,
        "attempts": delivery.attempts,
        "last_status_code": delivery.last_status_code,
        "last_latency_seconds": delivery.last_latency_seconds,
        "last_error": delivery.last_error,
        "next_attempt_at": None if delivery.next_attempt_at is None else isoformat_utc(delivery.next_attempt_at),
    }


def _line(delivery: Delivery) -> str:
    status = delivery.last_status_code if delivery.last_status_code is not None else "-"
    latency = f"{delivery.last_latency_seconds:.3f}s" if delivery.last_latency_seconds is not None else "-"
    following = f"  next {isoformat_utc(delivery.next_attempt_at)}" if delivery.next_attempt_at else ""
    error = f"  {delivery.last_error}" if delivery.last_error else ""
    return (
        f"{delivery.delivery_id}  {delivery.event_type}  {delivery.state.value}  attempts {delivery.attempts}"
        f"  status {status}  {latency}{following}{error}"
    )
