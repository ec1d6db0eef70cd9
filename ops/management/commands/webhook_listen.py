"""`webhook_listen`: a local webhook receiver that prints each delivery and checks its signature
(issue 14 item 4), so webhooks can be watched working in `make run` with no internet."""

from __future__ import annotations

import base64
import json
import os
import signal
import sys
import threading
from argparse import ArgumentParser
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from standardwebhooks import Webhook, WebhookVerificationError

from config.environment import local_api_port
from config.local_stack import running_stack
from tasks_app.management.base import counted, short_time

DEFAULT_PORT = 8025
HOST = "127.0.0.1"  # this machine only: the receiver answers anyone who can reach it
MAX_BODY_BYTES = 1024 * 1024  # a delivery is one SPEC §4 message, a few KB; more is refused with 413
SUMMARY_CHARACTERS = 160
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret (Standard Webhooks)
MIN_SECRET_BYTES, MAX_SECRET_BYTES = 24, 64  # the Standard Webhooks specification's range
# Fields of a SPEC §4 message's `data` that repeat the envelope, or are ids: shown last, if room.
_ENVELOPE_FIELDS = ("event_id", "event_type", "timestamp", "sequence")
_ID_FIELDS = ("user_id", "webhook_id", "aggregate_id")


class Command(BaseCommand):
    requires_system_checks = []  # as AwsCommand: the checks are of what serves the API, and slow every start
    help = (
        "Listen on http://127.0.0.1:PORT/ for webhook deliveries and print each one: time, event type, "
        "webhook-id, a short summary of the event, and whether its Standard Webhooks signature verifies "
        "with --secret (the whsec_... shown when the webhook was created). Answers 204 (500 to the "
        "first --fail deliveries, to watch retries). Ctrl-C stops. Example: "
        "python manage.py webhook_listen --secret whsec_... then register http://127.0.0.1:8025/ "
        'with POST /webhooks (under make run, with "user_id" in the body; it prints the curl line).'
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--port", type=int, default=DEFAULT_PORT, help=f"Port on 127.0.0.1 (default {DEFAULT_PORT}; 0: any free)."
        )
        parser.add_argument("--secret", help="The webhook's signing secret (whsec_...), to check signatures.")
        parser.add_argument(
            "--fail", type=int, default=0, metavar="N", help="Answer 500 to the first N deliveries (default 0)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not 0 <= options["port"] <= 65535:
            raise CommandError("--port must be from 0 to 65535.")
        if options["fail"] < 0:
            raise CommandError("--fail must be 0 or more.")
        verifier = _verifier(options["secret"])
        stopping = threading.Event()
        receiver = _Receiver(self.stdout, verifier, fail_first=options["fail"], closed=stopping)
        try:
            server = ThreadingHTTPServer((HOST, options["port"]), receiver.handler())
        except OSError as error:
            raise CommandError(
                f"Cannot listen on {HOST}:{options['port']}: {error.strerror}. "
                "Pick another port with --port (0 takes any free one)."
            ) from None
        server.daemon_threads = True
        url = f"http://{HOST}:{server.server_address[1]}/"

        def stop(signum: int, frame: FrameType | None) -> None:
            stopping.set()

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        serving = threading.Thread(target=server.serve_forever, name="webhook-listen", daemon=True)
        serving.start()
        checking = "checking signatures" if verifier else "not checking signatures (no --secret)"
        failing = f", answering 500 to the first {counted(options['fail'], 'delivery', 'deliveries')}"
        api_url, auth_mode = _api_of_running_stack()
        receiver.say(
            f"Listening on {url} ({checking}{failing if options['fail'] else ''}); Ctrl-C stops.\n"
            + registration_hint(url, api_url=api_url, auth_mode=auth_mode)
        )
        stopping.wait()
        server.shutdown()
        server.server_close()
        receiver.say(f"Stopped after {counted(receiver.count, 'delivery', 'deliveries')}.")
        if receiver.output_closed:
            # Python's own recipe (signal module docs, "Note on SIGPIPE"): point stdout at devnull, or
            # flushing it at exit reports the broken pipe once more.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def registration_hint(url: str, *, api_url: str, auth_mode: str) -> str:
    """How to register `url` with the API at `api_url` (the running `make run` stack's, or where
    one would listen): a curl line that works as it stands for the server's `auth_mode` (with
    `none`, the owner is the body's `user_id`, which it requires; with `jwt`, the bearer token's
    user, the token made by `issue_token`)."""
    if auth_mode == "jwt":
        body = json.dumps({"url": url, "event_types": ["*"]})
        return (
            "Register it (make run, AUTH_MODE=jwt: the token's user owns the webhook):\n"
            f"  curl -s -X POST {api_url}/webhooks -H 'Content-Type: application/json' "
            '-H "Authorization: Bearer $(.venv/bin/python manage.py issue_token alice)" '
            f"-d '{body}'\n"
            "  Then start again with --secret and the whsec_... the answer shows, to check signatures.\n"
        )
    body = json.dumps({"user_id": "alice", "url": url, "event_types": ["*"]})
    return (
        "Register it (make run, AUTH_MODE=none):\n"
        f"  curl -s -X POST {api_url}/webhooks -H 'Content-Type: application/json' -d '{body}'\n"
        "  With a bearer token (AUTH_MODE=jwt), leave user_id out: the webhook is the token's user's.\n"
        "  Then start again with --secret and the whsec_... the answer shows, to check signatures.\n"
    )


def _api_of_running_stack() -> tuple[str, str]:
    """The API URL and AUTH_MODE of the stack running on this checkout's state directory
    (`.local/stack.json`), or where `make run` would serve and its default, none."""
    stack = running_stack(Path(settings.LOCAL_STATE_DIR))
    if stack is not None:
        return stack.api_url.rstrip("/"), stack.auth_mode
    return f"http://127.0.0.1:{local_api_port(os.environ)}", "none"


def _verifier(secret: str | None) -> Webhook | None:
    """The library's verifier for `secret`; None without one. Raises `CommandError` unless it is
    `whsec_` + base64 of 24 to 64 bytes (Standard Webhooks), what the API hands out: the library
    also takes bare base64, so a mistyped secret would start quietly and call every delivery
    INVALID (issue 14, a user's report)."""
    if secret is None:
        return None
    what = (
        "give the whsec_... shown when the webhook was created or its secret rotated "
        "(POST /webhooks or POST /webhooks/{webhook_id}/rotate-secret)."
    )
    if not secret.startswith(SECRET_PREFIX):
        raise CommandError(f"--secret is not a webhook signing secret (it does not start with {SECRET_PREFIX}): {what}")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except ValueError:
        raise CommandError(
            f"--secret is not a webhook signing secret (not base64 after {SECRET_PREFIX}): {what}"
        ) from None
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise CommandError(
            f"--secret is not a webhook signing secret ({len(key)} bytes after {SECRET_PREFIX}, not "
            f"{MIN_SECRET_BYTES} to {MAX_SECRET_BYTES}): {what}"
        )
    return Webhook(secret)


class _Receiver:
    """What the server's threads share: the output, the verifier, and the count of deliveries."""

    def __init__(
        self, out: OutputWrapper, verifier: Webhook | None, *, fail_first: int, closed: threading.Event
    ) -> None:
        self._out = out
        self._closed = closed  # set when nobody reads the output any more (`| head` exited): stop
        self._verifier = verifier
        self._fail_first = fail_first
        self._lock = threading.Lock()
        self.count = 0
        self.output_closed = False

    def say(self, text: str) -> None:
        with self._lock:
            try:
                self._out.write(text)
                self._out.flush()  # a pipe (a test, `| tee`) sees each delivery as it comes
            except BrokenPipeError:  # the reader is gone: stop listening, quietly
                self.output_closed = True
                self._closed.set()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY_BYTES:
                    self.send_error(413, f"A delivery is at most {MAX_BODY_BYTES} bytes here.")
                    return
                body = self.rfile.read(length)
                status = receiver.receive(body, dict(self.headers.items()))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                self.send_error(405, "webhook_listen takes POSTed webhook deliveries only.")

            def log_message(self, format: str, *args: Any) -> None:
                pass  # `receive` prints each delivery; the access log would repeat it

        return Handler

    def receive(self, body: bytes, headers: dict[str, str]) -> int:
        """Print one delivery; the status to answer with."""
        with self._lock:
            self.count += 1
            status = 500 if self.count <= self._fail_first else 204
        lower = {name.lower(): value for name, value in headers.items()}
        event_type, summary = _summary(body)
        self.say(
            f"{short_time(datetime.now(UTC))}  {event_type}  webhook-id {lower.get('webhook-id', '(none)')}  "
            f"{self._verdict(body, headers)}  -> {status}\n  {summary}"
        )
        return status

    def _verdict(self, body: bytes, headers: dict[str, str]) -> str:
        if self._verifier is None:
            return "not checked: no --secret"
        try:
            self._verifier.verify(body, headers, json_parse=False)  # the library's own check, as a receiver's
        except WebhookVerificationError as error:
            return f"signature INVALID: {error}"
        except ValueError as error:  # a malformed signature header or a body that is not UTF-8
            return f"signature INVALID: malformed delivery ({error})"
        return "signature ok"


def _summary(body: bytes) -> tuple[str, str]:
    """(event type, a one-line summary) of a SPEC §4 message; what can be said of anything else."""
    try:
        message = json.loads(body)
    except ValueError:
        return "(not JSON)", repr(body[:80])
    if not isinstance(message, dict):
        return "(not an event)", json.dumps(message)[:SUMMARY_CHARACTERS]
    data = message.get("data")
    fields = {**(data if isinstance(data, dict) else {}), "aggregate_id": message.get("aggregate_id")}
    # What happened first (task_title, new_status, changes, ...), the ids last: they are long,
    # and the envelope's (event id, time) are already on the line above or in the headers.
    useful = {key: value for key, value in fields.items() if key not in (*_ENVELOPE_FIELDS, *_ID_FIELDS)}
    shown = dict(useful)
    for key in _ID_FIELDS:  # each id once: a ping's aggregate_id is its webhook_id
        if fields.get(key) is not None and fields[key] not in shown.values():
            shown[key] = fields[key]
    text = json.dumps({key: value for key, value in shown.items() if value is not None}, ensure_ascii=False)
    if len(text) > SUMMARY_CHARACTERS:
        text = text[: SUMMARY_CHARACTERS - 3] + "..."
    return str(message.get("event_type", "(no event_type)")), text
