"""`python manage.py remind_due_tasks` and `config.reminders.sweep_reminders`, the one function
every runner of the reminder sweep calls (issue 14 items 6 and 7), on the local AWS."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from config import lambda_handlers, reminders
from ops.provisioning.ses import ensure_local_ses
from tests.integration.test_reminder_schedule import RULE, scheduled_event

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> str:
    out = StringIO()
    call_command("remind_due_tasks", *args, stdout=out)
    return out.getvalue()


def instant(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def test_one_sweep_says_what_it_recorded_and_a_second_records_nothing(api, aws):
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=30)
    task = api.created(title="Renew the certificate", due_at=instant(due))
    api.created(title="Someday", due_at=instant(due + timedelta(days=3)))  # far outside the hour's window

    assert re.fullmatch(r"Recorded 1 TaskDueSoon event and 0 TaskOverdue events \(\d+ index quer(y|ies)\)\.\n", run())
    assert run().startswith("Recorded 0 TaskDueSoon events and 0 TaskOverdue events")
    aws.process_events()
    assert api.history(task["task_id"]) == ["TaskCreated", "TaskDueSoon"]


def test_now_sweeps_as_of_a_given_instant(api, aws):
    start = datetime.now(UTC).replace(microsecond=0)
    due = start + timedelta(minutes=30)
    task = api.created(title="File the report", due_at=instant(due))
    assert run("--now", instant(start - timedelta(hours=2))).startswith("Recorded 0 TaskDueSoon events")
    assert run("--now", instant(datetime.now(UTC) + timedelta(seconds=1))).startswith(
        "Recorded 1 TaskDueSoon event and 0 TaskOverdue events "
    )
    aws.process_events()
    assert api.history(task["task_id"])[-1] == "TaskDueSoon"


def test_now_in_the_future_is_refused_because_it_would_record_real_events_early(api, aws):
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=30)
    task = api.created(title="File the report", due_at=instant(due))
    with pytest.raises(CommandError, match=r"is in the future: a sweep records real events"):
        run("--now", instant(due + timedelta(minutes=1)))
    aws.process_events()
    assert api.history(task["task_id"]) == ["TaskCreated"]


def test_an_interval_without_loop_is_refused(aws):
    with pytest.raises(CommandError, match="--interval is for --loop"):
        run("--interval", "5")


def test_now_needs_an_offset_and_goes_with_one_sweep_only(aws):
    with pytest.raises(CommandError, match="has no offset: add Z for UTC"):
        run("--now", "2026-12-01T17:00:00")
    with pytest.raises(CommandError, match="--now is for one sweep"):
        run("--loop", "--now", "2026-12-01T17:00:00Z")
    with pytest.raises(CommandError, match="is not a number of seconds above 0"):
        run("--loop", "--interval", "0")


def test_an_unreachable_local_aws_is_a_clear_error():
    # No `aws` fixture: the test settings point at a closed port.
    with pytest.raises(CommandError, match=re.escape("Cannot reach http://127.0.0.1:9 (set by AWS_ENDPOINT_URL).")):
        run()


def test_from_the_shell_an_outage_exits_1_with_the_message_and_no_traceback(tmp_path):
    ran = subprocess.run(
        [sys.executable, "manage.py", "remind_due_tasks"],
        cwd=ROOT,
        env=_command_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 1
    assert "CommandError: Cannot reach http://127.0.0.1:9" in ran.stderr
    assert "Traceback" not in ran.stderr


def test_the_loop_logs_an_outage_as_a_warning_and_keeps_sweeping(tmp_path):
    # make run's sweep with the local AWS gone: a WARNING line per minute in its log file, and
    # the process goes on (a restart would only fail the same way), stopping cleanly on SIGTERM.
    log_file = tmp_path / "reminders.jsonl"
    loop = subprocess.Popen(
        [sys.executable, "manage.py", "remind_due_tasks", "--loop"],
        cwd=ROOT,
        env={**_command_env(tmp_path), "LOG_FILE": str(log_file), "REMINDER_SWEEP_SECONDS": "0.2"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        failures: list[dict[str, object]] = []
        while len(failures) < 2 and time.monotonic() < deadline and loop.poll() is None:
            time.sleep(0.3)
            lines = log_file.read_text().splitlines() if log_file.exists() else []
            failures = [entry for entry in map(json.loads, lines) if "sweep failed" in str(entry["message"])]
        assert loop.poll() is None, "the loop exited on an outage"
    finally:
        loop.send_signal(signal.SIGTERM)
        stdout, stderr = loop.communicate(timeout=30)
    assert loop.returncode == 0, stderr
    assert len(failures) >= 2, stderr
    assert failures[0]["level"] == "WARNING"
    assert str(failures[0]["message"]).startswith("The reminder sweep failed (Cannot reach http://127.0.0.1:9")
    assert str(failures[0]["message"]).endswith("trying again in 0.2 s.")
    assert "Sweeping for due reminders every 0.2 s" in stdout


def test_the_sweep_logs_what_it_recorded_as_one_json_line(api, aws, caplog):
    api.created(due_at=instant(datetime.now(UTC) + timedelta(minutes=5)))
    with caplog.at_level(logging.INFO, logger="config.reminders"):
        result = reminders.sweep_reminders()
        reminders.sweep_reminders()  # nothing to record: no line
    [line] = [record for record in caplog.records if record.name == "config.reminders"]
    assert (line.levelname, line.getMessage()) == ("INFO", "Reminders recorded")
    assert (line.due_soon, line.overdue, line.skipped, line.queries) == (1, 0, 0, result.queries)


def test_the_users_reminder_windows_come_from_their_notification_settings(api, aws):
    # Due in 3 hours: outside the default hour, inside the 4 hours alice chose in her settings.
    ensure_local_ses(aws.target)  # saving an address mails its confirmation
    saved = api.client.put(
        "/notifications/settings?user_id=alice",
        {"email": "alice@example.com", "reminder_window_minutes": 240},
        format="json",
    )
    assert saved.status_code == 200, saved.content
    due = instant(datetime.now(UTC) + timedelta(hours=3))
    alice, bob = api.created("alice", due_at=due), api.created("bob", due_at=due)
    assert reminders.sweep_reminders().due_soon == 1
    aws.process_events()
    assert api.history(alice["task_id"]) == ["TaskCreated", "TaskDueSoon"]
    assert api.history(bob["task_id"]) == ["TaskCreated"]


def test_the_lambda_entry_sweeps_and_answers_the_counts(api, aws):
    api.created(due_at=instant(datetime.now(UTC) + timedelta(minutes=5)))
    answer = lambda_handlers.serve_http(scheduled_event(RULE), None)
    assert (answer["due_soon"], answer["overdue"]) == (1, 0)
    assert answer["queries"] >= 1


def _command_env(tmp_path: Path) -> dict[str, str]:
    """This test run's environment, as a shell would give a command, with no AWS to reach."""
    env = {**os.environ, "ENVIRONMENT": "development", "LOCAL_STATE_DIR": str(tmp_path)}
    env.update(AWS_ENDPOINT_URL="http://127.0.0.1:9", AWS_MAX_ATTEMPTS="1")
    for name in ("LOG_FILE", "DJANGO_SETTINGS_MODULE", REMINDER_VARIABLE):
        env.pop(name, None)
    return env


REMINDER_VARIABLE = "REMINDER_SWEEP_SECONDS"


def test_a_sweep_at_another_instant_leaves_the_catch_up_of_the_clocks_sweeps_intact(api, aws):
    from tasks_app import bootstrap

    start = datetime.now(UTC)
    bootstrap.reminder_index().mark_swept(start)  # the clock's sweep has just run
    run("--now", instant(start - timedelta(days=30)))  # an operator's look back
    assert bootstrap.reminder_index().swept_until() == start
    task = api.created(title="Pay the invoice", due_at=instant(start + timedelta(hours=2)))
    aws.drain()
    # The scheduled sweep then stops for four hours: its next run must still find the task.
    result = reminders.sweep_reminders(start + timedelta(hours=4))
    assert (result.due_soon, result.overdue) == (0, 1)
    aws.process_events()
    assert api.history(task["task_id"])[-1] == "TaskOverdue"


@pytest.mark.parametrize(
    ("at", "why"),
    [
        ("0001-01-01T00:00:00Z", r"--now: The sweep.s `now` must be from 0001-01-08T01:05\+00:00 to "),
        ("9999-12-31T23:30:00Z", r"--now 9999-12-31T23:30:00\+00:00 is in the future"),
    ],
)
def test_now_at_the_ends_of_the_calendar_is_a_clear_error(aws, at, why):
    with pytest.raises(CommandError, match=why):
        run("--now", at)


@pytest.mark.parametrize("seconds", ["inf", "1e300", "86401"])
def test_an_interval_beyond_a_day_is_refused_before_the_first_sweep(seconds):
    # Event.wait could not wait that long (OverflowError after the first sweep), and a loop
    # waiting more than a day between sweeps is a typo, not a schedule.
    with pytest.raises(CommandError, match="is not a number of seconds above 0 and at most 86400"):
        run("--loop", "--interval", seconds)
