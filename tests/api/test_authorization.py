"""Each user sees and changes only their own tasks; admins may read everyone's."""

from __future__ import annotations

import pytest

from ops.local.user_pool import bearer


@pytest.fixture
def as_user(api, issuer):
    """Requests as a user: as_user("alice").get(...)."""

    class As:
        def __init__(self, user: str, admin: bool) -> None:
            self.headers = bearer(issuer.token(user, groups=["admin"] if admin else None))

        def get(self, path: str, params: dict | None = None):
            return api.client.get(path, params or {}, **self.headers)

        def post(self, path: str, body: dict | None = None):
            return api.client.post(path, body or {}, format="json", **self.headers)

    return lambda user, admin=False: As(user, admin)


@pytest.fixture
def alices_task(as_user) -> str:
    response = as_user("alice").post("/tasks", {"title": "Alice's"})
    assert response.status_code == 201
    return response.json()["data"]["task_id"]


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code


def test_someone_elses_task_is_not_found_whatever_one_does_with_it(as_user, alices_task, aws):
    bob = as_user("bob")
    assert_error(bob.get(f"/tasks/{alices_task}"), 404, "NOT_FOUND")
    assert_error(bob.post(f"/tasks/{alices_task}/complete"), 404, "NOT_FOUND")
    aws.process_events()
    assert_error(bob.get(f"/tasks/{alices_task}/events"), 404, "NOT_FOUND")
    assert as_user("alice").get(f"/tasks/{alices_task}").json()["data"]["status"] == "pending"


def test_the_error_for_someone_elses_task_is_the_one_for_a_missing_task(as_user, alices_task):
    missing = as_user("bob").get("/tasks/task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21").json()["error"]
    theirs = as_user("bob").get(f"/tasks/{alices_task}").json()["error"]
    assert theirs["message"].replace(alices_task, "ID") == missing["message"].replace(
        "task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21", "ID"
    )


def test_listing_and_stats_default_to_the_caller(as_user, alices_task, aws):
    as_user("bob").post("/tasks", {"title": "Bob's"})
    listed = as_user("alice").get("/tasks").json()["data"]
    assert [task["task_id"] for task in listed] == [alices_task]
    aws.process_events()
    assert as_user("alice").get("/tasks/stats").json()["data"]["counts"]["pending"] == 1


def test_naming_another_user_in_a_list_or_stats_is_forbidden(as_user, alices_task):
    assert_error(as_user("bob").get("/tasks", {"user_id": "alice"}), 403, "PERMISSION_DENIED")
    assert_error(as_user("bob").get("/tasks/stats", {"user_id": "alice"}), 403, "PERMISSION_DENIED")
    assert as_user("alice").get("/tasks", {"user_id": "alice"}).status_code == 200


def test_admins_may_read_anyones_list_stats_task_and_history(as_user, alices_task, aws):
    admin = as_user("root", admin=True)
    assert [t["task_id"] for t in admin.get("/tasks", {"user_id": "alice"}).json()["data"]] == [alices_task]
    assert admin.get("/tasks/stats", {"user_id": "alice"}).status_code == 200
    assert admin.get(f"/tasks/{alices_task}").status_code == 200
    aws.process_events()
    assert len(admin.get(f"/tasks/{alices_task}/events").json()["data"]) == 1


def test_admins_may_not_change_someone_elses_task(as_user, alices_task):
    assert_error(as_user("root", admin=True).post(f"/tasks/{alices_task}/complete"), 403, "PERMISSION_DENIED")


def test_a_task_is_created_for_the_caller_only(as_user):
    assert as_user("alice").post("/tasks", {"title": "t", "user_id": "alice"}).status_code == 201
    assert_error(as_user("alice").post("/tasks", {"title": "t", "user_id": "bob"}), 403, "PERMISSION_DENIED")
    assert_error(as_user("root", admin=True).post("/tasks", {"title": "t", "user_id": "bob"}), 403, "PERMISSION_DENIED")
    created = as_user("alice").post("/tasks", {"title": "no owner named"}).json()["data"]
    assert created["user_id"] == "alice"


def test_another_users_cursor_is_still_refused(as_user):
    alice = as_user("alice")
    for i in range(3):
        alice.post("/tasks", {"title": f"t{i}"})
    cursor = alice.get("/tasks", {"limit": 1}).json()["pagination"]["next_cursor"]
    assert_error(as_user("bob").get("/tasks", {"cursor": cursor}), 400, "VALIDATION_ERROR")
