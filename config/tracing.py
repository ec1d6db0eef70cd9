"""X-Ray for the API: a segment per request, named by its operation (SPEC §9).

In MIDDLEWARE only with TRACING=on (config/settings.py), first, so that the segment covers every
other middleware's AWS calls (the rate limit's counters, the body limit's 413s). The recorder is
`tasks_app.tracing`'s, which `config.apps` installs before the first request.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from config.observability import REQUEST_ID_HEADER
from config.request_metrics import operation
from tasks_app import tracing


class TracingMiddleware:
    """Records each request as a segment (on Lambda: a subsegment of the function's segment, which
    Lambda opens from API Gateway's trace header) named by operation as the metrics name it, e.g. `tasks.create`.

    The entity carries X-Ray's `http` block (method, URL, user agent, client address, status,
    which also sets the error/throttle/fault flags) and the annotations `method`, `url`,
    `status`, `operation` and `request_id`, which the console can search: subsegments' `http`
    blocks are not searchable. Outside Lambda, an incoming `X-Amzn-Trace-Id` header continues
    its trace. Responses are the same with tracing on or off.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.recorder = tracing.install()

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        from aws_xray_sdk.core.lambda_launcher import LambdaContext
        from aws_xray_sdk.core.models import http
        from aws_xray_sdk.core.utils import stacktrace
        from aws_xray_sdk.ext.util import calculate_sampling_decision, construct_xray_header

        xray = self.recorder
        on_lambda = isinstance(xray.context, LambdaContext)
        if on_lambda:
            entity = xray.begin_subsegment(tracing.SERVICE_NAME)
        else:
            # The client's header, as the SDK's own middleware reads it, minus what X-Ray would refuse.
            header = tracing.parsed_header(construct_xray_header(request.META).to_header_str())
            decision = calculate_sampling_decision(
                trace_header=header,
                recorder=xray,
                sampling_req={"host": request.META.get("HTTP_HOST"), "method": request.method, "path": request.path},
            )
            entity = xray.begin_segment(
                tracing.SERVICE_NAME, traceid=header.root, parent_id=header.parent, sampling=decision
            )
            entity.save_origin_trace_header(header)
        if entity is None:  # no segment to hang it on (Lambda's init): serve untraced
            return self.get_response(request)
        url = _url(request)
        entity.put_http_meta(http.METHOD, request.method)
        entity.put_http_meta(http.URL, url)
        if user_agent := request.META.get("HTTP_USER_AGENT"):
            entity.put_http_meta(http.USER_AGENT, user_agent)
        if client_ip := request.META.get("REMOTE_ADDR"):
            entity.put_http_meta(http.CLIENT_IP, client_ip)
        entity.put_annotation("method", str(request.method))
        entity.put_annotation("url", url)
        try:
            response = self.get_response(request)
        except Exception as error:  # Django turns errors into responses; anything else is a fault
            entity.put_http_meta(http.STATUS, 500)
            entity.add_exception(error, stacktrace.get_stacktrace(limit=xray.max_trace_back))
            raise
        else:
            entity.put_http_meta(http.STATUS, response.status_code)
            entity.put_annotation("status", response.status_code)
            if request_id := response.get(REQUEST_ID_HEADER):
                entity.put_annotation("request_id", request_id)
            return response
        finally:
            entity.name = operation(request)
            entity.put_annotation("operation", entity.name)
            if on_lambda:
                xray.end_subsegment()
            else:
                xray.end_segment()


def _url(request: HttpRequest) -> str:
    """The URL as the client asked for it, without Django's Host check (a bad Host is the 400
    CommonMiddleware gives, not an error here)."""
    host = request.META.get("HTTP_HOST") or request.META.get("SERVER_NAME", "")
    return f"{request.scheme}://{host}{request.get_full_path()}"[:1000]  # X-Ray's limit for an annotation
