"""The OpenAPI schema says what the API does (issue 11): its servers behind a stage prefix, one
generation per process, what each input accepts, clean component names and the request id."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema_rs
import pytest
from django.test import Client, override_settings
from drf_spectacular.generators import SchemaGenerator

from tests.api import test_zappa_handler as zappa
from tests.api.test_zappa_handler import CUSTOM_DOMAIN, STAGE, payload

invoke = zappa.invoke  # the fixture that calls Zappa's handler in-process, shared with its own tests


def _schema() -> dict[str, Any]:
    response = Client().get("/api/schema", {"format": "json"})
    assert response.status_code == 200, response.content[:300]
    return dict(response.json())


def _operations(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": operation
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "responses" in operation
    }


def _body(schema: dict[str, Any], label: str) -> dict[str, Any]:
    """The request body schema of an operation, whatever its component is named."""
    ref = _operations(schema)[label]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return dict(schema["components"]["schemas"][ref.rsplit("/", 1)[-1]])


def _accepts(schema: dict[str, Any], value: Any) -> bool:
    """Whether `value` is valid for `schema`, as schemathesis (jsonschema-rs) judges it."""
    return bool(jsonschema_rs.validator_for(schema).is_valid(value))


# Item 2 of issue 11: Swagger UI behind API Gateway's stage prefix.


def test_the_schema_names_the_stage_as_its_server_behind_the_stage_prefix(invoke: Any) -> None:
    """Swagger UI's "Try it out" joins `servers[0].url` and a path: `/staging/tasks`, not `/tasks`
    (which API Gateway answers 403). On a custom domain the API is at the root: no `servers`,
    which OpenAPI defines as `/`. One process serves both, in any order."""
    for host, servers in [(None, [{"url": f"/{STAGE}"}]), (CUSTOM_DOMAIN, None), (None, [{"url": f"/{STAGE}"}])]:
        response = invoke("GET", "/api/schema", query={"format": "json"}, **({"host": host} if host else {}))
        assert response["statusCode"] == 200, response
        document = payload(response)
        assert document.get("servers") == servers, host
        assert "/tasks" in document["paths"]  # the paths stay relative to the server


def test_a_local_schema_has_no_servers_so_the_root_of_the_host() -> None:
    assert "servers" not in _schema()


# Item 7 (part) of issue 11: the schema is built once per process.


def test_the_schema_is_generated_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    generated = []
    original = SchemaGenerator.get_schema

    def counting(self: SchemaGenerator, *args: Any, **kwargs: Any) -> Any:
        generated.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SchemaGenerator, "get_schema", counting)
    first = _schema()  # built now, unless an earlier test of this process already did
    built_before = len(generated)
    assert built_before <= 1
    for _ in range(3):
        assert _schema() == first
    assert len(generated) == built_before, "every request rebuilt the schema"


def test_the_cached_schema_follows_the_auth_mode() -> None:
    """The auth mode changes the document (security, required `user_id`): one per mode."""
    with override_settings(AUTH_MODE="jwt"):
        on = _schema()
    off = _schema()
    assert {} not in on["paths"]["/tasks"]["get"]["security"]
    assert {} in off["paths"]["/tasks"]["get"]["security"]


# Item 5 of issue 11 and its whole kind: every input accepts what its schema says, and only that.


def _query_parameter(schema: dict[str, Any], label: str, name: str) -> dict[str, Any]:
    [parameter] = [p for p in _operations(schema)[label]["parameters"] if p["name"] == name]
    return dict(parameter)


@pytest.mark.parametrize("path", ["/tasks", "/tasks/stats", "/tasks/trash"])
def test_an_empty_user_id_is_the_caller_and_the_schema_says_so(path: str, api: Any, issuer: Any) -> None:
    schema = _schema()
    parameter = _query_parameter(schema, f"GET {path}", "user_id")
    assert parameter.get("required", False) is False
    assert parameter["allowEmptyValue"] is True
    assert "empty value is the same as leaving the parameter out" in parameter["description"]
    caller = api.signed_in(issuer.token("alice"))
    given_empty = caller.client.get(path, {"user_id": ""})
    left_out = caller.client.get(path)
    assert given_empty.status_code == left_out.status_code == 200
    assert given_empty.json()["data"] == left_out.json()["data"]


@pytest.mark.parametrize("path", ["/tasks", "/tasks/stats", "/tasks/trash"])
def test_without_authentication_user_id_is_required_and_an_empty_one_is_a_400(path: str, api: Any) -> None:
    parameter = _query_parameter(_schema(), f"GET {path}", "user_id")
    assert parameter["required"] is True
    assert "allowEmptyValue" not in parameter
    assert api.client.get(path, {"user_id": ""}).status_code == 400


def test_every_optional_query_parameter_takes_an_empty_value_for_none(api: Any) -> None:
    schema = _schema()
    for label in ("GET /tasks", "GET /tasks/trash", "GET /tasks/stats"):
        for parameter in _operations(schema)[label]["parameters"]:
            if parameter["in"] != "query" or parameter.get("required"):
                continue
            assert parameter.get("allowEmptyValue") is True, (label, parameter["name"])
            path = label.split(" ", 1)[1]
            response = api.client.get(path, {"user_id": "alice", parameter["name"]: ""})
            assert response.status_code == 200, (label, parameter["name"], response.content)


# Values each trimmed text field is tried with, and whether its rule (SPEC §1) accepts them.
def _text_cases(max_length: int) -> list[tuple[str, bool]]:
    return [
        ("x", True),
        ("  x  ", True),
        ("\u3000x\u2028", True),  # trimmed like any Unicode whitespace
        ("x" * max_length, True),
        ("  " + "x" * max_length + "\t", True),  # the length is the trimmed text's
        ("x" * (max_length + 1), False),
        ("", False),
        ("   ", False),
        ("a\x00b", False),
    ]


@pytest.mark.parametrize(("field", "max_length"), [("title", 200), ("user_id", 128)])
def test_a_trimmed_text_field_accepts_exactly_what_its_schema_says(field: str, max_length: int, api: Any) -> None:
    schema = _body(_schema(), "POST /tasks")["properties"][field]
    assert "maxLength" not in schema, "the raw text's length is not the rule: the trimmed text's is"
    for value, valid in _text_cases(max_length):
        body = {"user_id": "alice", "title": "A task", field: value}
        status = api.client.post("/tasks", body, format="json").status_code
        assert _accepts(schema, value) is valid, (field, value)
        assert (status == 201) is valid, (field, value, status)


def test_a_tag_accepts_exactly_what_its_schema_says(api: Any) -> None:
    schema = _body(_schema(), "POST /tasks")["properties"]["tags"]["items"]
    for value, valid in [*_text_cases(40), ("a,b", False), (" Finance ", True)]:
        status = api.client.post("/tasks", {"user_id": "alice", "title": "t", "tags": [value]}, format="json")
        assert _accepts(schema, value) is valid, value
        assert (status.status_code == 201) is valid, (value, status.status_code)


def test_nul_and_unpaired_surrogates_are_declared_wherever_text_goes_in(api: Any) -> None:
    """SPEC §1: a 400 everywhere, the schema included. NUL is in each pattern; a lone surrogate
    cannot be written in one that jsonschema-rs compiles, so each description says it."""
    schema = _schema()
    bodies = [_body(schema, label) for label in ("POST /tasks", "PATCH /tasks/{task_id}")]
    texts = {
        name: field
        for body in bodies
        for name, field in body["properties"].items()
        if "string" in json.dumps(field) and "format" not in field and "allOf" not in field
    }
    assert set(texts) == {"user_id", "title", "description", "tags"}
    for name, field in texts.items():
        assert not _accepts(field.get("items", field), "a\x00b"), name
        assert "unpaired surrogate" in field["description"], name
    for name in ("title", "description", "user_id", "tags"):
        value = '["\\ud800"]' if name == "tags" else '"\\ud800"'
        raw = '{"user_id": "alice", "title": "t", "%s": %s}' % (name, value)  # noqa: UP031 - JSON text
        response = api.client.post("/tasks", raw, content_type="application/json")
        assert response.status_code == 400, (name, response.content)


def test_the_status_filter_accepts_exactly_what_its_schema_says(api: Any) -> None:
    schema = _query_parameter(_schema(), "GET /tasks", "status")["schema"]
    cases = [
        ("pending", True),
        ("pending,in_progress", True),
        (" pending , completed ", True),
        (",pending,,", True),
        ("PENDING", False),
        ("pending,done", False),
        (",", False),
        (" ", False),
    ]
    for value, valid in cases:
        assert _accepts(schema, value) is valid, value
        status = api.client.get("/tasks", {"user_id": "alice", "status": value}).status_code
        assert (status == 200) is valid, (value, status)


def test_only_an_issued_cursor_is_valid_and_the_schema_says_what_one_looks_like(api: Any) -> None:
    parameter = _query_parameter(_schema(), "GET /tasks", "cursor")
    assert "next_cursor" in parameter["description"]
    assert "400" in parameter["description"]
    cursor_schema = parameter["schema"]
    for _ in range(2):
        api.created("alice")
    issued = api.client.get("/tasks", {"user_id": "alice", "limit": 1}).json()["pagination"]["next_cursor"]
    assert _accepts(cursor_schema, issued)
    assert api.client.get("/tasks", {"user_id": "alice", "limit": 1, "cursor": issued}).status_code == 200
    for forged in ("abc", "a" * 600, "abc.def"):
        assert api.client.get("/tasks", {"user_id": "alice", "cursor": forged}).status_code == 400, forged
    assert not _accepts(cursor_schema, "abc")
    assert not _accepts(cursor_schema, "a." + "b" * 600)
    assert "400" in _operations(_schema())["GET /tasks"]["responses"]


def test_request_bodies_refuse_unknown_fields_and_say_so(api: Any) -> None:
    schema = _schema()
    for label in ("POST /tasks", "PATCH /tasks/{task_id}"):
        assert _body(schema, label).get("additionalProperties") is False, label
    unknown = api.client.post("/tasks", {"user_id": "alice", "title": "t", "colour": "red"}, format="json")
    assert unknown.status_code == 400
    for action in ("start", "complete", "cancel", "reopen", "restore"):
        body = _body(schema, f"POST /tasks/{{task_id}}/{action}")
        assert (body.get("properties", {}), body.get("additionalProperties")) == ({}, False), action
        assert not _operations(schema)[f"POST /tasks/{{task_id}}/{action}"]["requestBody"].get("required"), action
    task_id = api.created()["task_id"]
    assert api.client.post(f"/tasks/{task_id}/start", {"colour": "red"}, format="json").status_code == 400


@pytest.mark.parametrize(
    ("label", "header"), [("PATCH /tasks/{task_id}", "If-Match"), ("GET /tasks/{task_id}", "If-None-Match")]
)
def test_the_conditional_headers_accept_exactly_what_their_schema_says(api: Any, label: str, header: str) -> None:
    """RFC 9110 §13.1: `*` or a list of quoted entity tags; anything else is a 400, and the schema says so."""
    [parameter] = [p for p in _operations(_schema())[label]["parameters"] if p["name"] == header]
    cases = [
        ('"1"', True),
        ('W/"1"', True),
        ("*", True),
        (' "7",\t"1" ', True),
        (', "1",,', True),
        ('"a,b"', True),
        ('"\u00e9"', True),  # obs-text
        ("", True),  # an empty list (RFC 9110 §5.6.1): it names no version
        (" ,\t, ", True),
        ("1", False),
        ('*, "1"', False),
        ('w/"1"', False),
        ('" 1"', False),
        ('"1" "2"', False),
    ]
    task_id = api.created()["task_id"]
    method, path = label.split(" ")
    for value, valid in cases:
        assert _accepts(parameter["schema"], value) is valid, value
        response = api.client.generic(
            method, path.format(task_id=task_id), '{"title": "t"}', "application/json", headers={header: value}
        )
        assert (response.status_code != 400) is valid, (value, response.status_code)


# Item 7 (part) of issue 11: component names.


def test_no_component_name_repeats_its_suffix() -> None:
    names = set(_schema()["components"]["schemas"])
    doubled = {name for name in names if re.search(r"(Request|Response|Envelope|Enum)\1$", name)}
    assert not doubled, f"rename with @extend_schema_serializer(component_name=...): {doubled}"
    assert {"TaskCreateRequest", "PatchedTaskUpdateRequest", "TaskResponse"} <= names


# Item 8 of issue 11: the request id.


def test_the_request_id_header_is_documented_as_it_behaves(api: Any) -> None:
    schema = _schema()
    for label, operation in _operations(schema).items():
        [given] = [p for p in operation["parameters"] if p["in"] == "header" and p["name"] == "X-Request-ID"]
        assert given.get("required", False) is False, label
        assert "128" in given["description"], label
        assert "replaced" in given["description"], label
        for status, response in operation["responses"].items():
            header = response.get("headers", {}).get("X-Request-ID")
            assert header is not None, (label, status)
            assert header["required"] is True, (label, status)
    returned = _operations(schema)["GET /tasks"]["responses"]["200"]["headers"]["X-Request-ID"]["schema"]
    client = Client()
    for sent, kept in [("trace-1/abc:9@x+y=z", True), ("x" * 128, True), ("has spaces", False), ("x" * 129, False)]:
        response = client.get("/tasks", {"user_id": "alice"}, HTTP_X_REQUEST_ID=sent)
        assert (response["X-Request-ID"] == sent) is kept, sent
        assert _accepts(returned, response["X-Request-ID"])
        assert _accepts(returned, sent) is kept, sent
