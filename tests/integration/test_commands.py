"""Task commands from the shell: create, list, show, complete, with clear errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from config.environment import load_config
from events_app import bootstrap as events_wiring
from tasks_app import bootstrap


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


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
    assert set(re.findall(r"task-[0-9a-f-]{36}", listed)) == ids


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


def test_completing_twice_says_why(aws):
    task_id = created_id(run("create_task", "--user", "ops", "--title", "Once"))
    run("complete_task", task_id)
    with pytest.raises(CommandError, match="is completed and cannot become completed"):
        run("complete_task", task_id)


def test_a_missing_table_says_to_provision(aws):
    aws.target.client("dynamodb").delete_table(TableName=aws.resources.table_name)
    with pytest.raises(CommandError, match=re.escape("Run `python manage.py provision` first")):
        run("show_task", "task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21")


def test_an_unreachable_local_aws_says_to_start_it():
    # No `aws` fixture: the test settings point at a closed port.
    with pytest.raises(CommandError, match=re.escape("Cannot reach http://127.0.0.1:9. Is `make run` running?")):
        run("show_task", "task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21")


def test_every_command_explains_itself_in_help():
    for command in ("create_task", "list_tasks", "show_task", "complete_task", "provision", "runlocal",
                    "export_table", "import_table", "issue_token", "relay_outbox", "outbox_list",
                    "queue_status", "dlq_list", "dlq_redrive"):  # fmt: skip
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
