"""Conditional requests (SPEC §2, RFC 9110 §13): a task's version as its ETag, `If-Match` on
changes and `If-None-Match` on reads."""

from __future__ import annotations

import re

from rest_framework.request import Request

from tasks_app.api.errors import entity_tag
from tasks_app.domain.task import Task

_ENTITY_TAG = re.compile(r'\s*(W/)?"([^"]*)"\s*')


def expected_versions(request: Request) -> frozenset[int] | None:
    """The versions `If-Match` accepts: None when absent or `*` (any version of an existing task).

    Only strong tags match (RFC 9110 §13.1.1): a weak tag, or one that is not a version of
    ours, is kept as "matches nothing", so the change is refused with 412, never applied.
    A bare number (`If-Match: 3`, as people type it) is read as `"3"`.
    """
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    versions: set[int] = set()
    for part in header.split(","):
        match = _ENTITY_TAG.fullmatch(part)
        text = match.group(2) if match and not match.group(1) else part.strip()
        if text.isdigit() and (match is None or not match.group(1)):
            versions.add(int(text))
    return frozenset(versions)


def is_unchanged(request: Request, task: Task) -> bool:
    """Whether `If-None-Match` names the task's current version (or `*`): the client's copy is
    current, so a GET answers 304 Not Modified. Weak comparison applies (RFC 9110 §13.1.2)."""
    header = request.headers.get("If-None-Match")
    if header is None:
        return False
    if header.strip() == "*":
        return True
    current = entity_tag(task.version)
    return any(part.strip().removeprefix("W/") == current for part in header.split(","))


def etag_headers(task: Task) -> dict[str, str]:
    """The headers every response holding one task carries."""
    return {"ETag": entity_tag(task.version)}
