"""Lifecycle commands from the shell: update, start, cancel, reopen, complete, delete, restore and
list_trash, on the local AWS, with the errors people run into."""

from __future__ import annotations

import json
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.integration.test_commands import created_id, ids_in, run, sh

UNKNOWN = "task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21"


def new_task(*options: str) -> str:
    return created_id(run("create_task", "--user", "ops", "--title", "Chore", *options))


def event_types(aws) -> list[str]:
    return [event["event_type"] for event in aws.drain()]


def test_update_changes_only_the_fields_given_and_records_old_and_new(aws):
    task_id = new_task("--description", "keep me", "--tag", "old")
    aws.drain()
    shown = sh(f"update_task {task_id} --title Renamed --priority urgent --due 2026-12-01T17:00:00Z --tag A --tag b")
    assert f"{task_id}  [pending]  Renamed" in shown
    for line in ("priority     urgent", "due          2026-12-01T17:00:00.000000Z", "tags         a, b",
                 "version      2", "updated      20", "description  keep me"):  # fmt: skip
        assert line in shown
    [event] = aws.drain()
    assert event["event_type"] == "TaskUpdated"
    assert event["data"]["changes"] == {
        "title": {"old": "Chore", "new": "Renamed"},
        "priority": {"old": "normal", "new": "urgent"},
        "due_at": {"old": None, "new": "2026-12-01T17:00:00.000000Z"},
        "tags": {"old": ["old"], "new": ["a", "b"]},
    }


def test_update_clears_the_due_date_and_tags(aws):
    task_id = new_task("--due", "2026-12-01T17:00:00Z", "--tag", "x")
    task = json.loads(sh(f"update_task {task_id} --no-due --no-tags --description '' --json"))
    assert (task["due_at"], task["tags"], task["version"]) == (None, [], 2)


def test_update_json_is_the_api_task(aws, api):
    task_id = new_task()
    task = json.loads(sh(f"update_task {task_id} --priority low --if-match 1 --json"))
    assert task == api.get(task_id).json()["data"]
    assert (task["priority"], task["version"]) == ("low", 2)


def test_update_with_the_current_values_changes_nothing_and_says_so(aws):
    task_id = new_task("--priority", "high")
    aws.drain()
    err = StringIO()
    call_command("update_task", task_id, "--priority", "high", "--title", " Chore ", stdout=StringIO(), stderr=err)
    assert "Nothing changed: the task already had these values (still version 1)." in err.getvalue()
    assert aws.drain() == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("", "Nothing to change: give at least one of --title"),
        ("--due 2026-12-01T17:00:00", "argument --due: '2026-12-01T17:00:00' has no offset"),
        ("--due 2026-12-01T17:00:00Z --no-due", "argument --no-due: not allowed with argument --due"),
        ("--tag a --no-tags", "argument --no-tags: not allowed with argument --tag"),
        ("--title '  '", "--title: Must not be blank."),
        ("--if-match v1 --title x", "argument --if-match: 'v1' is not a version"),
    ],
)
def test_update_mistakes_are_clear_command_errors(aws, options, message):
    task_id = new_task()
    with pytest.raises(CommandError, match=re.escape(message)):
        sh(f"update_task {task_id} {options}")


def test_a_stale_if_match_is_refused_with_the_current_version(aws):
    task_id = new_task()
    sh(f"update_task {task_id} --title Second")
    expected = (
        f"Task '{task_id}' has changed: it is at version 2. Read it again, then retry. See it with "
        f"`python manage.py show_task {task_id}`; if your change still applies, run it again with --if-match 2."
    )
    for command in (f"update_task {task_id} --title Third", f"start_task {task_id}", f"delete_task {task_id}"):
        with pytest.raises(CommandError, match=re.escape(expected)):
            sh(f"{command} --if-match 1")
    assert "[pending]  Second" in sh(f"show_task {task_id}")


@pytest.mark.parametrize(
    ("steps", "status", "events"),
    [
        (["start"], "in_progress", ["TaskStatusChanged"]),
        (["cancel"], "cancelled", ["TaskStatusChanged"]),
        (["start", "complete"], "completed", ["TaskStatusChanged", "TaskStatusChanged", "TaskCompleted"]),
        (["cancel", "reopen"], "pending", ["TaskStatusChanged", "TaskStatusChanged"]),
        (["complete", "reopen"], "pending", ["TaskStatusChanged", "TaskCompleted", "TaskStatusChanged"]),
    ],
)
def test_status_actions_move_the_task_and_publish_their_events(aws, steps, status, events):
    task_id = new_task()
    aws.drain()
    shown = [run(f"{step}_task", task_id) for step in steps][-1]
    assert f"[{status}]" in shown
    assert ("completed    20" in shown) == (status == "completed")
    assert f"version      {1 + len(events)}" in shown
    assert event_types(aws) == events


@pytest.mark.parametrize("action", ["start", "complete", "cancel", "reopen"])
def test_status_actions_print_the_api_json_and_honour_if_match(aws, api, action):
    task_id = new_task()
    if action == "reopen":
        run("cancel_task", task_id)
    version = api.get(task_id).json()["data"]["version"]
    task = json.loads(sh(f"{action}_task {task_id} --if-match {version} --json"))
    assert task == api.get(task_id).json()["data"]
    assert task["version"] == version + (2 if action == "complete" else 1)


@pytest.mark.parametrize(
    ("done", "action", "message"),
    [
        ("complete", "start", "is completed, so it cannot be started. From completed it can go on with `reopen_task`."),
        ("cancel", "cancel", "is already cancelled. From cancelled it can go on with `reopen_task`."),
        (None, "reopen", "is already pending. From pending it can go on with `start_task` or `complete_task` or "),
    ],
)
def test_a_transition_the_status_does_not_allow_says_what_would_work(aws, done, action, message):
    task_id = new_task()
    if done:
        run(f"{done}_task", task_id)
    aws.drain()
    with pytest.raises(CommandError, match=re.escape(message)):
        run(f"{action}_task", task_id)
    assert aws.drain() == []


@pytest.mark.parametrize("command", ["update_task {} --title x", "start_task {}", "cancel_task {}",
                                     "reopen_task {}", "complete_task {}", "delete_task {}"])  # fmt: skip
def test_an_unknown_task_is_not_found_with_where_to_look(aws, command):
    with pytest.raises(CommandError, match=re.escape(f"Task '{UNKNOWN}' was not found. Find ids with")):
        sh(command.format(UNKNOWN))


def test_delete_moves_the_task_to_the_trash_and_restore_brings_it_back_as_it_was(aws, api):
    task_id = new_task("--priority", "high", "--due", "2026-12-01T17:00:00Z", "--tag", "home")
    run("start_task", task_id)
    before = api.get(task_id).json()["data"]
    aws.drain()
    deleted = run("delete_task", task_id, "--if-match", "2")
    assert re.search(r"deleted +20\S+Z  \(in the trash until 20\S+Z\)", deleted), deleted
    assert f"Undo: python manage.py restore_task {task_id}" in deleted
    assert task_id not in run("list_tasks", "--user", "ops")
    with pytest.raises(CommandError, match=re.escape("a deleted task is listed by `list_trash`")):
        run("show_task", task_id)
    trash = run("list_trash", "--user", "ops").strip()
    assert re.fullmatch(rf"deleted 20\S+Z  {task_id}  in_progress +high +due 2026-12-01T17:00:00Z +v3 +Chore  #home",
                        trash), trash  # fmt: skip
    restored = json.loads(run("restore_task", task_id, "--json"))
    assert restored == {**before, "version": 4}
    assert restored == api.get(task_id).json()["data"]
    assert run("list_trash", "--user", "ops") == ""
    assert event_types(aws) == ["TaskDeleted", "TaskRestored"]


def test_restore_prints_the_task_readably(aws):
    task_id = new_task()
    run("delete_task", task_id)
    shown = run("restore_task", task_id)
    assert f"{task_id}  [pending]  Chore" in shown
    assert "version      3" in shown
    assert "deleted" not in shown


@pytest.mark.parametrize("task", ["live", "unknown"])
def test_restoring_a_task_not_in_the_trash_says_where_deleted_tasks_are(aws, task):
    task_id = new_task() if task == "live" else UNKNOWN
    with pytest.raises(CommandError, match=re.escape("Only a task in the trash can be restored")):
        run("restore_task", task_id)


def test_a_deleted_task_cannot_be_deleted_or_changed_again(aws):
    task_id = new_task()
    run("delete_task", task_id)
    for command in ("delete_task {}", "start_task {}", "update_task {} --title x"):
        with pytest.raises(CommandError, match="was not found"):
            sh(command.format(task_id))


def test_list_trash_pages_latest_deletion_first_and_prints_json_lines(aws, api):
    ids = [new_task() for _ in range(3)]
    for task_id in ids:
        run("delete_task", task_id)
    new_task()  # live, so not in the trash
    err = StringIO()
    call_command("list_trash", "--user", "ops", "--limit", "2", stdout=StringIO(), stderr=err)
    assert "More tasks: --cursor " in err.getvalue()
    assert ids_in(run("list_trash", "--user", "ops", "--limit", "2", "--all")) == ids[::-1]
    lines = run("list_trash", "--user", "ops", "--json", "--all").splitlines()
    assert [json.loads(line)["task_id"] for line in lines] == ids[::-1]
    assert run("list_trash", "--user", "someone-else") == ""


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("list_trash --user ops --limit 0", "--limit: Must be between 1 and 100"),
        ("list_trash --user ops --cursor forged", "cursor is not valid"),
        ("list_trash", "the following arguments are required: --user"),
    ],
)
def test_list_trash_mistakes_are_clear_command_errors(aws, line, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        sh(line)
