"""Real event processes for tests and benchmarks, as child processes: Celery workers
(`celery -A config worker`) and the stream relay (`manage.py relay_stream`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from django.conf import settings

READY = "ready."


def worker_environment(aws_url: str) -> dict[str, str]:
    """What a worker needs to reach the same table, topic and queue as the test process."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(settings.BASE_DIR)),
        "LANG": "C.UTF-8",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "ENVIRONMENT": "development",
        "AWS_ENDPOINT_URL": aws_url,
        "AWS_REGION": settings.AWS_REGION,
        "TABLE_NAME": settings.TABLE_NAME,
        "TOPIC_ARN": settings.TOPIC_ARN,
        "EVENTS_QUEUE_URL": settings.EVENTS_QUEUE_URL,
        "WEBHOOKS_QUEUE_URL": settings.WEBHOOKS_QUEUE_URL,
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",  # a killed worker's last log lines must be in the file
    }


class Worker:
    """One worker process; its log goes to a file the test can read."""

    name = "worker"
    command: tuple[str, ...] = (sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO")
    ready = READY

    def __init__(self, aws_url: str, log_path: Path, *, environment: Mapping[str, str] | None = None) -> None:
        """Starts it and waits for it to be ready; `environment` adds to `worker_environment`'s."""
        self.log_path = log_path
        with log_path.open("a") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=settings.BASE_DIR,
                env={**worker_environment(aws_url), **(environment or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_for(self.ready, timeout=60)

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: no {text!r} within {timeout} s; log:\n{self.log[-3000:]}")
            time.sleep(0.2)

    def kill(self) -> None:
        """Stop it dead, as a crash or an out-of-memory kill would: no cleanup, no acks."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


class StreamRelay(Worker):
    """`make run`'s relay: follows the table's stream and publishes each event as it is stored."""

    name = "stream relay"
    command = (sys.executable, "manage.py", "relay_stream", "--sweep-interval", "30")
    ready = "SIGINT or SIGTERM stops."
