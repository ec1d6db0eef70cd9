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


# RFC 9110 §13.1.1-2: `*`, or a list of entity tags, each quoted (`"3"`, weak `W/"3"`).
MALFORMED = [
    "1",  # a bare version, as people type it: not an entity tag
    "01",
    '"1',
    '1"',
    "'1'",
    "W/1",
    'w/"1"',  # the weak prefix is case-sensitive
    '"1" "2"',  # a list needs commas
    '*, "1"',  # `*` stands alone
    "**",
    '"1";',
    '"1\\""',  # no escapes in an entity tag: `"1\"` is the tag 1\, then a stray quote
    '" 1"',  # no spaces inside one
    "\u20ac",
]


@pytest.mark.parametrize("header", MALFORMED)
@pytest.mark.parametrize("request_", ["patch", "start", "delete", "restore"])
def test_a_malformed_if_match_is_a_400_that_changes_nothing(api, aws, header, request_):
    task = api.created()
    if request_ == "restore":
        api.delete(task["task_id"])
    aws.drain()
    given = {"If-Match": header}
    response = {
        "patch": lambda: api.patch(task["task_id"], {"title": "lost"}, headers=given),
        "start": lambda: api.act(task["task_id"], "start", headers=given),
        "delete": lambda: api.delete(task["task_id"], headers=given),
        "restore": lambda: api.act(task["task_id"], "restore", headers=given),
    }[request_]()
    error = assert_error(response, 400, "VALIDATION_ERROR")
    [message] = error["details"]["If-Match"]
    assert "quoted entity tag" in message, message
    assert aws.drain() == [], "a request with a malformed If-Match changed the task"


def test_a_malformed_if_match_is_a_400_even_for_an_unknown_task(api):
    response = api.patch(UNKNOWN_ID, {"title": "x"}, headers={"If-Match": "1"})
    assert_error(response, 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("header", ['"01"', 'W/"1"', '"v1"', '"1\\"'])
def test_if_match_compares_entity_tags_strongly_and_exactly(api, header):
    task = api.created()
    response = api.patch(task["task_id"], {"title": "lost"}, headers={"If-Match": header})
    assert_error(response, 412, "PRECONDITION_FAILED")


@pytest.mark.parametrize("header", ['  "1"  ', '"2","1"', '"2" ,\t"1"', ', "1" ,,', '"a,b", "1"', '"\u00e9", "1"'])
def test_a_list_of_entity_tags_naming_the_version_is_a_match(api, header):
    """List syntax (RFC 9110 §5.6.1): optional spaces and tabs around commas, empty elements ignored;
    a comma may sit inside a tag (etagc), and so may obs-text."""
    task = api.created()
    response = api.patch(task["task_id"], {"title": "ok"}, headers={"If-Match": header})
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("header", ["", " ", ",", " ,\t, "])
def test_an_empty_list_of_entity_tags_matches_nothing(api, aws, header):
    """RFC 9110 §5.6.1: a list may be empty (or hold only empty elements); it names no version."""
    task = api.created()
    aws.drain()
    assert_error(
        api.patch(task["task_id"], {"title": "lost"}, headers={"If-Match": header}), 412, "PRECONDITION_FAILED"
    )
    assert aws.drain() == []
    response = api.client.get(f"/tasks/{task['task_id']}", headers={"If-None-Match": header})
    assert (response.status_code, response.json()["data"]) == (200, task)


@pytest.mark.parametrize("header", MALFORMED)
def test_a_malformed_if_none_match_is_a_400_for_a_task_or_none(api, header):
    task = api.created()
    for task_id in (task["task_id"], UNKNOWN_ID):
        error = assert_error(
            api.client.get(f"/tasks/{task_id}", headers={"If-None-Match": header}), 400, "VALIDATION_ERROR"
        )
        [message] = error["details"]["If-None-Match"]
        assert "quoted entity tag" in message, message


@pytest.mark.parametrize("header", ['"01"', '"v1"', '"2", W/"3"'])
def test_if_none_match_naming_no_current_version_returns_the_task(api, header):
    task = api.created()
    response = api.client.get(f"/tasks/{task['task_id']}", headers={"If-None-Match": header})
    assert response.status_code == 200, response.content
    assert response.json()["data"] == task
