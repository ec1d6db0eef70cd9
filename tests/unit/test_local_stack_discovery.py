"""Commands find the stack `make run` started on a state directory, and a second stack cannot share it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from config.environment import load_config
from config.local_stack import StackEndpoints, StackLock, StackRunningError, client_id, running_stack


def endpoints(state_dir, aws_port: int = 4701) -> StackEndpoints:
    return StackEndpoints(4242, "http://127.0.0.1:8001", f"http://127.0.0.1:{aws_port}", str(state_dir))


def test_a_running_stack_is_found_and_a_second_one_is_refused_naming_it(tmp_path):
    lock = StackLock(tmp_path)
    lock.acquire(endpoints(tmp_path))
    try:
        assert running_stack(tmp_path) == endpoints(tmp_path)
        with pytest.raises(StackRunningError) as refused:
            StackLock(tmp_path).acquire(endpoints(tmp_path, aws_port=4702))
        message = str(refused.value)
        assert "PID 4242, API http://127.0.0.1:8001, local AWS http://127.0.0.1:4701" in message
        assert "--state-dir" in message
        assert running_stack(tmp_path) == endpoints(tmp_path)  # the refused one changed nothing
    finally:
        lock.release()
    assert running_stack(tmp_path) is None
    assert (tmp_path / "stack.json").read_text() == ""  # kept, empty: deleting it would race a new stack


def test_the_file_of_a_killed_stack_is_not_taken_for_a_running_one(tmp_path):
    # A stack killed outright leaves its file, but the kernel released its lock with it.
    script = (
        "import sys; from pathlib import Path; from config.local_stack import StackLock, StackEndpoints;"
        f"StackLock(Path({str(tmp_path)!r})).acquire(StackEndpoints(1, 'a', 'b', 'c'))"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert json.loads((tmp_path / "stack.json").read_text())["pid"] == 1
    assert running_stack(tmp_path) is None
    lock = StackLock(tmp_path)
    lock.acquire(endpoints(tmp_path))  # and a new stack may take the directory
    lock.release()


def test_without_aws_endpoint_url_development_uses_the_running_stack():
    stack = StackEndpoints(4242, "http://127.0.0.1:8001", "http://127.0.0.1:4701", "/checkout/.local")
    config = load_config({}, running_stack=stack)
    assert config.aws_endpoint_url == "http://127.0.0.1:4701"
    assert config.events_queue_url == "http://127.0.0.1:4701/123456789012/tasks-events"
    assert "/checkout/.local" in config.aws_endpoint_source
    assert "PID 4242" in config.aws_endpoint_source
    explicit = load_config({"AWS_ENDPOINT_URL": "http://127.0.0.1:9999"}, running_stack=stack)
    assert (explicit.aws_endpoint_url, explicit.aws_endpoint_source) == (
        "http://127.0.0.1:9999",
        "set by AWS_ENDPOINT_URL",
    )
    assert "no local stack is running" in load_config({}).aws_endpoint_source


def test_each_checkout_has_its_own_client_id(tmp_path):
    mine, theirs = client_id(tmp_path / "a"), client_id(tmp_path / "b")
    assert mine != theirs
    assert mine == client_id(tmp_path / "a" / ".." / "a")
    assert mine.startswith("tasks-")
    assert len(mine) <= 50  # botocore's app id limit
