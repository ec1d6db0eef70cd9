"""Task commands from the shell: create, list (filtered and sorted), show, complete, with clear errors.

The lifecycle commands (update, start, cancel, reopen, delete, restore, list_trash) are tested in
test_lifecycle_commands.py with the helpers defined here."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command, get_commands

from config.environment import load_config
from config.local_stack import StackEndpoints, StackLock
from events_app import bootstrap as events_wiring
from tasks_app import bootstrap


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def sh(line: str) -> str:
    """Run a command written as in the shell."""
    return run(*shlex.split(line))


def ids_in(output: str) -> list[str]:
    return re.findall(r"task-[0-9a-f-]{36}", output)


def created_id(output: str) -> str:
    match = re.search(r"task-[0-9a-f-]{36}", output)
    assert match, output
    return match.group(0)


def test_create_show_list_and_complete_from_the_shell(aws):
    task_id = created_id(run("create_task", "--user", "ops", "--title", "From the shell", "--description", "hi"))
    shown = run("show_task", task_id)
    assert "[pending]  From the shell" in shown
    assert "description  hi" in shown
    assert task_id in run("list_tasks", "--user", "ops")
    completed = run("complete_task", task_id)
    assert "[completed]" in completed
    assert "completed    20" in completed
    assert [e["event_type"] for e in aws.drain()] == ["TaskCreated", "TaskStatusChanged", "TaskCompleted"]


def test_json_output_matches_the_api(aws, api):
    task = json.loads(run("create_task", "--user", "ops", "--title", "JSON", "--json"))
    assert api.get(task["task_id"]).json()["data"] == task
    lines = run("list_tasks", "--user", "ops", "--json").splitlines()
    assert [json.loads(line) for line in lines] == [task]


def test_list_follows_every_page_with_all(aws):
    ids = {created_id(run("create_task", "--user", "ops", "--title", f"t{i}")) for i in range(5)}
    err = StringIO()
    call_command("list_tasks", "--user", "ops", "--limit", "2", stdout=StringIO(), stderr=err)
    assert "More tasks: --cursor " in err.getvalue()
    listed = run("list_tasks", "--user", "ops", "--limit", "2", "--all")
    assert set(ids_in(listed)) == ids


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("show_task", "task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21"), "was not found"),
        (("complete_task", "nonsense"), "was not found"),
        (("create_task", "--user", "ops", "--title", "   "), "title: Must not be blank"),
        (("list_tasks", "--user", "ops", "--limit", "500"), "limit: Must be between 1 and 100"),
        (("list_tasks", "--user", "ops", "--cursor", "forged"), "cursor is not valid"),
    ],
)
def test_mistakes_are_clear_command_errors(aws, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_completing_twice_says_why_and_what_to_do_instead(aws):
    task_id = created_id(run("create_task", "--user", "ops", "--title", "Once"))
    run("complete_task", task_id)
    with pytest.raises(CommandError, match=r"is already completed\. From completed .*`reopen_task`"):
        run("complete_task", task_id)


def test_create_takes_priority_due_date_and_tags(aws, api):
    shown = sh("create_task --user ops --title Taxes --priority high --due 2026-12-01T18:00:00+01:00 "
               "--tag Home --tag admin --tag home")  # fmt: skip
    assert "priority     high" in shown
    assert "due          2026-12-01T17:00:00.000000Z" in shown
    assert "tags         home, admin" in shown
    assert "version      1" in shown
    task = api.get(created_id(shown)).json()["data"]
    assert (task["priority"], task["due_at"], task["tags"]) == (
        "high",
        "2026-12-01T17:00:00.000000Z",
        ["home", "admin"],
    )
    assert aws.drain()[0]["data"]["tags"] == ["home", "admin"]


def test_create_without_the_new_options_keeps_the_defaults(aws):
    task = json.loads(run("create_task", "--user", "ops", "--title", "Plain", "--json"))
    assert (task["priority"], task["due_at"], task["tags"], task["version"]) == ("normal", None, [], 1)


def test_list_filters_and_sorts_like_the_api(aws):
    def create(title: str, *options: str) -> str:
        return created_id(run("create_task", "--user", "ops", "--title", title, *options))

    late = create("late", "--due", "2026-12-20T00:00:00Z", "--tag", "home")
    soon = create("soon", "--due", "2026-12-02T00:00:00Z", "--priority", "urgent")
    undated = create("undated", "--tag", "home")
    run("start_task", soon)

    def listed(*options: str) -> list[str]:
        return ids_in(run("list_tasks", "--user", "ops", "--all", *options))

    assert listed() == [undated, soon, late]
    assert listed("--sort=due_at") == [soon, late, undated]
    assert listed("--sort=-created_at") == [undated, soon, late]
    assert listed("--status", "pending") == [undated, late]
    assert listed("--status", "in_progress,completed") == [soon]
    assert listed("--priority", "urgent") == [soon]
    assert listed("--tag", "HOME") == [undated, late]
    assert listed("--due-before", "2026-12-10T00:00:00Z") == [soon]
    assert listed("--due-after", "2026-12-10T00:00:00+01:00", "--tag", "home") == [late]


def test_list_lines_show_status_priority_due_date_version_and_tags(aws):
    task_id = created_id(sh("create_task --user ops --title Line --priority low --due 2026-12-01T17:00:00Z --tag x"))
    line = run("list_tasks", "--user", "ops").strip()
    assert re.fullmatch(rf"{task_id}  pending +low +due 2026-12-01T17:00:00Z +v1 +Line  #x", line), line


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("create_task --user ops --title t --due 2026-12-01T17:00:00", "has no offset: add Z for UTC or +HH:MM"),
        ("create_task --user ops --title t --due tomorrow", "is not a time: give RFC 3339 with an offset"),
        # ISO 8601 forms that are not RFC 3339, refused as the API refuses them.
        ("create_task --user ops --title t --due 2026-W49-2T17:00:00Z", "is not a time: give RFC 3339"),
        ("create_task --user ops --title t --due 20261201T170000Z", "is not a time: give RFC 3339"),
        ("create_task --user ops --title t --due 2026-02-30T17:00:00Z", "names no such time"),
        ("create_task --user ops --title t --priority asap", "invalid choice: 'asap'"),
        ("create_task --user ops --title t --tag a,b", "--tag: A tag must not contain a comma"),
        ("list_tasks --user ops --status done", "'done': give one or more of pending"),
        ("list_tasks --user ops --due-after 2026-12-01", "has no offset"),
        ("list_tasks --user ops --sort title", "invalid choice: 'title'"),
    ],
)
def test_bad_options_are_clear_command_errors(aws, line, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        sh(line)


def test_a_cursor_belongs_to_its_listing(aws):
    for i in range(3):
        run("create_task", "--user", "ops", "--title", f"t{i}")
    err = StringIO()
    call_command("list_tasks", "--user", "ops", "--limit", "1", stdout=StringIO(), stderr=err)
    cursor = err.getvalue().split("--cursor ")[1].strip()
    with pytest.raises(CommandError, match="cursor is not valid"):
        run("list_tasks", "--user", "ops", "--cursor", cursor, "--sort=due_at")


def test_a_missing_table_says_to_provision(aws):
    aws.target.client("dynamodb").delete_table(TableName=aws.resources.table_name)
    with pytest.raises(CommandError, match=re.escape("Run `python manage.py provision` first")):
        run("show_task", "task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21")


def test_an_unreachable_local_aws_says_to_start_it():
    # No `aws` fixture: the test settings point at a closed port.
    with pytest.raises(
        CommandError,
        match=re.escape("Cannot reach http://127.0.0.1:9 (set by AWS_ENDPOINT_URL). Is `make run` running?"),
    ):
        run("show_task", "task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21")


PROJECT_PACKAGES = ("tasks_app", "events_app", "notifications_app", "ops")

TASK_COMMANDS = ("create_task", "list_tasks", "show_task", "update_task", "start_task", "complete_task",
                 "cancel_task", "reopen_task", "delete_task", "restore_task", "list_trash")  # fmt: skip


def test_every_command_explains_itself_in_help():
    # Every command the project's own apps define, so a new one cannot be missed here.
    ours = sorted(name for name, app in get_commands().items() if app.split(".")[0] in PROJECT_PACKAGES)
    assert set(TASK_COMMANDS) | {"provision", "webhook_listen", "request_trail"} <= set(ours)
    for command in ours:
        result = subprocess.run(
            [sys.executable, "manage.py", command, "--help"],
            capture_output=True,
            text=True,
            cwd=settings.BASE_DIR,
            env={"DJANGO_SETTINGS_MODULE": "tests.settings", "PATH": "/usr/bin:/bin"},
            check=True,
        )
        assert "usage:" in result.stdout
        assert len(result.stdout.split("\n\n")[1].strip()) > 20, f"{command} has no description"
        if command in TASK_COMMANDS:
            examples = result.stdout.partition("\nexamples:\n")[2]
            assert f"  python manage.py {command} " in examples, f"{command} has no example"


def test_issue_token_makes_a_token_development_accepts(api, settings, tmp_path):
    settings.LOCAL_STATE_DIR = tmp_path
    out = StringIO()
    call_command("issue_token", "alice", "--admin", "--ttl", "60", stdout=out)
    token = out.getvalue().strip()
    settings.AUTH_MODE = "jwt"
    settings.JWT = load_config({"AUTH_MODE": "jwt"}).jwt
    bootstrap.reset()
    events_wiring.reset()
    response = api.client.get("/tasks", {"user_id": "bob"}, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200  # an admin may list bob's tasks
    assert (tmp_path / "jwt-signing-key.pem").stat().st_mode & 0o777 == 0o600


def test_issue_token_refuses_outside_development(settings):
    settings.ENVIRONMENT = "staging"
    with pytest.raises(CommandError, match="for development"):
        call_command("issue_token", "alice")


def test_issue_token_with_authentication_off_says_on_stderr_that_the_server_ignores_it(settings, tmp_path):
    settings.LOCAL_STATE_DIR = tmp_path
    settings.AUTH_MODE = "none"
    out, err = StringIO(), StringIO()
    call_command("issue_token", "alice", stdout=out, stderr=err)
    assert re.fullmatch(r"[\w-]+\.[\w-]+\.[\w-]+", out.getvalue().strip()), "stdout must stay the token alone"
    assert "ignores tokens" in err.getvalue()
    assert "AUTH_MODE=jwt" in err.getvalue()  # what to do about it


def test_issue_token_with_authentication_on_prints_the_token_and_nothing_else(settings, tmp_path):
    settings.LOCAL_STATE_DIR = tmp_path
    settings.AUTH_MODE = "jwt"
    settings.JWT = load_config({"AUTH_MODE": "jwt"}).jwt
    out, err = StringIO(), StringIO()
    call_command("issue_token", "alice", stdout=out, stderr=err)
    assert re.fullmatch(r"[\w-]+\.[\w-]+\.[\w-]+", out.getvalue().strip())
    assert err.getvalue() == ""


@pytest.mark.parametrize(("stack_mode", "warned"), [("jwt", False), ("none", True)])
def test_issue_token_warns_by_the_running_stacks_auth_mode_not_its_own(settings, tmp_path, stack_mode, warned):
    """`AUTH_MODE=jwt make run` in one shell, `issue_token` without AUTH_MODE in another: the
    banner's own advice, which used to warn that the server ignores tokens."""
    settings.LOCAL_STATE_DIR = tmp_path
    settings.AUTH_MODE = "none"
    lock = StackLock(tmp_path)
    lock.acquire(
        StackEndpoints(os.getpid(), "http://127.0.0.1:8000", "http://127.0.0.1:4566", str(tmp_path), stack_mode)
    )
    try:
        err = StringIO()
        call_command("issue_token", "alice", stdout=StringIO(), stderr=err)
    finally:
        lock.release()
    assert ("ignores tokens" in err.getvalue()) == warned, err.getvalue()
    if warned:
        assert "the running stack" in err.getvalue()
