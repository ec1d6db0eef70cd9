"""Rate limits per caller and per client IP, counted in DynamoDB so all Lambda instances share them.

Fixed windows: a rate of 600/min allows 600 requests in each calendar minute. Over the limit,
DRF answers 429 with `Retry-After` (the seconds left in the window). If DynamoDB throttles the
counter's key, the request is throttled too. If DynamoDB is unreachable, stalled or throttling
the whole table, the request gets the 503 the operation would get, at once (SPEC §2).
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from typing import Any

from django.conf import settings
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from tasks_app import bootstrap
from tasks_app.adapters.dynamodb.rate_counter import CounterBusy
from tasks_app.api.auth import BearerTokenAuthentication, TokenUser
from tasks_app.application.ports import DependencyUnavailable

logger = logging.getLogger(__name__)


class SharedRateThrottle(SimpleRateThrottle):
    """DRF's fixed-rate throttle (its `rate`, `parse_rate`, `scope`), counted in the table
    instead of a per-process cache, so every Lambda instance sees the same count."""

    scope = ""
    num_requests: int | None  # set by SimpleRateThrottle.__init__ from `rate`
    duration: int | None  # seconds

    def __init__(self) -> None:
        super().__init__()  # reads the rate through get_rate() and parses it with DRF's parse_rate
        self._wait: float | None = None

    def get_rate(self) -> str | None:
        """THROTTLE_USER_RATE / THROTTLE_IP_RATE, already checked by `config.environment`; None is off."""
        return settings.THROTTLE_RATES.get(self.scope)

    def identity(self, request: Request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        identity = self.identity(request)
        if self.rate is None or identity is None or self.num_requests is None or self.duration is None:
            return True
        now = time.time()
        try:
            hits, window_end = bootstrap.rate_counter().hit(
                f"{self.scope}#{identity}", window_seconds=self.duration, now=now
            )
        except CounterBusy:
            logger.warning("DynamoDB throttled the rate counter; throttling the request", extra={"scope": self.scope})
            self._wait = 1.0
            return False
        except DependencyUnavailable:
            # The operation needs the same table: answer 503 now rather than spend a second
            # retry budget on it and reach API Gateway's 29 s first.
            raise
        except Exception:
            logger.exception("The rate counter failed; letting the request through")
            return True
        self._wait = max(1.0, math.ceil(window_end - now))
        return bool(hits <= self.num_requests)

    def wait(self) -> float | None:
        return self._wait


class CallerRateThrottle(SharedRateThrottle):
    """Per authenticated user (THROTTLE_USER_RATE)."""

    scope = "user"

    def identity(self, request: Request) -> str | None:
        user = request.user
        return str(user.caller.user_id) if isinstance(user, TokenUser) else None


class ClientIpRateThrottle(SharedRateThrottle):
    """Per client address (THROTTLE_IP_RATE); an IPv6 client is counted by its /64, which one
    subscriber usually has whole."""

    scope = "ip"

    def identity(self, request: Request) -> str | None:
        address = client_address(request.META)
        if address is None:
            return None
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            # Not an address (the API Gateway console sends `test-invoke-source-ip`): one shared
            # count for all such callers, and a bounded key whatever the value.
            return "unknown"
        if ip.version == 6:
            if ip.ipv4_mapped is not None:  # a dual-stack server's view of an IPv4 client
                return str(ip.ipv4_mapped)
            return str(ipaddress.ip_network(f"{ip}/64", strict=False))
        return str(ip)


class ClientIpThrottleAuthentication(BaseAuthentication):
    """The per-IP limit, run as the first authenticator.

    DRF checks throttles after authentication, so a request with a bad token would be answered
    401 without ever being counted, and each costs a signature check. Listed first in
    DEFAULT_AUTHENTICATION_CLASSES, this counts every request before any token is looked at.
    """

    def authenticate(self, request: Request) -> None:
        throttle = ClientIpRateThrottle()
        if not throttle.allow_request(request, None):
            raise Throttled(throttle.wait())

    def authenticate_header(self, request: Request) -> str:
        # DRF takes the 401's WWW-Authenticate challenge from the first authenticator.
        return BearerTokenAuthentication().authenticate_header(request)


def client_address(meta: dict[str, Any]) -> str | None:
    """The caller's address as API Gateway saw the connection, not as a header claims it.

    Zappa derives REMOTE_ADDR from X-Forwarded-For, parts of which the client writes, and puts
    the Lambda event in the WSGI environ: its `sourceIp` (REST APIs: `identity`; HTTP APIs and
    function URLs: `http`) is what to trust. An event without one (an ALB) is counted as one
    unknown caller, never by a forgeable address. Outside Lambda (runserver, tests) REMOTE_ADDR
    is the peer.
    """
    event = meta.get("lambda.event")
    if event is None:
        return str(meta.get("REMOTE_ADDR") or "") or None
    context = event.get("requestContext") if isinstance(event, dict) else None
    for part in ("identity", "http"):
        source = context.get(part) if isinstance(context, dict) else None
        source_ip = source.get("sourceIp") if isinstance(source, dict) else None
        if isinstance(source_ip, str) and source_ip:
            return source_ip
    return "unknown"
