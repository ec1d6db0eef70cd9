"""Listings as index queries (SPEC §2): which index serves which listing, and how a page is read.

| Listing | Index | Key condition | Filter | Queries per page |
|---|---|---|---|---|
| newest first, no filter | GSI1 | `USER#<u>`, `TASK#...` | - | 1 |
| newest first, one status | GSI2 | `USER#<u>#STATUS#<s>`, `TASK#...` | - | 1 |
| due soonest | GSI3 | `USER#<u>`, `DUE#...` between the due bounds | - | 1 |
| trash, latest deletion first | GSI1 | `USER#<u>`, `TRASH#...` | not yet expired | 1 (see below) |
| anything else | the above by sort and status | as above | the other filters | 1 to 4 |

Every request reads at most `limit + 1` items: one more than the page, which tells whether
another page exists. A listing with a filter expression may find fewer matches than that in
one request, so it reads on, with at most `FILTERED_QUERIES_PER_PAGE` requests per page; a page
may then come back short, with a cursor to the place where reading stopped. It is never wrong:
the cursor is the index key of the last item evaluated, so the next page starts right after it.
The trash filter only drops tasks past their 30 days that TTL has not deleted yet, so in
practice its pages cost one request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.expressions.condition import Condition
from pynamodb.indexes import GlobalSecondaryIndex

from tasks_app.adapters.dynamodb import keys
from tasks_app.adapters.dynamodb.models import TaskItem
from tasks_app.application.ports import TaskFilters, TaskSort
from tasks_app.domain.errors import InvalidCursor
from tasks_app.domain.values import Priority, TaskId, UserId

# Bounds the cost of a filtered page: at most 4 x (limit + 1) items read, in at most 4 round
# trips (about 4 x 10 ms in a region). Enough for filters that keep a quarter of the tasks to
# fill most pages; sparser filters get short pages rather than slow or costly ones.
FILTERED_QUERIES_PER_PAGE = 4

RawKey = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class IndexQuery:
    """One listing as a query of one index: partition, sort key range, order and residual filter."""

    index: GlobalSecondaryIndex[TaskItem]
    number: int  # GSI<number>: its keys are `GSI<number>PK` and `GSI<number>SK`
    partition: str
    sort_condition: Condition
    position: re.Pattern[str]  # what the sort key of an item in this listing looks like
    descending: bool  # newest (or latest deleted) first; ascending by due date
    filter: Condition | None = None

    @property
    def max_requests(self) -> int:
        return 1 if self.filter is None else FILTERED_QUERIES_PER_PAGE

    @property
    def sort_attribute(self) -> str:
        return f"GSI{self.number}SK"

    def position_of(self, item: TaskItem) -> str:
        """The index sort key of `item`: where the next page starts after it."""
        return str(getattr(item, f"gsi{self.number}sk"))

    def start_key(self, position: str) -> RawKey:
        """The `ExclusiveStartKey` of a cursor's position; `InvalidCursor` if it cannot be one."""
        match = self.position.fullmatch(position)
        if match is None or not TaskId.is_valid(match["task_id"]):
            raise InvalidCursor()
        key = keys.task_key(match["task_id"])
        return {
            "PK": {"S": key},
            "SK": {"S": key},
            f"GSI{self.number}PK": {"S": self.partition},
            self.sort_attribute: {"S": position},
        }


def live_query(user_id: UserId, filters: TaskFilters, sort: TaskSort) -> IndexQuery | None:
    """The query of a listing of live tasks; None when the filters can match nothing."""
    if filters.due_after and filters.due_before and filters.due_after >= filters.due_before:
        return None
    if sort is TaskSort.DUE_SOONEST:
        # Due bounds are key conditions here; undated tasks (`DUE#~`) match no bound.
        undated = filters.due_after is None and filters.due_before is None
        low = keys.due_lower_bound(filters.due_after)
        high = keys.due_upper_bound(filters.due_before, undated=undated)
        return IndexQuery(
            index=TaskItem.by_due_date,
            number=3,
            partition=keys.user_partition(user_id),
            sort_condition=TaskItem.gsi3sk.between(low, high),
            position=keys.DUE_POSITION,
            descending=False,
            filter=_residual(filters, statuses=True, due=False),
        )
    if len(filters.statuses) == 1:
        return IndexQuery(
            index=TaskItem.by_status,
            number=2,
            partition=keys.status_partition(user_id, filters.statuses[0]),
            sort_condition=TaskItem.gsi2sk.startswith(keys.LIVE_PREFIX),
            position=keys.LIVE_POSITION,
            descending=True,
            filter=_residual(filters, statuses=False, due=True),
        )
    return IndexQuery(
        index=TaskItem.by_user,
        number=1,
        partition=keys.user_partition(user_id),
        # The prefix keeps out the trash, and any other item type that may share GSI1.
        sort_condition=TaskItem.gsi1sk.startswith(keys.LIVE_PREFIX),
        position=keys.LIVE_POSITION,
        descending=True,
        filter=_residual(filters, statuses=True, due=True),
    )


def trash_query(user_id: UserId, *, now: datetime) -> IndexQuery:
    """The query of a user's trash, latest deletion first, leaving out tasks due for purging."""
    return IndexQuery(
        index=TaskItem.by_user,
        number=1,
        partition=keys.user_partition(user_id),
        sort_condition=TaskItem.gsi1sk.startswith(keys.TRASH_PREFIX),
        position=keys.TRASH_POSITION,
        descending=True,
        filter=TaskItem.expires_at > now,
    )


def read_page(query: IndexQuery, *, limit: int, position: str | None) -> tuple[list[TaskItem], str | None]:
    """Up to `limit` items of the listing after `position`, and the position to go on from
    (None when the listing is exhausted). Issues at most `query.max_requests` Query requests."""
    results = query.index.query(
        query.partition,
        range_key_condition=query.sort_condition,
        filter_condition=query.filter,
        scan_index_forward=not query.descending,
        page_size=limit + 1,
        last_evaluated_key=query.start_key(position) if position is not None else None,
    )
    found: list[TaskItem] = []
    # `zip` takes from `range` first, so no request is made beyond the bound.
    for _, page in zip(range(query.max_requests), results.page_iter, strict=False):
        found.extend(TaskItem.from_raw_data(raw) for raw in page.get("Items", []))
        if len(found) > limit:
            return found[:limit], query.position_of(found[limit - 1])
    evaluated = results.page_iter.last_evaluated_key
    if evaluated is None:
        return found, None
    # Out of requests: go on after the last item read, which may not have matched.
    return found, str(evaluated[query.sort_attribute]["S"])


def _residual(filters: TaskFilters, *, statuses: bool, due: bool) -> Condition | None:
    """The filter expression for what the index's keys do not select (SPEC §2 filters)."""
    conditions: list[Condition] = []
    if statuses and filters.statuses:
        conditions.append(TaskItem.status.is_in(*(status.value for status in filters.statuses)))
    if filters.priority is Priority.NORMAL:
        # Tasks stored before priorities have no `Priority` and are normal.
        conditions.append((TaskItem.priority == Priority.NORMAL.value) | TaskItem.priority.does_not_exist())
    elif filters.priority is not None:
        conditions.append(TaskItem.priority == filters.priority.value)
    if filters.tag is not None:
        conditions.append(TaskItem.tags.contains(filters.tag.strip().lower()))
    if due and filters.due_after is not None:
        conditions.append(TaskItem.due_at > filters.due_after)  # absent (undated) compares false
    if due and filters.due_before is not None:
        conditions.append(TaskItem.due_at < filters.due_before)
    if not conditions:
        return None
    combined = conditions[0]
    for condition in conditions[1:]:
        combined &= condition
    return combined
