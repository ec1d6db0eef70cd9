"""The local stack's log files, one per process, and the trail of one request through them.

`make run` has each of its processes write its JSON log lines (config/observability.py) to a file
of its own under the state directory, besides the terminal: `logs/api.jsonl`, `logs/worker.jsonl`,
`logs/relay.jsonl` and `logs/reminders.jsonl`, each rotated at 10 MB with 3 older files kept (`.1` to `.3`). A line
carries the `request_id` of the request it was written for: the API's while serving it, the
relay's and the worker's while handling an event that request caused (SPEC §9).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOG_DIRECTORY = "logs"
# The stack's processes, as the supervisor names them, and the name of each one's file.
_PROCESS_FILES = {
    "the API": "api",
    "the worker": "worker",
    "the outbox relay": "relay",
    "the reminder sweep": "reminders",
}
_OLDER_FILES = 3  # config/settings.py's backupCount


@dataclass(frozen=True)
class TrailLine:
    """One log line of the trail: the process that wrote it (`api`, `worker`, `relay`) and the
    line itself, a JSON object with at least `time`, `level`, `logger`, `message`, `request_id`."""

    process: str
    entry: dict[str, Any]

    @property
    def time(self) -> str:
        return str(self.entry.get("time", ""))


def process_log_files(state_dir: Path) -> dict[str, Path]:
    """The log file of each of the stack's processes, by the supervisor's name for it."""
    return {name: state_dir / LOG_DIRECTORY / f"{short}.jsonl" for name, short in _PROCESS_FILES.items()}


def request_trail(state_dir: Path, request_id: str) -> list[TrailLine]:
    """Every line the local stack's processes logged with `request_id`, in time order (lines of
    one millisecond keep each file's order), from the log files under `state_dir`, rotated ones
    included. Lines that are not JSON objects are skipped. Raises `FileNotFoundError` when
    `state_dir` holds no log file at all (no stack has run there)."""
    files = _log_files(state_dir)
    if not files:
        raise FileNotFoundError(state_dir / LOG_DIRECTORY)
    found: list[TrailLine] = []
    for process, path in files:
        with path.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if request_id not in line:  # most lines: no need to parse them
                    continue
                entry = _json_object(line)
                if entry is not None and entry.get("request_id") == request_id:
                    found.append(TrailLine(process, entry))
    return sorted(found, key=lambda trail_line: trail_line.time)  # stable: a file's order within a millisecond


def _log_files(state_dir: Path) -> list[tuple[str, Path]]:
    """(process, file) for each existing file, each process's oldest first."""
    directory = state_dir / LOG_DIRECTORY
    files = []
    for short in sorted({*_PROCESS_FILES.values(), *(path.name.split(".")[0] for path in directory.glob("*.jsonl"))}):
        current = directory / f"{short}.jsonl"
        older = [directory / f"{short}.jsonl.{n}" for n in range(_OLDER_FILES, 0, -1)]
        files += [(short, path) for path in [*older, current] if path.is_file()]
    return files


def _json_object(line: str) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
