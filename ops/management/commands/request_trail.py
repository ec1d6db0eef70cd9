"""`request_trail`: everything the local stack logged because of one request, in time order."""

from __future__ import annotations

import json
from argparse import ArgumentParser, ArgumentTypeError
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError

from config.observability import ACCEPTABLE_REQUEST_ID
from ops.local.log_trail import LOG_DIRECTORY, TrailLine, request_trail
from ops.management.base import OpsCommand
from tasks_app.management.base import counted

# Shown beside each line's message when the line has them: what a reader follows an event by.
_DETAILS = ("event_id", "task_id", "sequence")


class Command(OpsCommand):
    help = (
        "Print every log line the local stack (`make run`) wrote because of one request: the API's "
        "while serving it, the outbox relay's while publishing the events it caused and the worker's "
        "while applying them, in time order, each with the process that wrote it. Give the request's "
        "X-Request-ID (every response carries it). Reads the JSON log files under "
        f"<state dir>/{LOG_DIRECTORY}/. Deployed, use `zappa tail <stage> --filter "
        "'{ $.request_id = \"<id>\" }'` instead (see the README)."
    )
    examples = (
        "python manage.py request_trail 4f9c2d7e8b1a4c3d9e0f1a2b3c4d5e6f",
        "python manage.py request_trail my-trace-1 --json",
    )

    uses_aws = False  # it reads the log files only

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("request_id", type=_request_id, help="The request's X-Request-ID.")
        parser.add_argument(
            "--state-dir",
            type=Path,
            default=None,
            help="The local stack's state directory (default: LOCAL_STATE_DIR, or .local).",
        )
        parser.add_argument("--json", action="store_true", help="Each line as logged (JSON), with its `process` added.")

    def handle(self, *args: Any, **options: Any) -> None:
        state_dir: Path = options["state_dir"] or settings.LOCAL_STATE_DIR
        request_id: str = options["request_id"]
        try:
            trail = request_trail(state_dir, request_id)
        except FileNotFoundError:
            raise CommandError(
                f"There are no log files in {state_dir / LOG_DIRECTORY}: the local stack (`make run`) writes "
                "them there. Give its state directory with --state-dir if it keeps it elsewhere."
            ) from None
        if not trail:
            raise CommandError(
                f"No line in {state_dir / LOG_DIRECTORY} has the request id {request_id!r}. Take it from "
                "the response's X-Request-ID header; a request made before its stack wrote log files left none."
            )
        for line in trail:
            self.stdout.write(
                json.dumps({"process": line.process, **line.entry}, ensure_ascii=False)
                if options["json"]
                else _readable(line)
            )
        if not options["json"]:
            processes = sorted({line.process for line in trail})
            self.stdout.write(f"{counted(len(trail), 'line')} from {', '.join(processes)}.")


def _request_id(text: str) -> str:
    """An X-Request-ID the API could have answered with (`config.observability`: 1-128 of
    letters, digits and `._:@/+=-`); anything else is refused by argparse, naming the argument."""
    if not ACCEPTABLE_REQUEST_ID.fullmatch(text):
        raise ArgumentTypeError(
            f"{text!r} is not a request id: the API answers with 1-128 letters, digits or ._:@/+=- "
            "(the X-Request-ID header of any response)"
        )
    return text


def _readable(line: TrailLine) -> str:
    """'2026-12-01T11:00:00.120+00:00  relay   INFO     Published TaskCreated  (event_id=…, task_id=…)'."""
    entry = line.entry
    details = ", ".join(f"{name}={entry[name]}" for name in _DETAILS if entry.get(name) is not None)
    text = f"{line.time}  {line.process:<6}  {entry.get('level', ''):<8} {entry.get('message', '')}"
    return f"{text}  ({details})" if details else text
