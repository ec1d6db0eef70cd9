"""`Idempotency-Key` over HTTP (SPEC §2): the claim a request makes, and the replay of a first response.

A POST or PATCH with the header runs at most once per caller and key for 24 hours. The first
response is rendered before the write and stored with it, in the same transaction; a repeat of
the same request gets those bytes back with `Idempotent-Replayed: true`, and the same key with
another request is a 422.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from django.http import HttpResponse
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from tasks_app import bootstrap
from tasks_app.api.conditional import etag_headers
from tasks_app.application import idempotency
from tasks_app.application.access import Caller
from tasks_app.application.idempotency import IdempotencyClaim, RecordedResponse
from tasks_app.domain.errors import DomainError
from tasks_app.domain.task import Task

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_MAX_LENGTH = 255
_ANONYMOUS = "-"  # whose keys when authentication is off (development): everyone's, shared

Envelope = Callable[[Task], dict[str, object]]
Run = Callable[[IdempotencyClaim | None], Task]


def claim_of(
    request: Request, caller: Caller | None, *, status: int, envelope: Envelope, location: bool
) -> IdempotencyClaim | None:
    """The request's claim, or None without the header; a malformed key is a 400 (`ValidationError`)."""

    def respond(task: Task) -> RecordedResponse:
        headers = etag_headers(task)
        if location:
            headers["Location"] = location_of(request, task)
        body = JSONRenderer().render(envelope(task)).decode()
        return RecordedResponse(status=status, body=body, headers=headers)

    return claim_for(request, caller, respond)


def claim_for[R](
    request: Request, caller: Caller | None, respond: Callable[[R], RecordedResponse]
) -> IdempotencyClaim[R] | None:
    """The claim of a request whose change makes an `R` that `respond` renders (the first
    response: status, body, headers), or None without the header; a malformed key is a 400
    (`ValidationError`). The fingerprint is the method, path, body and `If-Match`."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not 1 <= len(key) <= KEY_MAX_LENGTH or not all(" " <= character <= "~" for character in key):
        raise serializers.ValidationError({HEADER: ["Must be 1 to 255 printable ASCII characters."]})
    request_text = json.dumps(
        [request.method, request.path.rstrip("/"), request.data, request.headers.get("If-Match")],
        sort_keys=True,
        default=str,
    )
    return IdempotencyClaim(
        scope=str(caller.user_id) if caller else _ANONYMOUS,
        key=key,
        fingerprint=hashlib.sha256(request_text.encode()).hexdigest(),
        respond=respond,
    )


def run_once(claim: IdempotencyClaim | None, run: Run) -> Task | HttpResponse:
    """`run_with_key` for a change that makes a task, what the tasks' views call: spelled out,
    because mypy would take their return type (`Task | HttpResponse`) for `R`."""
    outcome = run_with_key(claim, run)  # assigned first: inferred from the arguments, not the return
    return outcome


def run_with_key[R](
    claim: IdempotencyClaim[R] | None, run: Callable[[IdempotencyClaim[R] | None], R]
) -> R | HttpResponse:
    """Run the change, unless the claim's key already answered: then its first response, replayed.
    Without a claim, what `run` made; with one, the first response as sent (`recorded`).

    Raises `IdempotencyKeyReused` (422) when the key was used with another request.
    """
    if claim is None:
        return run(None)
    repository = bootstrap.task_repository()  # reads every record, whichever app's change stored it
    first = idempotency.replay(claim=claim, store=repository, now=bootstrap.utc_now())
    if first is None:
        try:
            result = run(claim)
        except DomainError:
            # A concurrent repeat may have won: it stored the key (IdempotencyKeyInUse), or its
            # change made this one stale or invalid (a second complete is a 409). Either way
            # the client sent one request, so it gets that one's answer if there is one.
            first = idempotency.replay(claim=claim, store=repository, now=bootstrap.utc_now())
            if first is None:
                raise
        else:
            return recorded(claim.respond(result), replayed=False)
    return recorded(first, replayed=True)


def recorded(response: RecordedResponse, *, replayed: bool) -> HttpResponse:
    """The stored response as Django sends it, byte for byte."""
    sent = HttpResponse(response.body, status=response.status, content_type="application/json")
    for name, value in response.headers.items():
        sent[name] = value
    if replayed:
        sent[REPLAYED_HEADER] = "true"
    return sent


def location_of(request: Request, task: Task) -> str:
    """The created task's URL (`Location` of a 201)."""
    return request.build_absolute_uri(f"{request.path.rstrip('/')}/{task.task_id}")
