"""`make bench`: the API against bare PynamoDB, the event pipeline, the Lambda package, then the whole
local stack under load; exits 1 if a target is missed.

Environment:
- `BENCH_ROUNDS` (default 100): rounds per API operation (pages get a fifth, at least 10).
- `BENCH_COLD_STARTS` (default 5): fresh processes timed for the Lambda package's cold start.
- `BENCH_CLIENTS` (default 20) and `BENCH_LOAD_SECONDS` (default 20): the local stack's load.
- `BENCH_ONLY`: run only some parts, comma-separated: `api`, `pipeline`, `package`, `autosave`,
  `local` (e.g. `BENCH_ONLY=api BENCH_ROUNDS=30 python -m ops.bench` for a quick look at the API
  table, `BENCH_ONLY=local python -m ops.bench` for the local stack's throughput,
  `BENCH_ONLY=autosave` for how long its saves stall requests at 1k, 10k and 50k items).
"""

from __future__ import annotations

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

        targets_met &= autosave.run()
    if "stack" in only:
        from ops.bench import stack_probe

        targets_met &= stack_probe.run()
    if "local" in only:  # last, and on its own processes and ports: `make run`'s stack as it is
        from ops.bench import local_load

        targets_met &= local_load.run()
    return 0 if targets_met else 1


def _in_process(only: list[str], rounds: int) -> bool:
    targets_met = True
    with local_stack("bench") as stack:
        from django.core.management import call_command

        from events_app import bootstrap as events_wiring
        from ops.bench import api_vs_pynamodb, event_pipeline, lambda_package
        from tasks_app import bootstrap

        if "api" in only:
            targets_met &= api_vs_pynamodb.run(stack, rounds)
        if "pipeline" in only:
            stack.aws.reset()  # the pipeline starts from empty queues, not the API benchmark's backlog
            call_command("provision", stdout=io.StringIO())
            bootstrap.reset()
            events_wiring.reset()
            event_pipeline.run(stack)
        if "package" in only:
            targets_met &= lambda_package.run(stack, int(os.environ.get("BENCH_COLD_STARTS", "5")))
    return targets_met


if __name__ == "__main__":
    sys.exit(main())
