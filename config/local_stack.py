"""How processes find the local stack that `make run` started: its endpoints file and its lock.

The running stack holds an exclusive `flock` on `<state dir>/stack.json` and writes its PID and
endpoints into it. Commands read the file when `AWS_ENDPOINT_URL` is not set; the lock tells a
running stack from the file of one that was killed (the kernel releases a dead process's lock),
and stops a second stack from sharing the state directory. Development only: nothing here runs
on Lambda.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

STACK_FILE = "stack.json"

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock: no lock, no discovery
    fcntl = None  # type: ignore[assignment]


class StackRunningError(Exception):
    """Another stack holds the state directory; the message names it."""


@dataclass(frozen=True)
class StackEndpoints:
    """A running stack: its supervisor's PID, where the API and the local AWS listen, and its state."""

    pid: int
    api_url: str
    aws_url: str
    state_dir: str
    auth_mode: str = "none"  # the API's AUTH_MODE: commands tell a user what its server accepts

    def describe(self) -> str:
        return f"PID {self.pid}, API {self.api_url}, local AWS {self.aws_url}"


def client_id(checkout: Path) -> str:
    """This checkout's name in the User-Agent of its AWS clients (`app/<id>`, at most 50 characters).

    The local AWS of a stack refuses clients with another id, so a command cannot act on another
    checkout's table by reaching its port.
    """
    digest = hashlib.sha256(str(checkout.resolve()).encode()).hexdigest()[:12]
    return f"tasks-{digest}"


def running_stack(state_dir: Path) -> StackEndpoints | None:
    """The stack running on `state_dir`, or None if none is (no file, or no process holds its lock)."""
    path = state_dir / STACK_FILE
    if fcntl is None or not path.is_file():
        return None
    try:
        with path.open(encoding="utf-8") as stream:
            try:
                fcntl.flock(stream, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return _endpoints(stream.read())
            return None  # we got the lock: the stack that wrote the file is gone
    except OSError:
        return None


def _endpoints(text: str) -> StackEndpoints | None:
    try:
        return StackEndpoints(**json.loads(text))
    except (ValueError, TypeError):
        return None  # the running stack is between truncating and writing it


class StackLock:
    """Held by a running stack for its whole life: `<state dir>/stack.json`, locked and filled in."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / STACK_FILE
        self._file: IO[str] | None = None

    def acquire(self, endpoints: StackEndpoints) -> None:
        """Take the state directory and publish `endpoints`.

        Raises StackRunningError, naming the stack that holds it, if another one does.
        """
        stream = self.path.open("a+", encoding="utf-8")
        if fcntl is not None:
            try:
                fcntl.flock(stream, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                stream.seek(0)
                holder = _endpoints(stream.read())
                stream.close()
                raise StackRunningError(
                    f"Another local stack is running on {self.path.parent} "
                    f"({holder.describe() if holder else 'starting'}). Stop it (Ctrl-C in its terminal"
                    + (f", or `kill {holder.pid}`" if holder else "")
                    + "), or give this one its own state with --state-dir or LOCAL_STATE_DIR."
                ) from None
        stream.seek(0)
        stream.truncate()
        stream.write(json.dumps(asdict(endpoints)))
        stream.flush()
        os.fsync(stream.fileno())
        self._file = stream

    def release(self) -> None:
        """Empty the file and let the lock go: commands stop finding this stack.

        The file stays: deleting it would let a stack starting at this moment lock the deleted
        file while a third one creates and locks a new one, both believing they hold the directory.
        """
        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()
            self._file.flush()
            self._file.close()  # closing releases the lock
            self._file = None
