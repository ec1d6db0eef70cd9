"""Who is asking: the authenticated caller, and what they may see and change."""

from __future__ import annotations

from dataclasses import dataclass

from tasks_app.domain.errors import DomainError, InvalidValue, TaskNotFound
from tasks_app.domain.task import Task
from tasks_app.domain.values import UserId


class AccessDenied(DomainError):
    """The caller asked for another user's data without being an admin."""


@dataclass(frozen=True)
class Caller:
    """An authenticated user; admins may read every user's tasks, lists and statistics.

    Services take `Caller | None`: None means authentication is off (AUTH_MODE=none,
    development only), where the request's `user_id` is taken at its word.
    """

    user_id: UserId
    is_admin: bool = False


def acting_user(
    caller: Caller | None, requested: str | None, *, field: str = "user_id", resource: str = "tasks"
) -> UserId:
    """The user a request acts for: the caller, or the one it names if it may.

    Raises `InvalidValue(field)` when authentication is off and no user is named, and
    `AccessDenied` (403) when a non-admin names another user; its message names `resource`,
    the plural noun of what was asked about ("tasks", "webhooks")."""
    if caller is None:
        if requested is None or not requested.strip():
            raise InvalidValue(field, "This field is required.")
        return UserId.parse(requested)
    if requested is None or not requested.strip():
        return caller.user_id
    named = UserId.parse(requested)
    if named != caller.user_id and not caller.is_admin:
        raise AccessDenied(f"You may only ask about your own {resource}, not {named}'s.")
    return named


def require_own(caller: Caller | None, task: Task, *, may_read_others: bool) -> None:
    """Someone else's task is not found (`TaskNotFound`), so its existence does not leak.
    Admins may read it, and get `AccessDenied` (SPEC §2: 403) when they try to change it."""
    if caller is None or task.user_id == caller.user_id:
        return
    if caller.is_admin:
        if may_read_others:
            return
        raise AccessDenied(f"Admins may read {task.user_id}'s tasks, but only {task.user_id} may change them.")
    raise TaskNotFound(str(task.task_id))
