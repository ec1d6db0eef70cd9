"""The stack's child processes: started under the orphan guard in their own sessions, stopped by group."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path


class ChildProcesses:
    """Named child processes (the API, the worker, the relay), in the order they were started.

    Each runs under `ops.local.orphan_guard`, so it cannot outlive the supervisor even when that
    is killed outright, and in its own session, so a terminal's Ctrl-C reaches only the
    supervisor, which then stops the children in the order it chooses.
    """

    def __init__(self) -> None:
        self._processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, command: Sequence[str], env: Mapping[str, str]) -> None:
        """Start `command` as the child called `name`; raises OSError if Python cannot be run."""
        guarded = [sys.executable, "-m", "ops.local.orphan_guard", *command]
        self._processes[name] = subprocess.Popen(guarded, env=env, start_new_session=True)

    def is_running(self, name: str) -> bool:
        """Whether the child called `name` was started and has not exited."""
        process = self._processes.get(name)
        return process is not None and process.poll() is None

    def exited(self) -> list[tuple[str, int]]:
        """The children that have exited, as (name, exit status), in the order they were started."""
        statuses = ((name, process.poll()) for name, process in self._processes.items())
        return [(name, code) for name, code in statuses if code is not None]

    def stop(self, name: str, timeout: float = 10.0) -> None:
        """Stop the child called `name` and everything it started; nothing to do if it was never started."""
        if name in self._processes:  # start-up may have failed before this child was started
            stop_group(self._processes[name], timeout)


def child_environment(aws_url: str, state_dir: Path) -> dict[str, str]:
    """This process's environment, pointed at the local AWS at `aws_url` and the state in `state_dir`."""
    return {
        **os.environ,
        "ENVIRONMENT": "development",
        "AWS_ENDPOINT_URL": aws_url,
        "LOCAL_STATE_DIR": str(state_dir),  # where the local token key lives
    }


def stop_group(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Stop `process` and its process group: SIGTERM, then SIGKILL if it is not gone after `timeout` s.

    The whole group, because runserver's reloader serves from a child of its own. Does nothing if
    `process` has already exited; returns once it has.
    """
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
