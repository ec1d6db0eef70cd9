"""`webhook_list`: the registered webhook endpoints, one user's or everyone's (issue 14)."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from collections.abc import Iterator
from typing import Any

from notifications_app import bootstrap
from notifications_app.adapters.models import WebhookItem
from notifications_app.domain.endpoint import WebhookEndpoint
from ops.management.base import OpsCommand
from tasks_app.management.base import counted


class Command(OpsCommand):
    help = (
        "List webhook endpoints: id, owner, enabled (or why disabled), failures in a row, event types, URL. "
        "With --user, that user's (one Query a page); without, everyone's (a Scan of the table: an "
        "operator's tool, not for a hot path). Secrets are never shown."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--user", help="Only this user's endpoints.")
        parser.add_argument("--json", action="store_true", help="One JSON object per endpoint.")

    def handle(self, *args: Any, **options: Any) -> None:
        listed = 0
        for endpoint in _endpoints(options["user"]):
            listed += 1
            if options["json"]:
                self.stdout.write(json.dumps(_shown(endpoint), ensure_ascii=False))
                continue
            state = "enabled" if endpoint.enabled else f"DISABLED ({endpoint.disabled_reason or 'by its owner'})"
            self.stdout.write(
                f"{endpoint.webhook_id}  {endpoint.user_id}  {state}  failures in a row {endpoint.consecutive_failures}"
                f"  {','.join(endpoint.event_types)}  {endpoint.url}"
            )
        if not options["json"]:
            self.stdout.write(f"{counted(listed, 'webhook')}.")


def _endpoints(user: str | None) -> Iterator[WebhookEndpoint]:
    repository = bootstrap.endpoint_repository()  # binds the models to the table, too
    if user is None:
        for item in WebhookItem.scan(WebhookItem.item_type == "WebhookEndpoint"):
            yield item.to_domain()
        return
    cursor = None
    while True:
        page = repository.list_for_user(user, limit=100, cursor=cursor)
        yield from page.items
        if (cursor := page.next_cursor) is None:
            return


def _shown(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "webhook_id": endpoint.webhook_id,
        "user_id": endpoint.user_id,
        "url": endpoint.url,
        "event_types": list(endpoint.event_types),
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "consecutive_failures": endpoint.consecutive_failures,
    }
