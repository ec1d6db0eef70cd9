"""The stack's child processes: started under the orphan guard in their own sessions, restarted
with backoff when they crash, stopped by process group."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# A crashing child is restarted after 1 s, then 2, 4, ... up to 30 s; a child that then ran for
# a minute counts as healthy again and starts over at 1 s.
FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0
HEALTHY_AFTER_SECONDS = 60.0


@dataclass
class Child:
    """One named child: how to start it, its current process, and its restart schedule."""

    name: str
    command: Sequence[str]
    env: Mapping[str, str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff: float = FIRST_BACKOFF_SECONDS
    restart_at: float | None = None  # set while it waits to be restarted
    stopped: bool = field(default=False)  # stopped on purpose: not restarted


@dataclass(frozen=True)
class Crash:
    """A child that exited on its own: its name, its exit status, and when it will be restarted (s)."""

    name: str
    status: int
    restart_in: float


class ChildProcesses:
    """Named child processes (the API, the worker, the relay), in the order they were started.

    Each runs under `ops.local.orphan_guard`, so it cannot outlive the supervisor even when that
    is killed outright, and in its own session, so a terminal's Ctrl-C reaches only the
    supervisor, which then stops the children in the order it chooses.
    """

    def __init__(self) -> None:
        self._children: dict[str, Child] = {}

    def start(self, name: str, command: Sequence[str], env: Mapping[str, str]) -> None:
        """Start `command` as the child called `name`; raises OSError if Python cannot be run."""
        child = self._children[name] = Child(name, command, env)
        self._spawn(child)

    def is_running(self, name: str) -> bool:
        """Whether the child called `name` was started and has not exited."""
        child = self._children.get(name)
        return child is not None and child.process is not None and child.process.poll() is None

    def pid(self, name: str) -> int | None:
        child = self._children.get(name)
        return child.process.pid if child and child.process else None

    def exited(self) -> list[tuple[str, int]]:
        """The children that have exited, as (name, exit status), in the order they were started."""
        statuses = ((child.name, child.process.poll()) for child in self._children.values() if child.process)
        return [(name, code) for name, code in statuses if code is not None]

    def heal(self, now: float | None = None) -> tuple[list[Crash], list[Child]]:
        """Notice crashed children and restart those whose backoff has passed.

        Returns (the crashes noticed now, the children restarted now). Raises OSError if a
        child cannot be started again (it is then tried again after its next backoff).
        """
        now = time.monotonic() if now is None else now
        crashes: list[Crash] = []
        restarted: list[Child] = []
        for child in self._children.values():
            if child.stopped or child.process is None:
                continue
            code = child.process.poll()
            if code is not None and child.restart_at is None:
                if now - child.started_at >= HEALTHY_AFTER_SECONDS:
                    child.backoff = FIRST_BACKOFF_SECONDS
                child.restart_at = now + child.backoff
                crashes.append(Crash(child.name, code, child.backoff))
                child.backoff = min(child.backoff * 2, MAX_BACKOFF_SECONDS)
            elif child.restart_at is not None and now >= child.restart_at:
                child.restart_at = None
                child.restarts += 1
                self._spawn(child)
                restarted.append(child)
        return crashes, restarted

    def stop(self, name: str, timeout: float = 10.0) -> None:
        """Stop the child called `name` and everything it started, for good; nothing to do if it never started."""
        child = self._children.get(name)
        if child is not None:  # start-up may have failed before this child was started
            child.stopped = True
            if child.process is not None:
                stop_group(child.process, timeout)

    def _spawn(self, child: Child) -> None:
        guarded = [sys.executable, "-m", "ops.local.orphan_guard", *child.command]
        child.process = subprocess.Popen(guarded, env=child.env, start_new_session=True)
        child.started_at = time.monotonic()


def child_environment(aws_url: str, state_dir: Path) -> dict[str, str]:
    """This process's environment, pointed at the local AWS at `aws_url` and the state in `state_dir`."""
    return {
        **os.environ,
        "ENVIRONMENT": "development",
        "AWS_ENDPOINT_URL": aws_url,
        "LOCAL_STATE_DIR": str(state_dir),  # where the local token key lives
    }


def stop_group(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Stop `process` (an orphan guard) and its process group: SIGTERM to the guard, which sends
    it on to its group once, then SIGKILL to the group if the guard is not gone after `timeout` s.

    The whole group, because runserver's reloader serves from a child of its own. SIGTERM goes to
    the guard alone: sent to the group too, the guarded command would get it twice, and a Celery
    worker says "Warm shutdown" for each. Does nothing if `process` has already exited; returns
    once it has.
    """
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGCONT)  # a paused child could not act on SIGTERM
        os.kill(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
