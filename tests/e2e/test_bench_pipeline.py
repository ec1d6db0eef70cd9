"""`make bench`'s `pipeline` part, smoke-run with a backlog of 20 events and 3 timed creates:
every event relayed and counted end to end, every create timed to its history entry. No speed
target is held here (see tests/e2e/bench_runs.py)."""

from __future__ import annotations

import pytest

from tests.e2e.bench_runs import NUMBER, run_bench

pytestmark = pytest.mark.e2e

BACKLOG, SAMPLES = 20, 3


def test_the_pipeline_relays_the_whole_backlog_and_times_each_create_to_its_history() -> None:
    bench = run_bench("pipeline", BENCH_PIPELINE_BACKLOG=str(BACKLOG), BENCH_PIPELINE_SAMPLES=str(SAMPLES))

    relayed = bench.line(rf"backlog of (\d+) events: (\d+) relayed to SNS in {NUMBER} s")
    assert (int(relayed[1]), int(relayed[2])) == (BACKLOG, BACKLOG), bench.output
    bench.line(rf"end to end, relay -> SNS -> SQS -> worker -> history and stats: {NUMBER} s")
    timed = bench.line(rf"API response -> history entry, (\d+) creates: p50 ({NUMBER}) ms, p95 ({NUMBER}) ms")
    assert int(timed[1]) == SAMPLES, bench.output
    assert 0 < float(timed[2]) <= float(timed[3]), bench.output
