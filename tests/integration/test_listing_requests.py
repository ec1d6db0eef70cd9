"""DynamoDB requests per page of a listing (SPEC §2): one Query for an unfiltered page, a page
of one status, a page by due date and a page of the trash; at most four for other filters."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from tasks_app import bootstrap
from tasks_app.adapters.dynamodb.listing import FILTERED_QUERIES_PER_PAGE
from tasks_app.application.ports import TaskFilters, TaskSort
from tasks_app.domain.task import Task
from tasks_app.domain.values import TaskStatus, UserId

NOW = datetime.now(UTC)
ALICE = UserId("alice")


def dynamodb_calls(calls) -> Counter:
    return Counter(call.operation for call in calls if call.service == "dynamodb")


def add_tasks(count: int, **fields) -> list[Task]:
    repository = bootstrap.task_repository()
    tasks = []
    for i in range(count):
        task = Task.create(user_id=ALICE, title=f"t{i}", now=NOW + timedelta(seconds=i), **fields)
        repository.add(task)
        tasks.append(task)
    return tasks


ONE_QUERY = {
    "newest": (TaskFilters(), TaskSort.NEWEST_FIRST),
    "one status": (TaskFilters(statuses=(TaskStatus.PENDING,)), TaskSort.NEWEST_FIRST),
    "due soonest": (TaskFilters(), TaskSort.DUE_SOONEST),
    "due soonest, due between": (
        TaskFilters(due_after=NOW, due_before=NOW + timedelta(days=30)),
        TaskSort.DUE_SOONEST,
    ),
}


@pytest.mark.parametrize("listing", ONE_QUERY.values(), ids=ONE_QUERY.keys())
def test_each_page_of_these_listings_is_one_query(aws, listing):
    filters, sort = listing
    add_tasks(7, due_at=NOW + timedelta(days=1))
    repository = bootstrap.task_repository()
    with aws.server.recording() as calls:
        first = repository.list_for_user(ALICE, limit=3, cursor=None, filters=filters, sort=sort)
        second = repository.list_for_user(ALICE, limit=3, cursor=first.next_cursor, filters=filters, sort=sort)
        last = repository.list_for_user(ALICE, limit=3, cursor=second.next_cursor, filters=filters, sort=sort)
    assert [len(page.items) for page in (first, second, last)] == [3, 3, 1]
    assert last.next_cursor is None
    assert dynamodb_calls(calls) == Counter({"Query": 3})


def test_each_page_of_the_trash_is_one_query(aws):
    repository = bootstrap.task_repository()
    for task in add_tasks(5):
        read = repository.get(task.task_id)
        read.delete(NOW)
        repository.update(read)
    with aws.server.recording() as calls:
        first = repository.list_trash(ALICE, limit=3, cursor=None)
        last = repository.list_trash(ALICE, limit=3, cursor=first.next_cursor)
    assert [len(page.items) for page in (first, last)] == [3, 2]
    assert last.next_cursor is None
    assert dynamodb_calls(calls) == Counter({"Query": 2})


def test_a_sparse_filter_reads_a_bounded_number_of_queries_and_comes_back_short(aws):
    repository = bootstrap.task_repository()
    [tagged] = add_tasks(1, tags=["rare"])  # the oldest: read last
    add_tasks(20)
    rare = TaskFilters(tag="rare")
    with aws.server.recording() as calls:
        first = repository.list_for_user(ALICE, limit=2, cursor=None, filters=rare)
    assert dynamodb_calls(calls) == Counter({"Query": FILTERED_QUERIES_PER_PAGE})
    assert first.items == []  # 4 x 3 items read, none of them tagged: short, never wrong
    assert first.next_cursor is not None
    pages = [first]
    while pages[-1].next_cursor is not None:
        pages.append(repository.list_for_user(ALICE, limit=2, cursor=pages[-1].next_cursor, filters=rare))
    assert [task.task_id for page in pages for task in page.items] == [tagged.task_id]


def test_a_filter_that_matches_every_task_reads_one_query_per_page(aws):
    add_tasks(5, tags=["common"])
    with aws.server.recording() as calls:
        page = bootstrap.task_repository().list_for_user(ALICE, limit=3, cursor=None, filters=TaskFilters(tag="common"))
    assert len(page.items) == 3
    assert page.next_cursor is not None
    assert dynamodb_calls(calls) == Counter({"Query": 1})


def test_contradictory_due_bounds_cost_no_request(aws):
    bounds = TaskFilters(due_after=NOW, due_before=NOW)
    with aws.server.recording() as calls:
        page = bootstrap.task_repository().list_for_user(ALICE, limit=3, cursor=None, filters=bounds)
    assert page.items == []
    assert dynamodb_calls(calls) == Counter()
