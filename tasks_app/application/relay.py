"""The outbox relay: publishes stored events to subscribers, then forgets them.

Two relays share this code. The table's stream reports each event as it is stored
(`relay_reported`: a Lambda stream event source deployed, a stream reader locally), and a
sweeper (`relay_outbox`) publishes whatever the stream relay could not, on a schedule.

Events leave in each task's order. A batch never holds two events of one task, so a publish
that fails halfway cannot let a later event overtake an earlier one; once an event of a task
fails, the task's later events wait for the next run. Two relays may publish the same event
(the stream's and the sweeper's); subscribers are idempotent, and the sweeper leaves recent
events to the stream relay to keep that rare.

Each event gets a line of its own (published, left to the sweeper, or to be tried again), logged
within `about(entry)`: with its `event_id` and the `request_id` of the request that caused it
(SPEC §9). A batch's publish is one call for up to ten events of as many requests, so what is
logged during it (the SDK's retries, an SNS outage) names the batch's event ids instead.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime

from tasks_app import correlation
from tasks_app.application.ports import PUBLISH_BATCH_MAX, EventPublisher, Outbox, OutboxEntry, RelayMetrics
from tasks_app.domain.values import TaskId

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RelayResult:
    """What one run did: `published` events sent and forgotten; `held_back` left for a later run
    (failed, after a failed one of the same task, or too recent for the sweeper); `unpublished`,
    those of the entries handed to `relay_reported` that were not sent, in the order given."""

    published: int
    held_back: int
    unpublished: tuple[OutboxEntry, ...] = field(default=())


def relay_outbox(
    *,
    outbox: Outbox,
    publisher: EventPublisher,
    task_id: TaskId | None = None,
    stored_before: datetime | None = None,
    limit: int = 500,
    metrics: RelayMetrics | None = None,
) -> RelayResult:
    """The sweeper's pass: publish pending events, `task_id`'s or everyone's stored before
    `stored_before`, reading at most `limit` per outbox shard; `metrics`, if given, hears of
    each batch published. Raises what the ports raise (`DependencyUnavailable` in an outage); what was
    published before that is forgotten."""
    pending = outbox.pending(task_id=task_id, limit=limit)
    result = relay_reported(_settled(pending, stored_before), outbox=outbox, publisher=publisher, metrics=metrics)
    return RelayResult(published=result.published, held_back=len(pending) - result.published)


def relay_reported(
    entries: Sequence[OutboxEntry],
    *,
    outbox: Outbox,
    publisher: EventPublisher,
    after_earlier: bool = False,
    metrics: RelayMetrics | None = None,
) -> RelayResult:
    """Publish `entries` (each task's in its order, as the outbox or its stream gives them) in
    batches of up to `PUBLISH_BATCH_MAX`, then forget those published; `metrics`, if given, hears
    of each batch as the publisher accepts it. Returns what was done; `unpublished` lists those that
    failed, in the given order. Raises what the ports raise.

    With `after_earlier` (the stream relay, which sees only the events just stored) a task whose
    earlier event is still in the outbox (the stream relay gave up on it, SNS refused it) is left
    whole to the sweeper, which publishes that one first: counted in `held_back`, not failed, so
    the stream moves on and no task's events overtake each other. It costs one read of the
    outbox when a batch holds a task's later events without their predecessor.
    """
    stuck = _behind_an_earlier_event(entries, outbox) if after_earlier else set()
    for entry in entries:
        if entry.task_id in stuck:
            with about(entry):
                logger.info(
                    "Left to the sweeper, behind an earlier event of its task still stored", extra=_where(entry)
                )
    to_send = [entry for entry in entries if entry.task_id not in stuck]
    waiting = list(to_send)
    stopped_tasks: set[str] = set()
    sent: set[str] = set()
    while waiting:
        batch, waiting = _next_batch(waiting, stopped_tasks)
        if not batch:
            break
        accepted = publisher.publish(batch)
        if metrics is not None:
            metrics.published(accepted)
        accepted_ids = {entry.event_id for entry in accepted}
        stopped_tasks.update(entry.task_id for entry in batch if entry.event_id not in accepted_ids)
        for entry in accepted:
            with about(entry):
                logger.info("Published %s", entry.event_type, extra=_where(entry))
        if accepted:
            outbox.remove(accepted)
            sent.update(accepted_ids)
    unpublished = tuple(entry for entry in to_send if entry.event_id not in sent)
    for entry in unpublished:
        with about(entry):
            logger.warning("%s not published; the relay will try again", entry.event_type, extra=_where(entry))
    return RelayResult(published=len(sent), held_back=len(entries) - len(sent), unpublished=unpublished)


def about(entry: OutboxEntry) -> AbstractContextManager[None]:
    """Within the block, log lines (the relay's, the SDK's) name `entry`'s event and the request
    that caused it (SPEC §9): `request_id` and `event_id` on each line; null request id for an
    event stored before requests were recorded with events."""
    return correlation.bound(request_id=entry.request_id, event_id=entry.event_id, trace_header=entry.trace_header)


def _where(entry: OutboxEntry) -> dict[str, object]:
    return {"task_id": entry.task_id, "sequence": entry.sequence}


def _behind_an_earlier_event(entries: Sequence[OutboxEntry], outbox: Outbox) -> set[str]:
    """The tasks whose first event among `entries` follows one still in the outbox."""
    first: dict[str, OutboxEntry] = {}
    for entry in entries:
        first.setdefault(entry.task_id, entry)
    earlier = [(task, entry.sequence - 1) for task, entry in first.items() if entry.sequence > 1]
    return {task for task, _ in outbox.still_stored(earlier)}


def _settled(entries: list[OutboxEntry], stored_before: datetime | None) -> list[OutboxEntry]:
    """Entries old enough; a task's first recent entry holds back its later ones too."""
    if stored_before is None:
        return entries
    recent_tasks: set[str] = set()
    settled = []
    for entry in entries:
        if entry.task_id in recent_tasks or (entry.stored_at is not None and entry.stored_at >= stored_before):
            recent_tasks.add(entry.task_id)
        else:
            settled.append(entry)
    return settled


def _next_batch(waiting: list[OutboxEntry], stopped_tasks: set[str]) -> tuple[list[OutboxEntry], list[OutboxEntry]]:
    """The oldest event of up to ten tasks that have not failed; and what is left."""
    batch: list[OutboxEntry] = []
    rest: list[OutboxEntry] = []
    in_batch: set[str] = set()
    for entry in waiting:
        if entry.task_id in stopped_tasks:
            continue
        if len(batch) < PUBLISH_BATCH_MAX and entry.task_id not in in_batch:
            batch.append(entry)
            in_batch.add(entry.task_id)
        else:
            rest.append(entry)
    return batch, rest
