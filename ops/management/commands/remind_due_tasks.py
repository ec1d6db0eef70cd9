"""`remind_due_tasks`: one reminder sweep (what the deployed schedule runs every minute), or
`make run`'s loop of them."""

from __future__ import annotations

import logging
import os
import signal
import threading
from argparse import ArgumentParser, ArgumentTypeError
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.core.management.base import CommandError
from pynamodb.exceptions import PynamoDBException

from config import reminders
from ops.management.base import OpsCommand
from tasks_app.application.ports import DependencyUnavailable
from tasks_app.management.base import TIME_EXAMPLE, counted, describe_aws_error, rfc3339

logger = logging.getLogger(__name__)

INTERVAL_VARIABLE = "REMINDER_SWEEP_SECONDS"
CLOCK_SKEW = timedelta(minutes=1)  # how far ahead of this machine's clock --now may be (another's may run ahead)
DEFAULT_INTERVAL_SECONDS = 60.0  # as deployed: EventBridge's `rate(1 minute)`
# A day: longer waits are typos (`inf` and 1e300 made Event.wait raise OverflowError after the
# first sweep), and ops/local/supervisor.py refuses the same values at `make run`'s start.
MAX_INTERVAL_SECONDS = 86400.0
# What an unreachable or refusing (local) AWS raises, as `AwsCommand` reports them.
_OUTAGES = (BotoCoreError, ClientError, PynamoDBException, DependencyUnavailable)


def interval_seconds(text: str) -> float:
    """`--interval` (and REMINDER_SWEEP_SECONDS): seconds above 0, at most MAX_INTERVAL_SECONDS."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= MAX_INTERVAL_SECONDS:
        raise ArgumentTypeError(
            f"{text!r} is not a number of seconds above 0 and at most {MAX_INTERVAL_SECONDS:g}, like 60 or 0.5."
        )
    return seconds


class Command(OpsCommand):
    help = (
        "Sweep the tasks falling due: record TaskDueSoon for each task due within its owner's "
        "reminder window (an hour unless the owner chose another), and TaskOverdue for each "
        "unfinished task whose due date has passed, each once per task and due date, and say how "
        "many. The deployed function does this every minute on its schedule, `make run` with "
        "--loop; run it by hand to sweep now, or at another instant with --now. Safe to run "
        "beside those: a task is reminded once however many sweeps find it."
    )
    examples = (
        "python manage.py remind_due_tasks",
        f"python manage.py remind_due_tasks --now {TIME_EXAMPLE}",
        "python manage.py remind_due_tasks --loop --interval 60",
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--now",
            type=rfc3339,
            metavar="AT",
            help=(
                f"Sweep as if it were this instant, with an offset ({TIME_EXAMPLE}); the clock's by "
                "default. Not later than the clock: the sweep records real events (webhooks, mail), "
                "and one recorded early is never recorded again at its time. Such a sweep leaves the "
                "scheduled sweeps' mark alone."
            ),
        )
        parser.add_argument(
            "--loop", action="store_true", help="Sweep again every --interval seconds until SIGINT or SIGTERM."
        )
        parser.add_argument(
            "--interval",
            type=interval_seconds,
            default=None,
            metavar="SECONDS",
            help=f"Seconds between sweeps with --loop ({INTERVAL_VARIABLE}, else 60, as deployed).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now: datetime | None = options["now"]
        if not options["loop"]:
            if options["interval"] is not None:
                raise CommandError("--interval is for --loop: one sweep has no interval.")
            if now is not None and now > datetime.now(UTC) + CLOCK_SKEW:
                raise CommandError(
                    f"--now {now.isoformat()} is in the future: a sweep records real events (webhooks and mail "
                    "go out), and a reminder recorded early is not recorded again when it falls due. To see "
                    "what falls due, `list_tasks --user <owner> --sort due_at --due-before <instant>`."
                )
            self._sweep_once(now)
            return
        if now is not None:
            raise CommandError("--now is for one sweep: a loop sweeps at the clock's time.")
        interval = options["interval"]
        if interval is None:
            try:
                interval = interval_seconds(os.environ.get(INTERVAL_VARIABLE, str(DEFAULT_INTERVAL_SECONDS)))
            except ArgumentTypeError as error:
                raise CommandError(f"{INTERVAL_VARIABLE}: {error}") from None
        self._loop(float(interval))

    def _sweep_once(self, now: datetime | None) -> None:
        try:
            result = reminders.sweep_reminders(now=now)
        except ValueError as error:
            if now is None:
                raise  # not the operator's doing: a bug, with its traceback
            raise CommandError(f"--now: {error}") from None  # an instant in years 1 or 9999
        queries = counted(result.queries, "index query", "index queries")
        self.stdout.write(
            f"Recorded {counted(result.due_soon, 'TaskDueSoon event')} and "
            f"{counted(result.overdue, 'TaskOverdue event')} ({queries})."
        )

    def _loop(self, interval: float) -> None:
        """Sweep every `interval` s until SIGINT or SIGTERM. An outage is logged as a WARNING and
        the sweep tried again at the next interval: nothing was recorded, so nothing is lost, and
        `make run` must not restart a process that only waits for the local AWS to come back."""
        stopping = threading.Event()

        def stop(signum: int, frame: FrameType | None) -> None:
            stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"Sweeping for due reminders every {interval:g} s; SIGINT or SIGTERM stops.")
        failing = False
        while not stopping.is_set():
            try:
                reminders.sweep_reminders()  # logs what it recorded
            except _OUTAGES as error:
                # Logged, not printed: the line lands in logs/reminders.jsonl with the stack's others.
                logger.warning(
                    "The reminder sweep failed (%s); trying again in %g s.", describe_aws_error(error), interval
                )
                failing = True
            except Exception:  # a bug: its traceback, and the loop goes on (the next task may sweep fine)
                logger.exception("The reminder sweep failed; trying again in %g s.", interval)
                failing = True
            else:
                if failing:
                    logger.info("The reminder sweep works again.")
                    failing = False
            stopping.wait(interval)
