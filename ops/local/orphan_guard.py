"""Runs a command that cannot outlive the process that started it.

`python -m ops.local.orphan_guard COMMAND...` runs COMMAND in this process
group and stops the whole group when its parent is gone, even one killed outright with no
chance to clean up, or when it is itself told to stop. Django's autoreloader serves from a
grandchild, which a parent-death signal would not reach; a process group does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading


def main(command: list[str]) -> int:
    parent = os.getppid()
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: stopping.set())
    child = subprocess.Popen(command)
    while child.poll() is None and not stopping.is_set() and os.getppid() == parent:
        stopping.wait(0.5)
    if child.poll() is None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.killpg(0, signal.SIGTERM)
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(0, signal.SIGKILL)
    # Killed by a signal: 128 + its number, as a shell reports it (a negative status would wrap).
    return 128 - child.returncode if child.returncode < 0 else child.returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
