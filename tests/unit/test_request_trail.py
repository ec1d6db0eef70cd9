"""`manage.py request_trail`: one request's lines from the local stack's log files, in time order."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from ops.local.log_trail import LOG_DIRECTORY, process_log_files, request_trail


def write(path: Path, *lines: dict | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as file:
        for line in lines:
            file.write((line if isinstance(line, str) else json.dumps(line)) + "\n")


def line(time: str, message: str, request_id: str | None = "req-1", **extra: object) -> dict:
    return {"time": f"2026-12-01T11:00:{time}+00:00", "level": "INFO", "logger": "x", "message": message,
            "request_id": request_id, **extra}  # fmt: skip


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    logs = tmp_path / LOG_DIRECTORY
    write(logs / "api.jsonl", line("00.100", "Created"), line("00.101", '"POST /tasks HTTP/1.1" 201 512'))
    write(logs / "relay.jsonl.1", line("00.050", "Published TaskCreated", "req-0", event_id="e-0"))
    write(logs / "relay.jsonl", "not JSON: req-1", line("00.300", "Published TaskCreated", event_id="e-1"))
    write(
        logs / "worker.jsonl",
        line("00.200", "Applied TaskCreated", "req-11", event_id="e-9"),  # an id that holds req-1
        line("00.700", "Applied TaskCreated", event_id="e-1", task_id="t-1", sequence=1),
    )
    return tmp_path


def test_the_trail_is_every_process_line_of_the_request_in_time_order(state_dir):
    trail = request_trail(state_dir, "req-1")
    assert [(t.process, t.entry["message"]) for t in trail] == [
        ("api", "Created"),
        ("api", '"POST /tasks HTTP/1.1" 201 512'),
        ("relay", "Published TaskCreated"),
        ("worker", "Applied TaskCreated"),
    ]
    assert [t.process for t in request_trail(state_dir, "req-0")] == ["relay"]  # from the rotated file


def test_the_command_prints_the_trail_with_process_names_and_event_ids(state_dir):
    out = StringIO()
    call_command("request_trail", "req-1", "--state-dir", str(state_dir), stdout=out)
    printed = out.getvalue().splitlines()
    assert printed[2] == "2026-12-01T11:00:00.300+00:00  relay   INFO     Published TaskCreated  (event_id=e-1)"
    assert printed[3].endswith("Applied TaskCreated  (event_id=e-1, task_id=t-1, sequence=1)")
    assert printed[-1] == "4 lines from api, relay, worker."
    out = StringIO()
    call_command("request_trail", "req-1", "--state-dir", str(state_dir), "--json", stdout=out)
    assert [json.loads(text)["process"] for text in out.getvalue().splitlines()] == ["api", "api", "relay", "worker"]


def test_an_unknown_request_or_a_stack_that_never_ran_says_what_to_do(state_dir, tmp_path):
    with pytest.raises(CommandError, match="X-Request-ID"):
        call_command("request_trail", "req-unknown", "--state-dir", str(state_dir))
    with pytest.raises(CommandError, match=r"no log files .* --state-dir"):
        call_command("request_trail", "req-1", "--state-dir", str(tmp_path / "elsewhere"))


def test_the_stacks_processes_each_write_a_file_the_trail_reads(tmp_path):
    files = process_log_files(tmp_path)
    assert set(files) == {
        "the API",
        "the worker",
        "the outbox relay",
        "the reminder sweep",
    }  # the supervisor's children
    assert {path.parent for path in files.values()} == {tmp_path / LOG_DIRECTORY}


@pytest.mark.parametrize("given", ["", "two words", "x" * 129, "req\u00e9"])
def test_what_cannot_be_a_request_id_is_refused_as_such(state_dir, given):
    with pytest.raises(CommandError, match="is not a request id"):
        call_command("request_trail", given, "--state-dir", str(state_dir))


def test_reading_log_files_does_not_claim_to_use_the_local_aws(state_dir, settings):
    settings.AWS_ENDPOINT_SOURCE = "the local stack's state file"
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:1"
    err = StringIO()
    call_command("request_trail", "req-1", "--state-dir", str(state_dir), stdout=StringIO(), stderr=err)
    assert "Using the local AWS" not in err.getvalue()
    err = StringIO()
    with pytest.raises(CommandError):  # a command that does use AWS still says which one
        call_command("show_task", "task-x", stdout=StringIO(), stderr=err)
    assert "Using the local AWS at http://127.0.0.1:1" in err.getvalue()
