"""What every operation's OpenAPI documentation shares: the schema class the API serves with, schema
hooks, the example task, and the documented error responses built from the one error envelope."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework.schemas.inspectors import ViewInspector

from tasks_app.api.conditional import ENTITY_TAGS_PATTERN, MALFORMED
from tasks_app.api.errors import ErrorCode, error_body
from tasks_app.api.serializers import ErrorEnvelope


class DeferredAutoSchema(ViewInspector):
    """DRF's DEFAULT_SCHEMA_CLASS while the API serves requests: DRF looks it up (and makes one)
    whenever a router lists a viewset's actions or `@api_view` or `@extend_schema` decorates a
    view, so naming drf-spectacular's AutoSchema there imports its schema generator
    (`drf_spectacular.openapi`, with `rest_framework.test`, `django.test` and yaml: a tenth of a
    second) on every cold start. This one does nothing; the schema generator
    (`tasks_app.api.schema_generation`) puts drf-spectacular's AutoSchema under it when it runs.
    """


EXAMPLE_TASK = {
    "task_id": "task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21",
    "user_id": "user-42",
    "title": "Write the quarterly report",
    "description": "Numbers from finance first.",
    "status": "pending",
    "priority": "high",
    "due_at": "2026-11-30T17:00:00Z",
    "tags": ["finance", "q4"],
    "version": 1,
    "created_at": "2026-11-25T09:30:00.000000Z",
    "updated_at": None,
    "completed_at": None,
}
EXAMPLE_COMPLETED_TASK = {
    **EXAMPLE_TASK,
    "status": "completed",
    "version": 3,
    "updated_at": "2026-11-25T17:05:00.000000Z",
    "completed_at": "2026-11-25T17:05:00.000000Z",
}

TASK_ID_PATTERN = "^task-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"  # TaskId's rule
TASK_ID_PARAMETER = OpenApiParameter(
    "task_id",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The task's id: `task-` followed by a lower-case UUID4. Any other value names no task (404).",
    pattern=TASK_ID_PATTERN,
    examples=[OpenApiExample("A task id", value=EXAMPLE_TASK["task_id"])],
)


# The request headers show their example values in their descriptions only: Swagger UI would
# fill an example in and send it, and a fixed version or key is wrong for nearly every request.
_ENTITY_TAGS = {"type": "string", "pattern": ENTITY_TAGS_PATTERN}
IF_MATCH = OpenApiParameter(
    "If-Match",
    _ENTITY_TAGS,
    OpenApiParameter.HEADER,
    description='Only change the task if its ETag (version) is this one, e.g. `"3"`; otherwise 412 with the '
    "current ETag. Guards against overwriting a change you have not seen. `*` or a list of quoted entity tags "
    '(RFC 9110 §13.1.1): anything else, a bare `3` included, is a 400. A weak tag (`W/"3"`) never matches: '
    "If-Match compares strongly.",
)
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    _ENTITY_TAGS,
    OpenApiParameter.HEADER,
    description='The ETag of your copy, e.g. `"3"`: if the task is still at that version the answer is 304, no body. '
    '`*` or a list of quoted entity tags (RFC 9110 §13.1.2; `W/"3"` matches too): anything else, a bare `3` '
    "included, is a 400.",
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\u0020-\\u007e]*$"},
    OpenApiParameter.HEADER,
    description="1 to 255 printable ASCII characters, e.g. a UUID. Repeating the same request with the same key "
    "within 24 hours returns the first response again (with `Idempotent-Replayed: true`) and changes nothing; "
    "the same key with a different request is a 422.",
)
ETAG_HEADER = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=True,
    description='The task\'s version, e.g. `"3"`.',
    examples=[OpenApiExample("Version 3", value='"3"')],
)
REPLAYED_HEADER = OpenApiParameter(
    "Idempotent-Replayed",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=True,
    description="`true` when this is the stored first response to an earlier request with the same Idempotency-Key.",
    examples=[OpenApiExample("Replayed", value="true")],
)

REQUEST_ID_PATTERN = "^[A-Za-z0-9._:@/+=-]{1,128}$"  # config.observability's ACCEPTABLE_REQUEST_ID
REQUEST_ID = OpenApiParameter(
    "X-Request-ID",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Your id for this request, to find it in our logs: 1 to 128 of `A-Z a-z 0-9 . _ : @ / + = -` "
    "(no spaces). Any other value is not refused: it is replaced by a new id, which the response's "
    "`X-Request-ID` carries.",
)
REQUEST_ID_HEADER = OpenApiParameter(
    "X-Request-ID",
    {"type": "string", "pattern": REQUEST_ID_PATTERN},
    OpenApiParameter.HEADER,
    response=True,
    required=True,
    description="The request's id in our logs: yours from the request's `X-Request-ID` if it had the accepted "
    "form, otherwise a new one. Quote it when you report a problem.",
)


def security_follows_auth_mode(result: dict[str, Any], **_: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: with AUTH_MODE=none no token is needed, so say so."""
    from django.conf import settings

    if settings.AUTH_MODE == "none":
        for path in result.get("paths", {}).values():
            for operation in path.values():
                if isinstance(operation, dict) and "security" in operation:
                    operation["security"] = [*operation["security"], {}]
    return result


# With AUTH_MODE=none a request names its user; the README's examples and `issue_token` use alice.
LOCAL_EXAMPLE_USER = "alice"


def examples_follow_auth_mode(result: dict[str, Any], **_: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: examples that work as they are in the mode served.

    With authentication on, the examples name no user: a request acts for the token's, and
    naming anyone else is a 403. With it off, a request must name its user, so the examples
    name the local one: bodies that take a `user_id` get one, and so do `user_id` parameters
    (which Swagger UI fills in from their example); those bodies require it then, as the API does.
    """
    from django.conf import settings

    if settings.AUTH_MODE != "none":
        return result
    schemas = result.get("components", {}).get("schemas", {})
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("name") == "user_id" and parameter.get("in") == "query":
                    parameter["example"] = LOCAL_EXAMPLE_USER
            for content in operation.get("requestBody", {}).get("content", {}).values():
                body = schemas.get(content.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1], {})
                if "user_id" not in body.get("properties", {}):
                    continue
                body["required"] = sorted({*body.get("required", []), "user_id"})
                for example in content.get("examples", {}).values():
                    example["value"] = {"user_id": LOCAL_EXAMPLE_USER, **example.get("value", {})}
    return result


def without_trailing_slash(endpoints: list[tuple[str, str, str, Any]]) -> list[tuple[str, str, str, Any]]:
    """drf-spectacular preprocessing hook: document `/tasks`, not the router's `/tasks/`."""
    return [(path.rstrip("/") or "/", regex, method, view) for path, regex, method, view in endpoints]


def error_example(
    name: str, code: ErrorCode, message: str, details: dict[str, list[str]] | None = None
) -> OpenApiExample:
    """A documented error response body, built by the same `error_body` the API answers with."""
    return OpenApiExample(name, value=error_body(code, message, details), response_only=True)


def error_response(description: str, *examples: OpenApiExample) -> OpenApiResponse:
    """An error status's documentation: the envelope, when it happens, and examples."""
    return OpenApiResponse(ErrorEnvelope, description=description, examples=list(examples))


BAD_KEY_EXAMPLE = error_example(
    "Malformed Idempotency-Key",
    ErrorCode.VALIDATION_ERROR,
    "The request is not valid.",
    {"Idempotency-Key": ["Must be 1 to 255 printable ASCII characters."]},
)
_BAD_IF_MATCH_EXAMPLE = error_example(
    "Malformed If-Match",
    ErrorCode.VALIDATION_ERROR,
    "The request is not valid.",
    {"If-Match": [f"Must be {MALFORMED}"]},
)
BAD_IF_NONE_MATCH = error_response(
    "`If-None-Match` is not `*` or a list of quoted entity tags.",
    error_example(
        "Malformed If-None-Match",
        ErrorCode.VALIDATION_ERROR,
        "The request is not valid.",
        {"If-None-Match": [f"Must be {MALFORMED}"]},
    ),
)
INVALID_BODY = error_response(
    "The body is malformed JSON, not an object, gives a name twice, or a field is missing, unknown or invalid; or "
    "the If-Match or Idempotency-Key header is malformed.",
    error_example(
        "Invalid fields",
        ErrorCode.VALIDATION_ERROR,
        "The request is not valid.",
        {"title": ["This field may not be blank."]},
    ),
    error_example(
        "Malformed JSON", ErrorCode.VALIDATION_ERROR, "The body is not valid JSON: JSON parse error - Expecting value."
    ),
    _BAD_IF_MATCH_EXAMPLE,
    BAD_KEY_EXAMPLE,
)
_BODY_FIELD_EXAMPLE = error_example(
    "A body field",
    ErrorCode.VALIDATION_ERROR,
    "The request is not valid.",
    {"note": ["This request takes no body fields: send no body, or {}."]},
)
NO_BODY_FIELDS = error_response(
    "The body has a field (this request takes none), is not a JSON object, or is malformed JSON; or the "
    "If-Match header is not `*` or a list of quoted entity tags, or the Idempotency-Key header is not 1 to 255 "
    "printable ASCII characters.",
    _BODY_FIELD_EXAMPLE,
    _BAD_IF_MATCH_EXAMPLE,
    BAD_KEY_EXAMPLE,
)
NO_BODY_FIELDS_TO_DELETE = error_response(
    "The body has a field (DELETE takes none), is not a JSON object, or is malformed JSON; or the If-Match header "
    "is not `*` or a list of quoted entity tags.",
    _BODY_FIELD_EXAMPLE,
    _BAD_IF_MATCH_EXAMPLE,
)
TOO_LARGE = error_response(
    "The body is over the configured size limit.",
    error_example("Too large", ErrorCode.PAYLOAD_TOO_LARGE, "The body is 70000 bytes; the limit is 65536."),
)
NOT_JSON = error_response(
    "The body is not JSON (form bodies are accepted only from the browsable API's own HTML forms).",
    error_example("Plain text", ErrorCode.UNSUPPORTED_MEDIA_TYPE, 'Unsupported media type "text/plain" in request.'),
    error_example(
        "Form data",
        ErrorCode.UNSUPPORTED_MEDIA_TYPE,
        'Unsupported media type "application/x-www-form-urlencoded" in request. Send JSON (application/json): '
        "form bodies are accepted only from this API's own HTML forms.",
    ),
)
NOT_FOUND = error_response(
    "No task has this id.",
    error_example("Unknown task", ErrorCode.NOT_FOUND, f"Task {EXAMPLE_TASK['task_id']!r} was not found."),
)
NOT_AUTHENTICATED = error_response(
    "Authentication is on and the bearer token is missing or not valid.",
    error_example("No token", ErrorCode.NOT_AUTHENTICATED, "Authentication credentials were not provided."),
    error_example("Expired token", ErrorCode.NOT_AUTHENTICATED, "The token has expired."),
)
FORBIDDEN = error_response(
    "Another user's data, without being in the admin group.",
    error_example("Someone else's", ErrorCode.PERMISSION_DENIED, "You may only ask about your own tasks, not bob's."),
)
THROTTLED = error_response(
    "Over a rate limit; retry after the seconds in the `Retry-After` header.",
    error_example("Throttled", ErrorCode.THROTTLED, "Request was throttled. Expected available in 42 seconds."),
)
AUTH_UNAVAILABLE = error_response(
    "Authentication is on and the identity provider's keys cannot be fetched; retry after `Retry-After`.",
    error_example(
        "Keys unavailable", ErrorCode.SERVICE_UNAVAILABLE, "Tokens cannot be checked right now. Try again shortly."
    ),
)
SERVER_ERROR = error_response(
    "A bug on our side; the response carries no detail, the log has it under the request id.",
    error_example(
        "Server error",
        ErrorCode.INTERNAL_ERROR,
        "Something went wrong on our side. Quote the X-Request-ID header if you report it.",
    ),
)
PRECONDITION_FAILED = error_response(
    "`If-Match` names another version than the task's; the response's ETag is the current one.",
    error_example(
        "Stale version",
        ErrorCode.PRECONDITION_FAILED,
        f"Task {EXAMPLE_TASK['task_id']!r} has changed: it is at version 4. Read it again, then retry.",
    ),
)
KEY_REUSED = error_response(
    "The Idempotency-Key was used with a different request in the last 24 hours.",
    error_example(
        "Key reused",
        ErrorCode.IDEMPOTENCY_KEY_REUSED,
        "The Idempotency-Key 'k-1' was used with a different request in the last 24 hours: "
        "use a new key for a new request.",
    ),
)


# A response whose body is this envelope holds one task, at `data`; its id is at `/data/task_id`.
_ONE_TASK_ENVELOPE = "#/components/schemas/TaskEnvelope"
_TASK_ID_IN_BODY = "$response.body#/data/task_id"
_TASK_ID_IN_PATH = "$request.path.task_id"


def links_between_operations(result: dict[str, Any], **_: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: OpenAPI links that pass a task's id on.

    From every response holding one task (the 201 of a create; the 200 of a read, an update or
    an action) to every other operation on `/tasks/{task_id}`, with the id from the body; and
    from a bodiless success on a task (the 204 of a delete) to the others, with the id from the
    request's path, so that a restore can follow a delete. Clients and schemathesis's stateful
    tests follow them to chain requests. The operation ids are the generated ones, looked up here.
    """
    operations = [
        operation
        for path_item in result.get("paths", {}).values()
        for operation in path_item.values()
        if isinstance(operation, dict) and "operationId" in operation
    ]
    on_a_task = {
        operation["operationId"]
        for operation in operations
        if any(p.get("in") == "path" and p.get("name") == "task_id" for p in operation.get("parameters", []))
    }
    for operation in operations:
        for status, response in operation.get("responses", {}).items():
            if status not in ("200", "201", "204") or not isinstance(response, dict):
                continue
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            if schema.get("$ref") == _ONE_TASK_ENVELOPE:
                task_id = _TASK_ID_IN_BODY
            elif status == "204" and not response.get("content") and operation["operationId"] in on_a_task:
                task_id = _TASK_ID_IN_PATH
            else:
                continue
            response["links"] = {
                target: {
                    "operationId": target,
                    "parameters": {"task_id": task_id},
                    "description": f"`{target}` on the same task.",
                }
                for target in sorted(on_a_task - {operation["operationId"]})
            }
    return result


_EMPTY_IS_ABSENT = "An empty value is the same as leaving the parameter out."


def query_parameters_as_served(result: dict[str, Any], **_: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: query parameters as DRF reads them and the auth mode decides.

    DRF takes an empty value of an optional parameter (`?user_id=`, as HTML forms send unfilled
    fields) for no value, so each says `allowEmptyValue` (OpenAPI 3.0). `user_id` names whose
    data: with AUTH_MODE=none it is required (SPEC §2: there is no caller to default to), and
    with jwt it defaults to the caller, an empty value included.
    """
    from django.conf import settings

    owner_required = settings.AUTH_MODE == "none"
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") != "query":
                    continue
                if parameter.get("name") == "user_id" and owner_required:
                    parameter["required"] = True
                    continue
                if not parameter.get("required"):
                    parameter["allowEmptyValue"] = True
                    parameter["description"] = f"{parameter.get('description', '')}\n\n{_EMPTY_IS_ABSENT}".strip()
    return result
