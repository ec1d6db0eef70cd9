"""`make bench` as a user runs it, for the smoke tests: `python -m ops.bench` in a child process
with one part (`BENCH_ONLY`) and tiny sizes, its output read back.

The smoke tests hold no speed target (those are `make bench`'s alone, and a smoke run's few
rounds could not hold them anyway): they check that a part ran to its end and printed what a
user reads (its rows, counts that add up, nothing given up), so that a broken part fails
`make test`. Each part has its own test file, so that pytest-xdist's two workers overlap them.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ops.bench.lambda_api import INSTANCING_LINE

ROOT = Path(__file__).resolve().parents[2]
# The child gets `make bench`'s environment, not the test run's (tests/settings.py aims AWS at
# port 9 and turns the rate limits off): only what finds the tools, and pip's settings, which
# `make package` needs when it builds the Lambda venv.
PASSED_ON = frozenset({"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYENV_ROOT", "PYENV_VERSION"})
PASSED_ON_PREFIXES = ("PIP_",)
TIMEOUT = 600.0  # seconds: far beyond a smoke run's, so only a hung part reaches it
STOP_TIMEOUT = 90.0  # seconds the bench gets to stop its stacks after Ctrl-C, as a user would press it
SUMMARY = re.compile(r"^make bench \((?P<parts>[^)]*)\): (?:every target met|a target was MISSED \(above\))$", re.M)
NUMBER = r"-?\d+(?:\.\d+)?"


@dataclass(frozen=True)
class BenchRun:
    """What one `python -m ops.bench` printed: standard output and standard error."""

    output: str
    errors: str

    def table(self, header: str) -> list[str]:
        """The rows of the table whose header line holds `header`: the lines after the header (and
        its line of dashes, if it has one), up to the first blank line or the table's last line.
        AssertionError if there is no such table."""
        lines = self.output.splitlines()
        starts = [number for number, line in enumerate(lines) if header in line]
        assert starts, f"No table with {header!r} in its header in the bench's output:\n{self.output}"
        rows = []
        for line in lines[starts[0] + 1 :]:
            if not line.strip():
                break
            if set(line.strip()) != {"-"}:
                rows.append(line)
        return rows

    def line(self, pattern: str) -> re.Match[str]:
        """The first match of `pattern` (a regular expression) in the output, one line at a time."""
        found = re.search(pattern, self.output, re.M)
        assert found, f"Nothing matches {pattern!r} in the bench's output:\n{self.output}"
        return found


def run_bench(part: str, **knobs: str) -> BenchRun:
    """`BENCH_ONLY=<part> python -m ops.bench` with `knobs` (BENCH_ROUNDS="2", ...) in its
    environment. AssertionError unless it ran to its summary line (a missed target is fine: exit
    1 with the summary) without a traceback or Zappa's `Instancing..` line."""
    env = {
        name: value for name, value in os.environ.items() if name in PASSED_ON or name.startswith(PASSED_ON_PREFIXES)
    }
    env.update({"BENCH_ONLY": part, "PYTHONUNBUFFERED": "1", **knobs})
    process = subprocess.Popen(
        [sys.executable, "-m", "ops.bench"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        output, errors = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)  # its `with` blocks stop the stacks it started
        try:
            output, errors = process.communicate(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            output, errors = process.communicate()
        raise AssertionError(
            f"make bench ({part}) ran over {TIMEOUT:.0f} s:\n{output[-3000:]}\n{errors[-3000:]}"
        ) from None
    run = BenchRun(output, errors)
    summary = SUMMARY.search(output)
    stopped = (
        f"make bench ({part}) stopped before its summary (exit {process.returncode}): a part that fails to "
        f"measure is broken; fix it, or its smoke test if its output changed on purpose.\n"
        f"{output[-3000:]}\n{errors[-5000:]}"
    )
    assert summary, stopped
    assert summary["parts"] == part, stopped
    assert process.returncode in (0, 1), stopped  # 1: a target missed, which a smoke run may
    assert "Traceback" not in errors, f"make bench ({part}) printed a traceback:\n{errors[-5000:]}"
    assert INSTANCING_LINE not in output.splitlines(), (
        f"Zappa's {INSTANCING_LINE!r} is in make bench's output: make the handler through "
        "ops.bench.lambda_api.install_handler, which keeps it out"
    )
    return run
