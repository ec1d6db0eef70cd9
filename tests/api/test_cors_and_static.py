"""CORS preflights and static files in the envelope (issue 11, item 4; SPEC §2: every answer,
whatever the method, is the JSON envelope).

corsheaders answered a preflight with an empty `text/html` 200 on any path, and WhiteNoise a
method other than GET or HEAD on a static file with an empty 405.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

ORIGIN = "https://app.example.com"
STATIC_FILE = "/static/rest_framework/css/bootstrap.min.css"


@pytest.fixture
def client(settings: Any) -> Client:
    settings.CORS_ALLOWED_ORIGINS = [ORIGIN]
    return Client()


def preflight(client: Client, path: str, origin: str = ORIGIN) -> Any:
    return client.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )


def allowed(response: Any) -> set[str]:
    return {method.strip() for method in response["Allow"].split(",")}


# CORS preflights --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/tasks", "/tasks/task-1/complete", "/api/schema", "/favicon.ico"])
def test_a_preflight_to_a_route_succeeds_inside_the_envelope_with_the_cors_headers(client, path):
    response = preflight(client, path)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json", "a preflight is an answer too (SPEC §2)"
    body = response.json()
    assert body["success"] is True
    assert "POST" in body["data"]["methods"]
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert "authorization" in response["Access-Control-Allow-Headers"]
    assert "origin" in response["Vary"].lower()


def test_a_preflight_needs_no_credentials_in_jwt_mode(client, issuer):
    assert client.options("/tasks").status_code == 401, "a plain OPTIONS is a request like any other"
    response = preflight(client, "/tasks")
    assert response.status_code == 200, "browsers send no Authorization with a preflight: it must pass anyway"
    assert response["Access-Control-Allow-Origin"] == ORIGIN


def test_a_preflight_from_an_origin_not_allowed_gets_no_cors_headers(client):
    response = preflight(client, "/tasks", origin="https://evil.example")
    assert response.status_code == 200
    assert response.json()["success"] is True
    assert "Access-Control-Allow-Origin" not in response


def test_a_preflight_to_an_unknown_path_is_the_404_envelope(client):
    response = preflight(client, "/nope")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert response["Access-Control-Allow-Origin"] == ORIGIN, "so the browser lets the page read the 404"


def test_a_preflight_to_a_static_file_answers_its_metadata(client):
    response = preflight(client, STATIC_FILE)
    assert response.status_code == 200, response.content
    assert response.json()["data"]["renders"][0].startswith("text/css")
    assert response["Access-Control-Allow-Origin"] == ORIGIN


def test_a_request_that_is_not_a_preflight_reaches_the_view(client):
    response = client.options("/tasks", HTTP_ORIGIN=ORIGIN)
    assert response.json()["data"]["name"] != "CORS preflight", "a plain OPTIONS answers the view's metadata"
    assert response["Access-Control-Allow-Origin"] == ORIGIN


# Static files -----------------------------------------------------------------------------------


def test_a_static_file_is_still_served(client):
    response = client.get(STATIC_FILE)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_other_methods_on_a_static_file_are_the_405_envelope(client, method):
    response = getattr(client, method)(STATIC_FILE)
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert allowed(response) >= {"GET", "HEAD"}
    assert not allowed(response) & {"POST", "PUT", "PATCH", "DELETE"}


def test_options_on_a_static_file_is_the_success_envelope_with_allow(client):
    response = client.options(STATIC_FILE)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["success"] is True
    assert allowed(response) == {"GET", "HEAD", "OPTIONS"}


def test_a_missing_static_file_is_still_the_404_envelope(client):
    response = client.delete("/static/none.css")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
