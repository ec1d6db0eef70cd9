"""ETags on single-task responses, If-None-Match on GET (304) and If-Match on changes (412)."""

import pytest

UNKNOWN_ID = "task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21"


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    return body["error"]


def etag_of(response) -> str:
    assert response.status_code in (200, 201), response.content
    return f'"{response.json()["data"]["version"]}"'


def test_every_single_task_response_carries_its_version_as_etag(api):
    created = api.create(title="tagged")
    assert created["ETag"] == etag_of(created) == '"1"'
    task_id = created.json()["data"]["task_id"]
    responses = {
        "get": api.get(task_id),
        "patch": api.patch(task_id, {"title": "renamed"}),
        "start": api.act(task_id, "start"),
        "complete": api.act(task_id, "complete"),
        "reopen": api.act(task_id, "reopen"),
        "cancel": api.act(task_id, "cancel"),
    }
    assert api.delete(task_id).status_code == 204
    responses["restore"] = api.act(task_id, "restore")
    assert {name: response["ETag"] for name, response in responses.items()} == {
        name: etag_of(response) for name, response in responses.items()
    }
    assert [response["ETag"] for response in responses.values()] == ['"1"', '"2"', '"3"', '"5"', '"6"', '"7"', '"9"']


def test_a_get_with_the_current_etag_is_a_304_without_a_body(api):
    task = api.created()
    response = api.client.get(f"/tasks/{task['task_id']}", headers={"If-None-Match": '"1"'})
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == '"1"'


@pytest.mark.parametrize("header", ["*", 'W/"1"', '"7", "1"', '"1" '])
def test_if_none_match_also_matches_a_star_a_weak_tag_and_a_list(api, header):
    task = api.created()
    assert api.client.get(f"/tasks/{task['task_id']}", headers={"If-None-Match": header}).status_code == 304


def test_a_get_with_a_stale_etag_returns_the_task(api):
    task = api.created()
    changed = api.patch(task["task_id"], {"title": "new"}).json()["data"]
    response = api.client.get(f"/tasks/{task['task_id']}", headers={"If-None-Match": '"1"'})
    assert response.status_code == 200
    assert response.json()["data"] == changed
    assert response["ETag"] == '"2"'


def test_if_none_match_does_not_hide_a_missing_or_trashed_task(api):
    assert_error(api.client.get(f"/tasks/{UNKNOWN_ID}", headers={"If-None-Match": "*"}), 404, "NOT_FOUND")
    task = api.created()
    api.delete(task["task_id"])
    response = api.client.get(f"/tasks/{task['task_id']}", headers={"If-None-Match": '"1"'})
    assert_error(response, 404, "NOT_FOUND")


@pytest.mark.parametrize("header", ['"1"', "*", '"5", "1"'])
def test_a_patch_whose_if_match_names_the_current_version_goes_through(api, header):
    task = api.created()
    response = api.patch(task["task_id"], {"title": "ok"}, headers={"If-Match": header})
    assert response.status_code == 200, response.content
    assert response["ETag"] == '"2"'


@pytest.mark.parametrize("header", ['"2"', '"0"', 'W/"1"', '"abc"', '"2", "3"'])
def test_a_patch_whose_if_match_does_not_name_the_current_version_is_a_412(api, aws, header):
    task = api.created()
    aws.drain()
    response = api.patch(task["task_id"], {"title": "lost"}, headers={"If-Match": header})
    error = assert_error(response, 412, "PRECONDITION_FAILED")
    assert error["message"]
    assert response["ETag"] == '"1"'
    assert api.get(task["task_id"]).json()["data"] == task
    assert aws.drain() == []


def test_a_stale_writer_can_read_merge_and_retry_with_the_etag_of_the_412(api):
    task = api.created(title="first")
    api.patch(task["task_id"], {"description": "someone else's edit"})
    refused = api.patch(task["task_id"], {"title": "mine"}, headers={"If-Match": '"1"'})
    assert refused.status_code == 412
    retried = api.patch(task["task_id"], {"title": "mine"}, headers={"If-Match": refused["ETag"]})
    assert retried.status_code == 200
    assert (retried.json()["data"]["title"], retried.json()["data"]["description"]) == ("mine", "someone else's edit")


def test_if_match_on_an_unknown_task_is_a_404_not_a_412(api):
    assert_error(api.patch(UNKNOWN_ID, {"title": "x"}, headers={"If-Match": '"1"'}), 404, "NOT_FOUND")
    assert_error(api.act(UNKNOWN_ID, "start", headers={"If-Match": '"1"'}), 404, "NOT_FOUND")
    assert_error(api.delete(UNKNOWN_ID, headers={"If-Match": '"1"'}), 404, "NOT_FOUND")


def test_a_stale_if_match_is_checked_before_the_transition(api):
    task = api.created()
    api.act(task["task_id"], "complete")
    response = api.act(task["task_id"], "complete", headers={"If-Match": '"1"'})
    assert_error(response, 412, "PRECONDITION_FAILED")
    assert response["ETag"] == '"3"'
    assert_error(api.act(task["task_id"], "complete", headers={"If-Match": '"3"'}), 409, "INVALID_TRANSITION")


def test_a_no_op_patch_with_if_match_keeps_the_etag(api, aws):
    task = api.created(title="same")
    aws.drain()
    response = api.patch(task["task_id"], {"title": "same"}, headers={"If-Match": '"1"'})
    assert (response.status_code, response["ETag"]) == (200, '"1"')
    assert aws.drain() == []
