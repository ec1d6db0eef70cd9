"""A management command run by hand beside `make run` writes its lines where `request_trail`
reads them (config.settings: `logs/commands.jsonl` of the local stack)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
