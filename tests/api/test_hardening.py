"""Headers and limits that every response carries, and CORS only for the allowed origins."""

from __future__ import annotations

import json

from django.test import Client


def test_responses_carry_the_security_headers(api):
    response = api.client.get("/tasks", {"user_id": "alice"})
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


def test_no_origin_is_allowed_by_default(api):
    response = api.client.get("/tasks", {"user_id": "a"}, HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in response


def test_allowed_origins_get_cors_headers_and_others_do_not(api, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    preflight = Client().options(
        "/tasks",
        HTTP_ORIGIN="https://app.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )
    assert preflight["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "authorization" in preflight["Access-Control-Allow-Headers"]
    other = api.client.get("/tasks", {"user_id": "a"}, HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in other


def test_a_body_over_the_limit_is_refused_before_it_is_read(api, settings):
    body = json.dumps({"user_id": "a", "title": "t", "description": "x" * settings.MAX_REQUEST_BODY_BYTES})
    response = api.client.generic("POST", "/tasks", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_no_internal_detail_leaks_from_a_crash(api, aws):
    aws.target.client("dynamodb").delete_table(TableName=aws.resources.table_name)
    response = api.client.get("/tasks", {"user_id": "a"})
    assert response.status_code == 500
    text = response.content.decode()
    for leak in ("Traceback", "ResourceNotFound", "pynamodb", "botocore", "tasks-test", ".py"):
        assert leak not in text
