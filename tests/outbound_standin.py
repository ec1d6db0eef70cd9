"""A stand-in for `notifications_app.adapters.outbound_http` (the SSRF-safe sender, written on
another branch), with its interface, for tests run before that module is merged.

Importing this module installs the stand-in only when the real module cannot be imported:
once the real one is there, tests use it and this file does nothing. It allows what the tests
need (http://127.0.0.1 when `allow_loopback_http`, https otherwise) and checks no addresses.
"""

from __future__ import annotations

import importlib
import sys
import time
import types
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit


class UnsafeUrl(ValueError):
    """The URL may not receive webhooks; the message says why."""


@dataclass(frozen=True)
class OutboundPolicy:
    """Whether http://127.0.0.1:<port> is allowed (development) or only https (deployed)."""

    allow_loopback_http: bool


def check_url(url: str, policy: OutboundPolicy) -> None:
    """Raises `UnsafeUrl` unless `url` is https, or http to 127.0.0.1 under a loopback policy."""
    parts = urlsplit(url)
    if parts.scheme == "http" and policy.allow_loopback_http and parts.hostname == "127.0.0.1":
        return
    if parts.scheme != "https":
        raise UnsafeUrl("Only https:// URLs may receive webhooks.")
    if not parts.hostname:
        raise UnsafeUrl("The URL has no host.")
    if parts.hostname in {"127.0.0.1", "localhost", "169.254.169.254"}:
        raise UnsafeUrl("The URL's host is not a public address.")


@dataclass(frozen=True)
class HttpResult:
    """What became of one POST."""

    status_code: int | None
    body: bytes
    latency_seconds: float
    error: str | None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class UrllibSender:
    """POSTs with the standard library: 5 s timeout, no redirects, 4096 bytes of answer kept."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self.policy = policy
        self._opener = urllib.request.build_opener(_NoRedirects)

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> HttpResult:
        start = time.monotonic()
        try:
            check_url(url, self.policy)
            request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
            with self._opener.open(request, timeout=5) as response:
                return HttpResult(response.status, response.read(4096), time.monotonic() - start, None)
        except urllib.error.HTTPError as error:
            return HttpResult(error.code, error.read(4096), time.monotonic() - start, None)
        except (OSError, UnsafeUrl) as error:
            return HttpResult(None, b"", time.monotonic() - start, str(error))


def _install() -> None:
    name = "notifications_app.adapters.outbound_http"
    try:
        importlib.import_module(name)
    except ModuleNotFoundError:
        module = types.ModuleType(name)
        for value in (UnsafeUrl, OutboundPolicy, check_url, HttpResult, UrllibSender):
            setattr(module, value.__name__, value)
        sys.modules[name] = module


_install()
