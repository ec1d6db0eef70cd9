"""`make bench`'s `api` part, smoke-run with 2 rounds: every operation's row in the timing table
and in the requests table, the metrics' and the own-time tables, and no stray line of Zappa's.
No speed target is held here (see tests/e2e/bench_runs.py)."""

from __future__ import annotations

import re

import pytest

from ops.bench.lambda_api import INSTANCING_LINE
from tests.e2e.bench_runs import NUMBER, BenchRun, run_bench

pytestmark = pytest.mark.e2e

ROUNDS = 2
# One of each kind issue 12 names: a create, a read, a page, a change (the bench has more).
SOME_OPERATIONS = {
    "create",
    "create (Idempotency-Key)",
    "get",
    "history",
    "stats",
    "list (one page)",
    "start",
    "restore",
}


@pytest.fixture(scope="module")
def bench() -> BenchRun:
    return run_bench("api", BENCH_ROUNDS=str(ROUNDS))


def names(rows: list[str]) -> list[str]:
    """The operation names of a table's rows (they end where two spaces begin)."""
    return [re.split(r"\s{2,}", row.strip())[0] for row in rows]


def test_every_operation_is_timed_both_ways_over_the_rounds_asked_for(bench: BenchRun) -> None:
    rows = bench.table("ratio p50")
    assert set(names(rows)) >= SOME_OPERATIONS, rows
    for row in rows:
        timed = re.search(rf"((?:\s+{NUMBER}){{6}})\s+(?:met|MISSED)\s+\d+ in (\d+)\s+calls$", row)
        assert timed, f"not a row of six timings, a verdict and the counter's takes: {row!r}"
        api_p50, _, bare_p50, *_ = (float(value) for value in timed[1].split())
        assert api_p50 > 0, row
        assert bare_p50 > 0, row
        assert int(timed[2]) == ROUNDS, f"BENCH_ROUNDS={ROUNDS}, pages included: {row!r}"


def test_every_operation_has_its_requests_recorded_and_matched_by_the_bare_calls(bench: BenchRun) -> None:
    timed, requests = bench.table("ratio p50"), bench.table("own requests")
    assert names(requests) == names(timed)
    problems = [row for row in requests if "<-" in row]  # `Row.problems`: the two sides did not compare
    assert not problems, problems
    assert all(re.search(r"(TransactWriteItems|GetItem|Query|BatchGetItem)", row) for row in requests), requests


def test_the_metrics_cost_and_the_own_time_are_printed(bench: BenchRun) -> None:
    assert names(bench.table("added p50")) == ["get (tasks.retrieve)", "create (tasks.create)"]
    bench.line(rf"^Cold start: importing aws_lambda_powertools.metrics .*: {NUMBER} ms")
    own = bench.table("own x")
    assert names(own) == ["create", "stats"], own
    for row in own:  # six medians (ms), then 'own x', which is nan when the replayed own time is not above 0
        assert re.search(rf"(\s+{NUMBER}){{6}}\s+(?:{NUMBER}|nan)$", row), row


def test_zappas_instancing_line_is_not_in_the_output(bench: BenchRun) -> None:
    """Zappa's handler prints it each time it is made; the bench makes it with that line captured."""
    assert INSTANCING_LINE not in bench.output
