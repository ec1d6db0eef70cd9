"""The function's three event sources, on the published alias where the stage has SnapStart.

Zappa 0.63 cannot make either as the stage needs them: it points its SQS event source at the
unqualified function (`$LATEST`, which never has SnapStart) without `ReportBatchItemFailures`,
and it cannot create a DynamoDB stream source at all (it never sends `StartingPosition`, and
logs the error instead of failing). So `provision --stage` owns both, and zappa_settings.json
names no `events` for Zappa to re-create on `$LATEST` at every deploy:

- the events queue → `consume_events` (through `serve_http`), batches of 10 whose failed
  messages alone are retried (SPEC §4);
- the webhooks queue → `consume_webhooks`, batches of `WEBHOOKS_BATCH_SIZE` (issue 14);
- the table's stream → `relay_stream`, woken only by outbox inserts (issue 12).

A mapping found on `$LATEST` or another version is moved to the target (Lambda lets
`UpdateEventSourceMapping` change `FunctionName`); one whose starting position or stream
cannot be changed in place is replaced.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ops.errors import OperationsError
from ops.provisioning.changes import Change, act, error_code

if TYPE_CHECKING:
    from mypy_boto3_lambda.client import LambdaClient

QUEUE_BATCH_SIZE = 10  # SQS's largest batch for a standard queue without a batching window
# A webhooks message may wait 5 s on a slow receiver (issue 14's timeout): 5 of them fit in the
# function's 30 s timeout (zappa_settings.json) with room for the table's requests.
WEBHOOKS_BATCH_SIZE = 5
# Lambda waits for no more records than are there (window 0) and takes up to 100 at once:
# one outbox insert is relayed as soon as the poller sees it (the stream is polled four times a
# second per shard), and a burst is relayed in few invocations. Larger batches would only make
# a failing batch's bisection longer.
STREAM_BATCH_SIZE = 100
STREAM_BATCHING_WINDOW_SECONDS = 0
# A record the relay keeps failing is given up after this many retries (each halving the batch
# around it) or this age, so it cannot hold up its shard: it stays in the outbox, and the
# sweeper publishes it at its next run (every SWEEP_MINUTES), so giving up loses no event.
STREAM_MAXIMUM_RETRY_ATTEMPTS = 5
STREAM_MAXIMUM_RECORD_AGE_SECONDS = 900  # three sweeps; the least AWS allows is 60
# Only outbox inserts wake the relay: the stream also carries every task, rate-counter and
# read-model write (Lambda's filter syntax for DynamoDB streams matches the typed new image).
OUTBOX_INSERTS = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"Type": {"S": ["OutboxEvent"]}}}}
REPORT_BATCH_ITEM_FAILURES = ["ReportBatchItemFailures"]
DELETE_WAIT_SECONDS = 60  # Lambda deletes a mapping asynchronously; the replacement waits for it


@dataclass(frozen=True)
class Target:
    """Where the stage's triggers point: the function, qualified by its SnapStart alias if any.

    `alias_version` is the version the alias is on (None without an alias). `local` is true at a
    local AWS: moto 5.2.5 stores a mapping made on an alias as on the alias's version, so there
    a mapping on that version counts as on the alias (on AWS it reads back as the alias ARN).
    """

    function_name: str
    arn: str
    alias: str | None = None
    alias_version: str | None = None
    local: bool = False

    @property
    def label(self) -> str:
        return self.alias or "$LATEST"

    def holds(self, function_arn: str) -> bool:
        """Whether a mapping or rule target with this `FunctionArn` invokes this target."""
        if function_arn == self.arn:
            return True
        return self.local and self.alias_version is not None and function_arn == self._version_arn

    @property
    def _version_arn(self) -> str:
        return f"{self.arn.rsplit(':', 1)[0]}:{self.alias_version}"


def find_target(client: LambdaClient, function_name: str, *, alias: str | None, local: bool) -> Target | str:
    """The stage's target, or why there is none yet (the function or its alias not deployed)."""
    try:
        function_arn = client.get_function(FunctionName=function_name)["Configuration"]["FunctionArn"]
    except ClientError as error:
        if error_code(error) != "ResourceNotFoundException":
            raise
        return "deploy, then provision again"
    if alias is None:
        return Target(function_name, function_arn, local=local)
    try:
        found = client.get_alias(FunctionName=function_name, Name=alias)
    except ClientError as error:
        if error_code(error) != "ResourceNotFoundException":
            raise
        return f"{function_name} has no alias {alias}: zappa update publishes it (snap_start on), then provision again"
    return Target(function_name, found["AliasArn"], alias, found["FunctionVersion"], local=local)


@dataclass(frozen=True)
class MappingSpec:
    """One event source as it should be: `settings` can be updated in place, `fixed` cannot."""

    name: str  # as the change line names it
    source_arn: str
    settings: Mapping[str, Any]
    fixed: Mapping[str, Any]
    summary: str
    # Mappings of an older source this one replaces (a stream ARN changes when the stream is re-enabled)
    replaces: Callable[[str], bool] = lambda source_arn: False


def queue_spec(queue_name: str, queue_arn: str, *, batch_size: int = QUEUE_BATCH_SIZE) -> MappingSpec:
    """A queue whose failed messages alone are retried (`ReportBatchItemFailures`)."""
    return MappingSpec(
        name=queue_name,
        source_arn=queue_arn,
        settings={"BatchSize": batch_size, "FunctionResponseTypes": REPORT_BATCH_ITEM_FAILURES},
        fixed={},
        summary=f"batch {batch_size}, ReportBatchItemFailures",
    )


def stream_spec(table_name: str, stream_arn: str, failure_queue_arn: str) -> MappingSpec:
    """The table's stream, as the relay needs it; `failure_queue_arn` receives what it gives up."""
    return MappingSpec(
        name=f"{table_name} stream",
        source_arn=stream_arn,
        settings={
            "BatchSize": STREAM_BATCH_SIZE,
            "MaximumBatchingWindowInSeconds": STREAM_BATCHING_WINDOW_SECONDS,
            "FilterCriteria": {"Filters": [{"Pattern": json.dumps(OUTBOX_INSERTS)}]},
            "FunctionResponseTypes": REPORT_BATCH_ITEM_FAILURES,
            "BisectBatchOnFunctionError": True,
            "MaximumRetryAttempts": STREAM_MAXIMUM_RETRY_ATTEMPTS,
            "MaximumRecordAgeInSeconds": STREAM_MAXIMUM_RECORD_AGE_SECONDS,
            "DestinationConfig": {"OnFailure": {"Destination": failure_queue_arn}},
        },
        # From the oldest record the stream keeps (24 hours), so nothing written before the
        # mapping existed is missed; records older than the maximum age are left to the sweeper.
        fixed={"StartingPosition": "TRIM_HORIZON"},
        summary=(
            f"outbox inserts, batch {STREAM_BATCH_SIZE}, bisect, {STREAM_MAXIMUM_RETRY_ATTEMPTS} retries, "
            f"failures to {failure_queue_arn.rsplit(':', 1)[-1]}"
        ),
        replaces=lambda source_arn: source_arn.startswith(stream_arn.rsplit("/stream/", 1)[0] + "/stream/"),
    )


def ensure_mapping(
    client: LambdaClient,
    spec: MappingSpec,
    target: Target,
    *,
    dry_run: bool,
    sleep: Callable[[float], None] = time.sleep,
) -> Change:
    """Create, update, move or replace the function's mapping from `spec.source_arn` so that it
    invokes `target` with `spec`'s settings; other mappings of the function on that source (or a
    source it replaces) are deleted, so no second poller runs `$LATEST`.

    Returns the change. Raises botocore's `ClientError` when Lambda refuses a call, and
    `OperationsError` when a replaced mapping is still being deleted after `DELETE_WAIT_SECONDS`.
    """
    found = [
        mapping
        for mapping in _mappings(client)
        if _function_name(mapping["FunctionArn"]) == target.function_name
        and (mapping["EventSourceArn"] == spec.source_arn or spec.replaces(mapping["EventSourceArn"]))
    ]
    keepable = [mapping for mapping in found if _keepable(mapping, spec)]
    keep = next((m for m in keepable if target.holds(m["FunctionArn"])), keepable[0] if keepable else None)
    removed = [mapping for mapping in found if mapping is not keep]
    moved = keep is not None and not target.holds(keep["FunctionArn"])
    if not dry_run:
        for mapping in removed:
            client.delete_event_source_mapping(UUID=mapping["UUID"])
        if removed and (keep is None or moved):  # the target may still hold one of them meanwhile
            _wait_deleted(client, [m["UUID"] for m in removed], sleep=sleep)
    if keep is None:
        if not dry_run:
            client.create_event_source_mapping(
                EventSourceArn=spec.source_arn, FunctionName=target.arn, Enabled=True, **spec.settings, **spec.fixed
            )
        action = "replaced" if removed else "created"
        detail = f"on {target.label}, {spec.summary}" + (f"; {_were(removed)} deleted" if removed else "")
        return Change("event source", spec.name, act(action, dry_run), detail)

    updates = {key: value for key, value in spec.settings.items() if not _same(key, keep.get(key), value)}
    notes = [f"moved from {qualifier(keep['FunctionArn'])} to {target.label}"] if moved else []
    notes += sorted(updates)
    notes += [f"{_were(removed)} deleted"] if removed else []
    if not notes:
        return Change("event source", spec.name, "unchanged", f"on {target.label}, {spec.summary}")
    if not dry_run and (moved or updates):
        request: dict[str, Any] = {"UUID": keep["UUID"], **updates}
        if moved:
            request["FunctionName"] = target.arn
        client.update_event_source_mapping(**request)
    return Change("event source", spec.name, act("updated", dry_run), ", ".join(notes))


def _mappings(client: LambdaClient) -> Iterator[dict[str, Any]]:
    """Every mapping of the account and region. (Filtering by function would miss the ones on
    its versions and aliases, and moto's filter by function ARN matches nothing.)"""
    for page in client.get_paginator("list_event_source_mappings").paginate():
        yield from page.get("EventSourceMappings", [])  # type: ignore[misc]


def _keepable(mapping: Mapping[str, Any], spec: MappingSpec) -> bool:
    """A mapping on the right source whose fixed settings are right can be updated in place."""
    return mapping["EventSourceArn"] == spec.source_arn and all(
        bool(mapping.get(key) == value) for key, value in spec.fixed.items()
    )


def _same(key: str, current: Any, wanted: Any) -> bool:
    if key == "FilterCriteria":
        return _patterns(current) == _patterns(wanted)
    if key == "DestinationConfig":
        return bool(_on_failure(current) == _on_failure(wanted))
    return bool(current == wanted)


def _patterns(criteria: Any) -> list[Any]:
    return [json.loads(f.get("Pattern", "null")) for f in (criteria or {}).get("Filters", [])]


def _on_failure(config: Any) -> Any:
    return ((config or {}).get("OnFailure") or {}).get("Destination")


def _function_name(function_arn: str) -> str:
    return function_arn.split(":")[6]


def qualifier(function_arn: str) -> str:
    """The alias or version a function ARN names: `$LATEST` for the unqualified function."""
    parts = function_arn.split(":")
    return parts[7] if len(parts) > 7 else "$LATEST"


def _were(mappings: list[dict[str, Any]]) -> str:
    # The resource part of the source's ARN: the queue's name, or `table/<name>/stream/<time>`
    where = ", ".join(f"{qualifier(m['FunctionArn'])} on {m['EventSourceArn'].split(':', 5)[-1]}" for m in mappings)
    return f"{len(mappings)} other mapping{'s' if len(mappings) > 1 else ''} ({where})"


def _wait_deleted(client: LambdaClient, uuids: list[str], *, sleep: Callable[[float], None]) -> None:
    """Lambda refuses a second mapping of one function and source while the first is being deleted."""
    waited = 0.0
    for uuid in uuids:
        while True:
            try:
                client.get_event_source_mapping(UUID=uuid)
            except ClientError as error:
                if error_code(error) == "ResourceNotFoundException":
                    break
                raise
            if waited >= DELETE_WAIT_SECONDS:
                raise OperationsError(
                    f"Event source mapping {uuid} is still being deleted after {DELETE_WAIT_SECONDS} s; "
                    "run provision again in a minute."
                )
            sleep(1)
            waited += 1
