"""A management command run by hand beside `make run` writes its lines where `request_trail`
reads them (config.settings: `logs/commands.jsonl` of the local stack)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from ops.local.log_trail import request_trail

ROOT = Path(__file__).resolve().parents[2]
# What a command logs while handling an event of a request (as `relay_outbox` does).
SCRIPT = (
    "import logging; from tasks_app import correlation\n"
    "with correlation.bound(request_id='req-by-hand', event_id='e-1'):\n"
    "    logging.getLogger('tasks_app.application.relay').info('Published TaskCreated')\n"
)


def _manage(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOCAL_STATE_DIR": str(state_dir), "ENVIRONMENT": "development"}
    env.pop("LOG_FILE", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_a_command_run_by_hand_is_in_the_request_trail(tmp_path):
    (tmp_path / "logs").mkdir()  # as `make run` leaves it
    ran = _manage(tmp_path, "shell", "-c", SCRIPT)
    assert ran.returncode == 0, ran.stderr
    [line] = [json.loads(text) for text in (tmp_path / "logs" / "commands.jsonl").read_text().splitlines()]
    assert (line["message"], line["request_id"], line["event_id"]) == ("Published TaskCreated", "req-by-hand", "e-1")
    assert [(found.process, found.entry["message"]) for found in request_trail(tmp_path, "req-by-hand")] == [
        ("commands", "Published TaskCreated")
    ]


def test_without_a_local_stack_a_command_makes_no_log_directory(tmp_path):
    ran = _manage(tmp_path, "shell", "-c", SCRIPT)
    assert ran.returncode == 0, ran.stderr
    assert not (tmp_path / "logs").exists()


def test_the_local_relay_logs_an_outage_where_the_stack_keeps_its_logs(tmp_path):
    # make run's relay with DynamoDB unreachable: the failure is a JSON line in its log file (with
    # its time), not plain text on the terminal only, and the relay keeps trying.
    log_file = tmp_path / "relay.jsonl"
    env = {**os.environ, "ENVIRONMENT": "development", "LOG_FILE": str(log_file)}
    env.update(AWS_ENDPOINT_URL="http://127.0.0.1:9", AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x")
    env.update(AWS_MAX_ATTEMPTS="1", LOCAL_STATE_DIR=str(tmp_path))
    env.pop("DJANGO_SETTINGS_MODULE", None)
    relay = subprocess.Popen(
        [sys.executable, "manage.py", "relay_stream"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        stops: list[dict[str, object]] = []
        while len(stops) < 2 and time.monotonic() < deadline and relay.poll() is None:
            time.sleep(0.5)
            lines = log_file.read_text().splitlines() if log_file.exists() else []
            stops = [entry for entry in map(json.loads, lines) if "stream relay stopped" in str(entry["message"])]
    finally:
        relay.terminate()
        _, stderr = relay.communicate(timeout=30)
    assert len(stops) >= 2, stderr  # it started again after the first failure
    assert stops[0]["level"] == "WARNING"
