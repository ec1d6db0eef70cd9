"""Token leases' sizes and their bookkeeping, over an in-memory counter (the DynamoDB one is in
tests/integration/test_rate_leases.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, cast

from tasks_app.adapters.dynamodb.rate_counter import Take
from tasks_app.adapters.rate_leases import MAX_LEASE, TokenLeases, lease_size

NOW = 1_800_000_015.0


class MemoryCounter:
    """`DynamoRateCounter.take`'s arithmetic on one in-memory count per key and window."""

    def __init__(self) -> None:
        self.hits: dict[tuple[str, int], int] = {}
        self.takes: list[int] = []
        self._lock = threading.Lock()

    def take(self, key: str, *, tokens: int, limit: int, window_seconds: int, now: float) -> Take:
        window_start = int(now // window_seconds) * window_seconds
        with self._lock:
            hits = self.hits[(key, window_start)] = self.hits.get((key, window_start), 0) + tokens
            self.takes.append(tokens)
        return Take(granted=max(0, min(tokens, limit - (hits - tokens))), hits=hits, window_end=window_start + 60.0)


def leases_over(counter: MemoryCounter) -> TokenLeases:
    return TokenLeases(cast(Any, counter))


def at_once(take: Callable[[], None]) -> None:
    take()


def test_a_take_asks_for_a_quarter_of_what_remains_from_one_to_ten() -> None:
    assert [lease_size(remaining) for remaining in (0, 1, 7, 8, 39, 40, 600)] == [1, 1, 1, 2, 9, 10, 10]


def test_a_process_never_holds_more_than_the_maximum_and_takes_shrink_near_the_limit() -> None:
    counter = MemoryCounter()
    leases = leases_over(counter)
    allowed = 0
    while (token := leases.take("user#a", limit=60, window_seconds=60, now=NOW, refill=at_once)).allowed:
        allowed += 1
    assert allowed == 60
    assert max(counter.takes) <= MAX_LEASE
    assert counter.takes[0] == 10
    assert counter.takes[-1] == 1  # near the limit, one at a time
    assert token.window_end == 1_800_000_060.0


def test_a_background_take_that_cannot_start_is_not_waited_for() -> None:
    counter = MemoryCounter()
    leases = leases_over(counter)

    def broken_pool(take: Callable[[], None]) -> None:
        raise RuntimeError("cannot schedule new futures after shutdown")

    spent = [leases.take("user#a", limit=8, window_seconds=60, now=NOW, refill=broken_pool) for _ in range(3)]

    assert [token.allowed for token in spent] == [True, True, True]
    # The first took 2 (a quarter of 8), the second spent the spare, whose refill never started;
    # the third, finding no take in flight, took its own instead of waiting for one.
    assert counter.takes == [2, 1]
