"""Swagger UI's examples work as they are, with authentication off and on.

Swagger UI fills a request in from the schema: the body from the request example, each
parameter from its example (or its default). Each operation is sent that way, in the auth mode
the schema was served in, and must succeed. Only the task in the path is a real one, in the
state the operation needs (the example id names no task of yours).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from notifications_app.confirmation import SignedConfirmationTokens
from tasks_app.api.openapi import LOCAL_EXAMPLE_USER

# What the task in the path must have been through for the operation to apply (SPEC §1).
_BEFORE = {"/reopen": ["complete"], "/restore": ["delete"]}


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "responses" in operation
    ]


def _filled_in(operation: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """The query parameters and headers Swagger UI would send: examples first, else defaults."""
    query: dict[str, str] = {}
    headers: dict[str, str] = {}
    for parameter in operation.get("parameters", []):
        examples = [example["value"] for example in parameter.get("examples", {}).values()]
        value = parameter.get("example", examples[0] if examples else parameter["schema"].get("default"))
        if value is None or parameter["in"] == "path":
            continue
        (query if parameter["in"] == "query" else headers)[parameter["name"]] = str(value)
    return query, headers


def _bodies(operation: dict[str, Any]) -> list[Any]:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return [None]
    examples = [example["value"] for example in content.get("examples", {}).values()]
    assert examples, f"{operation['operationId']} takes a body but documents no example of one"
    return examples


def _user_ids(value: Any) -> list[Any]:
    """Every `user_id` inside a JSON value."""
    if isinstance(value, dict):
        inside = [found for item in value.values() for found in _user_ids(item)]
        return [value["user_id"], *inside] if "user_id" in value else inside
    if isinstance(value, list):
        return [found for item in value for found in _user_ids(item)]
    return []


class Client:
    """A Swagger UI user: authorized with a token when authentication is on."""

    def __init__(self, token: str | None) -> None:
        self.client = APIClient()
        if token:
            self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        self.user_body = {} if token else {"user_id": LOCAL_EXAMPLE_USER}

    def schema(self) -> dict[str, Any]:
        response = APIClient().get("/api/schema", HTTP_ACCEPT="application/json")  # served to anyone
        assert response.status_code == 200
        return dict(response.json())

    def task_for(self, path: str) -> str:
        response = self.client.post("/tasks", {**self.user_body, "title": "In the path"}, format="json")
        assert response.status_code == 201, response.content
        task_id = str(response.json()["data"]["task_id"])
        for step in next((steps for suffix, steps in _BEFORE.items() if path.endswith(suffix)), []):
            done = (
                self.client.delete(f"/tasks/{task_id}")
                if step == "delete"
                else self.client.post(f"/tasks/{task_id}/{step}")
            )
            assert done.status_code < 300, done.content
        return task_id

    def webhook_for(self) -> str:
        body = {**self.user_body, "url": "https://hooks.example.com/in-the-path", "event_types": ["*"]}
        response = self.client.post("/webhooks", body, format="json")
        assert response.status_code == 201, response.content
        return str(response.json()["data"]["webhook_id"])

    def confirmation_token(self) -> str:
        body = {"email": "alice@example.com"}
        response = self.client.put(f"/notifications/settings?user_id={LOCAL_EXAMPLE_USER}", body, format="json")
        assert response.status_code == 200, response.content
        return SignedConfirmationTokens().issue(LOCAL_EXAMPLE_USER, "alice@example.com")

    def send(self, method: str, path: str, body: Any, query: dict[str, str], headers: dict[str, str]) -> Any:
        if "{task_id}" in path:
            path = path.replace("{task_id}", self.task_for(path))
        if "{webhook_id}" in path:
            webhook_id = self.webhook_for()
            path = path.replace("{webhook_id}", webhook_id)
            if "{delivery_id}" in path:  # a ping's delivery: the log's first entry
                pinged = self.client.post(f"/webhooks/{webhook_id}/test")
                assert pinged.status_code == 202, pinged.content
                path = path.replace("{delivery_id}", str(pinged.json()["data"]["delivery_id"]))
        if path == "/notifications/confirm":  # the link of the confirmation email sent for the example address
            query = {"token": self.confirmation_token()}
        if query:
            path = f"{path}?{'&'.join(f'{name}={value}' for name, value in query.items())}"
        content = json.dumps(body) if body is not None else ""
        return self.client.generic(
            method.upper(), path, content, "application/json", headers=headers, HTTP_ACCEPT="application/json"
        )


@pytest.fixture(params=["none", "jwt"])
def swagger_user(request, api) -> Client:
    if request.param == "none":
        return Client(token=None)
    return Client(token=request.getfixturevalue("issuer").token("alice"))


def test_every_documented_request_example_works_as_it_is(swagger_user):
    schema = swagger_user.schema()
    sent = []
    for path, method, operation in _operations(schema):
        query, headers = _filled_in(operation)
        for body in _bodies(operation):
            response = swagger_user.send(method, path, body, query, headers)
            assert response.status_code < 400, (
                f"{method.upper()} {path} with {body} and {query} {headers}: {response.status_code} {response.content}"
            )
            sent.append((method, path, body))
    assert len(sent) >= len(_operations(schema)) >= 13
    assert any(body for _, _, body in sent), "no request example was tried"


def test_examples_name_a_user_only_when_authentication_is_off(swagger_user):
    schema = swagger_user.schema()
    named = []
    for _, _, operation in _operations(schema):
        query, _ = _filled_in(operation)
        named += _user_ids(_bodies(operation)) + [query[name] for name in query if name == "user_id"]
    if swagger_user.user_body:  # authentication off: the local user, every time one is needed
        assert named, "with authentication off, the examples that need a user must name one"
        assert set(named) == {LOCAL_EXAMPLE_USER}
    else:  # on: the token says who; naming anyone else would be a 403
        assert named == []


def test_user_id_is_optional_with_a_token_and_required_without(swagger_user):
    """SPEC §2: with authentication on a request acts for the caller unless it names someone;
    with it off there is no caller, so the API answers 400 without a `user_id`: the schema of
    each mode says the same, or schemathesis' positive cases would be refused."""
    schema = swagger_user.schema()
    required = bool(swagger_user.user_body)  # authentication off
    ref = schema["paths"]["/tasks"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    create = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert "user_id" in create["properties"]
    assert ("user_id" in create.get("required", [])) is required
    for path in ("/tasks", "/tasks/trash", "/tasks/stats"):
        [parameter] = [p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == "user_id"]
        assert parameter.get("required", False) is required, path
        # Optional, an empty value is the caller (DRF reads `?user_id=` as no value): say so.
        assert parameter.get("allowEmptyValue", False) is not required, path
