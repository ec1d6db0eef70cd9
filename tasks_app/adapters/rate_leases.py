"""Token leases: a process's share of a rate limit, counted in the shared counter before it is used.

Issue 12 asks that a rate limit cost at most one DynamoDB request per API call, and none that
the response waits on where that can be done safely. A process takes several tokens at once
from the shared counter (`DynamoRateCounter.take`: one `UpdateItem` that adds them all) and
spends them on that caller's next requests in that window, reads and changes alike, which then
make no counter request at all (a change must not happen over the limit, so it could not simply
count beside its write; a read could, but would still cost a write each).

- A lease belongs to one counter key, limit and fixed window. Tokens left when the window ends
  are dropped: they were counted and never used (at most `MAX_LEASE` per process and key).
- A take asks for a quarter of what the window had left at the last take, between 1 and
  `MAX_LEASE` (`lease_size`), so near the limit leases shrink to a single token. The counter
  grants only the slots up to the limit, so however many processes take at once, at most the
  limit's tokens are granted in a window.
- When a spend leaves `REFILL_AT` tokens or fewer, the next take runs in the background
  (`refill`, the caller's worker thread) and the next request finds tokens waiting. A request
  with none waits for a take (its own, or one already in flight for the same lease); a read, or
  a change that reads before it writes, waits on a worker, beside its view
  (`tasks_app.api.throttling`).
- In a window's last `AHEAD_SECONDS`, a spend takes the next window's first lease in the
  background (`_upcoming`) for a caller who made more than one request in the window, rather
  than refilling this window's lease (near the limit, leases of a token or two need a refill at
  almost every request), so that a caller active across the window's end finds tokens waiting
  in the next one instead of each caller's first request there waiting for a take, all at
  once. Counted before use like any lease: unused, it is at most `MAX_LEASE` tokens.
- Once a take finds the window full, every later request in the window is refused without a
  request, with the window's end for `Retry-After`.

A take that fails may still have been counted: a stalled DynamoDB applies an `UpdateItem` its
caller stopped waiting for. The lease remembers it, and its next take is the same take again
(same id and size), which the counter recognises: the tokens it counted are granted then instead
of being counted twice and lost.

A request sends at most one counter request: its own take, or the background take its spend
started (never both). On Lambda a background take still in flight when the invocation returns
resumes when the instance is next invoked; if it fails meanwhile, the next request takes its own.

State is per process (a Lambda instance has its own) and guarded by one lock, since a threaded
server's requests spend from the same leases. Errors of a take are the counter's
(`CounterBusy`, `DependencyUnavailable`, or a bug), raised to the request that waited for it.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial

from tasks_app.adapters.dynamodb.rate_counter import DynamoRateCounter

logger = logging.getLogger(__name__)

MAX_LEASE = 10  # tokens a process holds at most per lease: the bound on counted-but-unused tokens
REFILL_AT = 1  # tokens left at which the next take starts in the background
AHEAD_SECONDS = 5.0  # how long before a window ends its spends take the next window's first lease
_PRUNE_SECONDS = 10.0  # how often leases of ended windows are dropped

# Runs a piece of work on a worker thread (the throttle's pool), returning at once.
Background = Callable[[Callable[[], None]], object]


@dataclass(frozen=True)
class Spend:
    """A request's token: `allowed` (False when the window is full) and `window_end` (epoch seconds)."""

    allowed: bool
    window_end: float


def lease_size(remaining: int) -> int:
    """Tokens to take when `remaining` slots were left in the window: a quarter, 1 to `MAX_LEASE`."""
    return max(1, min(remaining // 4, MAX_LEASE))


class _Lease:
    """One key's tokens in one window. Changed only under `TokenLeases._lock`."""

    def __init__(self, window_end: float, size: int) -> None:
        self.window_end = window_end
        self.held = 0  # tokens granted and not yet spent
        self.size = size  # what the next take asks for
        self.full = False  # a take found the window's count at the limit: nothing more to grant
        self.taking: Future[None] | None = None  # the take in flight, if any (one at a time)
        self.spent = 0  # tokens this process's requests spent in the window
        # The id and size of a take that failed and may have been counted all the same: the next
        # take sends it again rather than a new one (`DynamoRateCounter.take`'s `take_id`).
        self.unsettled: tuple[str, int] | None = None


@dataclass(frozen=True)
class _Background:
    """A take a spend starts once the lock is released: into `lease`, settling `future`; `ahead`
    when `lease` is the next window's."""

    lease: _Lease
    future: Future[None]
    ahead: bool


class TokenLeases:
    """Per-process token leases over `counter` (thread-safe). `spend` never makes a request;
    `take` does when no token is held."""

    def __init__(self, counter: DynamoRateCounter) -> None:
        self._counter = counter
        self._lock = threading.Lock()
        self._leases: dict[tuple[str, int, int, int], _Lease] = {}
        self._prune_due = 0.0

    def spend(self, key: str, *, limit: int, window_seconds: int, now: float, refill: Background) -> Spend | None:
        """A held token (allowed) or the window's remembered refusal, without a request; None
        when neither is known and `take` must ask the counter. `limit` is per window of
        `window_seconds`; `now` is epoch seconds; `refill` runs a background take when the lease
        runs low, or takes the next window's lease ahead."""
        with self._lock:
            lease = self._lease(key, limit, window_seconds, now)
            spent, background = self._spend_held(lease, self._upcoming(lease, key, limit, window_seconds, now))
        self._start_background(background, key, limit, window_seconds, now, refill)
        return spent

    def take(self, key: str, *, limit: int, window_seconds: int, now: float, refill: Background) -> Spend:
        """Spend a token, asking the counter for a lease first if none is held (or waiting for
        the take already in flight). Raises what the counter raises (`CounterBusy`,
        `DependencyUnavailable`, a bug's error), whichever request's take met it."""
        while True:
            with self._lock:
                lease = self._lease(key, limit, window_seconds, now)
                spent, background = self._spend_held(lease, self._upcoming(lease, key, limit, window_seconds, now))
                pending = lease.taking
                if spent is None and pending is None:
                    mine: Future[None] = Future()
                    lease.taking = mine
                    size = lease.size
            if spent is not None:
                self._start_background(background, key, limit, window_seconds, now, refill)
                return spent
            if pending is None:
                kept = self._take(lease, mine, key, size, limit, window_seconds, now, spending=True)
                return Spend(allowed=kept, window_end=lease.window_end)
            pending.result()  # bounded by the counter's retry budget; raises what that take met
            # Its tokens are in the lease now, unless other requests spent them first: look again.

    def _upcoming(self, lease: _Lease, key: str, limit: int, window_seconds: int, now: float) -> _Lease | None:
        """Under the lock: the next window's lease, when a spend from `lease` now should take it
        ahead: in the window's last `AHEAD_SECONDS` (at most a twelfth of the window), for a caller
        who has already made a request in it (a caller seen once may not come back: the tokens
        would be counted for nothing), while that lease has no tokens, is not full and is not
        being taken. None otherwise, and without a token to spend (nothing would start it)."""
        if not lease.held or now < lease.window_end - min(AHEAD_SECONDS, window_seconds / 12) or lease.spent < 1:
            return None
        upcoming = self._lease(key, limit, window_seconds, now, ahead=True)
        return None if upcoming.held or upcoming.full or upcoming.taking is not None else upcoming

    @staticmethod
    def _spend_held(lease: _Lease, upcoming: _Lease | None) -> tuple[Spend | None, _Background | None]:
        """Under the lock: a held token or the remembered refusal (None: neither), and the one
        background take the spend starts once the lock is released, if any: the next window's lease
        (`upcoming`, from `_upcoming`) taken ahead, else this one's refill when it runs low."""
        if lease.held:
            lease.held -= 1
            lease.spent += 1
            background = None
            if upcoming is not None:
                upcoming.taking = Future()
                background = _Background(upcoming, upcoming.taking, ahead=True)
            elif lease.held <= REFILL_AT and not lease.full and lease.taking is None:
                lease.taking = Future()
                background = _Background(lease, lease.taking, ahead=False)
            return Spend(allowed=True, window_end=lease.window_end), background
        if lease.full:
            return Spend(allowed=False, window_end=lease.window_end), None
        return None, None

    def _start_background(
        self, background: _Background | None, key: str, limit: int, window_seconds: int, now: float, refill: Background
    ) -> None:
        if background is None:
            return
        # A lease taken ahead counts in its own window's item, from that window's start.
        at = background.lease.window_end - window_seconds if background.ahead else now
        self._start_refill(background.lease, background.future, key, limit, window_seconds, at, refill)

    def _start_refill(
        self,
        lease: _Lease,
        future: Future[None],
        key: str,
        limit: int,
        window_seconds: int,
        now: float,
        refill: Background,
    ) -> None:
        with self._lock:
            # Never more than MAX_LEASE held, so at most that many are left unused at the window's end.
            size = max(1, min(lease.size, MAX_LEASE - lease.held))
        try:
            refill(partial(self._refill, lease, future, key, size, limit, window_seconds, now))
        except Exception:  # e.g. the pool shut down: a take nobody runs must not be waited for
            logger.warning("Could not start a background take of rate-limit tokens", exc_info=True)
            with self._lock:
                lease.taking = None
            future.set_result(None)

    def _refill(
        self, lease: _Lease, future: Future[None], key: str, size: int, limit: int, window_seconds: int, now: float
    ) -> None:
        try:
            self._take(lease, future, key, size, limit, window_seconds, now, spending=False)
        except Exception:
            # A request that waits for this take gets the error; one that comes later takes its own.
            logger.warning("A background take of rate-limit tokens failed", extra={"key": key}, exc_info=True)

    def _take(
        self,
        lease: _Lease,
        future: Future[None],
        key: str,
        size: int,
        limit: int,
        window_seconds: int,
        now: float,
        *,
        spending: bool,
    ) -> bool:
        """One take of `size` tokens into `lease` (or the lease's unsettled take again, with its own
        size); with `spending`, the caller keeps one of them. True when that one was granted.
        Settles `future` either way."""
        with self._lock:
            take_id, size = lease.unsettled or (uuid.uuid4().hex, size)
        try:
            taken = self._counter.take(
                key, tokens=size, limit=limit, window_seconds=window_seconds, now=now, take_id=take_id
            )
        except BaseException as error:
            with self._lock:
                lease.taking = None
                lease.unsettled = (take_id, size)
            future.set_exception(error)
            raise
        with self._lock:
            lease.unsettled = None
            remaining = limit - taken.hits
            lease.full = remaining <= 0
            lease.size = lease_size(remaining)
            kept = spending and taken.granted > 0
            lease.held += taken.granted - int(kept)
            lease.spent += int(kept)
            lease.taking = None
        future.set_result(None)
        return kept

    def _lease(self, key: str, limit: int, window_seconds: int, now: float, *, ahead: bool = False) -> _Lease:
        """Under the lock: the lease of the window `now` is in (with `ahead`, of the one after)."""
        window_start = (int(now // window_seconds) + int(ahead)) * window_seconds  # as the counter's item is keyed
        lease = self._leases.get((key, limit, window_seconds, window_start))
        if lease is None:
            if now >= self._prune_due:
                self._leases = {slot: kept for slot, kept in self._leases.items() if kept.window_end > now}
                self._prune_due = now + _PRUNE_SECONDS
            lease = _Lease(window_end=float(window_start + window_seconds), size=lease_size(limit))
            self._leases[(key, limit, window_seconds, window_start)] = lease
        return lease
