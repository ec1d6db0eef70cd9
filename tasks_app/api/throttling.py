"""Rate limits: one count per API call, in DynamoDB so that every Lambda instance shares it.

Fixed windows: a rate of 600/min allows 600 requests in each calendar minute, counted with
atomic `UpdateItem`s. Over the limit the answer is 429 `THROTTLED` with `Retry-After` (the
seconds left in the window, SPEC §2). Each request is counted once, against one limit
(`charge_of` says which and why):

- Every request spends a token of its caller's lease: tokens this process took from the shared
  counter ahead of time (`tasks_app.adapters.rate_leases`, issue 12), several with one
  `UpdateItem`. With a token in hand a request makes no counter request at all, and the lease is
  refilled on a worker thread before it runs out; once a take has found the window full, every
  later request of the window is refused without one. A request that finds no token (its
  caller's first of the window in this process) needs a take, run as follows.
- GET, HEAD and OPTIONS change nothing, so their take runs on a worker thread while the view
  works, and `tasks_app.api.middleware.RateLimitMiddleware` waits for both: the response waits
  for whichever finishes last. A take over the limit replaces the view's answer with the 429,
  whatever the view read is discarded.
- A change over the limit must not happen, so it never writes before its verdict. A view that
  declares `writes_after_rate_count` (the tasks' PATCH, DELETE and actions, which read the task
  before they write it) has its take run on a worker beside its reads, and hands its services
  a repository whose writes first wait for the take's verdict (`tasks_app.api.counted_writes`):
  one round trip for the take and the read together, then the write. Any other change (a
  create, which writes first) waits for its take before its view runs.
- A request refused at authentication (401) never reaches DRF's throttles; the middleware counts
  it by address before the 401 leaves, so a flood of bad tokens is limited too.

If DynamoDB throttles the counter's key (`CounterBusy`), the request is throttled too. If it is
unreachable, stalled or throttling the whole table, the request gets the 503 its operation
would get (SPEC §2), without a second retry budget. A counter that fails otherwise (a bug)
lets the request through and logs the error.
"""

from __future__ import annotations

import contextvars
import ipaddress
import logging
import math
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from rest_framework.exceptions import Throttled
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from tasks_app import bootstrap
from tasks_app.adapters.dynamodb.rate_counter import CounterBusy, DynamoRateCounter
from tasks_app.adapters.rate_leases import TokenLeases
from tasks_app.api.auth import TokenUser
from tasks_app.application.ports import DependencyUnavailable

logger = logging.getLogger(__name__)

# DRF's rate units, by their first letter (THROTTLE_*_RATE is checked by `config.environment`).
_WINDOW_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# The background takes that refill leases, and the counts of 401s. The pool lives as long as
# the process and makes a thread only when none is idle: Lambda serves one request at a time per
# instance, so it keeps one; a few more let a threaded local server's concurrent requests count
# at once.
_COUNTING = ThreadPoolExecutor(max_workers=4, thread_name_prefix="rate-count")
# A request's own take, when it runs beside the view. Apart from `_COUNTING`: such a take
# may wait for a background take of the same lease, which must never queue behind takes that
# wait for it. Room for a threaded server's concurrent first requests: in an outage each holds
# its worker for a whole retry budget, and one queued behind them would wait two or more
# (API Gateway gives up after 29 s). Lambda uses one; threads are made only when needed.
_TAKING = ThreadPoolExecutor(max_workers=32, thread_name_prefix="rate-take")


@dataclass(frozen=True)
class Charge:
    """One count: the counter's `key` (`user#<user id>` or `ip#<address>`) and its limit,
    `requests` per fixed window of `window_seconds`."""

    key: str
    requests: int
    window_seconds: int


@dataclass(frozen=True)
class Verdict:
    """A count's outcome: whether the request is within its limit, and `retry_after`, the whole
    seconds (at least 1) a refused caller should wait."""

    allowed: bool
    retry_after: int


def charge_of(user: object, meta: dict[str, Any]) -> Charge | None:
    """The single count a request costs, or None when no limit applies (rates `off`).

    `user` is `request.user` once DRF has authenticated the request (a `TokenUser` for a valid
    token), `meta` the WSGI environ. A signed-in user is counted as themself
    (THROTTLE_USER_RATE): the token names the caller across every address and instance, and an
    address is shared by everyone behind one NAT, office or mobile carrier, whom a per-address
    count would throttle for one user's burst. Every other request (no token, a bad one,
    AUTH_MODE=none, the public docs) has only its address to go by (THROTTLE_IP_RATE). If the
    applicable rate is off, the next that is on applies, so that lifting one limit never
    leaves a request unlimited while the other is set. Many valid tokens from one address are
    limited per user here; a flood from one address is what the edge (WAF) is for.
    """
    if isinstance(user, TokenUser) and (user_limit := _limit("user")) is not None:
        return Charge(f"user#{user.caller.user_id}", *user_limit)
    if (ip_limit := _limit("ip")) is not None:
        return Charge(f"ip#{address_key(meta)}", *ip_limit)
    return None


def _limit(scope: str) -> tuple[int, int] | None:
    rate = settings.THROTTLE_RATES.get(scope)
    if rate is None:
        return None
    requests, _, unit = rate.partition("/")
    return int(requests), _WINDOW_SECONDS[unit[0]]


def count(charge: Charge, counter: DynamoRateCounter, now: float) -> Verdict:
    """Count one hit of `charge` at `now` (epoch seconds); raises `DependencyUnavailable` on an
    outage, which the request answers with its 503 at once rather than spend a retry budget on
    the operation too (API Gateway gives up after 29 s)."""

    def counted() -> tuple[bool, float]:
        hits, window_end = counter.hit(charge.key, window_seconds=charge.window_seconds, now=now)
        return hits <= charge.requests, window_end

    return _guarded(charge, now, counted)


def spend(charge: Charge, leases: TokenLeases, now: float) -> Verdict:
    """Spend a request's token of `charge` at `now` (epoch seconds): a leased one without a
    request (`held`), or one from a take that this waits for (`taken`). Raises
    `DependencyUnavailable` on an outage, as `count` does."""
    verdict = held(charge, leases, now)
    return taken(charge, leases, now) if verdict is None else verdict


def held(charge: Charge, leases: TokenLeases, now: float) -> Verdict | None:
    """A request's verdict from what this process knows at `now` (epoch seconds), without a
    request: a leased token of `charge` (allowed) or the window's remembered refusal. None when
    neither is known and the request needs a take (`taken`). Raises nothing."""
    key, limit, window_seconds = charge.key, charge.requests, charge.window_seconds
    token = leases.spend(key, limit=limit, window_seconds=window_seconds, now=now, refill=_refill)
    return None if token is None else _verdict(token.allowed, token.window_end, now)


def taken(charge: Charge, leases: TokenLeases, now: float) -> Verdict:
    """A request's verdict from a take of `charge`'s tokens (one `UpdateItem`, or the take already
    in flight for the lease), the counter's faults mapped as the module says. Raises
    `DependencyUnavailable` on an outage."""

    def took() -> tuple[bool, float]:
        key, limit, window_seconds = charge.key, charge.requests, charge.window_seconds
        token = leases.take(key, limit=limit, window_seconds=window_seconds, now=now, refill=_refill)
        return token.allowed, token.window_end

    return _guarded(charge, now, took)


def _refill(take: Callable[[], None]) -> None:
    # The request's context goes along (its request id in the take's logs).
    _COUNTING.submit(contextvars.copy_context().run, take)


def _guarded(charge: Charge, now: float, counted: Callable[[], tuple[bool, float]]) -> Verdict:
    """The verdict of `counted` (whether the request is within the limit, and the window's end),
    the counter's faults mapped as the module says."""
    try:
        allowed, window_end = counted()
    except CounterBusy:
        logger.warning("DynamoDB throttled the rate counter; throttling the request", extra={"key": charge.key})
        return Verdict(allowed=False, retry_after=1)
    except DependencyUnavailable:
        raise
    except Exception:
        logger.exception("The rate counter failed; letting the request through")
        return Verdict(allowed=True, retry_after=0)
    return _verdict(allowed, window_end, now)


def _verdict(allowed: bool, window_end: float, now: float) -> Verdict:
    return Verdict(allowed=allowed, retry_after=max(1, math.ceil(window_end - now)))


class RequestCount:
    """A request's one count, from the throttle that starts it to the middleware that settles
    it. The middleware puts one on each request (`attach`); the throttle finds it there."""

    _ATTRIBUTE = "rate_limit_count"

    def __init__(self) -> None:
        self.started = False
        self._pending: Future[Verdict] | None = None
        self._verdict: Verdict | None = None  # once `settle` has waited for it

    @classmethod
    def attach(cls, request: HttpRequest) -> RequestCount:
        """A new, unstarted count, kept on `request` for the throttle to find."""
        count = cls()
        setattr(request, cls._ATTRIBUTE, count)
        return count

    @classmethod
    def of(cls, request: HttpRequest | Request) -> RequestCount | None:
        """The request's count; None when `RateLimitMiddleware` is not installed (DRF's
        `Request` reads through to the Django request the middleware saw)."""
        found = getattr(request, cls._ATTRIBUTE, None)
        return found if isinstance(found, RequestCount) else None

    def now(self, charge: Charge) -> Verdict:
        """Count before answering; raises `DependencyUnavailable` on an outage."""
        self.started = True
        return count(charge, bootstrap.rate_counter(), time.time())

    def spend(self, charge: Charge) -> Verdict:
        """Spend a token before the view runs (`spend`), waiting for a take if none is held;
        raises `DependencyUnavailable` on an outage."""
        self.started = True
        return spend(charge, bootstrap.rate_leases(), time.time())

    def meanwhile(self, charge: Charge) -> Verdict | None:
        """For a read, or a change whose writes wait for `settle`: the verdict of a held token
        at once, without a request (`held`); else None, with a take started on a worker, which
        `settle` (before a write) and `refusal` (after the view) wait for."""
        self.started = True
        # Wired here, on the request's thread: `bootstrap` binds the models on first use, which
        # must not race the view's own first use. The worker only sends the `UpdateItem`,
        # carrying the request's context (its request id in the logs).
        leases, now = bootstrap.rate_leases(), time.time()
        verdict = held(charge, leases, now)
        if verdict is None:
            self._pending = _TAKING.submit(contextvars.copy_context().run, taken, charge, leases, now)
        return verdict

    def settle(self) -> None:
        """Wait for a take running meanwhile, before a write. Raises `Throttled` (429)
        over the limit and `DependencyUnavailable` (503) when the counter is unreachable;
        returns at once when nothing is running."""
        if self._pending is None:
            return
        if self._verdict is None:
            self._verdict = self._pending.result()  # bounded by the counter's retry budget
        if not self._verdict.allowed:
            raise Throttled(self._verdict.retry_after)

    def refusal(self, request: HttpRequest, status_code: int) -> Throttled | DependencyUnavailable | None:
        """What to answer instead of a response of `status_code`, once the count is in: the
        429 (`Throttled`), the 503 (`DependencyUnavailable`), or None to keep the response.

        A 503 stands when the count met an outage too (one answer, one log line). A 401 that
        nothing counted yet is counted by address now. If that count meets an
        outage, the 401 stands: the refusal is right, and nothing was served to limit.
        """
        if not self.started and status_code == 401:
            charge = charge_of(None, request.META)
            if charge is None:
                return None
            try:
                verdict = self.now(charge)
            except DependencyUnavailable:
                logger.warning("The rate counter is unavailable; answering the 401 uncounted", exc_info=True)
                return None
        elif self._pending is not None:
            try:
                verdict = self._pending.result()  # bounded by the counter's retry budget
            except DependencyUnavailable as outage:
                # A view that met the outage too has answered (and logged) its 503 already.
                return None if status_code == 503 else outage
        else:
            return None
        return None if verdict.allowed else Throttled(verdict.retry_after)


class RequestRateThrottle(BaseThrottle):
    """DRF's throttle for every API view (DEFAULT_THROTTLE_CLASSES): starts the request's one
    count, after authentication so that it knows whom to charge (`charge_of`).

    Every request spends a leased token, and is refused here (DRF's 429) before its view runs
    if the window is known to be full. Without a token, a safe request, or a change of a view
    that declares `writes_after_rate_count`, is let through with its take running meanwhile
    (`RateLimitMiddleware` answers 429 if it went over; the change's writes wait for it); any
    other change waits for its take here. Without the middleware every request waits for its
    token first.
    """

    def __init__(self) -> None:
        self._wait: int | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        """True to let the request on (counted, or counting); False over the limit (`wait`
        gives Retry-After); raises `DependencyUnavailable` when the counter is unreachable."""
        counted = RequestCount.of(request)
        if counted is not None and counted.started:
            return True  # one count per API call, however many DRF views it passes through
        charge = charge_of(request.user, request.META)
        if charge is None:
            return True
        # A view may declare that its GET changes something (`changes_on_get`: the email link that
        # confirms an address): counted as a change, so that over the limit it never writes.
        safe = request.method in SAFE_METHODS and not getattr(view, "changes_on_get", False)
        if counted is not None and (safe or getattr(view, "writes_after_rate_count", False)):
            meanwhile = counted.meanwhile(charge)
            if meanwhile is None:
                return True  # taking beside the view
            verdict = meanwhile
        else:
            verdict = (counted or RequestCount()).spend(charge)
        self._wait = verdict.retry_after
        return verdict.allowed

    def wait(self) -> float | None:
        """Seconds to the end of the window, for Retry-After, after `allow_request` said False."""
        return self._wait


def address_key(meta: dict[str, Any]) -> str:
    """The client address as counted: IPv4 as is; IPv6 by its /64, which one subscriber usually
    has whole (and an IPv4 client seen through a dual-stack server as its IPv4 address); one
    shared `unknown` for anything that is not an address, with a bounded key whatever it was."""
    address = client_address(meta)
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        # The API Gateway console sends `test-invoke-source-ip`; an ALB sends no source at all.
        return "unknown"
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def client_address(meta: dict[str, Any]) -> str:
    """The caller's address as API Gateway saw the connection, not as a header claims it.

    Zappa derives REMOTE_ADDR from X-Forwarded-For, parts of which the client writes, and puts
    the Lambda event in the WSGI environ: its `sourceIp` (REST APIs: `identity`; HTTP APIs and
    function URLs: `http`) is what to trust. An event without one (an ALB) is counted as one
    unknown caller, never by a forgeable address. Outside Lambda (runserver, tests) REMOTE_ADDR
    is the peer.
    """
    event = meta.get("lambda.event")
    if event is None:
        return str(meta.get("REMOTE_ADDR") or "unknown")
    context = event.get("requestContext") if isinstance(event, dict) else None
    for part in ("identity", "http"):
        source = context.get(part) if isinstance(context, dict) else None
        source_ip = source.get("sourceIp") if isinstance(source, dict) else None
        if isinstance(source_ip, str) and source_ip:
            return source_ip
    return "unknown"
