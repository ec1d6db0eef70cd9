"""The deployed entry point, in-process: the function's handler as zappa_settings.json names it
(`config.lambda_handlers.serve_http`, around `zappa.handler.lambda_handler`) serving API Gateway
REST proxy events, with the settings module Zappa generates from our zappa_settings.json, against
the local AWS.

Behind the raw execute-api URL the stage (`/staging`) prefixes every path the API hands out;
behind a custom domain nothing does. Both are exercised.
"""

from __future__ import annotations

import base64
import copy
import importlib
import json
import os
import re
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

STAGE = "staging"
EXECUTE_API_HOST = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
CUSTOM_DOMAIN = "tasks.example.com"
SETTINGS_FILE = Path(__file__).resolve().parents[2] / "zappa_settings.json"

Invoke = Callable[..., dict[str, Any]]


def zappa_cli(stage: str) -> Any:
    """Zappa's command line with our zappa_settings.json loaded for `stage` (`extends` resolved)."""
    from zappa.cli import ZappaCLI

    cli = ZappaCLI()
    cli.api_stage = stage
    cli.load_settings(str(SETTINGS_FILE))
    return cli


def lambda_handler(stage: str) -> Callable[[dict[str, Any], object], Any]:
    """The function Lambda calls: the stage's `lambda_handler` (Zappa's default is the copy of
    `zappa.handler` it puts at the package root as `handler`)."""
    module, _, name = str(zappa_cli(stage).lambda_handler).rpartition(".")
    function: Callable[[dict[str, Any], object], Any] = getattr(
        importlib.import_module("zappa.handler" if module == "handler" else module), name
    )
    return function


def zappa_settings_module(stage: str) -> types.ModuleType:
    """The `zappa_settings` module Zappa writes into the package, made by Zappa's own code."""
    module = types.ModuleType("zappa_settings")
    exec(zappa_cli(stage).get_zappa_settings_string(), module.__dict__)  # noqa: S102 - Zappa's generated settings
    return module


@pytest.fixture
def invoke(aws: Any, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    """Calls the function's handler with an API Gateway REST proxy event, as Lambda does."""
    from django.urls import set_script_prefix
    from zappa import handler

    settings.ALLOWED_HOSTS = [".execute-api.us-east-1.amazonaws.com", CUSTOM_DOMAIN]
    monkeypatch.setitem(sys.modules, "zappa_settings", zappa_settings_module(STAGE))
    for name in ("SERVERTYPE", "FRAMEWORK", "PROJECT", "STAGE", "AWS_REGION", "DJANGO_SETTINGS_MODULE"):
        monkeypatch.setenv(name, os.environ.get(name, ""))  # the handler sets these; restored after
    monkeypatch.setattr(handler.LambdaHandler, "_LambdaHandler__instance", None)
    entry_point = lambda_handler(STAGE)

    def call(
        method: str,
        path: str,
        *,
        body: Any = None,
        host: str = EXECUTE_API_HOST,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        source_ip: str = "198.51.100.20",
    ) -> dict[str, Any]:
        raw = body if isinstance(body, str) or body is None else json.dumps(body)
        all_headers = {
            "Host": host,
            "Content-Type": "application/json",
            "X-Forwarded-For": f"{source_ip}, 130.176.0.1",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Port": "443",
            **(headers or {}),
        }
        event = {
            "resource": "/{proxy+}",
            "path": path,
            "httpMethod": method,
            "headers": all_headers,
            "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
            "queryStringParameters": query,
            "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
            "pathParameters": {"proxy": path.lstrip("/")},
            "stageVariables": None,
            "requestContext": {
                "resourcePath": "/{proxy+}",
                "httpMethod": method,
                "path": f"/{STAGE}{path}",
                "stage": STAGE,
                "identity": {"sourceIp": source_ip, "userAgent": "pytest"},
            },
            "body": raw,
            "isBase64Encoded": False,
        }
        return dict(entry_point(event, None))

    yield call
    # Django's WSGI handler sets the script prefix per request and never clears it; the test
    # client (unlike a real server) does not set it, so later tests would inherit `/staging/`.
    set_script_prefix("/")


def payload(response: dict[str, Any]) -> Any:
    return json.loads(text(response))


def text(response: dict[str, Any]) -> str:
    body = response.get("body", "")
    return base64.b64decode(body).decode() if response.get("isBase64Encoded") else str(body)


def test_a_task_is_created_read_listed_and_completed(invoke: Invoke) -> None:
    created = invoke("POST", "/tasks", body={"user_id": "alice", "title": "Ship it"})
    assert created["statusCode"] == 201, created
    task = payload(created)["data"]
    assert created["headers"]["Content-Type"] == "application/json"
    assert created["headers"]["X-Request-ID"]

    fetched = invoke("GET", f"/tasks/{task['task_id']}")
    assert (fetched["statusCode"], payload(fetched)["data"]) == (200, task)

    listed = invoke("GET", "/tasks", query={"user_id": "alice"})
    assert [item["task_id"] for item in payload(listed)["data"]] == [task["task_id"]]

    completed = invoke("POST", f"/tasks/{task['task_id']}/complete", body={})
    assert (completed["statusCode"], payload(completed)["data"]["status"]) == (200, "completed")


def test_events_written_in_the_invocation_are_published_before_it_returns(invoke: Invoke, aws: Any) -> None:
    """Lambda may freeze the process once the handler returns: the relay must already be done."""
    invoke("POST", "/tasks", body={"user_id": "alice", "title": "Ship it"})
    assert [message["event_type"] for message in aws.drain()] == ["TaskCreated"]


def test_an_unknown_path_is_a_json_404(invoke: Invoke) -> None:
    response = invoke("GET", "/nothing/here")
    assert response["statusCode"] == 404
    assert payload(response)["error"]["code"] == "NOT_FOUND"


def test_a_malformed_body_is_a_400(invoke: Invoke) -> None:
    response = invoke("POST", "/tasks", body='{"title": ')
    assert response["statusCode"] == 400
    assert payload(response)["error"]["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize(("host", "prefix"), [(EXECUTE_API_HOST, f"/{STAGE}"), (CUSTOM_DOMAIN, "")])
def test_swagger_and_its_assets_load_behind_the_stage_prefix_or_a_custom_domain(
    invoke: Invoke, host: str, prefix: str
) -> None:
    page = invoke("GET", "/swagger", host=host)
    assert page["statusCode"] == 200
    html = text(page)
    assets = re.findall(r'(?:src|href)="([^"]*/static/[^"]+)"', html)
    assert assets, html[:500]
    assert all(asset.startswith(f"{prefix}/static/") for asset in assets), assets
    assert f'"{prefix}/api/schema' in html  # where Swagger UI fetches the schema from

    # API Gateway strips the stage from `path`; the asset is fetched as the browser asks for it.
    for asset in assets:
        served = invoke("GET", asset.removeprefix(prefix).split("?")[0], host=host)
        assert served["statusCode"] == 200, asset


def test_one_instance_serves_both_ways_in_whichever_comes_first(invoke: Invoke) -> None:
    """Django keeps STATIC_URL with the first request's prefix; the pages must not."""
    for host, prefix in [(EXECUTE_API_HOST, f"/{STAGE}"), (CUSTOM_DOMAIN, ""), (EXECUTE_API_HOST, f"/{STAGE}")]:
        html = text(invoke("GET", "/swagger", host=host))
        assets = re.findall(r'(?:src|href)="([^"]*/static/[^"]+)"', html)
        assert assets, html[:500]
        assert all(asset.startswith(f"{prefix}/static/") for asset in assets), (host, assets)


def test_links_the_api_hands_out_carry_the_stage_prefix(invoke: Invoke) -> None:
    # The listing's link may carry a query (an example user_id when authentication is off).
    root = payload(invoke("GET", "/"))["data"]
    assert root["tasks"].partition("?")[0] == f"https://{EXECUTE_API_HOST}/{STAGE}/tasks"
    on_domain = payload(invoke("GET", "/", host=CUSTOM_DOMAIN))["data"]
    assert on_domain["tasks"].partition("?")[0] == f"https://{CUSTOM_DOMAIN}/tasks"


@pytest.mark.usefixtures("frozen_rate_window")  # a day window must not end mid-test
def test_the_rate_limit_counts_api_gateways_source_ip_not_x_forwarded_for(invoke: Invoke, settings: Any) -> None:
    settings.THROTTLE_RATES = {"user": None, "ip": "2/day"}
    statuses = [
        invoke(
            "GET",
            "/tasks",
            query={"user_id": "a"},
            # A regional endpoint appends the real address; Zappa's REMOTE_ADDR is the client's entry.
            headers={"X-Forwarded-For": f"10.9.8.{n}, 198.51.100.20"},
        )["statusCode"]
        for n in range(3)
    ]
    assert statuses == [200, 200, 429]


def zappa_access_lines(logged: str) -> list[str]:
    """The messages of Zappa's access lines among the JSON log lines `logged` (standard error)."""
    records = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    return [record["message"] for record in records if record.get("logger") == "zappa.wsgi"]


def test_each_request_is_logged_once_its_metrics_line_being_the_access_log(
    invoke: Invoke, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.emf import collected

    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    with collected() as lines:
        answer = invoke(
            "GET", "/tasks", query={"user_id": "alice"}, headers={"X-Forwarded-For": "10.0.0.9, 198.51.100.7"}
        )
    [line] = [line for line in lines.all() if "Requests" in line]  # (the process's first also has a ColdStart)
    assert {name: line[name] for name in ("method", "path", "status", "source_ip", "request_id")} == {
        "method": "GET",
        "path": f"/{STAGE}/tasks?user_id=alice",  # as the client sent it
        "status": 200,
        "source_ip": "198.51.100.20",  # API Gateway's, not the header's
        "request_id": answer["headers"]["X-Request-ID"],
    }
    assert zappa_access_lines(capsys.readouterr().err) == []  # no second access line


def test_zappas_access_line_is_written_where_its_logger_keeps_it(
    invoke: Invoke, capsys: pytest.CaptureFixture[str], settings: Any
) -> None:
    """As with metrics off: `config.settings` then leaves `zappa.wsgi` at the root's level (the
    handler sets Django, so its logging, up again)."""
    kept = copy.deepcopy(settings.LOGGING)
    kept["loggers"]["zappa.wsgi"]["level"] = "NOTSET"
    settings.LOGGING = kept
    invoke("GET", "/tasks", query={"user_id": "alice"})
    invoke("GET", "/notifications/confirm", query={"token": "secret.signed.value"})
    listed, confirmed = zappa_access_lines(capsys.readouterr().err)
    assert '"GET /tasks?user_id=alice HTTP/1.1" 200' in listed
    assert '"GET /notifications/confirm?token=*** HTTP/1.1"' in confirmed  # the link stays unusable


def test_a_cookie_is_sent_once_under_one_name(invoke: Invoke) -> None:
    """Zappa's middleware repeats Set-Cookie as `set-cookie`: API Gateway would send it four times."""
    page = invoke("GET", "/swagger", headers={"Accept": "text/html"})
    cookies = {name: values for name, values in page["multiValueHeaders"].items() if name.lower() == "set-cookie"}
    assert list(cookies) == ["Set-Cookie"], page["multiValueHeaders"]
    assert [value.split("=")[0] for value in cookies["Set-Cookie"]] == ["csrftoken"]


def test_answers_without_content_carry_no_content_type(invoke: Invoke) -> None:
    """Django sends none with a 204 or a 304 (RFC 9110 §15.4.5); werkzeug, under Zappa, made up text/plain."""
    task = payload(invoke("POST", "/tasks", body={"user_id": "alice", "title": "Ship it"}))["data"]
    unchanged = invoke("GET", f"/tasks/{task['task_id']}", headers={"If-None-Match": '"1"'})
    deleted = invoke("DELETE", f"/tasks/{task['task_id']}")
    for response, status in ((unchanged, 304), (deleted, 204)):
        assert response["statusCode"] == status
        assert "Content-Type" not in response["multiValueHeaders"], response
        assert not response.get("body")


def test_a_head_answer_has_the_gets_headers_and_no_body(invoke: Invoke) -> None:
    task = payload(invoke("POST", "/tasks", body={"user_id": "alice", "title": "Ship it"}))["data"]
    got, head = (invoke(method, f"/tasks/{task['task_id']}") for method in ("GET", "HEAD"))
    assert "body" not in head, head
    assert head["headers"]["Content-Length"] == got["headers"]["Content-Length"] == str(len(text(got).encode()))
    assert head["headers"]["ETag"] == got["headers"]["ETag"]


@pytest.mark.parametrize(("host", "prefix"), [(EXECUTE_API_HOST, f"/{STAGE}"), (CUSTOM_DOMAIN, "")])
def test_a_created_tasks_location_is_on_the_requests_host_under_its_prefix(
    invoke: Invoke, host: str, prefix: str
) -> None:
    created = invoke("POST", "/tasks", body={"user_id": "alice", "title": "Ship it"}, host=host)
    task_id = payload(created)["data"]["task_id"]
    assert created["headers"]["Location"] == f"https://{host}{prefix}/tasks/{task_id}"
