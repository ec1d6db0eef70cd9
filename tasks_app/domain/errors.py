"""Errors raised by the domain and the services; the API maps each one to an HTTP status."""

from __future__ import annotations


class DomainError(Exception):
    """Base class of every error the domain or the application raises on purpose."""


class InvalidValue(DomainError):
    """A value breaks an invariant; `field` names the input it came from."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class NotFound(DomainError):
    """Something the request names does not exist, or is not the caller's to see (SPEC §2: 404)."""


class TaskNotFound(NotFound):
    """No task has this id (or the id cannot be one)."""

    def __init__(self, task_id: str) -> None:
        super().__init__(f"Task {task_id!r} was not found.")
        self.task_id = task_id


class InvalidTransition(DomainError):
    """The task's current state does not allow the requested action (SPEC §1: a 409, never a
    silent success)."""

    def __init__(self, task_id: str, current: str, action: str, *, already: bool = False) -> None:
        # `already`: the action would lead where the task is; "is completed, so it cannot be
        # completed" says nothing the caller can act on.
        reason = f"is already {current.replace('_', ' ')}" if already else f"is {current}, so it cannot be {action}"
        super().__init__(f"Task {task_id!r} {reason}.")
        self.task_id = task_id
        self.current = current
        self.action = action


class VersionMismatch(DomainError):
    """The caller's `If-Match` names another version than the task's (SPEC §2: 412)."""

    def __init__(self, task_id: str, current_version: int) -> None:
        super().__init__(
            f"Task {task_id!r} has changed: it is at version {current_version}. Read it again, then retry."
        )
        self.task_id = task_id
        self.current_version = current_version


class InvalidCursor(DomainError):
    """A pagination cursor that this API did not issue for this user."""

    def __init__(self) -> None:
        super().__init__("The cursor is not valid for this listing; start again without one.")
