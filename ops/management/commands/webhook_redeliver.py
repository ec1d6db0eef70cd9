"""`webhook_redeliver`: send deliveries of a webhook endpoint again (issue 14 item 7)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError

from notifications_app import bootstrap
from notifications_app.application.delivery_log import delivery_redeliver
from notifications_app.domain.delivery import DeliveryState
from ops.management.base import OpsCommand
from tasks_app import bootstrap as tasks_wiring
from tasks_app.management.base import counted

_PAGE = 100  # deliveries read per Query of the log


class Command(OpsCommand):
    help = (
        "Queue the next attempt of a webhook endpoint's deliveries now, as "
        "`POST /webhooks/{id}/deliveries/{delivery_id}/redeliver` does: the deliveries named, or with "
        "--failed every delivery of the endpoint that failed (after a receiver's outage, say). A pending "
        "delivery keeps its retry schedule; a succeeded or failed one gets one attempt more. The worker "
        "(`make run`'s, or the deployed function) makes the attempts; `webhook_deliveries` shows them."
    )
    examples = (
        "python manage.py webhook_redeliver wh-0d6c1a52-8d4a-4c1e-9b7f-2a6d5e4c3b21 20261201T170000000000Z-0d6c1a52…",
        "python manage.py webhook_redeliver wh-0d6c1a52-8d4a-4c1e-9b7f-2a6d5e4c3b21 --failed",
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("webhook_id", help="As `webhook_list` shows it.")
        parser.add_argument(
            "delivery_ids", nargs="*", metavar="DELIVERY_ID", help="As `webhook_deliveries` shows them."
        )
        parser.add_argument("--failed", action="store_true", help="Every delivery of the endpoint in state failed.")

    def handle(self, *args: Any, **options: Any) -> None:
        webhook_id: str = options["webhook_id"]
        named: list[str] = options["delivery_ids"]
        if bool(named) == bool(options["failed"]):
            raise CommandError("Name the deliveries to send again, or give --failed (not both).")
        endpoint = bootstrap.endpoint_repository().get(webhook_id)  # WebhookNotFound: a clear error
        if not endpoint.enabled:
            raise CommandError(
                f"{webhook_id} is disabled ({endpoint.disabled_reason or 'by its owner'}): its deliveries would "
                "fail at once. Enable it first (PATCH /webhooks/{id} with enabled: true)."
            )
        queued = 0
        for delivery_id in named or self._failed(webhook_id):
            # No caller: an operator acts for the owner (the API checks ownership; this command runs
            # with the stage's own credentials).
            again = delivery_redeliver(
                webhook_id=webhook_id,
                delivery_id=delivery_id,
                caller=None,
                endpoints=bootstrap.endpoint_repository(),
                deliveries=bootstrap.delivery_repository(),
                queue=bootstrap.delivery_queue(),
                now=tasks_wiring.utc_now(),
            )
            self.stdout.write(f"queued  {delivery_id}  ({again.event_type}, attempt {again.attempts + 1})")
            queued += 1
        self.stdout.write(f"{counted(queued, 'delivery', 'deliveries')} queued again.")

    def _failed(self, webhook_id: str) -> list[str]:
        """The ids of the endpoint's failed deliveries, read before any is queued again."""
        deliveries, cursor, found = bootstrap.delivery_repository(), None, list[str]()
        while True:
            page = deliveries.list_for_endpoint(webhook_id, limit=_PAGE, cursor=cursor)
            found += [delivery.delivery_id for delivery in page.items if delivery.state is DeliveryState.FAILED]
            if (cursor := page.next_cursor) is None:
                return found
