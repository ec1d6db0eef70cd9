"""DELETE /tasks/{id}, GET /tasks/trash and POST /tasks/{id}/restore: the trash of SPEC §1."""

UNKNOWN_ID = "task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21"


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    return body["error"]


def trashed_ids(api, **params) -> list[str]:
    response = api.trash(user_id="alice", **params)
    assert response.status_code == 200, response.content
    return [task["task_id"] for task in response.json()["data"]]


def test_deleting_answers_204_with_no_body_and_the_task_is_gone_from_reads(api, aws):
    kept, gone = api.created(title="kept"), api.created(title="gone", priority="high")
    response = api.delete(gone["task_id"])
    assert response.status_code == 204
    assert response.content == b""
    assert_error(api.get(gone["task_id"]), 404, "NOT_FOUND")
    assert api.listed_ids(user_id="alice") == [kept["task_id"]]
    assert api.listed_ids(user_id="alice", status="pending") == [kept["task_id"]]
    assert api.listed_ids(user_id="alice", priority="high") == []
    assert api.listed_ids(user_id="alice", sort="due_at") == [kept["task_id"]]


def test_deleting_publishes_task_deleted(api, aws):
    task = api.created(title="Bin me")
    aws.drain()
    api.delete(task["task_id"])
    [event] = aws.drain()
    assert (event["event_type"], event["aggregate_id"]) == ("TaskDeleted", task["task_id"])
    assert (event["data"]["task_title"], event["data"]["user_id"]) == ("Bin me", "alice")


def test_stats_leave_trashed_tasks_out(api, aws):
    api.created()
    task = api.act(api.created()["task_id"], "start").json()["data"]
    api.delete(task["task_id"])
    aws.process_events()
    counts = api.client.get("/tasks/stats", {"user_id": "alice"}).json()["data"]["counts"]
    assert counts == {"pending": 1, "in_progress": 0, "completed": 0, "cancelled": 0}
    api.act(task["task_id"], "restore")
    aws.process_events()
    counts = api.client.get("/tasks/stats", {"user_id": "alice"}).json()["data"]["counts"]
    assert counts == {"pending": 1, "in_progress": 1, "completed": 0, "cancelled": 0}


def test_the_trash_lists_the_latest_deletion_first(api):
    first, second, third = (api.created(title=f"t{i}")["task_id"] for i in range(3))
    for task_id in (second, third, first):
        assert api.delete(task_id).status_code == 204
    api.delete(api.created(user_id="bob")["task_id"])
    response = api.trash(user_id="alice")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert [task["task_id"] for task in body["data"]] == [first, third, second]
    assert body["pagination"] == {"next_cursor": None, "limit": 50}
    assert api.client.get("/tasks/trash/", {"user_id": "alice"}).json() == body


def test_the_trash_pages_through_every_deleted_task_once(api):
    ids = [api.created(title=f"t{i}")["task_id"] for i in range(5)]
    for task_id in ids:
        api.delete(task_id)
    seen, cursor = [], None
    for _ in range(10):
        body = api.trash(user_id="alice", limit=2, **({"cursor": cursor} if cursor else {})).json()
        seen += [task["task_id"] for task in body["data"]]
        if (cursor := body["pagination"]["next_cursor"]) is None:
            break
    assert seen == list(reversed(ids))


def test_the_trash_shows_tasks_as_they_were(api):
    task = api.created(title="As it was", priority="urgent", tags=["a"], due_at="2030-01-01T09:00:00Z")
    api.delete(task["task_id"])
    [shown] = api.trash(user_id="alice").json()["data"]
    assert {name: value for name, value in shown.items() if name != "version"} == {
        name: value for name, value in task.items() if name != "version"
    }


def test_restoring_brings_the_task_back_exactly_one_version_later(api, aws):
    task = api.act(api.created(title="Back", priority="low", tags=["x", "y"])["task_id"], "complete").json()["data"]
    api.delete(task["task_id"])
    [trashed] = api.trash(user_id="alice").json()["data"]
    aws.drain()
    response = api.act(task["task_id"], "restore")
    assert response.status_code == 200, response.content
    restored = response.json()["data"]
    assert restored == {**task, "version": trashed["version"] + 1}
    assert restored["version"] == task["version"] + 2
    assert response["ETag"] == f'"{restored["version"]}"'
    assert api.get(task["task_id"]).json()["data"] == restored
    assert api.listed_ids(user_id="alice") == [task["task_id"]]
    assert trashed_ids(api) == []
    [event] = aws.drain()
    assert (event["event_type"], event["data"]["task_title"]) == ("TaskRestored", "Back")


def test_history_keeps_every_event_through_the_trash(api, aws):
    task = api.created()
    api.patch(task["task_id"], {"title": "renamed"})
    api.delete(task["task_id"])
    api.act(task["task_id"], "restore")
    aws.process_events()
    assert api.history(task["task_id"]) == ["TaskCreated", "TaskUpdated", "TaskDeleted", "TaskRestored"]


def test_deleting_twice_is_a_404(api, aws):
    task = api.created()
    api.delete(task["task_id"])
    aws.drain()
    assert_error(api.delete(task["task_id"]), 404, "NOT_FOUND")
    assert_error(api.delete(UNKNOWN_ID), 404, "NOT_FOUND")
    assert aws.drain() == []


def test_restoring_a_live_or_unknown_task_is_a_404(api, aws):
    task = api.created()
    aws.drain()
    assert_error(api.act(task["task_id"], "restore"), 404, "NOT_FOUND")
    assert_error(api.act(UNKNOWN_ID, "restore"), 404, "NOT_FOUND")
    assert api.get(task["task_id"]).json()["data"] == task
    assert aws.drain() == []


def test_a_delete_or_restore_with_a_stale_if_match_is_a_412_with_the_current_etag(api):
    task = api.created()
    api.patch(task["task_id"], {"title": "v2"})
    stale = {"If-Match": '"1"'}
    response = api.delete(task["task_id"], headers=stale)
    assert_error(response, 412, "PRECONDITION_FAILED")
    assert response["ETag"] == '"2"'
    assert api.get(task["task_id"]).status_code == 200
    assert api.delete(task["task_id"], headers={"If-Match": '"2"'}).status_code == 204
    response = api.act(task["task_id"], "restore", headers={"If-Match": '"2"'})
    assert_error(response, 412, "PRECONDITION_FAILED")
    assert response["ETag"] == '"3"'
    assert api.act(task["task_id"], "restore", headers={"If-Match": '"3"'}).status_code == 200


def test_the_trash_answers_get_only(api):
    assert_error(api.client.post("/tasks/trash", {}, format="json"), 405, "METHOD_NOT_ALLOWED")
    assert_error(api.client.delete("/tasks/trash"), 405, "METHOD_NOT_ALLOWED")


def test_the_trash_needs_a_user_and_checks_its_query(api):
    assert_error(api.trash(), 400, "VALIDATION_ERROR")
    assert "limit" in assert_error(api.trash(user_id="alice", limit=0), 400, "VALIDATION_ERROR")["details"]
    assert "cursor" in assert_error(api.trash(user_id="alice", cursor="junk"), 400, "VALIDATION_ERROR")["details"]


def test_a_listing_cursor_is_refused_by_the_trash(api):
    for i in range(3):
        api.delete(api.created(title=f"t{i}")["task_id"])
        api.created(title=f"live {i}")
    cursor = api.list(user_id="alice", limit=1).json()["pagination"]["next_cursor"]
    assert_error(api.trash(user_id="alice", cursor=cursor), 400, "VALIDATION_ERROR")
    trash_cursor = api.trash(user_id="alice", limit=1).json()["pagination"]["next_cursor"]
    assert_error(api.list(user_id="alice", cursor=trash_cursor), 400, "VALIDATION_ERROR")


def test_only_the_owner_may_delete_restore_or_see_the_trash_and_admins_may_look(api, issuer, aws):
    alice = api.signed_in(issuer.token("alice"))
    task = alice.created("alice")
    bob, admin = api.signed_in(issuer.token("bob")), api.signed_in(issuer.token("root", groups=["admin"]))
    assert_error(bob.delete(task["task_id"]), 404, "NOT_FOUND")
    assert_error(admin.delete(task["task_id"]), 403, "PERMISSION_DENIED")
    assert alice.delete(task["task_id"]).status_code == 204
    assert_error(bob.trash(user_id="alice"), 403, "PERMISSION_DENIED")
    assert [t["task_id"] for t in alice.trash().json()["data"]] == [task["task_id"]]
    assert [t["task_id"] for t in admin.trash(user_id="alice").json()["data"]] == [task["task_id"]]
    assert bob.trash().json()["data"] == []
    assert_error(bob.act(task["task_id"], "restore"), 404, "NOT_FOUND")
    assert_error(admin.act(task["task_id"], "restore"), 403, "PERMISSION_DENIED")
    assert alice.act(task["task_id"], "restore").status_code == 200
