"""Idempotency-Key on POST and PATCH: a repeat gets the first response again and changes nothing;
the same key with another request is a 422."""

import pytest

REPLAYED = "Idempotent-Replayed"


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    return body["error"]


def post_task(api, key: str, **body):
    return api.client.post("/tasks", {"user_id": "alice", "title": "t", **body}, format="json", headers=keyed(key))


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def assert_replay_of(first, repeat) -> None:
    assert first.headers.get(REPLAYED) is None
    assert repeat.headers.get(REPLAYED) == "true"
    assert (repeat.status_code, repeat.content) == (first.status_code, first.content)
    assert repeat["ETag"] == first["ETag"]


def test_a_repeated_create_gets_the_first_response_and_creates_one_task(api, aws):
    first = post_task(api, "create-1", title="Once", tags=["a"])
    assert first.status_code == 201, first.content
    repeat = post_task(api, "create-1", title="Once", tags=["a"])
    assert_replay_of(first, repeat)
    assert repeat["Location"] == first["Location"]
    assert api.listed_ids(user_id="alice") == [first.json()["data"]["task_id"]]
    assert [event["event_type"] for event in aws.drain()] == ["TaskCreated"]


def test_the_first_response_is_replayed_even_after_the_task_changed(api):
    first = post_task(api, "create-2", title="Original")
    task_id = first.json()["data"]["task_id"]
    api.patch(task_id, {"title": "Changed since"})
    repeat = post_task(api, "create-2", title="Original")
    assert_replay_of(first, repeat)
    assert repeat.json()["data"]["title"] == "Original"
    assert api.get(task_id).json()["data"]["title"] == "Changed since"


def test_different_keys_create_different_tasks(api):
    one, two = post_task(api, "key-a"), post_task(api, "key-b")
    assert (one.status_code, two.status_code) == (201, 201)
    assert one.json()["data"]["task_id"] != two.json()["data"]["task_id"]
    assert len(api.listed_ids(user_id="alice")) == 2


@pytest.mark.parametrize(
    "other",
    [{"title": "another title"}, {"title": "t", "priority": "high"}, {"title": "t", "user_id": "bob"}],
)
def test_the_same_key_with_another_create_body_is_a_422(api, aws, other):
    assert post_task(api, "reused").status_code == 201
    aws.drain()
    response = api.client.post("/tasks", {"user_id": "alice", **other}, format="json", headers=keyed("reused"))
    assert_error(response, 422, "IDEMPOTENCY_KEY_REUSED")
    assert response.headers.get(REPLAYED) is None
    assert len(api.listed_ids(user_id="alice")) == 1
    assert api.listed_ids(user_id="bob") == []
    assert aws.drain() == []


def test_the_same_key_on_another_endpoint_is_a_422(api):
    created = post_task(api, "everywhere")
    task_id = created.json()["data"]["task_id"]
    assert_error(api.act(task_id, "complete", headers=keyed("everywhere")), 422, "IDEMPOTENCY_KEY_REUSED")
    assert_error(api.patch(task_id, {"title": "t"}, headers=keyed("everywhere")), 422, "IDEMPOTENCY_KEY_REUSED")
    assert api.get(task_id).json()["data"]["status"] == "pending"


def test_a_request_refused_as_invalid_does_not_use_up_its_key(api):
    assert_error(post_task(api, "after-a-typo", title=""), 400, "VALIDATION_ERROR")
    assert post_task(api, "after-a-typo", title="fixed").status_code == 201


def test_a_repeated_patch_gets_the_first_response_and_changes_nothing_more(api, aws):
    task = api.created(title="A")
    first = api.patch(task["task_id"], {"title": "B"}, headers=keyed("edit-1"))
    assert first.status_code == 200, first.content
    api.patch(task["task_id"], {"title": "C"})
    aws.drain()
    repeat = api.patch(task["task_id"], {"title": "B"}, headers=keyed("edit-1"))
    assert_replay_of(first, repeat)
    assert repeat.json()["data"]["title"] == "B"
    assert api.get(task["task_id"]).json()["data"]["title"] == "C"
    assert aws.drain() == []


def test_a_patch_with_another_body_or_if_match_under_the_same_key_is_a_422(api):
    task = api.created(title="A")
    assert api.patch(task["task_id"], {"title": "B"}, headers=keyed("edit-2")).status_code == 200
    assert_error(api.patch(task["task_id"], {"title": "Z"}, headers=keyed("edit-2")), 422, "IDEMPOTENCY_KEY_REUSED")
    response = api.patch(task["task_id"], {"title": "B"}, headers={**keyed("edit-2"), "If-Match": '"2"'})
    assert_error(response, 422, "IDEMPOTENCY_KEY_REUSED")
    other = api.created()
    assert_error(api.patch(other["task_id"], {"title": "B"}, headers=keyed("edit-2")), 422, "IDEMPOTENCY_KEY_REUSED")
    assert api.get(task["task_id"]).json()["data"]["version"] == 2


def test_a_no_op_patch_with_a_key_is_replayed_too(api, aws):
    task = api.created(title="Same")
    aws.drain()
    first = api.patch(task["task_id"], {"title": "Same"}, headers=keyed("noop"))
    assert first.status_code == 200
    assert_replay_of(first, api.patch(task["task_id"], {"title": "Same"}, headers=keyed("noop")))
    assert_error(api.patch(task["task_id"], {"title": "Other"}, headers=keyed("noop")), 422, "IDEMPOTENCY_KEY_REUSED")
    assert aws.drain() == []


@pytest.mark.parametrize("action", ["start", "complete", "cancel"])
def test_a_repeated_action_with_its_key_is_replayed_not_a_409(api, aws, action):
    task = api.created()
    aws.drain()
    first = api.act(task["task_id"], action, headers=keyed(f"{action}-1"))
    assert first.status_code == 200, first.content
    repeat = api.act(task["task_id"], action, headers=keyed(f"{action}-1"))
    assert_replay_of(first, repeat)
    expected = ["TaskStatusChanged", "TaskCompleted"] if action == "complete" else ["TaskStatusChanged"]
    assert [event["event_type"] for event in aws.drain()] == expected
    assert_error(api.act(task["task_id"], action), 409, "INVALID_TRANSITION")


def test_a_repeated_restore_with_its_key_is_replayed(api, aws):
    task = api.created()
    api.delete(task["task_id"])
    aws.drain()
    first = api.act(task["task_id"], "restore", headers=keyed("restore-1"))
    assert first.status_code == 200, first.content
    assert_replay_of(first, api.act(task["task_id"], "restore", headers=keyed("restore-1")))
    assert [event["event_type"] for event in aws.drain()] == ["TaskRestored"]


def test_keys_of_1_and_255_printable_characters_are_accepted(api):
    for key in ("k", "~" * 255, "a b!\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}"):
        assert post_task(api, key).status_code == 201, key


@pytest.mark.parametrize("key", ["", "k" * 256, "tab\there", "bell\x07", "del\x7f", "caf\u00e9", "line\nbreak"])
def test_a_key_that_is_empty_too_long_or_not_printable_ascii_is_a_400(api, key):
    task = api.created()
    for response in (
        post_task(api, key),
        api.patch(task["task_id"], {"title": "x"}, headers=keyed(key)),
        api.act(task["task_id"], "start", headers=keyed(key)),
    ):
        error = assert_error(response, 400, "VALIDATION_ERROR")
        assert "Idempotency-Key" in error["details"], error
    assert api.listed_ids(user_id="alice") == [task["task_id"]]
    assert api.get(task["task_id"]).json()["data"] == task


def test_keys_belong_to_the_caller(api, issuer):
    alice, bob = api.signed_in(issuer.token("alice")), api.signed_in(issuer.token("bob"))
    headers = keyed("shared-key")
    mine = alice.client.post("/tasks", {"title": "t"}, format="json", headers=headers)
    theirs = bob.client.post("/tasks", {"title": "t"}, format="json", headers=headers)
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert theirs.headers.get(REPLAYED) is None
    assert theirs.json()["data"]["user_id"] == "bob"
    assert_replay_of(mine, alice.client.post("/tasks", {"title": "t"}, format="json", headers=headers))
