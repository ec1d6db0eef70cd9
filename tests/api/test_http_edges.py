"""The envelope on every path and method (issue 11, items 3, 4 and 7's favicon), in-process.

OPTIONS answers inside the success envelope with `Allow`; Django's own error views give a
browser the browsable rendering of the envelope and API clients JSON; `/favicon.ico` is an icon,
locally and behind the stage prefix; a chunked request reaches Zappa's handler de-chunked.
The local server's own framing and errors are tested over a socket in
tests/e2e/test_local_http_server.py.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import RequestFactory
from rest_framework.test import APIClient

from tasks_app.api import errors
from tests.api import test_zappa_handler
from tests.api.test_zappa_handler import Invoke

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
ICO_MAGIC = b"\x00\x00\x01\x00"  # ICONDIR: reserved 0, type 1 (icon)
TASK_ID = "task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21"
invoke = test_zappa_handler.invoke  # Zappa's handler as API Gateway calls it: a fixture, under its own name


@pytest.fixture
def client() -> APIClient:
    return APIClient()


def allowed(response: Any) -> set[str]:
    return {method.strip() for method in response["Allow"].split(",")}


# OPTIONS -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/tasks", {"GET", "POST", "OPTIONS"}),
        ("/tasks/", {"GET", "POST", "OPTIONS"}),
        (f"/tasks/{TASK_ID}", {"GET", "PATCH", "DELETE", "OPTIONS"}),
        (f"/tasks/{TASK_ID}/complete", {"POST", "OPTIONS"}),
        ("/tasks/trash", {"GET", "OPTIONS"}),
        ("/tasks/stats", {"GET", "OPTIONS"}),
        (f"/tasks/{TASK_ID}/events", {"GET", "OPTIONS"}),
        ("/", {"GET", "OPTIONS"}),
    ],
)
def test_options_on_an_api_route_answers_its_metadata_inside_the_envelope(client, path, methods):
    response = client.options(path)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"success", "data"}, "OPTIONS must answer in the success envelope (SPEC §2)"
    assert body["success"] is True
    assert body["data"]["name"]
    assert body["data"]["parses"] == ["application/json"], "the browser-only form parsers are not offered"
    assert "application/json" in body["data"]["renders"]
    assert methods <= allowed(response)


# One path per route, each app's included: `Allow` must not depend on the process.
EVERY_ROUTE = [
    "/",
    "/tasks",
    f"/tasks/{TASK_ID}",
    f"/tasks/{TASK_ID}/complete",
    f"/tasks/{TASK_ID}/restore",
    "/tasks/trash",
    "/tasks/stats",
    f"/tasks/{TASK_ID}/events",
    "/api/schema",
    "/swagger",
    "/favicon.ico",
    "/webhooks",
    "/webhooks/wh-1",
    "/webhooks/wh-1/deliveries",
    "/webhooks/wh-1/deliveries/d-1/redeliver",
    "/webhooks/wh-1/rotate-secret",
    "/webhooks/wh-1/test",
    "/notifications/settings",
    "/notifications/confirm",
]
ROOT = Path(__file__).resolve().parents[2]
# The order Django and DRF list a view's handlers in (`View.http_method_names`).
DECLARED_ORDER = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"]
ALLOW_OF_EVERY_ROUTE = """
import json, sys
import django
django.setup()
from django.test import Client
client = Client()
allowed = {
    path: [client.options(path).get("Allow"), client.generic("TRACE", path).get("Allow")] for path in sys.argv[2:]
}
with open(sys.argv[1], "w") as out:
    json.dump(allowed, out)
"""


def test_allow_lists_a_views_methods_in_the_order_it_declares_them(client):
    """RFC 9110 §10.2.1 leaves the order free, but it must not move: clients and caches compare it."""
    for path in EVERY_ROUTE:
        for response in (client.options(path), client.generic("TRACE", path)):
            listed = [method.strip() for method in response["Allow"].split(",")]
            assert listed == sorted(listed, key=DECLARED_ORDER.index), (path, response.status_code, listed)


def test_allow_is_the_same_in_every_process_whatever_its_hash_seed(tmp_path):
    """A set's order follows the hash seed; these two seeds ordered `@api_view`'s methods differently."""
    answers = []
    for seed in ("2", "3"):
        out = tmp_path / f"allow-{seed}.json"
        environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONHASHSEED": seed}
        command = [sys.executable, "-c", ALLOW_OF_EVERY_ROUTE, str(out), *EVERY_ROUTE]
        subprocess.run(command, capture_output=True, timeout=120, env=environment, cwd=ROOT, check=True)
        answers.append(json.loads(out.read_text()))
    assert answers[0] == answers[1]
    assert answers[0]["/"] == ["GET, HEAD, OPTIONS", "GET, HEAD, OPTIONS"]


@pytest.mark.parametrize("path", ["/api/schema", "/api/schema/", "/swagger", "/swagger/", "/favicon.ico"])
def test_options_on_the_docs_and_the_favicon_answers_inside_the_envelope(client, path):
    response = client.options(path)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json()["success"] is True
    assert response.json()["data"]["parses"] == []
    assert allowed(response) == {"GET", "HEAD", "OPTIONS"}


def test_options_on_an_unknown_path_is_a_404_in_the_envelope(client):
    response = client.options("/nope")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "NOT_FOUND"


# Django's error views: browsable for a browser, JSON for the rest -----------------------------


@pytest.mark.parametrize("method", ["get", "post", "delete", "options"])
def test_an_unknown_path_in_a_browser_is_the_browsable_rendering_of_the_404(client, method):
    response = getattr(client, method)("/nope/deeper", HTTP_ACCEPT=BROWSER)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "NOT_FOUND" in page
    assert "There is nothing at /nope/deeper." in page
    assert "Not Found" in page  # the page's title: the status, not a class name
    assert 'class="response-info"' in page, "the page must be DRF's browsable API, as on every other path"


def test_a_post_to_an_unknown_path_is_a_404_not_a_csrf_failure():
    response = APIClient(enforce_csrf_checks=True).post("/nope", {"a": 1}, format="json", HTTP_COOKIE="csrftoken=x")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("accept", [None, "application/json", "*/*", "text/plain"])
def test_an_unknown_path_is_json_for_anything_but_a_browser(client, accept):
    response = client.get("/nope", **({"HTTP_ACCEPT": accept} if accept else {}))
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "success": False,
        "error": {"message": "There is nothing at /nope.", "code": "NOT_FOUND"},
    }
    assert "Accept" in response.get("Vary", ""), "caches must keep the HTML and JSON 404s apart"


@pytest.mark.parametrize(
    ("view", "status", "code"),
    [(errors.permission_denied, 403, "PERMISSION_DENIED"), (errors.server_error, 500, "INTERNAL_ERROR")],
)
def test_djangos_403_and_500_are_browsable_in_a_browser_and_json_otherwise(view, status, code):
    factory = RequestFactory()
    page = view(factory.get("/tasks", HTTP_ACCEPT=BROWSER))
    assert page.status_code == status
    assert page["Content-Type"].startswith("text/html")
    assert code in page.content.decode()
    as_json = view(factory.get("/tasks", HTTP_ACCEPT="application/json"))
    assert as_json.status_code == status
    assert as_json["Content-Type"] == "application/json"
    assert json.loads(as_json.content)["error"]["code"] == code
    if status == 500:
        assert json.loads(as_json.content)["error"]["message"] == errors.INTERNAL_ERROR_MESSAGE


def test_an_error_page_that_cannot_be_drawn_falls_back_to_json(client, settings, tmp_path, caplog):
    # A broken template stands for anything that breaks the page: the error must still get out.
    broken = tmp_path / "tasks_app" / "browsable_api.html"
    broken.parent.mkdir()
    broken.write_text("{% this_tag_does_not_exist %}")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]
    response = client.get("/nope", HTTP_ACCEPT=BROWSER)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert "could not be rendered" in caplog.text


def test_a_bad_host_is_a_json_400_even_in_a_browser(client):
    response = client.get("/tasks", HTTP_HOST="evil.example", HTTP_ACCEPT=BROWSER)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert response.json()["error"]["message"] == "The Host header names a host this API does not serve."


# The favicon ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/favicon.ico"])
def test_the_favicon_is_an_icon_browsers_may_cache(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/vnd.microsoft.icon"
    assert response.content.startswith(ICO_MAGIC)
    assert "max-age" in response["Cache-Control"]
    assert client.head(path).status_code == 200


def test_other_methods_on_the_favicon_are_a_405_in_the_envelope(client):
    response = client.post("/favicon.ico")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert allowed(response) == {"GET", "HEAD", "OPTIONS"}


def test_the_browsable_api_links_a_favicon_that_loads(client):
    page = client.get("/", HTTP_ACCEPT=BROWSER).content.decode()
    link = re.search(r'<link rel="icon"[^>]*href="([^"]+)"', page)
    assert link, "the browsable API's pages must link their icon: behind the stage the browser's guess is outside it"
    icon = client.get(link[1])
    assert icon.status_code == 200
    assert b"".join(icon.streaming_content if icon.streaming else [icon.content]).startswith(ICO_MAGIC)


# Through Zappa's handler (API Gateway) ------------------------------------------------------


def test_the_favicon_loads_behind_the_stage_prefix(invoke: Invoke):
    response = invoke("GET", "/favicon.ico")
    assert response["statusCode"] == 200
    body = response["body"]
    content = base64.b64decode(body) if response.get("isBase64Encoded") else str(body).encode("latin-1")
    assert content.startswith(ICO_MAGIC)


def test_a_request_sent_chunked_reaches_zappas_handler_whole(invoke: Invoke):
    # API Gateway de-chunks: the proxy event holds the whole body, and the client's framing
    # header may come along. Zappa then sets CONTENT_LENGTH from the body it is given.
    response = invoke(
        "POST",
        "/tasks",
        body={"user_id": "u-chunked", "title": "sent chunked"},
        headers={"Transfer-Encoding": "chunked"},
    )
    assert response["statusCode"] == 201, response.get("body")
    assert '"title":"sent chunked"' in response["body"]


def test_each_request_gets_the_renderer_its_own_accept_and_format_ask_for(api):
    """Negotiation's answers are remembered by what decides them, never by the request before."""
    asked = [
        ({"HTTP_ACCEPT": BROWSER}, {}, "text/html"),
        ({"HTTP_ACCEPT": "application/json"}, {}, "application/json"),
        ({"HTTP_ACCEPT": BROWSER}, {"format": "json"}, "application/json"),
        ({"HTTP_ACCEPT": "application/json; indent=4"}, {}, "application/json"),
        ({"HTTP_ACCEPT": "image/png"}, {}, "application/json"),  # nothing acceptable: JSON, not a 406
        ({"HTTP_ACCEPT": BROWSER}, {}, "text/html"),
    ]
    for _ in range(2):  # the second time from what was remembered
        for headers, query, content_type in asked:
            response = api.client.get("/tasks", {"user_id": "alice", **query}, **headers)
            assert response.status_code == 200, (headers, query)
            assert response["Content-Type"].startswith(content_type), (headers, query, response["Content-Type"])
    indented = api.client.get("/tasks", {"user_id": "alice"}, HTTP_ACCEPT="application/json; indent=4")
    assert indented.content.startswith(b'{\n    "success"')
