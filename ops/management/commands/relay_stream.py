"""`relay_stream`: follow the table's stream and publish each event as it is stored (`make run`'s relay)."""

from __future__ import annotations

import logging
import signal
import threading
import time
from argparse import ArgumentParser
from datetime import timedelta
from types import FrameType
from typing import Any

from django.conf import settings

from ops.local.stream_relay import POLL_SECONDS, StreamFollower
from ops.management.base import OpsCommand
from tasks_app import bootstrap
from tasks_app.management.base import counted

logger = logging.getLogger(__name__)

FAILURE_PAUSE_SECONDS = 1.0  # before reading failed records again, or starting again after an error


class Command(OpsCommand):
    help = (
        "Follow the table's DynamoDB stream and publish every event stored in the outbox as it is "
        "stored, as the deployed function's stream event source does; sweep the outbox on start and "
        "every --sweep-interval seconds for whatever the stream relay could not publish. Runs until "
        "SIGINT or SIGTERM."
    )
    examples = ("python manage.py relay_stream", "python manage.py relay_stream --sweep-interval 10")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--sweep-interval", type=float, default=30.0, help="Seconds between sweeps of the outbox (default 30)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stopping = threading.Event()

        def stop(signum: int, frame: FrameType | None) -> None:
            stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        target = bootstrap.aws_target()
        follower = StreamFollower(target.client("dynamodb"), target.client("dynamodbstreams"), settings.TABLE_NAME)
        interval = float(options["sweep_interval"])
        self.stdout.write(
            f"Relaying events from the stream of table {settings.TABLE_NAME}, sweeping the outbox every "
            f"{interval:g} s; SIGINT or SIGTERM stops."
        )
        following, next_sweep = False, 0.0
        while not stopping.is_set():
            try:
                if not following:
                    follower.start()  # first, so that the sweep and the stream leave no gap between them
                    following = True
                    self._sweep(settle=timedelta(0))
                    next_sweep = time.monotonic() + interval
                read, failed = follower.poll(bootstrap.relay_stream_records)
                if time.monotonic() >= next_sweep:
                    self._sweep(settle=None)
                    next_sweep = time.monotonic() + interval
            except Exception as error:  # noqa: BLE001 - the relay outlives an outage; it starts again
                # Logged, not printed: the line lands in logs/relay.jsonl with the stack's others.
                logger.warning("The stream relay stopped (%s); starting again from the stream's end.", error)
                following, read, failed = False, 0, 1
            if failed:
                stopping.wait(FAILURE_PAUSE_SECONDS)
            elif not read:
                stopping.wait(POLL_SECONDS)

    def _sweep(self, *, settle: timedelta | None) -> None:
        result = bootstrap.relay_all(settle=settle)
        if result.published:
            self.stdout.write(f"Swept the outbox: published {counted(result.published, 'event')}.")
