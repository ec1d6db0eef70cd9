"""Request ids: on every response and on every log line of the request."""

import json
import logging

import pytest
from django.test import Client

from config.observability import JsonFormatter


def test_a_request_id_is_generated_when_none_is_sent():
    first, second = Client().get("/nope"), Client().get("/nope")
    assert len(first["X-Request-ID"]) == 32
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_the_callers_request_id_is_echoed():
    response = Client().get("/nope", HTTP_X_REQUEST_ID="abc-123.req")
    assert response["X-Request-ID"] == "abc-123.req"


@pytest.mark.parametrize("unsafe", ["has space", "x" * 200, "<script>", "new\nline"])
def test_an_unusable_request_id_is_replaced(unsafe):
    response = Client().get("/nope", HTTP_X_REQUEST_ID=unsafe)
    assert response["X-Request-ID"] != unsafe
    assert len(response["X-Request-ID"]) == 32


def test_log_lines_written_during_a_request_carry_its_id(api, caplog):
    caplog.set_level(logging.INFO)
    api.client.get("/tasks/task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21", HTTP_X_REQUEST_ID="trace-me")
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "django.request"]
    assert lines
    assert {line["request_id"] for line in lines} == {"trace-me"}
