"""`relay_outbox`: the sweeper, publishing the events waiting in the outbox, once or as a loop."""

from __future__ import annotations

import logging
import signal
import threading
from argparse import ArgumentParser
from datetime import timedelta
from types import FrameType
from typing import Any

from tasks_app import bootstrap
from tasks_app.management.base import AwsCommand, counted

logger = logging.getLogger(__name__)


class Command(AwsCommand):
    help = (
        "Publish every event stored in the outbox and not yet published, in each task's order. "
        "The stream relay publishes events as they are stored; this catches whatever it could not "
        "(SNS down, a process killed). Run once, it publishes every waiting event, however young; "
        "with --loop it leaves events younger than OUTBOX_SETTLE_SECONDS (60) to the stream relay. "
        "Safe to run alongside the API and other relays."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--loop", action="store_true", help="Keep relaying until stopped (SIGINT/SIGTERM).")
        parser.add_argument("--interval", type=float, default=5.0, help="Seconds between passes with --loop.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["loop"]:
            self._pass(verbose=True, settle=timedelta(0))  # an operator asking means now
            return
        stopping = threading.Event()

        def stop(signum: int, frame: FrameType | None) -> None:
            stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"Relaying the outbox every {options['interval']:g} s; SIGINT or SIGTERM stops.")
        while not stopping.is_set():
            try:
                self._pass(verbose=False, settle=None)
            except Exception as error:  # noqa: BLE001 - a sweeper outlives a bad pass; the next one retries
                logger.warning("Relay pass failed: %s", error)  # in the log file too, with the time
            stopping.wait(options["interval"])

    def _pass(self, *, verbose: bool, settle: timedelta | None) -> None:
        result = bootstrap.relay_all(settle=settle)
        if verbose or result.published or result.held_back:
            self.stdout.write(
                f"Published {counted(result.published, 'event')}; {result.held_back} held back for a later pass."
            )
