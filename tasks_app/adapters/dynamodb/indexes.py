"""The task item's global secondary indexes (SPEC §3); `keys` says what their keys hold."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pynamodb.attributes import UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

if TYPE_CHECKING:
    from tasks_app.adapters.dynamodb.models import TaskItem  # noqa: F401 - named in the generic bases


class TasksByUserIndex(GlobalSecondaryIndex["TaskItem"]):  # type: ignore[no-untyped-call]
    """GSI1: a user's live tasks by creation time (`TASK#...`), and trash by deletion time (`TRASH#...`)."""

    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True, attr_name="GSI1PK")
    gsi1sk = UnicodeAttribute(range_key=True, attr_name="GSI1SK")


class TasksByStatusIndex(GlobalSecondaryIndex["TaskItem"]):  # type: ignore[no-untyped-call]
    """GSI2: a user's live tasks in one status, by creation time (sparse: trashed tasks leave it)."""

    class Meta:
        index_name = "GSI2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True, attr_name="GSI2PK")
    gsi2sk = UnicodeAttribute(range_key=True, attr_name="GSI2SK")


class TasksByDueDateIndex(GlobalSecondaryIndex["TaskItem"]):  # type: ignore[no-untyped-call]
    """GSI3: a user's live tasks by due date, undated ones last (sparse: trashed tasks leave it)."""

    class Meta:
        index_name = "GSI3"
        projection = AllProjection()

    gsi3pk = UnicodeAttribute(hash_key=True, attr_name="GSI3PK")
    gsi3sk = UnicodeAttribute(range_key=True, attr_name="GSI3SK")


class TasksByReminderIndex(GlobalSecondaryIndex["TaskItem"]):  # type: ignore[no-untyped-call]
    """GSI4: open live tasks with a reminder pending, by the UTC hour and instant of their next
    look (sparse: the others have no `GSI4PK`). Read by the reminder sweep only."""

    class Meta:
        index_name = "GSI4"
        projection = AllProjection()

    gsi4pk = UnicodeAttribute(hash_key=True, attr_name="GSI4PK")
    gsi4sk = UnicodeAttribute(range_key=True, attr_name="GSI4SK")
