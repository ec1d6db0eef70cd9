"""Relaying a request's events after its response has gone out, off the response's latency.

Views hand task ids to `relay_after_response`; when Django closes the response (after a
WSGI server has sent it) the events of those tasks are published. Behind Zappa the response
is closed before Lambda returns, so there the relay still runs within the invocation.
"""

from __future__ import annotations

import contextvars
from typing import Any

from django.core.signals import request_finished

from tasks_app import bootstrap
from tasks_app.domain.values import TaskId

_changed: contextvars.ContextVar[list[TaskId] | None] = contextvars.ContextVar("changed_tasks", default=None)


def relay_after_response(task_id: TaskId) -> None:
    """A `RelayTrigger` for requests."""
    changed = _changed.get()
    if changed is None:
        changed = []
        _changed.set(changed)
    changed.append(task_id)


def _relay_changed_tasks(**_: Any) -> None:
    changed = _changed.get()
    _changed.set(None)
    for task_id in dict.fromkeys(changed or []):
        bootstrap.relay_quietly(task_id)


request_finished.connect(_relay_changed_tasks, dispatch_uid="tasks_app.api.after_response")
