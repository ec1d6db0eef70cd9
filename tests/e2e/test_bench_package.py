"""`make bench`'s `package` part, smoke-run with one round of cold starts: the zip's sizes, the
four kinds of fresh process each answering its first request, and both ratios. No speed target
is held here (see tests/e2e/bench_runs.py).

It needs the staging zip: when dist/ has none (a fresh clone: `make test` builds it only for the
rehearsal, after the tests), the part builds it with `make package`, about 45 s the first time
(the Lambda venv, which the rehearsal then reuses), and the cold starts take about 15 s more.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.bench_runs import NUMBER, run_bench

pytestmark = pytest.mark.e2e

KINDS = (
    "Zappa handler, GET /tasks/{id}",
    "bare boto3 handler, GetItem",
    "Zappa handler, restored from SnapStart",
    "bare boto3 handler, restored the same way",
)


def test_the_package_is_measured_and_each_kind_of_fresh_process_answers() -> None:
    # As the rehearsal builds it: the zip is run here, never on Lambda, so any machine may build it.
    bench = run_bench("package", BENCH_COLD_STARTS="1", LAMBDA_PLATFORM_CHECK="off")

    zipped = bench.line(rf"^\s+zipped ({NUMBER}) MiB")
    assert float(zipped[1]) > 1, bench.output
    rows = [row.strip() for row in bench.table("1st request ms")]
    assert len(rows) == len(KINDS), bench.output
    for row, kind in zip(rows, KINDS, strict=True):
        assert row.startswith(kind), (row, kind)
        figures = [float(figure) for figure in re.findall(NUMBER, row.removeprefix(kind))]
        assert len(figures) == 5, f"init, 1st request, total, 2nd request, CPU: {row!r}"
        assert all(figure > 0 for figure in figures), row
    bench.line(rf"Without SnapStart, init \+ first request: {NUMBER}x the bare handler's")
    bench.line(rf"Restored from SnapStart, after-restore hooks \+ first request: {NUMBER}x")
