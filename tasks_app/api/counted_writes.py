"""A task repository whose writes wait for the request's rate-limit verdict (issue 12).

A PATCH, a DELETE or an action reads the task, then writes it. When its process holds no token
for the caller, its take (one `UpdateItem`) runs on a worker beside that read
(`RequestCount.meanwhile`), and the write waits for the take's verdict here: a change
over the limit never reaches the table, and the read and the take cost one round trip between
them instead of two.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from rest_framework.request import Request

from tasks_app import bootstrap
from tasks_app.api.throttling import RequestCount
from tasks_app.application.idempotency import IdempotencyRecord
from tasks_app.application.ports import TaskRepository
from tasks_app.domain.task import Task


class CountedWrites:
    """A `TaskRepository` whose writes first wait for the request's rate-limit verdict
    (`RequestCount.settle`), while its reads pass straight through.

    `repository` is the real one; `count` the request's. Each write raises what `settle`
    raises (`Throttled`: 429, nothing written; `DependencyUnavailable`: 503) before it is sent.
    """

    def __init__(self, repository: TaskRepository, count: RequestCount) -> None:
        self._repository, self._count = repository, count

    def __getattr__(self, name: str) -> Any:
        return getattr(self._repository, name)  # the reads: get, get_trashed, list_*, find_response

    def add(self, task: Task, *, idempotency: IdempotencyRecord | None = None) -> None:
        self._count.settle()
        self._repository.add(task, idempotency=idempotency)

    def update(self, task: Task, *, idempotency: IdempotencyRecord | None = None) -> None:
        self._count.settle()
        self._repository.update(task, idempotency=idempotency)

    def record_response(self, record: IdempotencyRecord) -> None:
        self._count.settle()
        self._repository.record_response(record)


def counted_writes(request: HttpRequest | Request) -> TaskRepository:
    """The task repository for a view that declares `writes_after_rate_count`: its writes wait
    for the request's verdict (`CountedWrites`); the plain repository when nothing counts
    (no `RateLimitMiddleware`)."""
    count = RequestCount.of(request)
    repository = bootstrap.task_repository()
    return repository if count is None else CountedWrites(repository, count)
