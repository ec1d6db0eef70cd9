"""Every wrong request gets its 4xx in the error envelope, never a 500 or an HTML page."""

from __future__ import annotations

import json

import pytest

UNKNOWN_TASK = "task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21"


def assert_error(response, status: int, code: str, field: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    if field is not None:
        assert field in body["error"]["details"], body
        assert all(isinstance(m, str) for m in body["error"]["details"][field])
    return body


def post_raw(api, body: str | bytes, content_type: str = "application/json"):
    return api.client.generic("POST", "/tasks", body, content_type=content_type)


# Unknown paths and wrong methods -----------------------------------------------------------


@pytest.mark.parametrize("path", ["/nope", "/tasks/x/y/z", "/api", "/tasks/abc/complete/more", "/static/none.css"])
def test_unknown_paths_are_a_json_404(api, path):
    assert_error(api.client.get(path), 404, "NOT_FOUND")
    assert_error(api.client.post(path), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("put", "/tasks"),
        ("delete", "/tasks"),
        ("post", "/tasks/" + UNKNOWN_TASK),
        ("patch", "/tasks/trash"),
        ("put", "/tasks/" + UNKNOWN_TASK),
        ("get", f"/tasks/{UNKNOWN_TASK}/complete"),
        ("delete", f"/tasks/{UNKNOWN_TASK}/complete/"),
    ],
)
def test_wrong_methods_are_a_405(api, method, path):
    body = assert_error(getattr(api.client, method)(path), 405, "METHOD_NOT_ALLOWED")
    assert method.upper() in body["error"]["message"]


@pytest.mark.parametrize("task_id", [UNKNOWN_TASK, "not-a-task-id", "task-" + "0" * 36, "%F0%9F%8E%89", "x" * 3000])
def test_unknown_or_impossible_task_ids_are_a_404(api, task_id):
    assert_error(api.get(task_id), 404, "NOT_FOUND")
    assert_error(api.complete(task_id), 404, "NOT_FOUND")


# Bodies that are not a JSON object ---------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", "user_id=a&title=b"),
        ("application/x-www-form-urlencoded", "user_id=a&title=b"),
        ("multipart/form-data; boundary=x", "--x--"),
        ("application/xml", "<task/>"),
    ],
)
def test_bodies_that_are_not_json_are_a_415(api, content_type, body):
    assert_error(post_raw(api, body, content_type), 415, "UNSUPPORTED_MEDIA_TYPE")


@pytest.mark.parametrize("body", ['{"user_id": "a", "title": ', "{'single': 'quotes'}", "\x00\x01", '{"a": NaN'])
def test_malformed_json_is_a_400(api, body):
    body = assert_error(post_raw(api, body), 400, "VALIDATION_ERROR")
    assert "JSON" in body["error"]["message"]


def test_a_body_that_is_not_utf8_is_a_400(api):
    assert_error(post_raw(api, b'{"user_id": "a", "title": "\xff\xfe"}'), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("body", ["[]", '["user_id", "title"]', '"a string"', "42", "null", "true"])
def test_json_that_is_not_an_object_is_a_400(api, body):
    assert_error(post_raw(api, body), 400, "VALIDATION_ERROR", "non_field_errors")


@pytest.mark.parametrize("body", ["[]", '[{"title": "t"}]', '"a string"', "42", "null", "true"])
@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_a_create_or_patch_whose_json_is_not_an_object_is_a_400_saying_so(api, method, body):
    path = "/tasks" if method == "POST" else f"/tasks/{api.created()['task_id']}"
    response = api.client.generic(method, path, body, content_type="application/json")
    details = assert_error(response, 400, "VALIDATION_ERROR", "non_field_errors")["error"]["details"]
    [message] = details["non_field_errors"]
    assert "must be a JSON object" in message, message


# RFC 8259 §4: names within an object SHOULD be unique; json.loads would keep the last silently.
@pytest.mark.parametrize(
    ("body", "where"),
    [
        ('{"user_id": "alice", "title": "a", "title": "b"}', ["title"]),
        ('{"title": "a", "user_id": "alice", "title": "a"}', ["title"]),  # even with the same value
        ('{"user_id": "alice", "user_id": "bob", "title": "a", "title": "b"}', ["user_id", "title"]),
        ('{"user_id": "alice", "title": "a", "extra": {"x": 1, "x": 2}}', ["extra.x"]),
        ('{"user_id": "alice", "title": "a", "tags": [{"x": 1}, {"y": {"z": 1, "z": 1}}]}', ["tags[1].y.z"]),
        ('[{"title": "a", "title": "b"}]', ["[0].title"]),
    ],
)
def test_a_name_given_twice_in_a_json_object_is_a_400_naming_it(api, aws, body, where):
    details = assert_error(post_raw(api, body), 400, "VALIDATION_ERROR")["error"]["details"]
    assert list(details) == where
    for path, [message] in details.items():
        assert repr(path.rsplit(".", 1)[-1].rsplit("]", 1)[-1]) in message, message
        assert "more than once" in message, message
    assert api.list(user_id="alice").json()["data"] == []
    assert aws.drain() == []


@pytest.mark.parametrize(("method", "suffix"), [("PATCH", ""), ("POST", "/complete"), ("DELETE", "")])
def test_a_name_given_twice_is_a_400_on_every_body(api, aws, method, suffix):
    task = api.created()
    aws.drain()
    body = '{"title": "a", "title": "b"}' if method == "PATCH" else '{"x": 1, "x": 1}'
    response = api.client.generic(method, f"/tasks/{task['task_id']}{suffix}", body, content_type="application/json")
    details = assert_error(response, 400, "VALIDATION_ERROR")["error"]["details"]
    assert "more than once" in details["title" if method == "PATCH" else "x"][0]
    assert api.get(task["task_id"]).json()["data"] == task
    assert aws.drain() == []


def test_an_empty_body_reports_the_missing_title(api):
    assert_error(post_raw(api, ""), 400, "VALIDATION_ERROR", "title")


def test_without_authentication_the_owner_must_be_named(api):
    body = assert_error(api.client.post("/tasks", {"title": "t"}, format="json"), 400, "VALIDATION_ERROR", "user_id")
    assert body["error"]["details"]["user_id"] == ["This field is required."]


# Fields ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [123, 1.5, True, None, ["x"], {"a": 1}])
@pytest.mark.parametrize("field", ["user_id", "title", "description"])
def test_wrong_field_types_are_a_400_naming_the_field(api, field, value):
    payload = {"user_id": "alice", "title": "ok", field: value}
    assert_error(api.client.post("/tasks", payload, format="json"), 400, "VALIDATION_ERROR", field)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": "x" * 201}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "\t\n"}, "title"),
        ({"title": ""}, "title"),
        ({"title": "nul \x00 inside"}, "title"),
        ({"description": "d" * 1001}, "description"),
        ({"user_id": "u" * 129}, "user_id"),
        ({"user_id": "  "}, "user_id"),
    ],
)
def test_values_breaking_the_rules_are_a_400_naming_the_field(api, fields, field):
    assert_error(api.create(**{"user_id": "alice", "title": "ok", **fields}), 400, "VALIDATION_ERROR", field)


def test_a_lone_surrogate_is_a_400_not_a_storage_error(api):
    body = '{"user_id": "alice", "title": "half \\ud83c a pair"}'
    assert_error(post_raw(api, body), 400, "VALIDATION_ERROR", "title")


def test_a_refused_create_stores_and_publishes_nothing(api, aws):
    api.create(title="x" * 201)
    assert api.list(user_id="alice").json()["data"] == []
    assert aws.drain() == []


# Query parameters and cursors --------------------------------------------------------------


@pytest.mark.parametrize("limit", ["0", "1000", "abc", "-1", "1.5", "101", "1e2"])
def test_bad_limits_are_a_400(api, limit):
    assert_error(api.list(user_id="alice", limit=limit), 400, "VALIDATION_ERROR", "limit")


def test_listing_without_a_user_is_a_400(api):
    assert_error(api.client.get("/tasks"), 400, "VALIDATION_ERROR", "user_id")
    assert_error(api.list(user_id="  "), 400, "VALIDATION_ERROR", "user_id")


@pytest.mark.parametrize("cursor", ["garbage", "a.b", "eyJ4IjogMX0.AAAAAAAAAAAAAAAAAAAAAA", "%%%", "x" * 2000])
def test_garbled_cursors_are_a_400(api, cursor):
    api.created()
    assert_error(api.list(user_id="alice", cursor=cursor), 400, "VALIDATION_ERROR", "cursor")


def test_another_users_cursor_is_a_400_and_reveals_nothing(api):
    for i in range(3):
        api.created("alice", f"secret {i}")
    api.created("mallory", "mine")
    cursor = api.list(user_id="alice", limit=1).json()["pagination"]["next_cursor"]
    body = assert_error(api.list(user_id="mallory", cursor=cursor), 400, "VALIDATION_ERROR", "cursor")
    assert "secret" not in json.dumps(body)


def test_a_tampered_cursor_is_a_400(api):
    for i in range(3):
        api.created(title=f"t{i}")
    cursor = api.list(user_id="alice", limit=1).json()["pagination"]["next_cursor"]
    payload, signature = cursor.split(".")
    tampered = f"{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{signature}"
    assert_error(api.list(user_id="alice", cursor=tampered), 400, "VALIDATION_ERROR", "cursor")


# Size, negotiation, headers ----------------------------------------------------------------


def test_a_body_over_the_limit_is_a_413(api, settings):
    big = json.dumps({"user_id": "alice", "title": "t", "description": "d" * settings.MAX_REQUEST_BODY_BYTES})
    assert_error(post_raw(api, big), 413, "PAYLOAD_TOO_LARGE")


def test_an_unsatisfiable_accept_header_still_gets_json(api):
    task = api.created()
    response = api.client.get(f"/tasks/{task['task_id']}", HTTP_ACCEPT="application/xml")
    assert response.status_code == 200
    assert response.json()["data"]["task_id"] == task["task_id"]


def test_a_basic_authorization_header_is_ignored_rather_than_a_500(api):
    response = api.client.get("/tasks", {"user_id": "alice"}, HTTP_AUTHORIZATION="Basic YWxpY2U6c2VjcmV0")
    assert response.status_code == 200


def test_an_unknown_host_is_a_json_400(api):
    assert_error(api.client.get("/tasks", {"user_id": "a"}, HTTP_HOST="evil.example"), 400, "VALIDATION_ERROR")


# Server errors ---------------------------------------------------------------------------


def test_a_server_error_is_a_generic_500_logged_with_traceback_and_request_id(api, aws, caplog):
    aws.target.client("dynamodb").delete_table(TableName=aws.resources.table_name)  # a broken deployment
    response = api.client.get(f"/tasks/{UNKNOWN_TASK}", HTTP_X_REQUEST_ID="req-500-test")
    body = assert_error(response, 500, "INTERNAL_ERROR")
    assert response["X-Request-ID"] == "req-500-test"
    text = json.dumps(body)
    assert "Traceback" not in text
    assert "ResourceNotFound" not in text
    assert "tasks-test" not in text
    [record] = [r for r in caplog.records if r.levelname == "ERROR" and r.exc_info]
    assert record.request_id == "req-500-test"
    assert "ResourceNotFound" in caplog.text


# Found by fuzzing the running stack -------------------------------------------------------


def test_json_nested_too_deeply_is_a_400(api):
    body = assert_error(post_raw(api, "[" * 20_000 + "]" * 20_000), 400, "VALIDATION_ERROR")
    assert "nested too deeply" in body["error"]["message"]


@pytest.mark.parametrize("depth", [10, 500, 900, 980])
def test_a_repeated_name_deep_in_the_body_is_a_400_at_any_depth_the_parser_takes(api, depth):
    """The walk that finds where a name is repeated goes as deep as JSON's parser went: a repeat
    under hundreds of levels was a RecursionError, a 500."""
    body = '{"a":' * depth + '{"x":1,"x":2}' + "}" * depth
    response = post_raw(api, body)
    assert response.status_code == 400, response.content[:300]
    [(where, messages)] = response.json()["error"]["details"].items()
    assert where == ".".join(["a"] * depth + ["x"])
    assert "more than once" in messages[0]


@pytest.mark.parametrize("path", ["/", "/tasks", f"/tasks/{UNKNOWN_TASK}", "/api/schema", "/swagger"])
def test_too_many_query_parameters_are_a_400(api, path):
    query = "&".join(f"p{i}=1" for i in range(1001))
    assert_error(api.client.get(f"{path}?user_id=a&{query}"), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("path", ["/swagger", "/api/schema", "/swagger/"])
def test_the_docs_refuse_other_methods_in_json(api, method, path):
    response = getattr(api.client, method)(path, HTTP_ACCEPT="*/*")
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert response["Allow"] == "GET, HEAD, OPTIONS"  # OPTIONS answers their metadata (test_http_edges)


def test_an_unknown_format_parameter_on_the_docs_is_ignored(api):
    swagger = api.client.get("/swagger?format=json")
    assert (swagger.status_code, swagger["Content-Type"]) == (200, "text/html; charset=utf-8")
    schema = api.client.get("/api/schema?format=bogus")
    assert schema.status_code == 200
    assert schema.content.startswith(b"openapi: 3")


def test_the_schema_is_available_as_json_by_format_parameter(api):
    response = api.client.get("/api/schema?format=json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


def test_head_works_where_get_does(api):
    assert api.client.head("/").status_code == 200
    assert api.client.head("/swagger").status_code == 200


def test_a_format_parameter_is_ignored_rather_than_a_404(api):
    api.created()
    response = api.client.get("/tasks", {"user_id": "alice", "format": "xml"})
    assert response.status_code == 200
    assert len(response.json()["data"]) == 1


def test_a_stored_item_that_breaks_the_rules_is_a_500_not_the_clients_fault(api, aws):
    task = api.created()
    key = {"PK": {"S": f"TASK#{task['task_id']}"}, "SK": {"S": f"TASK#{task['task_id']}"}}
    aws.target.client("dynamodb").update_item(
        TableName=aws.resources.table_name,
        Key=key,
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "Status"},
        ExpressionAttributeValues={":s": {"S": "archived"}},
    )
    assert_error(api.get(task["task_id"]), 500, "INTERNAL_ERROR")


def test_a_404_does_not_echo_a_huge_path_back(api):
    response = api.client.get("/" + "x" * 20_000)
    assert response.status_code == 404
    assert len(response.content) < 1_000
    assert response.json()["error"]["message"].startswith("There is nothing at /xxxx")


# Answers made outside DRF's views: the same bytes a view sends ---------------------------------


def _over_the_rate(api, settings):
    from tasks_app import bootstrap

    settings.THROTTLE_RATES = {"user": None, "ip": "1/day"}
    api.client.get("/tasks", {"user_id": "alice"})
    bootstrap.reset()  # another instance: its read runs beside its take, whose 429 replaces the page
    response = api.client.get("/tasks", {"user_id": "alice"})
    assert response.status_code == 429, response.content
    return response


def _preflight(api, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    headers = {"HTTP_ORIGIN": "https://app.example.com", "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST"}
    response = api.client.options("/tasks", **headers)
    assert response.json()["data"]["name"] == "CORS preflight"
    return response


ANSWERED_OUTSIDE_DRF = {
    "413, a Content-Length over the limit": lambda api, settings: api.client.generic(
        "POST", "/tasks", b"{}", content_type="application/json", CONTENT_LENGTH=str(10**9)
    ),
    "400, a Content-Length that is not a number": lambda api, settings: api.client.generic(
        "POST", "/tasks", b"{}", content_type="application/json", CONTENT_LENGTH="ten"
    ),
    "429, replaced by the rate limit's middleware": _over_the_rate,
    "200, a CORS preflight": lambda api, settings: _preflight(api, settings),
    "405, a plain Django view": lambda api, settings: api.client.post("/favicon.ico"),
    "200, a plain Django view's OPTIONS": lambda api, settings: api.client.options("/favicon.ico"),
}


@pytest.mark.usefixtures("frozen_rate_window")
@pytest.mark.parametrize("answer", ANSWERED_OUTSIDE_DRF.values(), ids=ANSWERED_OUTSIDE_DRF.keys())
def test_answers_made_outside_drfs_views_are_rendered_as_its_views_render_them(api, settings, answer):
    """Middleware and plain Django views answer in the bytes DRF's views send (compact JSON), with
    a Content-Length: a client cannot tell them apart but by status and message."""
    from rest_framework.renderers import JSONRenderer

    response = answer(api, settings)

    assert response["Content-Type"] == "application/json", response.content
    assert response.content == JSONRenderer().render(response.json())  # not `{"success": false, ...}`
    assert response["Content-Length"] == str(len(response.content))
