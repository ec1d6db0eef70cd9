"""A delivery: one event (or ping) on its way to one webhook endpoint, with its attempts so far."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

# Issue 14: attempts at once, then after 30 s, 2 min, 10 min, 1 h, 6 h and 24 h: seven in all,
# about 31 hours, so a receiver down for a day still gets the event.
DEFAULT_RETRY_DELAYS: tuple[int, ...] = (0, 30, 120, 600, 3600, 21600, 86400)


class DeliveryState(StrEnum):
    """Where a delivery stands: waiting for an attempt, delivered, or out of attempts."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class RetrySchedule:
    """Seconds to wait before each attempt: `delays[0]` before the first (0: at once)."""

    delays: tuple[int, ...] = DEFAULT_RETRY_DELAYS

    @property
    def attempts(self) -> int:
        """How many attempts a delivery gets before it fails."""
        return len(self.delays)

    def delay_before(self, attempt: int) -> timedelta:
        """The wait before attempt number `attempt` (1-based); the last delay past the schedule."""
        return timedelta(seconds=self.delays[min(attempt, len(self.delays)) - 1])


def delivery_id_of(event_id: str, timestamp: str) -> str:
    """The delivery of an event to an endpoint: named by the event, so a redelivered event
    message finds its delivery instead of making a second one; the event's time first, so ids
    sort newest last (`timestamp` is SPEC §4's fixed-width ISO 8601, digits kept)."""
    digits = "".join(ch for ch in timestamp if ch.isdigit())[:20].ljust(20, "0")
    return f"{digits}-{event_id}"


# The digits of a fixed-width ISO 8601 time (20), then the event's id (a UUID today; SPEC §4).
DELIVERY_ID = re.compile(r"[0-9]{20}-[A-Za-z0-9-]{1,64}")


def is_delivery_id(text: str) -> bool:
    """Whether `text` could be a delivery id (anything else names no delivery)."""
    return DELIVERY_ID.fullmatch(text) is not None


def is_success(status_code: int | None) -> bool:
    """A receiver accepted a delivery when it answered 2xx (Standard Webhooks)."""
    return status_code is not None and 200 <= status_code < 300


@dataclass(frozen=True)
class Delivery:
    """One event to one endpoint. `message` is the exact JSON text POSTed (SPEC §4's message).

    `attempts` made so far of `max_attempts`; `next_attempt_at` is when the next is due (None
    once settled). `last_*` describe the latest attempt: HTTP status (None when no answer
    came), latency in seconds, and the error when there was no answer.
    """

    webhook_id: str
    delivery_id: str
    event_id: str
    event_type: str
    message: str
    created_at: datetime
    max_attempts: int
    state: DeliveryState = DeliveryState.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_latency_seconds: float | None = None
    last_error: str | None = None

    def after_attempt(
        self,
        *,
        status_code: int | None,
        latency_seconds: float,
        error: str | None,
        now: datetime,
        schedule: RetrySchedule,
    ) -> Delivery:
        """This delivery after one more attempt with this outcome: succeeded on a 2xx, pending
        with the next attempt's time while attempts remain, failed after the last."""
        attempts = self.attempts + 1
        if is_success(status_code):
            state, next_at = DeliveryState.SUCCEEDED, None
        elif attempts < self.max_attempts:
            state, next_at = DeliveryState.PENDING, now + schedule.delay_before(attempts + 1)
        else:
            state, next_at = DeliveryState.FAILED, None
        if error is None and not is_success(status_code):
            error = f"The receiver answered HTTP {status_code}."
        return replace(
            self,
            attempts=attempts,
            state=state,
            next_attempt_at=next_at,
            last_attempt_at=now,
            last_status_code=status_code,
            last_latency_seconds=round(latency_seconds, 3),
            last_error=error,
        )

    def redelivered(self, now: datetime) -> Delivery:
        """This delivery with its next attempt due now (`POST .../redeliver`).

        A redelivery never shortens the retry schedule (issue 14, a user's report): a pending
        delivery keeps its `max_attempts` (the redelivery is its next attempt, made early; the
        ticket already queued for that attempt then finds it made and is dropped), and a settled
        (succeeded or failed) one gets one attempt more.
        """
        if self.state is DeliveryState.PENDING:
            return replace(self, next_attempt_at=now)
        return replace(self, state=DeliveryState.PENDING, next_attempt_at=now, max_attempts=self.attempts + 1)

    def gave_up(self, reason: str, now: datetime) -> Delivery:
        """This delivery failed without an attempt (its endpoint was deleted or disabled)."""
        return replace(self, state=DeliveryState.FAILED, next_attempt_at=None, last_error=reason, last_attempt_at=now)
