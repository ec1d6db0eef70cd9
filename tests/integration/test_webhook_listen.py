"""`webhook_listen` as a developer runs it (issue 14 item 4): a real process on a free port, sent
deliveries signed by the `standardwebhooks` library, printing what it got and the verdict on each
signature, answering 500 to the first --fail ones, and stopping cleanly on Ctrl-C."""

from __future__ import annotations

import base64
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from standardwebhooks import Webhook

from ops.management.commands.webhook_listen import registration_hint

SECRET = "whsec_" + base64.b64encode(b"a local test secret of 32 bytes!").decode()
MESSAGE = {
    "event_type": "TaskCompleted",
    "event_id": "evt-0d6c1a52",
    "aggregate_id": "task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21",
    "timestamp": "2026-12-01T17:00:00Z",
    "data": {"title": "Ship the webhooks", "status": "completed"},
}


class Listener:
    """A running `manage.py webhook_listen`, its URL read from its first line."""

    def __init__(self, tmp_path: Path, *options: str) -> None:
        env = {**os.environ, "LOCAL_STATE_DIR": str(tmp_path), "ENVIRONMENT": "development", "PYTHONUNBUFFERED": "1"}
        env.pop("LOG_FILE", None)
        env.pop("DJANGO_SETTINGS_MODULE", None)
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "webhook_listen", "--port", "0", *options],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.stdout = self.process.stdout
        # Reads of its output block: a listener that stops printing is killed (EOF), so a test fails, not hangs.
        self._watchdog = threading.Timer(60, self.process.kill)
        self._watchdog.daemon = True
        self._watchdog.start()
        first = self.stdout.readline()
        assert first.startswith("Listening on http://127.0.0.1:"), first + self.process.stderr.read()  # type: ignore[union-attr]
        self.url = first.split()[2]
        self.port = int(self.url.rsplit(":", 1)[1].strip("/"))
        self.hint = "".join(self.stdout.readline() for _ in range(4))

    def deliver(self, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        """POST a delivery; the status answered and the two lines printed about it."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        connection.request("POST", "/", body=body, headers={"Content-Type": "application/json", **headers})
        status = connection.getresponse().status
        connection.close()
        return status, self.stdout.readline() + self.stdout.readline()

    def stop(self) -> tuple[int, str]:
        """Ctrl-C, as a developer stops it: the exit code and the rest of its output."""
        self.process.send_signal(signal.SIGINT)
        rest, _ = self.process.communicate(timeout=10)
        self._watchdog.cancel()
        return self.process.returncode, rest


@pytest.fixture
def listen(tmp_path) -> Iterator[type[Listener]]:
    started: list[Listener] = []

    def start(*options: str) -> Listener:
        started.append(Listener(tmp_path, *options))
        return started[-1]

    yield start  # type: ignore[misc]
    for listener in started:
        if listener.process.poll() is None:
            listener.process.kill()
            listener.process.wait(timeout=10)


def signed(body: bytes, *, secret: str = SECRET, at: datetime | None = None) -> dict[str, str]:
    """The Standard Webhooks headers the library's signer puts on `body`."""
    moment = at or datetime.now(UTC)
    return {
        "webhook-id": MESSAGE["event_id"],  # type: ignore[dict-item]
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": Webhook(secret).sign(MESSAGE["event_id"], moment, body.decode()),  # type: ignore[arg-type]
    }


def test_each_delivery_is_printed_with_the_libraries_verdict_on_its_signature(listen):
    listener = listen("--secret", SECRET, "--fail", "1")
    body = json.dumps(MESSAGE).encode()

    status, printed = listener.deliver(body, signed(body))
    assert status == 500  # --fail 1: the first delivery fails, as a receiver that is down would
    assert "TaskCompleted  webhook-id evt-0d6c1a52  signature ok  -> 500" in printed
    assert '"aggregate_id": "task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21"' in printed
    assert '"title": "Ship the webhooks"' in printed

    status, printed = listener.deliver(body, signed(body))
    assert status == 204
    assert "signature ok  -> 204" in printed

    _, printed = listener.deliver(body.replace(b"Ship", b"Sink"), signed(body))
    assert "signature INVALID: No matching signature found" in printed

    _, printed = listener.deliver(body, signed(body, secret="whsec_" + base64.b64encode(b"another").decode()))
    assert "signature INVALID: No matching signature found" in printed

    _, printed = listener.deliver(body, signed(body, at=datetime.now(UTC) - timedelta(minutes=10)))
    assert "signature INVALID: Message timestamp too old" in printed

    _, printed = listener.deliver(body, {})
    assert "webhook-id (none)  signature INVALID: Missing required headers" in printed

    _, printed = listener.deliver(body, {**signed(body), "webhook-signature": "v1"})
    assert "signature INVALID: malformed delivery" in printed

    code, rest = listener.stop()
    assert code == 0
    assert "Stopped after 7 deliveries." in rest


def test_without_a_secret_deliveries_are_printed_unchecked(listen):
    listener = listen()
    status, printed = listener.deliver(b"not json", {"webhook-id": "evt-1"})
    assert status == 204
    assert "(not JSON)  webhook-id evt-1  not checked: no --secret  -> 204" in printed
    assert listener.stop()[0] == 0


@pytest.mark.parametrize(
    ("options", "error"),
    [
        (("--secret", "whsec_!!!"), "--secret is not a webhook signing secret (not base64 after whsec_)"),
        (("--secret", "bXlzZWNyZXQ="), "--secret is not a webhook signing secret (it does not start with whsec_)"),
        (("--secret", "whsec_bXlzZWNyZXQ="), "--secret is not a webhook signing secret (8 bytes after whsec_"),
        (("--port", "70000"), "--port must be from 0 to 65535"),
        (("--fail", "-1"), "--fail must be 0 or more"),
    ],
)
def test_wrong_options_are_refused_with_what_to_give(tmp_path, options, error):
    result = run_to_the_end(tmp_path, *options)
    assert result.returncode == 1
    assert error in result.stderr


def test_a_port_in_use_is_refused_with_what_to_do(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = run_to_the_end(tmp_path, "--port", str(port))
    assert result.returncode == 1
    assert f"Cannot listen on 127.0.0.1:{port}: Address already in use. Pick another port with --port" in result.stderr


def run_to_the_end(tmp_path: Path, *options: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOCAL_STATE_DIR": str(tmp_path), "ENVIRONMENT": "development"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "manage.py", "webhook_listen", *options],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_registration_hint_is_a_request_make_run_accepts(listen, api):
    listener = listen()
    assert "Register it (make run, AUTH_MODE=none):" in listener.hint
    curl = next(line for line in listener.hint.splitlines() if line.strip().startswith("curl "))
    body = json.loads(curl.split(" -d ", 1)[1].strip("'"))
    assert body == {"user_id": "alice", "url": listener.url, "event_types": ["*"]}
    created = api.client.post("/webhooks", body, format="json")  # as the API under make run (AUTH_MODE=none)
    assert created.status_code == 201, created.content
    assert "leave user_id out: the webhook is the token's user's" in listener.hint
    listener.stop()


def test_the_summary_shows_what_happened_first_and_the_ids_last(listen):
    listener = listen()
    message = {
        "event_type": "TaskStatusChanged",
        "event_id": "0d6c1a52-8d4a-4c1e-9b7f-2a6d5e4c3b21",
        "aggregate_id": "task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21",
        "timestamp": "2026-12-01T17:00:00.000000Z",
        "data": {
            "aggregate_id": "task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21",
            "timestamp": "2026-12-01T17:00:00.000000Z",
            "sequence": 2,
            "event_id": "0d6c1a52-8d4a-4c1e-9b7f-2a6d5e4c3b21",
            "old_status": "pending",
            "new_status": "in_progress",
            "user_id": "alice",
        },
    }
    _, printed = listener.deliver(json.dumps(message).encode(), {})
    summary = printed.splitlines()[1].strip()
    assert summary.startswith('{"old_status": "pending", "new_status": "in_progress", "user_id": "alice"'), summary
    assert "2026-12-01" not in summary  # the envelope's time and event id are not repeated
    assert "0d6c1a52" not in summary
    listener.stop()


def test_the_registration_hint_follows_the_running_stacks_api_and_auth_mode():
    hint = registration_hint("http://127.0.0.1:9999/", api_url="http://127.0.0.1:18431", auth_mode="jwt")
    curl = next(line for line in hint.splitlines() if line.strip().startswith("curl "))
    assert curl.strip().startswith("curl -s -X POST http://127.0.0.1:18431/webhooks ")
    assert "Authorization: Bearer $(.venv/bin/python manage.py issue_token alice)" in curl
    assert json.loads(curl.split(" -d ", 1)[1].strip("'")) == {"url": "http://127.0.0.1:9999/", "event_types": ["*"]}


def test_a_listener_whose_reader_went_away_stops_without_a_traceback():
    """`webhook_listen | head -1`: head exits after the first line; the next write stops the listener."""
    listener = subprocess.Popen(
        [sys.executable, "manage.py", "webhook_listen", "--port", "0"],
        cwd=settings.BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert listener.stdout is not None
    listener.stdout.readline()
    listener.stdout.close()  # the reader goes away
    listener.send_signal(signal.SIGTERM)  # its "Stopped after …" line meets the closed pipe
    _, errors = listener.communicate(timeout=30)
    assert listener.returncode == 0, errors
    assert "Traceback" not in errors, errors
    assert "BrokenPipeError" not in errors, errors
