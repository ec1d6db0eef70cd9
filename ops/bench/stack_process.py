"""The real local stack for a benchmark: `manage.py runlocal` on free ports, its processes' CPU time.

`StackProcess` starts the stack as `make run` would (but on free ports, a temporary state
directory, no autosave and no reloader), waits for its "Press Ctrl-C to stop." line, and always
stops it with SIGINT to its process group, as a terminal's Ctrl-C does. `cpu_by_role` reads the
CPU seconds each of the stack's processes has used so far from /proc (Linux only).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parents[2]
READY_LINE = "Press Ctrl-C to stop."
STARTUP_TIMEOUT = 120.0  # seconds: the first start also provisions and imports everything
STOP_TIMEOUT = 60.0  # seconds: the supervisor lets the worker drain the queue before it stops
# The stack's processes by what their command line runs, checked in this order (the orphan guard's
# command line holds the command it guards, so it comes first).
ROLES = (
    ("ops.local.orphan_guard", "orphan guards"),
    ("ops.local.embedded_aws", "local AWS (moto)"),
    ("runserver", "API (runserver)"),
    ("celery", "worker (celery)"),
    ("relay_outbox", "outbox relay"),
    ("remind_due_tasks", "reminder sweep"),
    ("runlocal", "supervisor"),
)
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class StackProcess:
    """One `manage.py runlocal` process group on free ports; `output` is everything it printed."""

    def __init__(self, state_dir: Path, env: dict[str, str]) -> None:
        self.state_dir = state_dir
        self.env = env
        self.api_port, self.aws_port = free_port(), free_port()
        self._process: subprocess.Popen[str] | None = None
        self._lines: list[str] = []

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def aws_url(self) -> str:
        return f"http://127.0.0.1:{self.aws_port}"

    @property
    def pid(self) -> int:
        assert self._process is not None, "the stack was not started"
        return self._process.pid

    @property
    def output(self) -> str:
        return "".join(self._lines)

    def start(self) -> StackProcess:
        """Start the stack and return once it says it is ready; raises RuntimeError (with its
        output) if it exits or is not ready within STARTUP_TIMEOUT s."""
        command = [sys.executable, "manage.py", "runlocal", "--port", str(self.api_port)]
        command += ["--aws-port", str(self.aws_port), "--state-dir", str(self.state_dir), "--autosave", "0"]
        self._process = subprocess.Popen(
            [*command, "--no-reload"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group, which stop() signals as Ctrl-C would
        )
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while READY_LINE not in self.output:
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"runlocal was not ready within {STARTUP_TIMEOUT:.0f} s:\n{self.output[-3000:]}")
            time.sleep(0.2)
        return self

    def stop(self) -> int | None:
        """SIGINT to the stack's process group, then SIGTERM and SIGKILL if it does not stop in
        time. Returns the supervisor's exit status (None if it was never started)."""
        process = self._process
        if process is None:
            return None
        for sig, wait in ((signal.SIGINT, STOP_TIMEOUT), (signal.SIGTERM, 20.0), (signal.SIGKILL, 10.0)):
            if process.poll() is not None:
                break
            os.killpg(process.pid, sig)
            try:
                process.wait(wait)
            except subprocess.TimeoutExpired:
                continue
        return process.poll()

    def _read(self) -> None:
        assert self._process is not None
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self._lines.append(line)

    def __enter__(self) -> StackProcess:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def cpu_by_role(root_pid: int) -> dict[str, float]:
    """CPU seconds (user + system) used so far by `root_pid` and each of its descendants, summed
    by role (`ROLES`; "other" for anything else). A process that has exited is no longer counted."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat_fields(int(entry.name))):
            parents[int(entry.name)] = int(stat[1])
    family, frontier = {root_pid}, [root_pid]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in family]
        family.update(children)
        frontier.extend(children)
    seconds: dict[str, float] = {}
    for pid in family:
        stat = _stat_fields(pid)
        if stat:
            role = _role(pid)
            seconds[role] = seconds.get(role, 0.0) + (int(stat[11]) + int(stat[12])) / _CLOCK_TICKS
    return seconds


def cpu_between(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU seconds by role used between two `cpu_by_role` readings."""
    return {role: after.get(role, 0.0) - before.get(role, 0.0) for role in after}


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat's fields after the command name: [state, ppid, ...]; None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def _role(pid: int) -> str:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "other"
    return next((role for marker, role in ROLES if marker in command), "other")
