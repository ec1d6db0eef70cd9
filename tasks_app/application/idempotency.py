"""Idempotency keys (SPEC §2): what a key guards, and the check a repeated request goes through.

A POST or PATCH with `Idempotency-Key` stores an `IdempotencyRecord` in the same transaction as
its change. A repeat within 24 hours by the same caller finds the record: the same request gets
the first response again, another request with the same key is refused. The tasks' changes and
the notifications' (a webhook registered, changed, its secret rotated) keep their records in one
store, so a caller's key names one request whichever endpoint it was sent to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from tasks_app.domain.errors import DomainError
from tasks_app.domain.task import Task

KEY_LIFETIME_SECONDS = 24 * 3600


@dataclass(frozen=True, slots=True)
class RecordedResponse:
    """An HTTP response as an idempotency key keeps it, to be sent again byte for byte."""

    status: int
    body: str
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """What an `Idempotency-Key` guards (SPEC §2): whose key, which request, which response.

    `fingerprint` identifies the request (method, path, body, preconditions) so that the same
    key sent with another request is told apart; `expires_at` is 24 hours after the write.
    """

    scope: str
    key: str
    fingerprint: str
    response: RecordedResponse
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class IdempotencyClaim[R = Task]:
    """A request that carries an `Idempotency-Key`, and how its first response will look.

    `R` is what the guarded change makes (a `Task`, unless said otherwise; a webhook endpoint for
    the notifications' endpoints). The service hands `record_for(result)` to the repository,
    which stores it in the same transaction as the change (SPEC §2: there is no moment when the
    write exists and the key does not).
    """

    scope: str
    key: str
    fingerprint: str
    respond: Callable[[R], RecordedResponse]
    lifetime_seconds: int = KEY_LIFETIME_SECONDS

    def record_for(self, result: R, now: datetime) -> IdempotencyRecord:
        """The record to store with the change that made `result` what it is now."""
        return IdempotencyRecord(
            scope=self.scope,
            key=self.key,
            fingerprint=self.fingerprint,
            response=self.respond(result),
            expires_at=now + timedelta(seconds=self.lifetime_seconds),
        )


class IdempotencyKeyInUse(DomainError):
    """Another request stored this idempotency key first (they raced): read its record. Should
    that request's write still be in flight (DynamoDB cancels a transaction that conflicts with
    one being committed), there is nothing to read yet: the API answers 409 and asks for a retry."""

    def __init__(self, key: str) -> None:
        super().__init__(
            f"A request with the Idempotency-Key {key!r} is being processed at this moment: "
            "retry in a second with the same key to get its answer."
        )
        self.key = key


class IdempotencyKeyReused(DomainError):
    """The key was used before with another request (SPEC §2: 422 `IDEMPOTENCY_KEY_REUSED`)."""

    def __init__(self, key: str) -> None:
        super().__init__(
            f"The Idempotency-Key {key!r} was used with a different request in the last 24 hours: "
            "use a new key for a new request."
        )
        self.key = key


class RecordStore(Protocol):
    """Where idempotency records are looked up (the task repository reads them all: one item type
    in the table, whichever repository wrote it)."""

    def find_response(self, scope: str, key: str, *, now: datetime) -> IdempotencyRecord | None:
        """The unexpired record of `scope`'s key, or None."""


def replay[R](*, claim: IdempotencyClaim[R], store: RecordStore, now: datetime) -> RecordedResponse | None:
    """The first response to repeat for this request, or None if the key is new.

    Raises `IdempotencyKeyReused` when the key was stored for a different request.
    """
    record = store.find_response(claim.scope, claim.key, now=now)
    if record is None:
        return None
    if record.fingerprint != claim.fingerprint:
        raise IdempotencyKeyReused(claim.key)
    return record.response
