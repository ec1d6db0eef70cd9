"""`make bench`'s `local` part, smoke-run with 2 clients for 2 seconds and 6 recorded creates: every
answer a 201, the backlog drained, the CPU and AWS requests per create reported. No speed target
is held here (see tests/e2e/bench_runs.py)."""

from __future__ import annotations

import pytest

from tests.e2e.bench_runs import NUMBER, run_bench

pytestmark = pytest.mark.e2e

RECORDED = 6


def test_the_local_stack_creates_under_load_drains_and_counts_its_requests() -> None:
    bench = run_bench("local", BENCH_CLIENTS="2", BENCH_LOAD_SECONDS="2", BENCH_RECORDED_CREATES=str(RECORDED))

    created = bench.line(rf"^\s+(\d+) tasks created in {NUMBER} s")
    assert int(created[1]) > 0, bench.output
    bench.line(r"answers other than 201: none$")
    bench.line(rf"backlog drained \(every user's stats count all their tasks\) {NUMBER} s after the load stopped")
    bench.line(rf"^\s+CPU per create, load and drain, in ms: .*; in all {NUMBER}$")
    bench.line(rf"AWS requests per create, recorded over {RECORDED} creates until drained")
    bench.line(r"^\s+dynamodb\s+TransactWriteItems\s+")
