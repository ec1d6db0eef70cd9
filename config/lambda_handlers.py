"""Every Lambda entry point: HTTP through Zappa's handler, the outbox sweeper, the reminder sweep,
the events consumer, the webhooks consumer, the stream relay.

`zappa_settings.json` names `serve_http` as the function's handler (`lambda_handler`): every
event goes through it. The triggers `provision --stage` makes (Zappa's would run `$LATEST`,
without SnapStart) are dispatched here, since Zappa's handler finds a record's function only
among the stage's `events`, which name none now: the events queue's batches to
`consume_events`, the webhooks queue's to `consume_webhooks`, the table stream's to
`relay_stream`, the sweeper's schedule to `relay_outbox`, the reminders' to `sweep_reminders`.
Everything else (API Gateway's requests) goes to Zappa's handler, which serves it from
`config.settings`.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Callable
from typing import Any

# On Lambda, the cyclic garbage collector is paused while the init phase imports about a thousand
# modules: each pass would walk every object imported so far, and none of it is garbage (a fifth
# of the init, `make bench`). What init made is then frozen, so no later pass walks it either
# (the first request would otherwise pay one long pass). Init's few cycles of garbage stay for
# the instance's life: gc.freeze's documented trade, about 360 objects here.
_ON_LAMBDA = "AWS_LAMBDA_FUNCTION_NAME" in os.environ
if _ON_LAMBDA:
    gc.disable()

# Imported here, not on the first event: with INSTANTIATE_LAMBDA_HANDLER_ON_IMPORT set (as
# zappa_settings.json does) Zappa sets Django up while this module loads, in Lambda's init phase,
# which is what SnapStart snapshots.
from zappa import handler as zappa_handler  # noqa: E402 - after the collector's pause

from config.observability import masked_query  # noqa: E402 - after the collector's pause
from tasks_app.adapters import metrics  # noqa: E402 - after the collector's pause

logger = logging.getLogger(__name__)


class _ResponseAsDjangoSentIt(zappa_handler.Response):  # type: ignore[misc] # werkzeug's, untyped through Zappa
    """The response Zappa reads Django's from, minus the `Content-Type: text/plain` werkzeug gives
    one that has none: Django sends none with a 204 or a 304 (RFC 9110 §15.4.5), nor does runserver."""

    default_mimetype = None


# Zappa builds its answer from the `Response` its module names; this is the only way to choose the class.
zappa_handler.Response = _ResponseAsDjangoSentIt

_zappa_access_line = zappa_handler.common_log
_zappa_access_logger = logging.getLogger("zappa.wsgi")


def _access_line_if_kept(environ: dict[str, Any], response: Any, response_time: int | None = None) -> str | None:
    """Zappa's access line, formatted only when its logger keeps it: Zappa formats it before
    logging (about 0.08 ms of a warm request, issue 12), and while metrics are on the logger drops
    it (`config.settings`' LOGGING: each request's metrics line is its access log). Same
    arguments as `zappa.wsgi.common_log`; the line (a secret query value hidden, as in
    `config.observability.logged_path`), or None when not logged."""
    if not _zappa_access_logger.isEnabledFor(logging.INFO):
        return None
    if query := environ.get("QUERY_STRING"):  # a confirmation link's token stays out of the logs
        environ = {**environ, "QUERY_STRING": masked_query(str(query))}
    line: str = _zappa_access_line(environ, response, response_time=response_time)
    return line


# Zappa's handler calls the `common_log` its module names, as with `Response` above.
zappa_handler.common_log = _access_line_if_kept


def serve_http(event: dict[str, Any], context: object) -> Any:
    """The function's handler: the provisioned triggers' events to their handlers (`dispatch`),
    anything else to Zappa's `lambda_handler`, its HTTP answers sent as runserver sends them.

    `event` is any event Lambda delivers (API Gateway's, the schedule's, the SQS or stream
    source's). A trigger's event returns its handler's answer (for the event sources, the
    `batchItemFailures` Lambda reads). An API Gateway REST answer (a dict with `statusCode`)
    goes through `as_sent`; anything else is returned as it is. Zappa's own errors propagate as
    they would from its handler. tests/e2e/test_lambda_parity.py compares the two servers.
    """
    handler = dispatch(event)
    if handler is not None:
        return handler(event, context)
    metrics.record_cold_start("api")
    result = zappa_handler.lambda_handler(event, context)
    if isinstance(result, dict) and "statusCode" in result and event.get("httpMethod"):
        return as_sent(result, method=str(event["httpMethod"]))
    return result


# ops/provisioning/schedule.py names each schedule's rule `<function>-<module>.<handler>`, as Zappa does.
_SWEEPER_RULE_SUFFIX = f"-{__name__}.relay_outbox"
_REMINDERS_RULE_SUFFIX = f"-{__name__}.sweep_reminders"
WEBHOOKS_QUEUE_SUFFIX = "-webhooks"  # `<table>-webhooks`, as ops/provisioning/resources.py names it


def dispatch(event: dict[str, Any]) -> Callable[[dict[str, Any], object], Any] | None:
    """The handler of a provisioned trigger's `event`, or None for an event Zappa's handler serves.

    Records are told apart by their `eventSource` (Lambda's SQS and DynamoDB stream events);
    a scheduled event by the name of its rule (the first element of `resources`):
    `<function>-config.lambda_handlers.relay_outbox` the sweeper's, `...sweep_reminders` the
    reminders'. Raises nothing.
    """
    if "httpMethod" in event or "requestContext" in event:  # API Gateway's, whatever else it holds
        return None
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], dict):
        handlers: dict[str, Callable[[dict[str, Any], object], Any]] = {
            "aws:sqs": consume_events,
            "aws:dynamodb": relay_stream,
        }
        if str(records[0].get("eventSourceARN", "")).endswith(WEBHOOKS_QUEUE_SUFFIX):
            return consume_webhooks  # one mapping's batch comes from one queue
        return handlers.get(str(records[0].get("eventSource")))
    if event.get("detail-type") == "Scheduled Event":
        resources = event.get("resources")
        rule = resources[0] if isinstance(resources, list) and resources else ""
        if str(rule).endswith(_SWEEPER_RULE_SUFFIX):
            return relay_outbox
        if str(rule).endswith(_REMINDERS_RULE_SUFFIX):
            return sweep_reminders
    return None


def as_sent(result: dict[str, Any], *, method: str) -> dict[str, Any]:
    """Zappa's answer to an API Gateway REST proxy event (`result`, changed in place and returned),
    made what runserver sends for the same response:

    - one list of values per header name, each value once: Zappa's WSGI middleware repeats every
      `Set-Cookie` under the name `set-cookie` (a workaround from before `multiValueHeaders`,
      Miserlou/Zappa#1965), and lists each name's values under both spellings, so API Gateway
      sent every cookie two to four times. `headers` keeps the names with one value; API Gateway
      takes the rest from `multiValueHeaders`, which wins for a name in both (API Gateway's
      Lambda proxy output format). Django never sends one line twice (its cookies are by name).
    - values without surrounding whitespace (RFC 9110 §5.5; Django writes ` csrftoken=…`);
    - no body for HEAD (RFC 9110 §9.3.2), as runserver; Content-Length stays that of the GET.

    An answer without `multiValueHeaders` (an event without them: the console's test button) keeps
    Zappa's headers. Raises nothing.
    """
    if method == "HEAD":
        result.pop("body", None)
        result.pop("isBase64Encoded", None)
    given = result.get("multiValueHeaders")
    if not isinstance(given, dict):
        return result
    values: dict[str, list[str]] = {}
    spelling: dict[str, str] = {}  # by lower-case name: the first spelling Django used
    for name, listed in given.items():
        kept = values.setdefault(spelling.setdefault(name.lower(), name), [])
        for value in listed:
            if (text := str(value).strip()) not in kept:
                kept.append(text)
    result["multiValueHeaders"] = values
    result["headers"] = {name: listed[0] for name, listed in values.items() if len(listed) == 1}
    return result


def relay_outbox(event: dict[str, Any], context: object) -> dict[str, int]:
    """The sweeper: publish what the stream relay could not (a schedule calls this every few minutes).

    Returns the counts `{"published": N, "held_back": N}` of events sent to SNS and of those
    left to the stream relay (younger than OUTBOX_SETTLE_SECONDS).
    """
    import django

    metrics.record_cold_start("sweeper")
    django.setup()
    from tasks_app import bootstrap

    result = bootstrap.relay_all()
    if result.published or result.held_back:
        logger.info("Outbox relayed", extra={"published": result.published, "held_back": result.held_back})
    return {"published": result.published, "held_back": result.held_back}


def sweep_reminders(event: dict[str, Any], context: object) -> dict[str, int]:
    """The reminder sweep (issue 14 item 6), which its schedule runs every minute: records
    `TaskDueSoon` and `TaskOverdue` for the tasks falling due (`config.reminders.sweep_reminders`).

    Returns the counts `{"due_soon": N, "overdue": N, "queries": N}`: events recorded, and the
    DynamoDB Query calls it took. An outage propagates: the invocation fails (the Lambda Errors
    alarm counts it); what was recorded before stays recorded, and the next minute's sweep finds the rest.
    """
    import django

    metrics.record_cold_start("reminders")
    django.setup()
    from config import reminders

    result = reminders.sweep_reminders()
    return {"due_soon": result.due_soon, "overdue": result.overdue, "queries": result.queries}


def consume_events(event: dict[str, Any], context: object) -> dict[str, list[dict[str, str]]]:
    """Apply an SQS batch of domain events to the read models.

    Returns `{"batchItemFailures": [{"itemIdentifier": <message id>}, ...]}` for the messages
    that failed, so SQS retries only those. Lambda honours it only with
    `ReportBatchItemFailures` on the event source mapping, which `python manage.py provision --stage` sets.
    """
    import django

    metrics.record_cold_start("consumer")
    django.setup()
    from events_app import bootstrap
    from events_app.handlers import handle_message, handling
    from events_app.messages import message_attributes
    from tasks_app import tracing

    failures = []
    for record in event.get("Records", []):
        attributes = message_attributes(record.get("messageAttributes"))
        with handling(record.get("body", ""), attributes):  # every line: request_id, event_id (SPEC §9)
            try:
                # The segment continues the trace of the request that caused the event.
                with tracing.continued_trace(attributes.get("trace_header"), name=tracing.CONSUMER_SEGMENT):
                    applied = handle_message(record["body"], read_models=bootstrap.read_models(), attributes=attributes)
            except Exception:
                logger.exception("Could not apply an event", extra={"message_id": record.get("messageId")})
                metrics.record_consumer_failure()
                failures.append({"itemIdentifier": str(record.get("messageId", ""))})
            else:
                metrics.record_event_consumed(applied.timestamp)
    return {"batchItemFailures": failures}


def consume_webhooks(event: dict[str, Any], context: object) -> dict[str, list[dict[str, str]]]:
    """Handle an SQS batch of the webhooks queue: events to fan out, attempts of deliveries
    (`notifications_app.handlers`). Returns the `batchItemFailures` of the messages that failed:
    SQS delivers them again, and moves them to `<table>-webhooks-dlq` after 3 receives (a
    message that is neither an event nor a ticket goes there too, for people to look at)."""
    import django

    metrics.record_cold_start("webhooks")
    django.setup()
    from notifications_app import bootstrap
    from notifications_app.application.deliveries import InvalidWebhookMessage
    from notifications_app.handlers import handle_webhooks_message, handling, request_id_of

    failures = []
    for record in event.get("Records", []):
        body = record.get("body", "")
        with handling(body, request_id_of(record.get("messageAttributes"))):  # SPEC §9: the request id
            try:
                handle_webhooks_message(body, wiring=bootstrap.delivery_wiring())
            except InvalidWebhookMessage as error:
                logger.error("Poison message on the webhooks queue: %s", error)
                failures.append({"itemIdentifier": str(record.get("messageId", ""))})
            except Exception:
                logger.exception("Could not handle a webhooks message", extra={"message_id": record.get("messageId")})
                failures.append({"itemIdentifier": str(record.get("messageId", ""))})
    return {"batchItemFailures": failures}


def relay_stream(event: dict[str, Any], context: object) -> dict[str, list[dict[str, str]]]:
    """Publish the events a batch of the table's DynamoDB stream records inserted into the outbox.

    `event["Records"]` are stream records in shard order (the event source's filter passes only
    outbox inserts). Returns `{"batchItemFailures": [{"itemIdentifier": <SequenceNumber>}, ...]}`
    for those not published: with `ReportBatchItemFailures` on the mapping (which
    `python manage.py provision --stage` sets), Lambda retries the shard from the lowest one.
    """
    import django

    metrics.record_cold_start("relay")
    django.setup()
    from tasks_app import bootstrap

    failed = bootstrap.relay_stream_records(event.get("Records", []))
    return {"batchItemFailures": [{"itemIdentifier": number} for number in failed]}


if _ON_LAMBDA:  # the end of the init phase: see the collector's pause at the top
    gc.freeze()
    gc.enable()
