"""Token leases' sizes and their bookkeeping, over an in-memory counter (the DynamoDB one is in
tests/integration/test_rate_leases.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, cast

from tasks_app.adapters.dynamodb.rate_counter import Take
from tasks_app.adapters.rate_leases import MAX_LEASE, Spend, TokenLeases, lease_size

NOW = 1_800_000_015.0


class MemoryCounter:
    """`DynamoRateCounter.take`'s arithmetic on one in-memory count per key and window, with its
    once-only check of a take's id (`take_id` of the item's latest take)."""

    def __init__(self) -> None:
        self.hits: dict[tuple[str, int], int] = {}
        self.last_take: dict[tuple[str, int], str] = {}
        self.takes: list[int] = []
        self.lose = 0  # apply that many takes, then raise as if the answer never came
        self._lock = threading.Lock()

    def take(
        self, key: str, *, tokens: int, limit: int, window_seconds: int, now: float, take_id: str | None = None
    ) -> Take:
        window_start = int(now // window_seconds) * window_seconds
        item = (key, window_start)
        with self._lock:
            if take_id is None or self.last_take.get(item) != take_id:
                hits = self.hits[item] = self.hits.get(item, 0) + tokens
                self.last_take[item] = take_id or ""
                self.takes.append(tokens)
            hits = self.hits[item]
            if self.lose:
                self.lose -= 1
                raise TimeoutError("counted, and the answer never came")
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


def test_a_caller_active_at_a_windows_end_finds_the_next_windows_tokens_waiting() -> None:
    counter = MemoryCounter()
    leases = leases_over(counter)
    late = 1_800_000_057.0  # the window 1_800_000_000-060's last seconds
    for _ in range(2):
        assert leases.take("user#a", limit=600, window_seconds=60, now=late, refill=at_once).allowed
    # The second spend, in the last 5 seconds, took the next window's first lease in the background.
    assert counter.hits == {("user#a", 1_800_000_000): 10, ("user#a", 1_800_000_060): 10}
    assert counter.takes == [10, 10]
    next_minute = 1_800_000_061.0
    assert leases.spend("user#a", limit=600, window_seconds=60, now=next_minute, refill=at_once) == Spend(
        allowed=True, window_end=1_800_000_120.0
    )
    assert counter.takes == [10, 10]  # no request of its own


def test_nothing_is_taken_ahead_before_the_windows_end_or_for_a_caller_seen_once() -> None:
    counter = MemoryCounter()
    leases = leases_over(counter)
    for _ in range(3):  # the window's middle
        leases.take("user#a", limit=600, window_seconds=60, now=1_800_000_030.0, refill=at_once)
    leases.take("user#b", limit=600, window_seconds=60, now=1_800_000_058.0, refill=at_once)  # once, at the end
    assert counter.hits == {("user#a", 1_800_000_000): 10, ("user#b", 1_800_000_000): 10}


def test_a_request_sends_at_most_one_counter_request_near_a_windows_end() -> None:
    """A spend that leaves the lease low refills it; the take ahead waits for a later spend."""
    counter = MemoryCounter()
    leases = leases_over(counter)
    late = 1_800_000_058.0
    requests_per_call = []
    for _ in range(12):
        before = len(counter.takes)
        leases.take("user#a", limit=40, window_seconds=60, now=late, refill=at_once)
        requests_per_call.append(len(counter.takes) - before)
    assert max(requests_per_call) == 1
    assert ("user#a", 1_800_000_060) in counter.hits


def test_near_its_limit_a_caller_still_has_the_next_windows_lease_taken_ahead() -> None:
    """Leases of a token or two need a refill at almost every spend: at the window's end, the
    next window's lease goes first."""
    counter = MemoryCounter()
    leases = leases_over(counter)
    late = 1_800_000_057.0
    requests_per_call = []
    for _ in range(4):
        before = len(counter.takes)
        assert leases.take("user#a", limit=8, window_seconds=60, now=late, refill=at_once).allowed
        requests_per_call.append(len(counter.takes) - before)
    assert max(requests_per_call) == 1
    assert counter.hits[("user#a", 1_800_000_060)] == 2  # a quarter of 8, taken ahead
    assert counter.hits[("user#a", 1_800_000_000)] <= 8
    before = len(counter.takes)
    deferred: list[Callable[[], None]] = []  # the refill it starts, not run: nothing waits for it
    assert leases.take("user#a", limit=8, window_seconds=60, now=1_800_000_061.0, refill=deferred.append).allowed
    assert len(counter.takes) == before  # the first request of the next minute spent a waiting token


def test_a_take_that_failed_after_it_was_counted_is_sent_again_and_its_tokens_granted() -> None:
    counter = MemoryCounter()
    leases = leases_over(counter)
    counter.lose = 1
    try:
        leases.take("user#a", limit=20, window_seconds=60, now=NOW, refill=at_once)
    except TimeoutError:
        pass
    else:
        raise AssertionError("the lost take's error reaches its request")
    allowed = 0
    while leases.take("user#a", limit=20, window_seconds=60, now=NOW, refill=at_once).allowed:
        allowed += 1
    assert allowed == 20  # the lost take's 5 tokens too
    assert counter.takes[:2] == [5, 3]  # counted once, then the next take's quarter of the 15 left
