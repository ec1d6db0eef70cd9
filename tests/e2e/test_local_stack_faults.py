"""`make run`'s stack under faults (issue 10): a paused local AWS, killed children, a stop with work
queued, two stacks on one state directory, commands that find the stack or are refused by it.

Each fault is caused under load and checked with `assert_nothing_lost`: every task answered 201
exists, with its whole history, nothing applied twice, every user's statistics exact. The tests
that leave the stack running share one stack (starting one costs 10-15 s on this machine); each
uses its own users, and a stack that a test left dead is replaced for the next one.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.e2e import local_stack
from tests.e2e.local_stack import (
    DEAD_LETTER_QUEUE,
    EVENTS_QUEUE,
    Load,
    RunningStack,
    assert_nothing_lost,
    base_environment,
    eventually,
    free_port,
    is_alive,
    is_stopped,
    port_is_open,
    run_manage,
)

pytestmark = pytest.mark.e2e
start_stack = local_stack.start_stack  # the fixture

# Every client here is 127.0.0.1: one IP, which the default rate limits would throttle.
UNTHROTTLED = {"THROTTLE_USER_RATE": "off", "THROTTLE_IP_RATE": "off"}
AUTOSAVE = 1.0  # seconds: saves keep happening through the faults, as the first bug needed


@pytest.fixture(scope="module")
def _shared_stacks() -> Iterator[list[RunningStack]]:
    stacks: list[RunningStack] = []
    yield stacks
    for stack in stacks:
        stack.kill()


@pytest.fixture
def stack(_shared_stacks: list[RunningStack], tmp_path_factory: pytest.TempPathFactory) -> RunningStack:
    """The module's running stack (autosave every second, no reloader, no rate limits); a new one if it died."""
    if not _shared_stacks or not _shared_stacks[-1].is_running():
        state_dir = tmp_path_factory.mktemp("faults") / "state"
        _shared_stacks.append(RunningStack(state_dir, autosave=AUTOSAVE, reload=False, **UNTHROTTLED))
    return _shared_stacks[-1]


def assert_still_serving(stack: RunningStack, since: int) -> None:
    """The supervisor runs, has not begun to stop since output line `since`, and the API answers."""
    assert stack.is_running(), stack.output[-3000:]
    assert "Stopping" not in "".join(stack.lines[since:]), stack.output[-3000:]
    status, body = stack.request("POST", "/tasks", {"user_id": f"alive-{uuid.uuid4().hex[:8]}", "title": "t"})
    assert status == 201, body


def test_a_stop_keeps_queued_events_and_dead_letters_across_a_restart(start_stack, tmp_path):
    stack = start_stack(autosave=AUTOSAVE, reload=False, **UNTHROTTLED)
    os.kill(stack.pid_of("worker"), signal.SIGSTOP)  # it consumes nothing; the stop continues it
    created: dict[str, list[str]] = {}
    for user in (f"kept-{n}" for n in range(3)):
        for n in range(4):
            status, body = stack.request("POST", "/tasks", {"user_id": user, "title": f"kept {n}"})
            assert status == 201, body
            created.setdefault(user, []).append(body["data"]["task_id"])
    eventually(lambda: sum(stack.queue_depth(EVENTS_QUEUE)) >= 12, 30, "12 events on the queue")
    marker = f"dead letter {uuid.uuid4()}"
    stack.sqs().send_message(QueueUrl=stack.queue_url(DEAD_LETTER_QUEUE), MessageBody=json.dumps({"marker": marker}))

    assert stack.stop(signal.SIGINT) == 0, stack.output
    saved = re.search(r"Saved (\d+) items?, (\d+) queued events? and 1 dead letter to ", stack.output)
    assert saved, stack.output
    assert int(saved[2]) > 0, f"the worker applied every event before the stop: {saved[0]}"
    assert (tmp_path / "state" / "queues-snapshot.json").is_file()

    restarted = start_stack(autosave=AUTOSAVE, reload=False, **UNTHROTTLED)
    restored = re.search(r"Restored (\d+) items?, (\d+) queued events? and (\d+) dead letters? from ", restarted.output)
    assert restored, restarted.output
    print(saved[0], restored[0], sep="\n")
    assert restored.groups() == (saved[1], saved[2], "1")
    assert_nothing_lost(restarted, created, dead_letters=1)

    letters = run_manage(
        "dlq_list", "--json", env=base_environment(HOME=str(tmp_path), LOCAL_STATE_DIR=str(tmp_path / "state"))
    )
    assert letters.returncode == 0, letters.stderr
    bodies = [json.loads(line)["body"] for line in letters.stdout.splitlines() if line.startswith("{")]
    assert [json.loads(body)["marker"] for body in bodies] == [marker], letters.stdout


def test_a_second_stack_on_the_same_state_directory_is_refused_naming_the_first(stack):
    since = len(stack.lines)
    api_port, aws_port = free_port(), free_port()
    second = run_manage(
        "runlocal",
        *("--port", str(api_port), "--aws-port", str(aws_port), "--state-dir", str(stack.state_dir)),
        env=base_environment(HOME=str(stack.state_dir), **UNTHROTTLED),
    )

    assert second.returncode == 1, second
    message = " ".join(second.stderr.split())  # as one line, however the terminal wrapped it
    assert f"Another local stack is running on {stack.state_dir.resolve()}" in message
    assert f"PID {stack.pid}, API {stack.api_url}, local AWS {stack.aws_url}" in message
    assert "--state-dir or LOCAL_STATE_DIR" in message
    assert "Restored" not in second.stdout, "the second stack touched the state"
    assert not port_is_open(api_port)
    assert not port_is_open(aws_port)
    endpoints = json.loads((stack.state_dir / "stack.json").read_text())
    assert (endpoints["pid"], endpoints["api_url"], endpoints["aws_url"]) == (stack.pid, stack.api_url, stack.aws_url)
    assert_still_serving(stack, since)


def test_commands_find_the_stack_through_its_state_directory_and_another_checkout_is_refused(stack):
    user = f"found-{uuid.uuid4().hex[:8]}"
    status, body = stack.request("POST", "/tasks", {"user_id": user, "title": "Found through stack.json"})
    assert status == 201, body
    assert stack.aws_port != 4566

    # No AWS_ENDPOINT_URL: the command reads the stack's endpoints from the state directory.
    found = run_manage(
        "list_tasks",
        "--user",
        user,
        env=base_environment(HOME=str(stack.state_dir), LOCAL_STATE_DIR=str(stack.state_dir)),
    )
    assert found.returncode == 0, found.stderr
    assert body["data"]["task_id"] in found.stdout
    assert "Found through stack.json" in found.stdout

    # A client naming another checkout, pointed straight at this stack's local AWS.
    refused = run_manage(
        "list_tasks",
        "--user",
        user,
        env=base_environment(
            HOME=str(stack.state_dir), AWS_SDK_UA_APP_ID="tasks-0000000000ff", AWS_ENDPOINT_URL=stack.aws_url
        ),
    )
    assert refused.returncode != 0, refused
    assert "another checkout" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
    assert "Found through stack.json" not in refused.stdout


@pytest.mark.parametrize("role", ["worker", "outbox relay", "API"])
def test_a_killed_child_is_restarted_and_nothing_is_lost(stack, role):
    since = len(stack.lines)
    victim = stack.pid_of(role)
    with Load(stack.api_url, f"kill-{role.split()[-1].lower()}-{uuid.uuid4().hex[:6]}", clients=6) as load:
        load.wait_for_creates(15)
        os.kill(victim, signal.SIGKILL)  # the real process, found under the supervisor, not by name
        stack.wait_for(rf"The {role} was killed by SIGKILL; restarting it in \d+ s\.", 20, since=since)
        restart = stack.wait_for(rf"Restarted the {role} \(restart \d+, process group (\d+)\)\.", 40, since=since)
        load.wait_for_creates(15)

    assert is_alive(int(restart[1]))
    assert stack.pid_of(role) != victim
    assert_still_serving(stack, since)
    print(load.summary())
    assert_nothing_lost(stack, load.created, uncertain=load.uncertain)


@pytest.mark.parametrize("pause", [15, 25])
def test_a_paused_local_aws_stops_nothing_and_loses_nothing(stack, pause):
    since = len(stack.lines)
    aws = stack.pid_of("local AWS")
    with Load(stack.api_url, f"pause{pause}-{uuid.uuid4().hex[:6]}", clients=6) as load:
        load.wait_for_creates(15)
        os.kill(aws, signal.SIGSTOP)
        try:
            eventually(lambda: is_stopped(aws), 5, "the local AWS stopped")
            time.sleep(pause)
        finally:
            os.kill(aws, signal.SIGCONT)
        load.wait_for_creates(15, timeout=90)

    assert stack.pid_of("local AWS") == aws, "the local AWS was replaced"
    assert_still_serving(stack, since)
    print(load.summary())
    assert_nothing_lost(stack, load.created, uncertain=load.uncertain)


def test_a_killed_local_aws_stops_the_stack_and_the_next_start_loses_nothing(start_stack):
    # The autosave never runs here: what survives is what the local AWS journalled as it went.
    stack = start_stack(autosave=3600, reload=False, **UNTHROTTLED)
    with Load(stack.api_url, f"kill-aws-{uuid.uuid4().hex[:6]}", clients=4) as load:
        load.wait_for_creates(20)
        os.kill(stack.pid_of("local AWS"), signal.SIGKILL)
        stack.wait_for(r"Stopping \(the local AWS was killed by SIGKILL", 30)
    assert stack.process.wait(timeout=60) == 0, stack.output
    assert "the next start replays them" in stack.output

    restarted = start_stack(autosave=3600, reload=False, **UNTHROTTLED)
    print(load.summary())
    assert_nothing_lost(restarted, load.created, uncertain=load.uncertain)
