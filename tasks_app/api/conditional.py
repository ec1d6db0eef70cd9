"""Conditional requests (SPEC §2, RFC 9110 §13): a task's version as its ETag, `If-Match` on
changes and `If-None-Match` on reads."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rest_framework import serializers
from rest_framework.request import Request

from tasks_app.api.errors import entity_tag
from tasks_app.domain.task import Task

# RFC 9110 §13.1.1 and §13.1.2: `If-Match` and `If-None-Match` = "*" / #entity-tag, where
# entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE (§8.8.3, "W/" case-sensitive) and etagc = %x21 /
# %x23-7E / obs-text. A list (§5.6.1) has commas with optional spaces or tabs around them, may hold
# empty elements, which a recipient ignores, and may be empty: a condition naming no tag, which
# matches nothing. Each run of whitespace has one place in the pattern (after the start, a tag, `*`
# or a comma), so matching takes linear time. One spelling for Python, ECMA 262 and Rust: the
# OpenAPI schema publishes the very rule (`tasks_app.api.openapi.IF_MATCH`).
_TAG = r'(?:W/)?"[\u0021\u0023-\u007e\u0080-\u00ff]*"[ \t]*'
ENTITY_TAGS_PATTERN = rf"^[ \t]*(?:\*[ \t]*|(?:{_TAG})?(?:,[ \t]*(?:{_TAG})?)*)$"
_ENTITY_TAGS = re.compile(ENTITY_TAGS_PATTERN)
_EACH_TAG = re.compile(r'(W/)?"([^"]*)"')
MALFORMED = (
    '`*` or quoted entity tags separated by commas, like "3" (RFC 9110 §13.1): a version alone (3) is not '
    "one; send the ETag as it came."
)


@dataclass(frozen=True)
class Condition:
    """A well-formed `If-Match` or `If-None-Match`: the versions of the task it names, or None
    for `*` (any version of an existing task)."""

    versions: frozenset[int] | None

    def names_current(self, task: Task) -> bool:
        """Whether it names `task` as it is now (for `If-None-Match`: a GET answers 304)."""
        return self.versions is None or task.version in self.versions


def _condition(request: Request, header: str, *, weak: bool) -> Condition | None:
    """The condition `header` states, or None without the header.

    A tag names a version when its text is the version's decimal digits exactly (`"3"`, not
    `"03"`): entity tags compare character by character (RFC 9110 §8.8.3.2). A weak tag (`W/"3"`)
    counts only if `weak`. Raises `ValidationError` (400 naming the header) if it is malformed.
    """
    value = request.headers.get(header)
    if value is None:
        return None
    if not _ENTITY_TAGS.fullmatch(value):
        raise serializers.ValidationError({header: [f"Must be {MALFORMED}"]})
    if value.strip(" \t") == "*":
        return Condition(None)
    versions = {
        int(text)
        for is_weak, text in _EACH_TAG.findall(value)
        if (weak or not is_weak) and text.isascii() and text.isdigit() and str(int(text)) == text
    }
    return Condition(frozenset(versions))


def expected_versions(request: Request) -> frozenset[int] | None:
    """The versions `If-Match` accepts: None when absent or `*` (any version of an existing task).

    Strong comparison (RFC 9110 §13.1.1): a weak tag, or one that is not a version of ours, is
    kept as "matches nothing", so the change is refused with 412, never applied. Raises
    `ValidationError` (400) for a malformed header, a bare `3` included: call it before anything
    is read or written.
    """
    condition = _condition(request, "If-Match", weak=False)
    return None if condition is None else condition.versions


def none_match(request: Request) -> Condition | None:
    """The request's `If-None-Match`, or None without one. Weak comparison (RFC 9110 §13.1.2):
    `W/"3"` names version 3 too. Raises `ValidationError` (400) for a malformed header: call it
    before reading the task, so the answer does not depend on whether the task exists."""
    return _condition(request, "If-None-Match", weak=True)


def etag_headers(task: Task) -> dict[str, str]:
    """The headers every response holding one task carries."""
    return {"ETag": entity_tag(task.version)}
