"""AWS X-Ray tracing for every process of the project (SPEC §9): off unless `TRACING=on`.

Off, nothing here imports the X-Ray SDK: no socket, no daemon, no cost at start-up. On
(`install()`, which `config.apps` calls once Django is set up), the SDK's global recorder gets a
local sampler (the default one polls a daemon for sampling rules) and botocore is patched, so
every AWS call made inside a segment (DynamoDB, SNS, SQS, S3) becomes a subsegment of it.

Where segments come from:
- API requests: `config.tracing.TracingMiddleware`; on Lambda a subsegment of the function's
  own segment, which Lambda opens from the request's `_X_AMZN_TRACE_ID`.
- consumed events: `continued_trace(trace_header, name=...)`, a segment in the trace of the
  request that caused the event, on Lambda as in the Celery worker.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only with TRACING=on is the SDK imported
    from aws_xray_sdk.core.models.trace_header import TraceHeader
    from aws_xray_sdk.core.recorder import AWSXRayRecorder

TRACING_VARIABLE = "TRACING"
SERVICE_NAME = "tasks-api"
CONSUMER_SEGMENT = f"{SERVICE_NAME}-events"  # the consumers' segments, Lambda's and the worker's
# Calls outside any segment (the local stream relay's thread, a command's calls, Lambda's init)
# are not traced; the SDK would log this warning for each one.
_UNTRACED_CALL_WARNING = "No segment found, cannot begin subsegment"

# X-Ray's id formats (X-Ray developer guide, "Tracing header"; segment documents' `trace_id`, `id`).
_TRACE_ID = re.compile(r"1-[0-9a-f]{8}-[0-9a-f]{24}")
_SEGMENT_ID = re.compile(r"[0-9a-f]{16}")

logger = logging.getLogger(__name__)
_recorder: AWSXRayRecorder | None = None


def enabled(environ: Mapping[str, str]) -> bool:
    """Whether `environ` turns tracing on: `TRACING` is `on` or `off` (the default, also when empty).

    Raises ValueError for any other value, so a typo never leaves a stage untraced unnoticed.
    """
    value = environ.get(TRACING_VARIABLE, "").strip().lower()
    if value not in {"on", "off", ""}:
        raise ValueError(f"{TRACING_VARIABLE} must be 'on' or 'off', not {environ[TRACING_VARIABLE]!r}.")
    return value == "on"


def install() -> AWSXRayRecorder:
    """Configure the SDK's global recorder and patch botocore; returns the recorder. Idempotent.

    On Lambda (the SDK finds `LAMBDA_TASK_ROOT`) the recorder works under the function's segment
    and the sampling decision is Lambda's (the trace header's); elsewhere every segment is
    recorded, sent to the daemon at `AWS_XRAY_DAEMON_ADDRESS` (default 127.0.0.1:2000 over UDP).
    Raises nothing of its own.
    """
    global _recorder
    if _recorder is not None:
        return _recorder
    from aws_xray_sdk.core import patch, xray_recorder
    from aws_xray_sdk.core.lambda_launcher import LambdaContext
    from aws_xray_sdk.core.sampling.local.sampler import LocalSampler

    on_lambda = isinstance(xray_recorder.context, LambdaContext)
    xray_recorder.configure(
        service=SERVICE_NAME,
        # Local rules (1 a second, then 5%) for a segment without a decision; the default sampler
        # asks the daemon for centralized rules from two background threads.
        sampler=LocalSampler(),
        sampling=on_lambda,
        # An AWS call outside any segment is normal here (see _UNTRACED_CALL_WARNING).
        context_missing="IGNORE_ERROR",
    )
    logging.getLogger("aws_xray_sdk.core.recorder").addFilter(_drop_untraced_call_warnings)
    patch(["botocore"])
    _recorder = xray_recorder
    logger.info("X-Ray tracing on", extra={"on_lambda": on_lambda})
    return xray_recorder


def refresh() -> None:
    """After a SnapStart restore: a new socket to the daemon (the snapshot's was made in another
    instance's network) and a new sampler (its random state is the same in every restored
    instance). Nothing while tracing is off; raises nothing of its own."""
    if _recorder is None:
        return
    from aws_xray_sdk.core.emitters.udp_emitter import UDPEmitter
    from aws_xray_sdk.core.sampling.local.sampler import LocalSampler

    _recorder.configure(emitter=UDPEmitter(), sampler=LocalSampler())


def recorder() -> AWSXRayRecorder | None:
    """The configured recorder, or None while tracing is off (`install` not called)."""
    return _recorder


def _drop_untraced_call_warnings(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith(_UNTRACED_CALL_WARNING)


@contextmanager
def continued_trace(trace_header: str | None, *, name: str) -> Iterator[None]:
    """A segment named `name` around the block, in the trace `trace_header` names; a no-op while off.

    `trace_header` is an X-Ray header (`Root=1-…;Parent=…;Sampled=1`), the one of the request
    that caused the work (stored with its outbox events, carried as the messages' `trace_header`
    attribute): the segment takes its trace id, its parent (the request's segment) and its
    sampling decision. None, or a header without a root, starts a new trace. Without a decision
    in the header, the segment is sampled if the Lambda invocation is (elsewhere, by the local
    rules). AWS calls in the block are its subsegments. An exception leaving the block is
    recorded on the segment (a fault) and propagates.

    On Lambda the segment is not a subsegment of the function's own (that is another trace): the
    recorder keeps a plain context for the block (safe: Lambda runs one invocation at a time per
    process) and gets Lambda's back afterwards. Elsewhere the context is per thread already; an
    entity this thread had open before the block is its current one again after it.
    """
    xray = _recorder
    if xray is None:
        yield
        return
    from aws_xray_sdk.core.context import Context
    from aws_xray_sdk.core.lambda_launcher import LambdaContext
    from aws_xray_sdk.core.utils import stacktrace
    from aws_xray_sdk.ext.util import calculate_sampling_decision

    header = parsed_header(trace_header)
    decision = calculate_sampling_decision(trace_header=header, recorder=xray, sampling_req={"service": name})
    own_context = xray.context
    before = None
    if isinstance(own_context, LambdaContext):
        if header.sampled in (None, "?"):  # Lambda's decision for the invocation stands for its events
            decision = 1 if xray.is_sampled() else 0
        xray.context = Context(context_missing="IGNORE_ERROR")
    else:
        before = xray.get_trace_entity()
    try:
        segment = xray.begin_segment(name=name, traceid=header.root, parent_id=header.parent, sampling=decision)
        segment.save_origin_trace_header(header)
        try:
            yield
        except Exception as error:
            segment.add_exception(error, stacktrace.get_stacktrace(limit=xray.max_trace_back))
            raise
        finally:
            xray.end_segment()
    finally:
        xray.context = own_context
        if before is not None:
            xray.set_trace_entity(before)


def parsed_header(text: str | None) -> TraceHeader:
    """The X-Ray trace header `text` (`Root=1-…;Parent=…;Sampled=…`), keeping only what X-Ray
    accepts: a `Root` that is not an X-Ray trace id is dropped with the `Parent` (a new trace), a
    `Parent` that is not a segment id is dropped alone. The header comes from outside (a message
    attribute anyone allowed to send to the queue chooses, a client's `X-Amzn-Trace-Id` locally);
    the SDK keeps any text, which made segments the daemon refuses or too big for its UDP
    datagram, and the work's trace was lost. Needs the SDK (tracing on); raises nothing."""
    from aws_xray_sdk.core.models.trace_header import TraceHeader

    header = TraceHeader.from_header_str(text)
    root = header.root if header.root and _TRACE_ID.fullmatch(header.root) else None
    parent = header.parent if root and header.parent and _SEGMENT_ID.fullmatch(header.parent) else None
    if (root, parent) == (header.root, header.parent):
        return header
    return TraceHeader(root=root, parent=parent, sampled=header.sampled)


def current_trace_header() -> str | None:
    """The X-Ray header of the work in progress (`Root=…;Parent=<current segment or subsegment>;Sampled=…`),
    for a message that continues the trace elsewhere; None while tracing is off or outside a segment."""
    xray = _recorder
    if xray is None:
        return None
    from aws_xray_sdk.core.models.dummy_entities import DummySegment, DummySubsegment
    from aws_xray_sdk.core.models.trace_header import TraceHeader

    entity = xray.get_trace_entity()
    # A dummy entity (SDK switched off, or an unsampled request) has a made-up trace id of zeros:
    # the caller falls back to the invocation's own header, which says it was not sampled.
    if entity is None or isinstance(entity, DummySegment | DummySubsegment) or not getattr(entity, "trace_id", None):
        return None
    return str(TraceHeader(root=entity.trace_id, parent=entity.id, sampled=entity.sampled).to_header_str())
