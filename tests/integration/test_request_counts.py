"""DynamoDB requests per API operation, in the request, after its response, and in the stream relay."""

from __future__ import annotations

import io
import json
import sys
from collections import Counter
from typing import Any

from config.wsgi import application


def call(method: str, path: str, body: dict[str, Any] | None = None, **headers: str) -> tuple[str, dict[str, Any], Any]:
    """What a WSGI server does: the response is complete before it closes it.
    `headers` are WSGI environ entries, like `HTTP_AUTHORIZATION`."""
    raw = json.dumps(body).encode() if body is not None else b""
    route, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": route,
        "QUERY_STRING": query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "wsgi.input": io.BytesIO(raw),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(raw)),
        **headers,
    }
    status: list[str] = []
    result = application(environ, lambda s, headers, exc_info=None: status.append(s))  # type: ignore[arg-type]
    payload = b"".join(result)
    return status[0], json.loads(payload), result.close


def dynamodb_calls(calls) -> Counter:
    return Counter(call.operation for call in calls if call.service == "dynamodb")


def other_calls(calls) -> list[str]:
    return [f"{call.service}:{call.operation}" for call in calls if call.service != "dynamodb"]


def test_create_is_one_transaction_and_the_stream_relay_publishes_without_reading_the_outbox(aws):
    with aws.server.recording() as in_request:
        status, _, close = call("POST", "/tasks", {"user_id": "a", "title": "t"})
    with aws.server.recording() as after_response:
        close()
    assert status.startswith("201")
    assert dynamodb_calls(in_request) == Counter({"TransactWriteItems": 1})
    assert other_calls(in_request) == []
    assert after_response == []  # nothing relays inside a request's invocation any more
    with aws.server.recording() as relayed:
        aws.relay()
    # The event comes in the stream record's image: besides reading the stream (GetRecords),
    # one publish and one delete, no Query of the outbox.
    assert dynamodb_calls(relayed) - Counter({"GetRecords": 99}) == Counter({"BatchWriteItem": 1})
    assert other_calls(relayed) == ["sns:PublishBatch"]


def test_get_is_one_get_item(aws):
    _, body, close = call("POST", "/tasks", {"user_id": "a", "title": "t"})
    close()
    with aws.server.recording() as calls:
        status, _, close = call("GET", f"/tasks/{body['data']['task_id']}")
        close()
    assert status.startswith("200")
    assert dynamodb_calls(calls) == Counter({"GetItem": 1})


def test_a_page_of_the_list_is_one_query_even_with_more_pages(aws):
    for i in range(12):
        call("POST", "/tasks", {"user_id": "a", "title": f"t{i}"})[2]()
    with aws.server.recording() as calls:
        _, first, close = call("GET", "/tasks?user_id=a&limit=5")
        close()
        call("GET", f"/tasks?user_id=a&limit=5&cursor={first['pagination']['next_cursor']}")[2]()
    assert dynamodb_calls(calls) == Counter({"Query": 2})


def test_complete_is_a_read_and_one_transaction(aws):
    _, body, close = call("POST", "/tasks", {"user_id": "a", "title": "t"})
    close()
    with aws.server.recording() as in_request:
        status, _, close = call("POST", f"/tasks/{body['data']['task_id']}/complete")
    close()
    assert status.startswith("200")
    assert dynamodb_calls(in_request) == Counter({"GetItem": 1, "TransactWriteItems": 1})


# The rates as shipped (config.environment's defaults); the tests' settings turn them off.
SHIPPED_RATES = {"user": "600/min", "ip": "1200/min"}


def test_with_rate_limits_an_authenticated_get_is_one_count_and_its_get_item(aws, issuer, settings):
    token = f"Bearer {issuer.token('alice')}"
    _, body, close = call("POST", "/tasks", {"title": "t"}, HTTP_AUTHORIZATION=token)
    close()
    settings.THROTTLE_RATES = SHIPPED_RATES
    with aws.server.recording() as calls:
        status, _, close = call("GET", f"/tasks/{body['data']['task_id']}", HTTP_AUTHORIZATION=token)
        close()
    assert status.startswith("200")
    assert dynamodb_calls(calls) == Counter({"UpdateItem": 1, "GetItem": 1})


def test_with_rate_limits_a_create_takes_a_lease_once_and_then_costs_its_transaction_alone(
    aws, issuer, settings, frozen_rate_window
):
    settings.THROTTLE_RATES = SHIPPED_RATES
    token = f"Bearer {issuer.token('alice')}"
    with aws.server.recording() as first:
        status, _, close = call("POST", "/tasks", {"title": "t"}, HTTP_AUTHORIZATION=token)
    close()
    with aws.server.recording() as second:
        call("POST", "/tasks", {"title": "u"}, HTTP_AUTHORIZATION=token)[2]()
    assert status.startswith("201")
    # The process's first change for alice this minute waits for a take of tokens; the next
    # spends one of them, with no counter request at all.
    assert [call.operation for call in first if call.service == "dynamodb"] == ["UpdateItem", "TransactWriteItems"]
    assert [call.operation for call in second if call.service == "dynamodb"] == ["TransactWriteItems"]


def test_with_rate_limits_a_bad_token_costs_one_count_and_nothing_else(aws, issuer, settings):
    settings.THROTTLE_RATES = SHIPPED_RATES
    with aws.server.recording() as calls:
        status, _, close = call("GET", "/tasks", HTTP_AUTHORIZATION="Bearer forged")
        close()
    assert status.startswith("401")
    assert dynamodb_calls(calls) == Counter({"UpdateItem": 1})
