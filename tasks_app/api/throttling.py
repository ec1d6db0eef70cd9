"""Rate limits per caller and per client IP, counted in DynamoDB so all Lambda instances share them.

Fixed windows: a rate of 600/min allows 600 requests in each calendar minute. Over the limit,
DRF answers 429 with `Retry-After` (the seconds left in the window). If the counter cannot
be reached the request goes through: the rest of the request needs DynamoDB anyway.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from tasks_app import bootstrap
from tasks_app.api.auth import TokenUser

logger = logging.getLogger(__name__)

_WINDOWS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}


def parse_rate(rate: str) -> tuple[int, int]:
    """`600/min` as (600, 60)."""
    count, unit = rate.split("/")
    return int(count), _WINDOWS[unit]


class SharedRateThrottle(BaseThrottle):
    scope = ""

    def __init__(self) -> None:
        self._wait: float | None = None

    def identity(self, request: Request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        rate = settings.THROTTLE_RATES.get(self.scope)
        identity = self.identity(request)
        if rate is None or identity is None:
            return True
        limit, window = parse_rate(rate)
        now = time.time()
        try:
            hits, window_end = bootstrap.rate_counter().hit(f"{self.scope}#{identity}", window_seconds=window, now=now)
        except Exception:
            logger.warning("The rate counter could not be reached; letting the request through", exc_info=True)
            return True
        self._wait = max(1.0, math.ceil(window_end - now))
        return hits <= limit

    def wait(self) -> float | None:
        return self._wait


class CallerRateThrottle(SharedRateThrottle):
    """Per authenticated user (THROTTLE_USER_RATE)."""

    scope = "user"

    def identity(self, request: Request) -> str | None:
        user = request.user
        return str(user.caller.user_id) if isinstance(user, TokenUser) else None


class ClientIpRateThrottle(SharedRateThrottle):
    """Per client address (THROTTLE_IP_RATE). REMOTE_ADDR is API Gateway's sourceIp behind Zappa,
    which a client cannot forge the way it can an X-Forwarded-For header."""

    scope = "ip"

    def identity(self, request: Request) -> str | None:
        return request.META.get("REMOTE_ADDR") or None
