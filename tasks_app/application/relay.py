"""The outbox relay: publishes stored events to subscribers, then forgets them.

Events leave in each task's order. A batch never holds two events of one task, so a
publish that fails halfway cannot let a later event overtake an earlier one; once an event
of a task fails, the task's later events wait for the next run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tasks_app.application.ports import EventPublisher, Outbox, OutboxEntry
from tasks_app.domain.values import TaskId

logger = logging.getLogger(__name__)

BATCH_SIZE = 10  # what one PublishBatch takes


@dataclass(frozen=True)
class RelayResult:
    published: int
    held_back: int


def relay_outbox(
    *, outbox: Outbox, publisher: EventPublisher, task_id: TaskId | None = None, limit: int = 500
) -> RelayResult:
    waiting = outbox.pending(task_id=task_id, limit=limit)
    found = len(waiting)
    failed_tasks: set[str] = set()
    published = 0
    while waiting:
        batch, waiting = _next_batch(waiting, failed_tasks)
        if not batch:
            break
        accepted = publisher.publish(batch)
        accepted_ids = {entry.event_id for entry in accepted}
        failed_tasks.update(entry.task_id for entry in batch if entry.event_id not in accepted_ids)
        if accepted:
            outbox.remove(accepted)
            published += len(accepted)
    held_back = found - published
    if failed_tasks:
        logger.warning(
            "Some events were not published; the relay will try again", extra={"tasks": sorted(failed_tasks)}
        )
    return RelayResult(published=published, held_back=held_back)


def _next_batch(waiting: list[OutboxEntry], failed_tasks: set[str]) -> tuple[list[OutboxEntry], list[OutboxEntry]]:
    """The oldest event of up to ten tasks that have not failed; and what is left."""
    batch: list[OutboxEntry] = []
    rest: list[OutboxEntry] = []
    in_batch: set[str] = set()
    for entry in waiting:
        if entry.task_id in failed_tasks:
            continue
        if len(batch) < BATCH_SIZE and entry.task_id not in in_batch:
            batch.append(entry)
            in_batch.add(entry.task_id)
        else:
            rest.append(entry)
    return batch, rest
