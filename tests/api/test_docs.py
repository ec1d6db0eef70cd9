"""The OpenAPI schema, Swagger UI (with no internet access) and the browsable API."""

from __future__ import annotations

import re
from io import StringIO

import yaml
from django.core.management import call_command
from django.test import Client

from tasks_app.api.errors import ErrorCode


def test_the_schema_validates_with_no_warnings(tmp_path):
    # --fail-on-warn turns any drf-spectacular warning into a failure of this test.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    schema = yaml.safe_load((tmp_path / "schema.yaml").read_text())
    assert set(schema["paths"]) == {
        "/tasks",
        "/tasks/{task_id}",
        "/tasks/{task_id}/start",
        "/tasks/{task_id}/complete",
        "/tasks/{task_id}/cancel",
        "/tasks/{task_id}/reopen",
        "/tasks/{task_id}/restore",
        "/tasks/{task_id}/events",
        "/tasks/stats",
        "/tasks/trash",
        "/webhooks",
        "/webhooks/{webhook_id}",
        "/webhooks/{webhook_id}/deliveries",
        "/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
        "/webhooks/{webhook_id}/rotate-secret",
        "/webhooks/{webhook_id}/test",
        "/notifications/settings",
        "/notifications/confirm",
    }


def test_the_served_schema_documents_every_action_with_its_errors_and_examples():
    response = Client().get("/api/schema", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    operations = {
        (path, method): operation for path, item in schema["paths"].items() for method, operation in item.items()
    }
    documented = {key: set(operation["responses"]) for key, operation in operations.items()}
    everywhere = {"401", "429", "500", "503"}
    # 400: a body field (they take none) or a bad Idempotency-Key; 415: a body that is not JSON
    action = {"200", "400", "403", "404", "409", "412", "413", "415", "422"} | everywhere
    assert documented == {
        ("/tasks", "get"): {"200", "400", "403"} | everywhere,
        ("/tasks", "post"): {"201", "400", "403", "413", "415", "422"} | everywhere,
        ("/tasks/{task_id}", "get"): {"200", "304", "400", "404"} | everywhere,
        ("/tasks/{task_id}", "patch"): {"200", "400", "403", "404", "412", "413", "415", "422"} | everywhere,
        ("/tasks/{task_id}", "delete"): {"204", "400", "403", "404", "412", "413", "415"} | everywhere,
        ("/tasks/{task_id}/start", "post"): action,
        ("/tasks/{task_id}/complete", "post"): action,
        ("/tasks/{task_id}/cancel", "post"): action,
        ("/tasks/{task_id}/reopen", "post"): action,
        ("/tasks/{task_id}/restore", "post"): action - {"409"},
        ("/tasks/{task_id}/events", "get"): {"200", "404"} | everywhere,
        ("/tasks/stats", "get"): {"200", "400", "403"} | everywhere,
        ("/tasks/trash", "get"): {"200", "400", "403"} | everywhere,
        ("/webhooks", "get"): {"200", "400", "403"} | everywhere,
        ("/webhooks", "post"): {"201", "400", "403", "413", "415", "422"} | everywhere,
        ("/webhooks/{webhook_id}", "get"): {"200", "404"} | everywhere,
        ("/webhooks/{webhook_id}", "patch"): {"200", "400", "403", "404", "413", "415", "422"} | everywhere,
        ("/webhooks/{webhook_id}", "delete"): {"204", "403", "404"} | everywhere,
        ("/webhooks/{webhook_id}/deliveries", "get"): {"200", "400", "404"} | everywhere,
        ("/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver", "post"): {"202", "403", "404"} | everywhere,
        ("/webhooks/{webhook_id}/rotate-secret", "post"): {"200", "400", "403", "404", "422"} | everywhere,
        ("/webhooks/{webhook_id}/test", "post"): {"202", "403", "404"} | everywhere,
        ("/notifications/settings", "get"): {"200", "400", "403"} | everywhere,
        ("/notifications/settings", "put"): {"200", "400", "403", "413", "415"} | everywhere,
        ("/notifications/confirm", "get"): {"200", "400", "429", "500", "503"},  # opened from an email: no token
    }
    for operation in operations.values():
        for status, response_doc in operation["responses"].items():
            if status in {"204", "304"}:  # no body by definition (RFC 9110 §15.3.5, §15.4.5)
                continue
            assert response_doc["content"]["application/json"]["examples"], f"no example for {status}"
    assert "examples" in operations[("/tasks", "post")]["requestBody"]["content"]["application/json"]
    code = schema["components"]["schemas"]["ErrorBody"]["properties"]["code"]
    assert code["$ref"] == "#/components/schemas/ErrorCode"
    assert schema["components"]["schemas"]["ErrorCode"]["enum"] == [code.value for code in ErrorCode]


def test_swagger_ui_loads_its_assets_from_this_server():
    client = Client()
    page = client.get("/swagger")
    assert page.status_code == 200
    html = page.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets, html
    for asset in assets:
        assert asset.startswith("/static/"), f"{asset} would need the internet"
        assert client.get(asset).status_code == 200, asset
    assert "/api/schema" in html


def test_the_browsable_api_renders_for_a_browser(api):
    task = api.created(title="Seen in a browser")
    page = api.client.get(f"/tasks/{task['task_id']}", HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    assert "Seen in a browser" in page.content.decode()
    listing = api.client.get("/tasks?user_id=alice", HTTP_ACCEPT="text/html").content.decode()
    assert "&quot;title&quot;" in listing  # the raw JSON form is pre-filled with the create fields


def test_errors_render_in_the_browsable_api_too():
    page = Client().get("/tasks", HTTP_ACCEPT="text/html")
    assert page.status_code == 400
    assert "VALIDATION_ERROR" in page.content.decode()


def test_the_root_links_to_the_api_and_its_docs():
    data = Client().get("/").json()["data"]
    # With AUTH_MODE=none the first listing names the local user, so it opens on a 200 (issue 11).
    assert {name: data[name] for name in ("tasks", "swagger", "schema")} == {
        "tasks": "http://testserver/tasks?user_id=alice",
        "swagger": "http://testserver/swagger",
        "schema": "http://testserver/api/schema",
    }
    assert "AUTH_MODE=none" in data["authentication"]


def test_the_schema_command_prints_yaml():
    out = StringIO()
    call_command("spectacular", stdout=out)
    assert out.getvalue().startswith("openapi: 3")
