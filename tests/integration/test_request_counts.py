"""DynamoDB requests per API operation: the single-table design's promise (SPEC §3)."""

from collections import Counter

import pytest
from rest_framework.test import APIClient


@pytest.fixture
def client(aws):
    return APIClient()


def dynamodb_calls(calls) -> Counter:
    return Counter(call.operation for call in calls if call.service == "dynamodb")


def test_create_is_one_put(aws, client):
    with aws.server.recording() as calls:
        assert client.post("/tasks", {"user_id": "a", "title": "t"}, format="json").status_code == 201
    assert dynamodb_calls(calls) == Counter({"PutItem": 1})
    assert [c.operation for c in calls if c.service == "sns"] == ["PublishBatch"]


def test_get_is_one_get_item(aws, client):
    task_id = client.post("/tasks", {"user_id": "a", "title": "t"}, format="json").json()["data"]["task_id"]
    with aws.server.recording() as calls:
        assert client.get(f"/tasks/{task_id}").status_code == 200
    assert dynamodb_calls(calls) == Counter({"GetItem": 1})


def test_a_page_of_the_list_is_one_query_even_with_more_pages(aws, client):
    for i in range(12):
        client.post("/tasks", {"user_id": "a", "title": f"t{i}"}, format="json")
    with aws.server.recording() as calls:
        first = client.get("/tasks", {"user_id": "a", "limit": 5}).json()
        client.get("/tasks", {"user_id": "a", "limit": 5, "cursor": first["pagination"]["next_cursor"]})
    assert dynamodb_calls(calls) == Counter({"Query": 2})


def test_complete_is_one_conditional_update(aws, client):
    task_id = client.post("/tasks", {"user_id": "a", "title": "t"}, format="json").json()["data"]["task_id"]
    with aws.server.recording() as calls:
        assert client.post(f"/tasks/{task_id}/complete").status_code == 200
    assert dynamodb_calls(calls) == Counter({"UpdateItem": 1})
