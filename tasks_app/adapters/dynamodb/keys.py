"""Key formats of task items in the single table and its indexes (SPEC §3).

| Index | Partition key | Sort key | Holds |
|---|---|---|---|
| table | `PK` = `TASK#<id>` | `SK` = `TASK#<id>` | every task, live or trashed |
| GSI1 | `GSI1PK` = `USER#<user>` | `GSI1SK` = `TASK#<created>#<id>` | live tasks, newest first |
| GSI1 | `GSI1PK` = `USER#<user>` | `GSI1SK` = `TRASH#<deleted>#<id>` | trashed tasks, latest first |
| GSI2 | `GSI2PK` = `USER#<user>#STATUS#<status>` | `GSI2SK` = `TASK#<created>#<id>` | live tasks by status |
| GSI3 | `GSI3PK` = `USER#<user>` | `GSI3SK` = `DUE#<due or ~>#<id>` | live tasks by due date |
| GSI4 | `GSI4PK` = `REMIND#<UTC hour>` | `GSI4SK` = `<remind at>#<id>` | open tasks with a reminder pending |

Times are fixed-width ISO 8601 (`isoformat_utc`), so text order is time order; the task id
ends each sort key so that no two tasks share one. `~` sorts after every date, so undated
tasks come last. A trashed task has no GSI2 or GSI3 keys: it is in neither index. GSI4 is
sparse too: only open, live tasks with a reminder pending (`Task.remind_at`) have its keys,
partitioned by the UTC hour of that instant (`2026-12-02T10`) so a sweep reads one hour per Query.
"""

from __future__ import annotations

import re
from datetime import datetime

from tasks_app.domain.task import isoformat_utc
from tasks_app.domain.values import TaskId, TaskStatus, UserId

LIVE_PREFIX = "TASK#"
TRASH_PREFIX = "TRASH#"
DUE_PREFIX = "DUE#"
NO_DUE_DATE = "~"  # after every digit: tasks without a due date sort last (SPEC §2)

_TIME = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z"
_ID = r"(?P<task_id>task-[0-9a-f-]{36})"
# What a cursor's position (an index sort key) may look like, per kind of sort key.
LIVE_POSITION = re.compile(rf"{LIVE_PREFIX}{_TIME}#{_ID}")
TRASH_POSITION = re.compile(rf"{TRASH_PREFIX}{_TIME}#{_ID}")
DUE_POSITION = re.compile(rf"{DUE_PREFIX}(?:{_TIME}|{NO_DUE_DATE})#{_ID}")


def task_key(task_id: TaskId | str) -> str:
    """`PK` and `SK` of a task."""
    return f"TASK#{task_id}"


def user_partition(user_id: UserId | str) -> str:
    """`GSI1PK` and `GSI3PK`: all of a user's tasks."""
    return f"USER#{user_id}"


def status_partition(user_id: UserId | str, status: TaskStatus) -> str:
    """`GSI2PK`: a user's live tasks in one status. Statuses hold no `#`, so the user id is
    everything before the last `#STATUS#` and no two users' partitions meet."""
    return f"USER#{user_id}#STATUS#{status.value}"


def created_position(created_at: datetime, task_id: TaskId | str) -> str:
    """`GSI1SK` (and `GSI2SK`) of a live task."""
    return f"{LIVE_PREFIX}{isoformat_utc(created_at)}#{task_id}"


def trash_position(deleted_at: datetime, task_id: TaskId | str) -> str:
    """`GSI1SK` of a trashed task."""
    return f"{TRASH_PREFIX}{isoformat_utc(deleted_at)}#{task_id}"


def due_position(due_at: datetime | None, task_id: TaskId | str) -> str:
    """`GSI3SK` of a live task."""
    return f"{DUE_PREFIX}{isoformat_utc(due_at) if due_at else NO_DUE_DATE}#{task_id}"


def due_lower_bound(due_after: datetime | None) -> str:
    """The least `GSI3SK` due strictly after `due_after` (or the least of all). No task id
    starts with `~`, so `DUE#<t>#~` is above every `DUE#<t>#task-...`: inclusive = exclusive."""
    return f"{DUE_PREFIX}{isoformat_utc(due_after)}#~" if due_after else DUE_PREFIX


def due_upper_bound(due_before: datetime | None, *, undated: bool) -> str:
    """The greatest `GSI3SK` due strictly before `due_before`. Without it: every dated task,
    and the undated ones too when `undated` (SPEC §2: an undated task matches no due bound)."""
    if due_before is not None:
        return f"{DUE_PREFIX}{isoformat_utc(due_before)}#"  # below every `DUE#<t>#task-...`
    return f"{DUE_PREFIX}{NO_DUE_DATE}{NO_DUE_DATE}" if undated else f"{DUE_PREFIX}{NO_DUE_DATE}"


REMIND_PREFIX = "REMIND#"


def reminder_bucket(remind_at: datetime) -> str:
    """`GSI4PK`: every task whose next reminder look falls in that UTC hour."""
    return f"{REMIND_PREFIX}{isoformat_utc(remind_at)[:13]}"


def reminder_position(remind_at: datetime, task_id: TaskId | str) -> str:
    """`GSI4SK`: the instant, then the task id (unique)."""
    return f"{isoformat_utc(remind_at)}#{task_id}"


def reminder_upper_bound(until: datetime) -> str:
    """The greatest `GSI4SK` at or before `until`: `~` sorts after every task id."""
    return f"{isoformat_utc(until)}#~"
