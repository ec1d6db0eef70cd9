"""POST /tasks/{id}/start, /complete, /cancel and /reopen: the status lifecycle of SPEC §1; and the
bodies they, restore and DELETE take: none (SPEC §2)."""

import json

import pytest

UNKNOWN_ID = "task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21"
ACTIONS = ("start", "complete", "cancel", "reopen")
# How to bring a new task to each status, and the past participle each action's 409 uses.
REACH = {"pending": [], "in_progress": ["start"], "completed": ["complete"], "cancelled": ["cancel"]}
TARGET = {"start": "in_progress", "complete": "completed", "cancel": "cancelled", "reopen": "pending"}
PARTICIPLE = {"start": "started", "complete": "completed", "cancel": "cancelled", "reopen": "reopened"}
ALLOWED = {
    ("pending", "start"): "in_progress",
    ("pending", "complete"): "completed",
    ("in_progress", "complete"): "completed",
    ("pending", "cancel"): "cancelled",
    ("in_progress", "cancel"): "cancelled",
    ("completed", "reopen"): "pending",
    ("cancelled", "reopen"): "pending",
}
REFUSED = [(status, action) for status in REACH for action in ACTIONS if (status, action) not in ALLOWED]


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    return body["error"]


def task_in(api, status: str) -> dict:
    task = api.created()
    for action in REACH[status]:
        response = api.act(task["task_id"], action)
        assert response.status_code == 200, response.content
        task = response.json()["data"]
    assert task["status"] == status
    return task


@pytest.mark.parametrize(("status", "action"), list(ALLOWED))
def test_each_allowed_action_moves_the_task_and_publishes_its_status_change(api, aws, status, action):
    task = task_in(api, status)
    aws.drain()
    response = api.act(task["task_id"], action)
    assert response.status_code == 200, response.content
    moved = response.json()["data"]
    new_status = ALLOWED[(status, action)]
    assert moved["status"] == new_status
    assert moved["updated_at"] is not None
    assert response["ETag"] == f'"{moved["version"]}"'
    assert api.get(moved["task_id"]).json()["data"] == moved
    events = aws.drain()
    assert events[0]["event_type"] == "TaskStatusChanged"
    assert (events[0]["data"]["old_status"], events[0]["data"]["new_status"]) == (status, new_status)
    expected_types = ["TaskStatusChanged", "TaskCompleted"] if action == "complete" else ["TaskStatusChanged"]
    assert [event["event_type"] for event in events] == expected_types
    assert moved["version"] == task["version"] + len(expected_types)


@pytest.mark.parametrize(("status", "action"), REFUSED)
def test_each_refused_action_is_a_409_that_changes_nothing_and_publishes_nothing(api, aws, status, action):
    task = task_in(api, status)
    aws.drain()
    error = assert_error(api.act(task["task_id"], action), 409, "INVALID_TRANSITION")
    if TARGET[action] == status:  # the action asked for the status the task already has
        expected = f"Task '{task['task_id']}' is already {status.replace('_', ' ')}."
    else:
        expected = f"Task '{task['task_id']}' is {status}, so it cannot be {PARTICIPLE[action]}."
    assert error["message"] == expected
    assert api.get(task["task_id"]).json()["data"] == task
    assert aws.drain() == []


def test_completing_sets_completed_at_and_reopening_clears_it(api):
    task = task_in(api, "in_progress")
    done = api.act(task["task_id"], "complete").json()["data"]
    assert done["completed_at"] == done["updated_at"]
    reopened = api.act(task["task_id"], "reopen").json()["data"]
    assert (reopened["status"], reopened["completed_at"]) == ("pending", None)


def test_versions_count_the_events_of_a_whole_lifecycle(api):
    task = api.created()
    versions = [task["version"]]
    for action in ("start", "complete", "reopen", "cancel", "reopen"):
        versions.append(api.act(task["task_id"], action).json()["data"]["version"])
    assert versions == [1, 2, 4, 5, 6, 7]


def test_a_cancelled_task_can_be_started_again_after_reopening(api):
    task = task_in(api, "cancelled")
    api.act(task["task_id"], "reopen")
    assert api.act(task["task_id"], "start").json()["data"]["status"] == "in_progress"


@pytest.mark.parametrize("action", ACTIONS)
def test_an_action_on_an_unknown_or_trashed_task_is_a_404(api, action):
    assert_error(api.act(UNKNOWN_ID, action), 404, "NOT_FOUND")
    task = task_in(api, "completed" if action == "reopen" else "pending")
    assert api.delete(task["task_id"]).status_code == 204
    assert_error(api.act(task["task_id"], action), 404, "NOT_FOUND")


@pytest.mark.parametrize("action", ACTIONS)
def test_actions_answer_post_only(api, action):
    task = api.created()
    for method in (api.client.get, api.client.put, api.client.patch, api.client.delete):
        assert_error(method(f"/tasks/{task['task_id']}/{action}"), 405, "METHOD_NOT_ALLOWED")
    assert api.get(task["task_id"]).json()["data"] == task


@pytest.mark.parametrize("action", ACTIONS)
def test_actions_work_with_a_trailing_slash(api, action):
    task = task_in(api, "completed" if action == "reopen" else "pending")
    assert api.client.post(f"/tasks/{task['task_id']}/{action}/").status_code == 200


@pytest.mark.parametrize("action", ACTIONS)
def test_someone_elses_task_is_not_found_for_users_and_forbidden_for_admins(api, issuer, aws, action):
    alice = api.signed_in(issuer.token("alice"))
    task = alice.created("alice")
    if action == "reopen":
        task = alice.act(task["task_id"], "complete").json()["data"]
    aws.drain()
    bob = api.signed_in(issuer.token("bob"))
    assert_error(bob.act(task["task_id"], action), 404, "NOT_FOUND")
    admin = api.signed_in(issuer.token("root", groups=["admin"]))
    assert_error(admin.act(task["task_id"], action), 403, "PERMISSION_DENIED")
    assert admin.get(task["task_id"]).json()["data"] == task
    assert aws.drain() == []
    assert alice.act(task["task_id"], action).status_code == 200


def test_an_action_with_a_current_if_match_goes_through(api):
    task = api.created()
    response = api.act(task["task_id"], "start", headers={"If-Match": f'"{task["version"]}"'})
    assert response.status_code == 200, response.content
    assert response["ETag"] == '"2"'


def test_an_action_with_a_stale_if_match_is_a_412_with_the_current_etag(api, aws):
    task = api.created()
    api.patch(task["task_id"], {"title": "changed"})
    aws.drain()
    response = api.act(task["task_id"], "complete", headers={"If-Match": f'"{task["version"]}"'})
    assert_error(response, 412, "PRECONDITION_FAILED")
    assert response["ETag"] == '"2"'
    assert api.get(task["task_id"]).json()["data"]["status"] == "pending"
    assert aws.drain() == []


# Bodies: the actions, restore and DELETE take no field (SPEC §2: unknown body fields are a 400).
# Each request's task is where the request is allowed, so only its body can refuse it.
NO_FIELD_REQUESTS = [(action, f"/{action}", "POST") for action in ACTIONS] + [
    ("restore", "/restore", "POST"),
    ("delete", "", "DELETE"),
]
NEEDS = {"start": "pending", "complete": "pending", "cancel": "pending", "reopen": "completed"}


def task_ready_for(api, action: str) -> dict:
    if action == "restore":
        task = api.created()
        assert api.delete(task["task_id"]).status_code == 204
        return task
    return task_in(api, NEEDS.get(action, "pending"))


@pytest.mark.parametrize(("action", "suffix", "method"), NO_FIELD_REQUESTS)
@pytest.mark.parametrize("body", [{"x": 1}, {"status": "completed"}, {"title": "renamed", "force": True}])
def test_a_field_in_the_body_of_an_action_restore_or_delete_is_a_400_naming_it(api, aws, action, suffix, method, body):
    task = task_ready_for(api, action)
    aws.drain()
    path = f"/tasks/{task['task_id']}{suffix}"
    response = api.client.generic(method, path, json.dumps(body), content_type="application/json")
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert set(error["details"]) == set(body)
    assert all("no body fields" in message for messages in error["details"].values() for message in messages)
    assert aws.drain() == [], "a refused request changed the task"
    answered = api.client.generic(method, path, "{}", content_type="application/json")
    assert answered.status_code == (204 if method == "DELETE" else 200), "only the body was wrong"


@pytest.mark.parametrize(("action", "suffix", "method"), NO_FIELD_REQUESTS)
@pytest.mark.parametrize("body", ["[]", '["x"]', '"x"', "1", "true", "null"])
def test_a_body_that_is_not_a_json_object_is_a_400_on_an_action_restore_or_delete(
    api, aws, action, suffix, method, body
):
    task = task_ready_for(api, action)
    aws.drain()
    response = api.client.generic(method, f"/tasks/{task['task_id']}{suffix}", body, content_type="application/json")
    error = assert_error(response, 400, "VALIDATION_ERROR")
    [message] = error["details"]["non_field_errors"]
    assert "must be a JSON object" in message, message
    assert aws.drain() == []


@pytest.mark.parametrize(("action", "suffix", "method"), NO_FIELD_REQUESTS)
@pytest.mark.parametrize("body", ["{}", ""])
def test_an_action_restore_or_delete_with_an_empty_object_or_no_body_works(api, action, suffix, method, body):
    task = task_ready_for(api, action)
    response = api.client.generic(method, f"/tasks/{task['task_id']}{suffix}", body, content_type="application/json")
    assert response.status_code == (204 if method == "DELETE" else 200), response.content
