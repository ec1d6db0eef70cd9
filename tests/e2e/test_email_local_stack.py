"""Email in the local stack, as a developer meets it in `make run` (issue 14's "Done when"): set an
address, find the confirmation in `manage.py mailbox`, open its link, complete a task, and get
exactly one completion email, sent by the Celery worker through the local SES."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from tests.e2e import local_stack
from tests.e2e.local_stack import RunningStack, base_environment, eventually, run_manage

pytestmark = pytest.mark.e2e

start_stack = local_stack.start_stack  # the fixture


def mailbox(stack: RunningStack) -> list[dict[str, Any]]:
    """`manage.py mailbox --json` as a developer runs it beside `make run` (it finds the stack)."""
    done = run_manage("mailbox", "--json", env=base_environment(LOCAL_STATE_DIR=str(stack.state_dir)))
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_the_opt_in_loop_works_offline_in_the_local_stack(start_stack):
    stack = start_stack(reload=False)
    status, body = stack.request("PUT", "/notifications/settings?user_id=dev", {"email": "dev@example.com"})
    assert (status, body["data"]["email_confirmed"]) == (200, False), body

    (confirmation,) = mailbox(stack)
    assert confirmation["to"] == ["dev@example.com"]
    (link,) = confirmation["links"]
    assert link.startswith(f"{stack.api_url}/notifications/confirm?token=")
    with urllib.request.urlopen(link, timeout=10) as response:  # as a browser opens it: no token, no body
        assert json.loads(response.read())["data"]["email_confirmed"] is True

    status, body = stack.request("POST", "/tasks", {"user_id": "dev", "title": "Write the <release> notes"})
    assert status == 201, body
    assert stack.request("POST", f"/tasks/{body['data']['task_id']}/complete")[0] == 200
    mails = eventually(lambda: (mails := mailbox(stack)) and len(mails) > 1 and mails, 60, "the completion email")
    assert [(mail["to"], mail["subject"]) for mail in mails[1:]] == [
        (["dev@example.com"], "Completed: Write the <release> notes")
    ]
    assert len(mailbox(stack)) == 2, "a second look finds no duplicate"
    assert stack.stop() == 0
