"""`make bench`: the API against bare PynamoDB, the event pipeline, then the Lambda package; exits 1 if a
target is missed."""

from __future__ import annotations

import io
import os
import sys

from ops.bench.harness import local_stack


def main() -> int:
    rounds = int(os.environ.get("BENCH_ROUNDS", "300"))
    with local_stack("bench") as aws:
        from django.core.management import call_command

        from events_app import bootstrap as events_wiring
        from ops.bench import api_vs_pynamodb, event_pipeline, lambda_package
        from tasks_app import bootstrap

        targets_met = api_vs_pynamodb.run(aws, rounds)
        aws.reset()  # the pipeline starts from empty queues, not the API benchmark's backlog
        call_command("provision", stdout=io.StringIO())
        bootstrap.reset()
        events_wiring.reset()
        event_pipeline.run(aws)
        targets_met &= lambda_package.run(aws, int(os.environ.get("BENCH_COLD_STARTS", "5")))
    return 0 if targets_met else 1


if __name__ == "__main__":
    sys.exit(main())
