"""PATCH /tasks/{id}: editing title, description, priority, due date and tags."""

import json

import pytest

UNKNOWN_ID = "task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21"


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    return body["error"]


def test_patching_changes_the_given_fields_and_raises_the_version(api):
    task = api.created(title="Draft", description="keep me", tags=["old"])
    response = api.patch(
        task["task_id"],
        {"title": "  Final  ", "priority": "high", "due_at": "2030-05-01T18:00:00+02:00", "tags": ["Work", "urgent "]},
    )
    assert response.status_code == 200, response.content
    changed = response.json()["data"]
    assert changed["title"] == "Final"
    assert changed["description"] == "keep me"
    assert changed["priority"] == "high"
    assert changed["due_at"] == "2030-05-01T16:00:00.000000Z"
    assert changed["tags"] == ["work", "urgent"]
    assert changed["version"] == task["version"] + 1
    assert changed["updated_at"] is not None
    assert changed["created_at"] == task["created_at"]
    assert response["ETag"] == f'"{changed["version"]}"'
    assert api.get(task["task_id"]).json()["data"] == changed


def test_patching_records_one_task_updated_with_old_and_new_values_of_changed_fields_only(api, aws):
    task = api.created(title="Draft", priority="low")
    aws.drain()
    api.patch(task["task_id"], {"title": "Final", "priority": "low", "description": "more"})
    [event] = aws.drain()
    assert (event["event_type"], event["aggregate_id"]) == ("TaskUpdated", task["task_id"])
    assert event["data"]["changes"] == {
        "title": {"old": "Draft", "new": "Final"},
        "description": {"old": "", "new": "more"},
    }
    assert event["data"]["user_id"] == "alice"


def test_null_removes_the_due_date_and_an_empty_list_removes_the_tags(api):
    task = api.created(due_at="2030-01-01T00:00:00Z", tags=["a", "b"])
    changed = api.patch(task["task_id"], {"due_at": None, "tags": []}).json()["data"]
    assert (changed["due_at"], changed["tags"]) == (None, [])


def test_a_patch_with_the_current_values_keeps_the_version_and_records_no_event(api, aws):
    task = api.created(title="Same", priority="high", tags=["x"])
    aws.drain()
    response = api.patch(task["task_id"], {"title": " Same ", "priority": "high", "tags": ["X"]})
    assert response.status_code == 200, response.content
    assert response.json()["data"] == task
    assert response["ETag"] == f'"{task["version"]}"'
    assert aws.drain() == []


def test_a_trailing_slash_works_for_patch(api):
    task = api.created()
    response = api.client.patch(f"/tasks/{task['task_id']}/", {"title": "slash"}, format="json")
    assert response.status_code == 200
    assert response.json()["data"]["title"] == "slash"


def test_unknown_fields_in_a_patch_are_a_400_naming_each_of_them(api, aws):
    task = api.created()
    aws.drain()
    response = api.patch(task["task_id"], {"title": "ok", "colour": "red", "version": 7, "task_id": "x"})
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert {"colour", "version", "task_id"} <= set(error["details"])
    assert "title" not in error["details"]
    assert api.get(task["task_id"]).json()["data"] == task
    assert aws.drain() == []


def test_a_status_in_a_patch_points_at_the_status_actions(api):
    task = api.created()
    error = assert_error(api.patch(task["task_id"], {"status": "completed"}), 400, "VALIDATION_ERROR")
    assert "/complete" in " ".join(error["details"]["status"])
    assert api.get(task["task_id"]).json()["data"]["status"] == "pending"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "t" * 201}, "title"),
        ({"title": 5}, "title"),
        ({"title": None}, "title"),
        ({"title": "nul\x00byte"}, "title"),
        ({"description": "d" * 1001}, "description"),
        ({"priority": "critical"}, "priority"),
        ({"due_at": "2030-05-01T18:00:00"}, "due_at"),
        ({"due_at": "tomorrow"}, "due_at"),
        ({"tags": "a,b"}, "tags"),
        ({"tags": ["a,b"]}, "tags"),
        ({"tags": ["t" * 41]}, "tags"),
        ({"tags": [f"t{i}" for i in range(21)]}, "tags"),
        ({"tags": [""]}, "tags"),
    ],
)
def test_a_bad_value_in_a_patch_is_a_400_naming_the_field(api, body, field):
    task = api.created()
    error = assert_error(api.patch(task["task_id"], body), 400, "VALIDATION_ERROR")
    assert field in error["details"], error
    assert api.get(task["task_id"]).json()["data"] == task


def test_a_patch_body_that_is_not_an_object_is_a_400(api):
    task = api.created()
    assert_error(api.patch(task["task_id"], ["title"]), 400, "VALIDATION_ERROR")
    response = api.client.patch(f"/tasks/{task['task_id']}", "{not json", content_type="application/json")
    assert_error(response, 400, "VALIDATION_ERROR")


def test_patching_an_unknown_or_trashed_task_is_a_404(api):
    assert_error(api.patch(UNKNOWN_ID, {"title": "x"}), 404, "NOT_FOUND")
    assert_error(api.patch("nonsense", {"title": "x"}), 404, "NOT_FOUND")
    task = api.created()
    assert api.delete(task["task_id"]).status_code == 204
    assert_error(api.patch(task["task_id"], {"title": "x"}), 404, "NOT_FOUND")


def test_put_is_not_allowed_on_a_task(api):
    task = api.created()
    response = api.client.put(f"/tasks/{task['task_id']}", {"title": "x"}, format="json")
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert api.get(task["task_id"]).json()["data"] == task


def test_patching_someone_elses_task_is_not_found_for_users_and_forbidden_for_admins(api, issuer):
    alice = api.signed_in(issuer.token("alice"))
    task = alice.created("alice", "Alice's")
    bob = api.signed_in(issuer.token("bob"))
    assert_error(bob.patch(task["task_id"], {"title": "mine"}), 404, "NOT_FOUND")
    admin = api.signed_in(issuer.token("root", groups=["admin"]))
    assert_error(admin.patch(task["task_id"], {"title": "mine"}), 403, "PERMISSION_DENIED")
    assert admin.get(task["task_id"]).json()["data"] == task
    assert alice.patch(task["task_id"], {"title": "Mine"}).status_code == 200


def test_a_patch_body_that_is_not_json_is_a_415_and_one_over_the_limit_a_413(api, settings):
    task = api.created()
    path = f"/tasks/{task['task_id']}"
    assert_error(api.client.generic("PATCH", path, "title=x", content_type="text/plain"), 415, "UNSUPPORTED_MEDIA_TYPE")
    big = json.dumps({"description": "d" * settings.MAX_REQUEST_BODY_BYTES})
    assert_error(api.client.generic("PATCH", path, big, content_type="application/json"), 413, "PAYLOAD_TOO_LARGE")
    assert api.get(task["task_id"]).json()["data"] == task


def test_every_new_endpoint_needs_a_token_when_authentication_is_on(api, issuer):
    task = api.signed_in(issuer.token("alice")).created("alice")
    for response in (
        api.patch(task["task_id"], {"title": "x"}),
        api.delete(task["task_id"]),
        api.act(task["task_id"], "start"),
        api.act(task["task_id"], "restore"),
        api.trash(),
    ):
        assert_error(response, 401, "NOT_AUTHENTICATED")
    assert api.signed_in(issuer.token("alice")).get(task["task_id"]).json()["data"] == task
