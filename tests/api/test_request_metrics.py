"""Request metrics as an operator reads them: one `Requests` and one `Latency` per request, by
operation (a bounded set) and status class, `ThrottledRequests` on a 429; and no AWS request."""

from __future__ import annotations

import json

import pytest

from tasks_app.adapters import metrics
from tests.emf import collected


@pytest.fixture(autouse=True)
def _metrics_on(monkeypatch):
    for name in ("POWERTOOLS_METRICS_DISABLED", "POWERTOOLS_DEV", metrics.NAMESPACE_ENV, metrics.SERVICE_ENV):
        monkeypatch.delenv(name, raising=False)


def request_metrics(lines):
    """(operation, status_class) of each `Requests` point, and the operation of each `Latency`."""
    requests = [(p.dimensions["operation"], p.dimensions["status_class"]) for p in lines.points("Requests")]
    latencies = [p.dimensions["operation"] for p in lines.points("Latency")]
    return requests, latencies


def test_a_create_is_one_request_of_tasks_create_with_its_latency_and_request_id(api):
    with collected() as lines:
        response = api.create(title="Measured")
    assert response.status_code == 201
    assert request_metrics(lines) == ([("tasks.create", "2xx")], ["tasks.create"])
    [latency] = lines.points("Latency")
    assert latency.unit == "Milliseconds"
    assert 0 < latency.values[0] < 10_000
    assert set(latency.dimensions) == {"service", "operation"}
    assert latency.line["request_id"] == response["X-Request-ID"]  # the metrics line of a logged request
    access = {name: latency.line[name] for name in ("method", "path", "status", "source_ip")}
    assert access == {"method": "POST", "path": "/tasks", "status": 201, "source_ip": "127.0.0.1"}


def test_each_operation_is_named_after_its_route_and_action(api):
    task = api.created()
    with collected() as lines:
        api.get(task["task_id"])
        api.list(user_id="alice")
        api.complete(task["task_id"])
        api.patch(task["task_id"], {"title": "Renamed"})
        api.client.get(f"/tasks/{task['task_id']}/events")
        api.client.get("/tasks/stats", {"user_id": "alice"})
        api.client.head(f"/tasks/{task['task_id']}")
        api.delete(task["task_id"])
        api.trash(user_id="alice")
        api.client.options("/tasks")
        api.client.put(f"/tasks/{task['task_id']}", {}, format="json")  # 405: no action, the method names it
        api.client.get("/")
    assert request_metrics(lines)[1] == [
        "tasks.retrieve", "tasks.list", "tasks.complete", "tasks.partial_update", "tasks.events", "tasks.stats",
        "tasks.retrieve", "tasks.destroy", "tasks.trash", "tasks.options", "tasks.put", "root",
    ]  # fmt: skip


def test_a_404_is_counted_under_its_operation_or_as_unmatched(api):
    with collected() as lines:
        assert api.get("task-00000000-0000-4000-8000-000000000000").status_code == 404
        assert api.client.get("/no/such/path/12345").status_code == 404
        assert api.client.get("/another/unknown/path").status_code == 404
    assert request_metrics(lines)[0] == [("tasks.retrieve", "4xx"), ("unmatched", "4xx"), ("unmatched", "4xx")]


@pytest.mark.usefixtures("frozen_rate_window")  # a day window must not end mid-test
def test_a_429_is_a_throttled_request_whether_it_was_a_read_or_a_refused_change(api, settings):
    settings.THROTTLE_RATES = {"user": None, "ip": "1/day"}
    with collected() as lines:
        assert api.list(user_id="alice").status_code == 200
        assert api.list(user_id="alice").status_code == 429
        assert api.create().status_code == 429  # refused before the view: never routed by Django
    assert request_metrics(lines)[0] == [("tasks.list", "2xx"), ("tasks.list", "4xx"), ("tasks.create", "4xx")]
    assert lines.total("ThrottledRequests") == 2
    assert {point.dimensions["service"] for point in lines.points()} == {"tasks-api"}


def test_metrics_make_no_aws_request(api, aws, monkeypatch):
    """The same create with metrics on and off asks AWS the same things, none of them CloudWatch's."""
    api.created()  # warm: clients made, the table's metadata read
    with aws.server.recording() as with_metrics, collected() as lines:
        api.created()
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    with aws.server.recording() as without_metrics:
        api.created()
    assert lines.points("Requests")
    assert [(call.service, call.operation) for call in with_metrics] == [
        (call.service, call.operation) for call in without_metrics
    ]
    assert {call.service for call in with_metrics} <= {"dynamodb"}


@pytest.mark.parametrize("value", ["", "disabled"])
def test_an_unreadable_metrics_switch_fails_no_request_and_leaves_metrics_on(api, monkeypatch, value):
    """Powertools' own reading of POWERTOOLS_METRICS_DISABLED raises for anything but its truth
    words: an empty value (`POWERTOOLS_METRICS_DISABLED=` in a shell or an env file) made every
    request a 500."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", value)
    with collected() as lines:
        assert api.create(title="Still served").status_code == 201
    assert request_metrics(lines) == ([("tasks.create", "2xx")], ["tasks.create"])


def test_the_access_details_hide_a_confirmation_links_token(api):
    with collected() as lines:
        api.client.get("/notifications/confirm", {"token": "secret.signed.value", "lang": "en"})
    [requests] = lines.points("Requests")
    assert requests.line["method"] == "GET"
    assert requests.line["path"] == "/notifications/confirm?token=***&lang=en"
    assert "secret" not in json.dumps(requests.line)


def test_a_request_with_too_many_query_fields_is_still_in_the_access_log(api):
    """Django refuses to parse more than 1000 fields; the line reads the raw query instead."""
    with collected() as lines:
        response = api.client.get("/tasks?" + "&".join(["a=1"] * 1001) + "&token=secret")
    assert response.status_code == 400
    [requests] = lines.points("Requests")
    assert requests.line["status"] == 400
    assert requests.line["path"].startswith("/tasks?a=1&a=1&")
    assert requests.line["path"].endswith("&token=***")


def test_every_spelling_of_the_token_parameter_is_hidden():
    from config.observability import masked_query

    assert (
        masked_query("lang=en&token=s1&%74oken=s2&token&tokens=keep")
        == "lang=en&token=***&%74oken=***&token=***&tokens=keep"
    )
    assert masked_query("") == ""
    assert masked_query("user_id=alice&limit=5") == "user_id=alice&limit=5"
