"""Use cases of the webhook endpoints, named `webhook_<action>`: a user manages only their own,
admins may read others' (issue 14; the same rule as tasks, `tasks_app.application.access`)."""

from __future__ import annotations

from datetime import datetime

from notifications_app.application.ports import EndpointChanges, EndpointPage, EndpointRepository, UrlCheck
from notifications_app.domain.endpoint import (
    MAX_ENDPOINTS_PER_USER,
    URL_MAX_LENGTH,
    WebhookEndpoint,
    check_description,
    new_secret,
    new_webhook_id,
    parse_event_types,
)
from notifications_app.domain.errors import WebhookNotFound
from tasks_app.application.access import AccessDenied, Caller, acting_user
from tasks_app.application.idempotency import IdempotencyClaim
from tasks_app.domain.errors import InvalidValue

PAGE_SIZE_DEFAULT = 50  # SPEC §2's listing sizes, as for tasks
PAGE_SIZE_MAX = 100


def checked_url(url: str, check: UrlCheck) -> str:
    """`url` trimmed, if webhooks may go there; `InvalidValue("url", why)` otherwise."""
    url = url.strip()
    if len(url) > URL_MAX_LENGTH:
        raise InvalidValue("url", f"Must be at most {URL_MAX_LENGTH} characters.")
    try:
        check(url)
    except ValueError as error:  # UnsafeUrl: its message says why
        raise InvalidValue("url", str(error)) from None
    return url


def webhook_create(
    *,
    user_id: str | None,
    url: str,
    event_types: list[str],
    description: str = "",
    caller: Caller | None,
    repository: EndpointRepository,
    url_check: UrlCheck,
    now: datetime,
    idempotency: IdempotencyClaim[WebhookEndpoint] | None = None,
) -> WebhookEndpoint:
    """Register an endpoint for the caller (or, with authentication off, the `user_id` given);
    `InvalidValue` for a bad url, event type or description, or for a user who already has
    `MAX_ENDPOINTS_PER_USER` endpoints; `AccessDenied` for another user's;
    `IdempotencyKeyInUse` when a request with the same key stored it first (SPEC §2: the caller
    replays that one's response; the key is stored in the endpoint's own transaction).

    The cap is checked by counting before the write, so two registrations at the same instant
    may both pass it: a user can end one or two over, never unboundedly.
    """
    owner = acting_user(caller, user_id, resource="webhooks")
    if caller is not None and owner != caller.user_id:
        raise AccessDenied("Admins may read other users' webhooks, but only their owner may register one.")
    check_description(description)
    checked = checked_url(url, url_check)
    kinds = parse_event_types(event_types)
    if repository.count_for_user(str(owner)) >= MAX_ENDPOINTS_PER_USER:
        raise InvalidValue(
            "webhooks",
            f"A user may register at most {MAX_ENDPOINTS_PER_USER} webhooks: delete one you no longer "
            "need (DELETE /webhooks/{id}), or subscribe one endpoint to several event types.",
        )
    endpoint = WebhookEndpoint(
        webhook_id=new_webhook_id(),
        user_id=str(owner),
        url=checked,
        event_types=kinds,
        description=description,
        secret=new_secret(),
        created_at=now,
    )
    repository.add(endpoint, idempotency=idempotency.record_for(endpoint, now) if idempotency else None)
    return endpoint


def webhook_get(*, webhook_id: str, caller: Caller | None, repository: EndpointRepository) -> WebhookEndpoint:
    """The endpoint, if the caller may read it; `WebhookNotFound` otherwise."""
    endpoint = repository.get(webhook_id)
    require_own(caller, endpoint, may_read_others=True)
    return endpoint


def webhook_list(
    *,
    user_id: str | None,
    limit: int,
    cursor: str | None,
    caller: Caller | None,
    repository: EndpointRepository,
) -> EndpointPage:
    """A page of a user's endpoints; `AccessDenied` for another user's without the admin group."""
    owner = acting_user(caller, user_id, resource="webhooks")
    if not 1 <= limit <= PAGE_SIZE_MAX:
        raise InvalidValue("limit", f"Must be between 1 and {PAGE_SIZE_MAX}.")
    return repository.list_for_user(str(owner), limit=limit, cursor=cursor or None)


def webhook_update(
    *,
    webhook_id: str,
    changes: EndpointChanges,
    caller: Caller | None,
    repository: EndpointRepository,
    url_check: UrlCheck,
    now: datetime,
    idempotency: IdempotencyClaim[WebhookEndpoint] | None = None,
) -> WebhookEndpoint:
    """Change the endpoint's url, event types, description or `enabled`; the owner only.
    With `idempotency` (SPEC §2), the response shows the endpoint as read and changed
    (`WebhookEndpoint.changed`), stored with the change; `IdempotencyKeyInUse` as for a create."""
    endpoint = repository.get(webhook_id)
    require_own(caller, endpoint, may_read_others=False)
    if changes.description is not None:
        check_description(changes.description)
    checked = EndpointChanges(
        url=None if changes.url is None else checked_url(changes.url, url_check),
        event_types=None if changes.event_types is None else parse_event_types(changes.event_types),
        description=changes.description,
        enabled=changes.enabled,
    )
    if idempotency is None:
        return repository.update(endpoint, checked, now=now)
    changed = endpoint.changed(
        url=checked.url,
        event_types=checked.event_types,
        description=checked.description,
        enabled=checked.enabled,
        now=now,
    )
    repository.update(endpoint, checked, now=now, idempotency=idempotency.record_for(changed, now))
    return changed


def webhook_delete(*, webhook_id: str, caller: Caller | None, repository: EndpointRepository) -> None:
    """Delete the endpoint; its pending retries then fail without being sent. The owner only."""
    endpoint = repository.get(webhook_id)
    require_own(caller, endpoint, may_read_others=False)
    repository.delete(endpoint)


def webhook_rotate_secret(
    *,
    webhook_id: str,
    caller: Caller | None,
    repository: EndpointRepository,
    now: datetime,
    idempotency: IdempotencyClaim[WebhookEndpoint] | None = None,
) -> WebhookEndpoint:
    """Give the endpoint a new secret; the old one keeps signing beside it for 24 h (the one
    before it, if any, stops at once: `WebhookEndpoint.rotated`). The owner only.
    With `idempotency` (SPEC §2), a retry gets this secret again instead of rotating twice (which
    would end the overlap of the secret the receiver still holds); `IdempotencyKeyInUse` as above."""
    endpoint = repository.get(webhook_id)
    require_own(caller, endpoint, may_read_others=False)
    rotated = endpoint.rotated(now)
    repository.replace_secrets(rotated, idempotency=idempotency.record_for(rotated, now) if idempotency else None)
    return rotated


def require_own(caller: Caller | None, endpoint: WebhookEndpoint, *, may_read_others: bool) -> None:
    """Someone else's endpoint is not found, so its existence does not leak; admins may read it
    and get `AccessDenied` when they try to change it (as for tasks)."""
    if caller is None or endpoint.user_id == str(caller.user_id):
        return
    if caller.is_admin:
        if may_read_others:
            return
        raise AccessDenied(
            f"Admins may read {endpoint.user_id}'s webhooks, but only {endpoint.user_id} may change them."
        )
    raise WebhookNotFound(endpoint.webhook_id)
