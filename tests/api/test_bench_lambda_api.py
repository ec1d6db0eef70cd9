"""`make bench` calls the function's handler with events it builds (`ops.bench.lambda_api`): they
must be served as API Gateway's are, with the token's user, the query and the body read."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from ops.bench.lambda_api import LambdaApi
from ops.local.user_pool import TokenIssuer

Tokens = dict[str, str]


@pytest.fixture
def lambda_api(issuer: TokenIssuer, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[LambdaApi]:
    from django.urls import set_script_prefix
    from zappa import handler

    settings.ALLOWED_HOSTS = [".execute-api.us-east-1.amazonaws.com"]
    monkeypatch.setitem(sys.modules, "zappa_settings", None)  # restored after; the caller installs its own
    for name in ("SERVERTYPE", "FRAMEWORK", "PROJECT", "STAGE", "AWS_REGION", "DJANGO_SETTINGS_MODULE"):
        monkeypatch.setenv(name, os.environ.get(name, ""))  # the handler sets these
    monkeypatch.setattr(handler.LambdaHandler, "_LambdaHandler__instance", None)
    tokens: Tokens = {}
    yield LambdaApi(lambda user: tokens.setdefault(user, issuer.token(user)))
    set_script_prefix("/")  # Django keeps the stage prefix of the last request otherwise


def test_a_task_is_created_changed_and_listed_as_the_tokens_user(lambda_api: LambdaApi) -> None:
    created = lambda_api.call("POST", "/tasks", user="bob", body={"title": "Bench"})
    assert created.status == 201
    task = created.body["data"]
    assert task["user_id"] == "bob"

    patched = lambda_api.call(
        "PATCH", f"/tasks/{task['task_id']}", user="bob", body={"priority": "high"}, headers={"If-Match": '"1"'}
    )
    assert patched.body["data"]["priority"] == "high"

    lambda_api.call("POST", f"/tasks/{task['task_id']}/start", user="bob")
    listed = lambda_api.call("GET", "/tasks", user="bob", query={"status": "in_progress"})
    assert [item["task_id"] for item in listed.body["data"]] == [task["task_id"]]
    assert lambda_api.call("GET", "/tasks", user="bob", query={"status": "pending"}).body["data"] == []


def test_another_users_task_is_not_served(lambda_api: LambdaApi) -> None:
    task = lambda_api.call("POST", "/tasks", user="bob", body={"title": "Bench"}).body["data"]
    with pytest.raises(RuntimeError, match="404"):
        lambda_api.call("GET", f"/tasks/{task['task_id']}", user="carol")
