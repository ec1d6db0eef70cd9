"""The outbox relay, against fakes: order per task, partial failures, nothing lost."""

from datetime import UTC, datetime

from tasks_app.application.ports import OutboxEntry
from tasks_app.application.relay import relay_outbox
from tasks_app.domain.task import Task
from tasks_app.domain.values import TaskId, UserId
from tests.fakes import FakeOutbox, FakePublisher

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def completed_task_entries() -> list[OutboxEntry]:
    task = Task.create(user_id=UserId("alice"), title="t", now=NOW)
    task.complete(NOW)
    return [OutboxEntry.from_event(e) for e in task.pull_events()]


def test_everything_pending_is_published_once_and_removed():
    outbox, publisher = FakeOutbox(), FakePublisher()
    outbox.entries = [e for _ in range(4) for e in completed_task_entries()]
    expected = sorted(e.event_id for e in outbox.entries)
    result = relay_outbox(outbox=outbox, publisher=publisher)
    assert (result.published, result.held_back) == (12, 0)
    assert sorted(e.event_id for e in publisher.published) == expected
    assert outbox.entries == []


def test_each_tasks_events_go_out_in_order_and_never_two_in_a_batch():
    outbox, publisher = FakeOutbox(), FakePublisher()
    outbox.entries = [e for _ in range(12) for e in completed_task_entries()]  # 36 events, 12 tasks
    relay_outbox(outbox=outbox, publisher=publisher)
    assert all(len(batch) <= 10 for batch in publisher.batches)
    assert all(len({e.task_id for e in batch}) == len(batch) for batch in publisher.batches)
    by_task: dict[str, list[int]] = {}
    for entry in publisher.published:
        by_task.setdefault(entry.task_id, []).append(entry.sequence)
    assert all(sequences == [1, 2, 3] for sequences in by_task.values())


def test_a_refused_event_holds_back_its_tasks_later_events_and_stays_in_the_outbox():
    outbox, publisher = FakeOutbox(), FakePublisher()
    troubled, fine = completed_task_entries(), completed_task_entries()
    outbox.entries = troubled + fine
    publisher.refuse = {troubled[1].event_id}
    result = relay_outbox(outbox=outbox, publisher=publisher)
    assert (result.published, result.held_back) == (4, 2)
    assert [e.event_id for e in outbox.entries] == [troubled[1].event_id, troubled[2].event_id]
    publisher.refuse = set()
    assert relay_outbox(outbox=outbox, publisher=publisher).published == 2
    troubled_order = [e.sequence for e in publisher.published if e.task_id == troubled[0].task_id]
    assert troubled_order == [1, 2, 3]
    assert outbox.entries == []


def test_when_the_publisher_is_down_nothing_is_removed():
    outbox, publisher = FakeOutbox(), FakePublisher()
    outbox.entries = completed_task_entries()
    publisher.down = True
    result = relay_outbox(outbox=outbox, publisher=publisher)
    assert (result.published, result.held_back) == (0, 3)
    assert len(outbox.entries) == 3


def test_relaying_one_task_leaves_the_others_alone():
    outbox, publisher = FakeOutbox(), FakePublisher()
    mine, theirs = completed_task_entries(), completed_task_entries()
    outbox.entries = mine + theirs
    relay_outbox(outbox=outbox, publisher=publisher, task_id=TaskId(mine[0].task_id))
    assert outbox.entries == theirs
