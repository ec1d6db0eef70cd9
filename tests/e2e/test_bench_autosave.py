"""`make bench`'s `autosave` part, smoke-run at 500 items: a row of figures for the size, and the
10k target reported as not measured. No speed target is held here (see tests/e2e/bench_runs.py)."""

from __future__ import annotations

import re

import pytest

from tests.e2e.bench_runs import NUMBER, run_bench

pytestmark = pytest.mark.e2e

SIZE = 500


def test_a_small_table_is_restored_saved_and_scanned_while_a_reader_is_timed() -> None:
    bench = run_bench("autosave", BENCH_AUTOSAVE_SIZES=str(SIZE))

    [row, target] = bench.table("max in save")  # the target's line closes the table
    assert target.startswith("Target:"), target
    figures = re.findall(NUMBER, row)
    assert len(figures) == 9, f"items, then eight figures: {row!r}"
    assert int(figures[0]) == SIZE
    assert all(float(figure) >= 0 for figure in figures[1:]), row  # a NaN (no Scan) would not match
    assert target.endswith("at 10,000 items: not measured (not among the sizes)"), target
