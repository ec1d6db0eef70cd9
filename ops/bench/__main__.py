"""`make bench`: what users feel, each figure against its target (issue 12); exits 1 if a target is missed.

Parts, in the order they run (`BENCH_ONLY` picks some, comma-separated):
- `api`: every API operation through the Lambda handler, in-process and warm, in the production
  configuration (JWT, the shipped rate limits, DEBUG off, LOG_LEVEL=INFO), against bare PynamoDB making the
  operation's own DynamoDB requests: median and p95 of interleaved rounds, the ratio (target
  <= 1.3x); then the AWS requests of one call, inside the invocation (the operation's own, and the
  rest: at most 1, for rate limiting) and after it (relay, consumer). `api_vs_pynamodb`. Then what
  the EMF metrics cost: get and create with metrics on and off side by side, their AWS requests
  (target: the same, none to CloudWatch), the metrics' own time, the cold start of importing
  Powertools. `metrics_cost`. Then the app's own time on create and stats, their DynamoDB answers
  replayed (no target: it moves less than the ratio with the machine's load). `own_time`. The
  in-process parts run with metrics on, their lines counted, not printed.
- `pipeline`: the event pipeline's throughput and the API response -> history entry latency.
- `package`: the Lambda zip's size and its cold start, fresh processes, like for like: without
  SnapStart against a bare boto3 handler (target <= 2x), restored from SnapStart against a bare
  handler restored the same way (target <= 3x). `lambda_package`.
- `autosave`: how long the local stack's saves stall requests at 1k, 10k and 50k items.
- `stack`: the local stack as `make run` starts it: AWS requests per minute while idle, and the
  relay lag from write to SNS, p50/p95 (target p95 <= 1 s). `stack_probe`.
- `local`: the local stack under concurrent clients creating tasks (throughput, drain).

Environment:
- `BENCH_ROUNDS` (default 60): rounds per API operation (pages get a fifth, at least 10 unless
  BENCH_ROUNDS is fewer).
- `BENCH_PIPELINE_BACKLOG` (default 500) and `BENCH_PIPELINE_SAMPLES` (default 60): the events
  of the pipeline's backlog and the creates its latency is timed on.
- `BENCH_COLD_STARTS` (default 5): rounds of fresh processes (four kinds each) for the cold start.
- `BENCH_AUTOSAVE_SIZES` (default 1000,10000,50000): the table sizes the `autosave` part saves
  (its target is at 10000).
- `BENCH_IDLE_SECONDS` (default 60) and `BENCH_RELAY_SAMPLES` (default 40): the `stack` part.
- `BENCH_CLIENTS` (default 20) and `BENCH_LOAD_SECONDS` (default 20): the `local` part's load;
  `BENCH_RECORDED_CREATES` (default 100): the creates of its second load, whose AWS requests are counted.

E.g. `BENCH_ONLY=api BENCH_ROUNDS=20 python -m ops.bench` for a quick look at the API tables,
`BENCH_ONLY=package,stack` for cold starts, relay lag and idle requests.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys

from ops.bench.api_vs_pynamodb import ROUNDS
from ops.bench.harness import local_stack

PARTS = ("api", "pipeline", "package", "autosave", "stack", "local")
IN_PROCESS_PARTS = ("api", "pipeline", "package")  # on one embedded AWS, Django set up in this process


def main() -> int:
    rounds = int(os.environ.get("BENCH_ROUNDS", str(ROUNDS)))
    only = [part.strip() for part in os.environ.get("BENCH_ONLY", ",".join(PARTS)).split(",") if part.strip()]
    unknown = sorted(set(only) - set(PARTS))
    if unknown:
        print(f"BENCH_ONLY: unknown part(s) {', '.join(unknown)}; the parts are {', '.join(PARTS)}.", file=sys.stderr)
        return 2
    targets_met = True
    if any(part in only for part in IN_PROCESS_PARTS):
        targets_met &= _in_process(only, rounds)
    if "autosave" in only:
        from ops.bench import autosave

        targets_met &= autosave.run(autosave.sizes_from(os.environ.get("BENCH_AUTOSAVE_SIZES")))
    if "stack" in only:
        from ops.bench import stack_probe

        targets_met &= stack_probe.run()
    if "local" in only:  # last, and on its own processes and ports: `make run`'s stack as it is
        from ops.bench import local_load

        targets_met &= local_load.run()
    print(f"\nmake bench ({', '.join(only)}): {'every target met' if targets_met else 'a target was MISSED (above)'}")
    return 0 if targets_met else 1


def _in_process(only: list[str], rounds: int) -> bool:
    from ops.bench.metrics_cost import Sink
    from tasks_app.adapters import metrics

    targets_met = True
    sink = Sink()  # the EMF lines, kept out of the tables (metrics stay on, as deployed)
    # The log lines too (INFO, as deployed: each is formatted and written). Django's logging
    # handler writes to the standard error it finds when it is made, and each handler Zappa
    # instantiates sets Django up again: so standard error is the sink while these parts run.
    log_lines = Sink()
    with contextlib.redirect_stderr(log_lines), local_stack("bench") as stack, metrics.lines_to(sink):
        from functools import partial

        from django.core.management import call_command

        from events_app import bootstrap as events_wiring
        from ops.bench import api_vs_pynamodb, event_pipeline, lambda_package, metrics_cost, own_time
        from ops.bench.lambda_api import LambdaApi
        from ops.bench.operations import prepare
        from tasks_app import bootstrap

        if "api" in only:
            targets_met &= api_vs_pynamodb.run(stack, rounds)
            tidy = partial(api_vs_pynamodb.tidy_events, stack.aws)
            targets_met &= metrics_cost.run(stack, LambdaApi(stack.token), rounds, tidy, sink)
            api = LambdaApi(stack.token)
            replayed = prepare(api, calls=1)
            own_time.run(api, replayed.operations, rounds)
            replayed.tidy()
            tidy()
        if "pipeline" in only:
            stack.aws.reset()  # the pipeline starts from empty queues, not the API benchmark's backlog
            call_command("provision", stdout=io.StringIO())
            bootstrap.reset()
            events_wiring.reset()
            event_pipeline.run(
                stack,
                backlog=int(os.environ.get("BENCH_PIPELINE_BACKLOG", str(event_pipeline.BACKLOG))),
                samples=int(os.environ.get("BENCH_PIPELINE_SAMPLES", str(event_pipeline.LATENCY_SAMPLES))),
            )
        if "package" in only:
            targets_met &= lambda_package.run(stack, int(os.environ.get("BENCH_COLD_STARTS", "5")))
    print(f"\nLog lines written in-process at LOG_LEVEL=INFO (counted, not printed): {log_lines.lines}")
    return targets_met


if __name__ == "__main__":
    sys.exit(main())
