"""`make run`'s reminder sweep: a child of the stack like the relay, every 60 s unless
REMINDER_SWEEP_SECONDS says otherwise, and a value it would refuse at every restart refused once,
at start-up (issue 14 item 6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.local import supervisor
from ops.local.log_trail import process_log_files
from ops.local.supervisor import LocalStackError, LocalStackOptions
from ops.provisioning.resources import configured_resources

OPTIONS = LocalStackOptions(
    api_port=8000,
    aws_port=4566,
    state_dir=Path("/checkout/.local"),
    autosave_seconds=0,
    reload=False,
    region="us-east-1",
    resources=configured_resources(),
    manage_py=Path("/checkout/manage.py"),
)


def sweep_command(monkeypatch: pytest.MonkeyPatch, seconds: str | None) -> list[str]:
    if seconds is None:
        monkeypatch.delenv("REMINDER_SWEEP_SECONDS", raising=False)
    else:
        monkeypatch.setenv("REMINDER_SWEEP_SECONDS", seconds)
    return supervisor._child_commands(OPTIONS)["the reminder sweep"]


def test_the_stack_sweeps_every_minute_by_default_and_as_often_as_told(monkeypatch):
    assert sweep_command(monkeypatch, None)[-4:] == ["remind_due_tasks", "--loop", "--interval", "60"]
    assert sweep_command(monkeypatch, "2.5")[-2:] == ["--interval", "2.5"]
    assert "swept every 2.5 s" in supervisor._banner("http://api", "http://aws", OPTIONS)


@pytest.mark.parametrize("seconds", ["soon", "0", "-5", "nan", "inf", "", "1e300", "86401"])
def test_an_interval_the_sweep_would_refuse_stops_the_start_with_what_to_set(monkeypatch, seconds):
    with pytest.raises(LocalStackError, match=f"REMINDER_SWEEP_SECONDS={seconds!r}: give the seconds"):
        sweep_command(monkeypatch, seconds)


def test_the_sweeps_lines_have_a_log_file_of_their_own():
    assert process_log_files(Path("/state"))["the reminder sweep"] == Path("/state/logs/reminders.jsonl")
