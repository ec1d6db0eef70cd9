"""The API's request metrics (SPEC §9): `Requests`, `Latency` and `ThrottledRequests` per request,
in one EMF line (`tasks_app.adapters.metrics`) that is also the request's access log; no AWS request."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.urls import Resolver404, ResolverMatch, resolve

from config.observability import REQUEST_ID_HEADER, logged_path
from tasks_app.adapters import metrics
from tasks_app.api.throttling import client_address

UNMATCHED = "unmatched"  # no route: the catch-all 404, a static file, a request refused before routing
# Viewsets' routes are named after their router basename; their operations, after the URL's resource.
_RESOURCES = {"task": "tasks"}
# Plain views by route name. Any other named route is its name: a fixed set, like these.
_VIEWS = {
    "task-stats": "tasks.stats",
    "task-events": "tasks.events",
    "api-root": "root",
    "openapi-schema": "schema",
    "swagger-ui": "swagger",
}
_METHODS = frozenset({"get", "head", "post", "put", "patch", "delete", "options", "trace"})


class RequestMetricsMiddleware:
    """Records each request's metrics, and its access details, once it is answered; first in
    MIDDLEWARE, so the latency is the whole app's and the status the one sent (a 429 of the rate
    limits, a 413, a 500 included).

    Django's `get_response` in, the response out, unchanged. With metrics off
    (`POWERTOOLS_METRICS_DISABLED=true`) it only passes the request on.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not metrics.enabled():
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        metrics.record_request(
            operation=operation(request),
            status=response.status_code,
            latency_ms=(time.perf_counter() - started) * 1000,
            request_id=response.get(REQUEST_ID_HEADER),
            details=access_details(request, response),
        )
        return response


def access_details(request: HttpRequest, response: HttpResponseBase) -> dict[str, str | int]:
    """What an access log says of a request, for its metrics line, which is the access log
    deployed (Zappa's own line is off while metrics are on: `config.settings`' LOGGING): the
    method, the path as the client sent it (stage prefix and query included, a secret's value
    hidden: `logged_path`), the status sent, and the caller's address as the rate limits count
    it (API Gateway's `sourceIp`)."""
    return {
        "method": request.method or "",
        "path": logged_path(request),
        "status": response.status_code,
        "source_ip": client_address(request.META),
    }


def operation(request: HttpRequest) -> str:
    """The request's operation, from a fixed set: `tasks.<viewset action>` (`tasks.create`,
    `tasks.list`, `tasks.retrieve`, `tasks.partial_update`, `tasks.complete`…, or the method when
    the route has no action for it, e.g. `tasks.options`), a plain view's (`tasks.stats`,
    `tasks.events`, `root`, `schema`, `swagger`, `favicon`), else `unmatched`. A request answered
    before routing (a change refused by the rate limits) is resolved here. Raises nothing."""
    match = request.resolver_match
    if match is None:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return UNMATCHED
    return _named(match, (request.method or "").lower())


def _named(match: ResolverMatch, method: str) -> str:
    actions = getattr(match.func, "actions", None)
    basename = getattr(match.func, "initkwargs", {}).get("basename")
    if isinstance(actions, dict) and basename:
        action = actions.get(method) or (actions.get("get") if method == "head" else None)
        action = action or (method if method in _METHODS else "other")
        return f"{_RESOURCES.get(basename, basename)}.{action}"
    if not match.url_name:  # the catch-all 404
        return UNMATCHED
    return _VIEWS.get(match.url_name, match.url_name)
