"""`make bench`'s `stack` part, smoke-run with 2 idle seconds and 3 creates: the local stack's idle
requests, and every create's event timed to SNS. No speed target is held here (see
tests/e2e/bench_runs.py)."""

from __future__ import annotations

import pytest

from tests.e2e.bench_runs import NUMBER, run_bench

pytestmark = pytest.mark.e2e


def test_the_local_stack_is_watched_idle_then_each_created_tasks_event_is_timed_to_sns() -> None:
    bench = run_bench("stack", BENCH_IDLE_SECONDS="2", BENCH_RELAY_SAMPLES="3")

    bench.line(rf"^\s+in all\s+{NUMBER}\s+\(reported, no target\)$")
    bench.line(r"^Relay lag, write -> SNS, 3 creates")
    for bound in ("upper", "lower"):
        bench.line(rf"{bound} bound\)\s+p50\s+{NUMBER} ms, p95\s+{NUMBER} ms$")
    missing = bench.line(r"events not received within \d+ s: (\d+)$")
    assert int(missing[1]) == 0, f"an event never reached the probe queue:\n{bench.output}"
