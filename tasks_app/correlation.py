"""Correlation (SPEC §9): the request id and X-Ray trace header of the work in hand, and the id of
the event being handled, in context variables.

Standard library only, so that the API (which sets the request id), the repository (which stores
it with a change's events), the relay and the consumers (which bind an event's ids while handling
it) and the log filter (`config.observability`) share them without importing one another, and the
domain never sees them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

# Lambda sets this variable for each invocation: the trace header of the request it is serving
# (`Root=1-…;Parent=…;Sampled=…`), with active tracing on or when API Gateway's is.
TRACE_HEADER_VARIABLE = "_X_AMZN_TRACE_ID"

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_event_id: ContextVar[str | None] = ContextVar("event_id", default=None)
_trace_header: ContextVar[str | None] = ContextVar("trace_header", default=None)


@dataclass(frozen=True, slots=True)
class Origin:
    """What caused an event: the request's id and its X-Ray trace header; None where unknown
    (a management command, an event stored before correlation existed)."""

    request_id: str | None = None
    trace_header: str | None = None


def request_id() -> str | None:
    """The id of the request (or of the request that caused the event) being handled, or None."""
    return _request_id.get()


def event_id() -> str | None:
    """The id of the event being relayed or consumed, or None outside one."""
    return _event_id.get()


def trace_header() -> str | None:
    """The X-Ray trace header of the work in hand: the one bound with an event, else the one
    Lambda set for this invocation (`_X_AMZN_TRACE_ID`), else None (locally)."""
    return _trace_header.get() or os.environ.get(TRACE_HEADER_VARIABLE) or None


def origin() -> Origin:
    """The request id and trace header that events stored now are stamped with: with tracing on,
    the header of the segment in progress (so the consumer's segment hangs under the API's
    operation, locally too); else the bound or Lambda's one (`trace_header`)."""
    from tasks_app import tracing  # standard library only unless tracing is on

    return Origin(request_id=request_id(), trace_header=tracing.current_trace_header() or trace_header())


def set_request_id(value: str | None) -> None:
    """Start (a str) or end (None) a request: the API's middleware, which clears it only once the
    server has written its access-log line, after the response, so not in a `with` block."""
    _request_id.set(value)


@contextmanager
def bound(*, request_id: str | None, event_id: str | None, trace_header: str | None = None) -> Iterator[None]:
    """Within the block, the work in hand is event `event_id`, caused by request `request_id`
    (either may be None: an event stored before correlation, a message that is not an event);
    what was bound before comes back after it, even on an error."""
    tokens = (_request_id.set(request_id), _event_id.set(event_id), _trace_header.set(trace_header))
    try:
        yield
    finally:
        _trace_header.reset(tokens[2])
        _event_id.reset(tokens[1])
        _request_id.reset(tokens[0])
