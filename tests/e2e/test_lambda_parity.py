"""Lambda answers as the local server does (issue 11, item 6): the same requests, for every operation
in the schema and the errors around them, sent to `manage.py runserver` and to the Lambda
function's handler (as API Gateway invokes it), compared status, header for header, and body.

What may differ is `ALLOWED_DIFFERENCES`, each with its reason; anything else is a bug.
"""

from __future__ import annotations

import base64
import gzip
import http.client
import json
import re
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml
from django.conf import settings as django_settings

from ops.local.user_pool import CLIENT_ID, ISSUER, TokenIssuer
from tests.api import test_zappa_handler as zappa_api
from tests.api.test_zappa_handler import EXECUTE_API_HOST, STAGE, Invoke
from tests.e2e.local_stack import api_server

invoke = zappa_api.invoke  # the fixture that calls the function's handler in-process (pytest finds it here)

STARTUP_TIMEOUT = 60
YAML = "application/vnd.oai.openapi"  # the schema's default rendering
# Headers that may differ, by lower-case name, and why. Every other header must be equal on both
# sides (after each side's base URL is replaced, see `Side.normalized`).
ALLOWED_DIFFERENCES = {
    "date": "stamped by the server that sends the response: runserver here, API Gateway when deployed",
    "server": "runserver's own (`WSGIServer/0.2 CPython/…`); the application sends none",
    "connection": "hop-by-hop (RFC 9110 §7.6.1): the local server's connection handling; API Gateway has its own",
    "keep-alive": "hop-by-hop, as Connection",
    "transfer-encoding": "hop-by-hop, as Connection",
    "content-length": "API Gateway sets its own from the body it sends; where a side sends one it must be "
    "the length of its body, or for HEAD that of the GET (checked by `content_length_problems`)",
    "x-request-id": "a new random id per request unless the client sent one: present on both sides, and equal "
    "when the client sent one (checked separately)",
    "set-cookie": "the CSRF token is random and its expiry a date: cookie names and attributes are compared",
    "retry-after": "seconds to the end of the rate window, counted at each side's own moment: both must "
    "send one, a whole number (checked separately)",
    "allow": "compared as a set: order is not significant (RFC 9110 §10.2.1), and DRF's @api_view builds "
    "the list from a Python set, whose order changes with each process's hash seed",
}
# Not visible here, added by API Gateway in front of the function when deployed, for the record:
# x-amzn-RequestId, x-amz-apigw-id, X-Amzn-Trace-Id, and Content-Encoding: gzip (with the body
# compressed) for clients that accept it, because Zappa turns API Gateway's payload compression
# on (`payload_compression`, default true). The application itself never encodes a body.
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
_SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]+")  # a webhook's signing secret: random on each side
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_CSRF_TOKEN = re.compile(r"(csrf[\w-]*[\"']?\s*[:=]\s*[\"']?)[\w-]{20,}", re.IGNORECASE)
_TASK_PLACEHOLDER = re.compile(r"\{(task|other|once)\}")
# DRF's 429 message says the seconds to the window's end, counted at each side's own moment (as
# Retry-After): one side's request may fall a second later.
_SECONDS_LEFT = re.compile(r"Expected available in \d+ seconds?")


@dataclass
class Answer:
    """A response as the client gets it: status, every header (all values, by lower-case name), body."""

    status: int
    headers: dict[str, list[str]]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def text(self) -> str:
        """The body decoded (gunzipped if it was sent gzipped), as text."""
        content = gzip.decompress(self.body) if self.headers.get("content-encoding") == ["gzip"] else self.body
        return content.decode("utf-8", "replace")


@dataclass
class Side:
    """One way to reach the API, with what is particular to it: its base URL, its prefix, its ids."""

    name: str
    base_url: str  # scheme, host and script prefix: what absolute URLs start with
    prefix: str  # the script prefix alone ("/staging" on the execute-api host)
    send: Callable[..., Answer]
    user: str
    token: str | None = None
    tasks: dict[str, str] = field(default_factory=dict)  # the tasks it created, by the step's name for them

    def normalized(self, text: str) -> str:
        """`text` with this side's task ids, base URL, prefix and user replaced, then clocks, uuids, tokens."""
        for name, task_id in self.tasks.items():
            text = text.replace(task_id, f"<{name}>")
        text = text.replace(self.base_url, "<base>").replace(self.user, "<user>")
        if self.prefix:  # the prefix before an absolute path, as in "There is nothing at /staging/x"
            text = re.sub(rf"(?<![\w/.]){re.escape(self.prefix)}(?=/)", "", text)
        text = _UUID.sub("<uuid>", _TIMESTAMP.sub("<time>", _SECRET.sub("<secret>", text)))
        return _CSRF_TOKEN.sub(r"\1<csrf>", text)

    def filled(self, text: str) -> str:
        """`text` with `{user}` and the tasks' names (`{task}`) replaced by this side's values."""
        for name, value in {"user": self.user, **self.tasks}.items():
            text = text.replace(f"{{{name}}}", value)
        return text


def local_sender(port: int) -> Callable[..., Answer]:
    """Sends requests to runserver on `port` as a client would, one connection each."""

    def send(method: str, path: str, *, body: Any, query: dict[str, str] | None, headers: dict[str, str]) -> Answer:
        raw = None if body is None else (body if isinstance(body, str) else json.dumps(body)).encode()
        target = path + (f"?{urllib.parse.urlencode(query)}" if query else "")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request(method, target, raw, {"Content-Type": "application/json", **headers})
            response = connection.getresponse()
            content = response.read()
            received: dict[str, list[str]] = {}
            for name, value in response.getheaders():
                received.setdefault(name.lower(), []).append(value)
            return Answer(response.status, received, content)
        finally:
            connection.close()

    return send


def lambda_sender(call: Invoke) -> Callable[..., Answer]:
    """Calls the function's handler and reads its answer as API Gateway does (REST API, Lambda proxy).

    API Gateway merges `headers` and `multiValueHeaders`, the latter winning for a name in both
    (names compared as HTTP does, whatever their case), and decodes a base64 body (binary support).
    """

    def send(method: str, path: str, **request: Any) -> Answer:
        result = call(method, path, **request)
        merged: dict[str, list[str]] = {}
        for name, values in (result.get("multiValueHeaders") or {}).items():
            merged.setdefault(name.lower(), []).extend(str(value).strip() for value in values)
        for name, value in (result.get("headers") or {}).items():
            if name.lower() not in {listed.lower() for listed in result.get("multiValueHeaders") or {}}:
                merged.setdefault(name.lower(), []).append(str(value).strip())
        body = result.get("body") or ""
        content = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        return Answer(int(result["statusCode"]), merged, content)

    return send


@pytest.fixture
def start_runserver(aws: Any) -> Iterator[Callable[..., int]]:
    """Starts the local stack's API server on the test's local AWS with `extra` environment;
    returns the port. Stopped by PID after the test."""
    with ExitStack() as servers:
        yield lambda **extra: servers.enter_context(api_server(aws.server.url, STARTUP_TIMEOUT, **extra))


@dataclass(frozen=True)
class Step:
    """One request, sent to both sides; `{task}`, `{other}`, `{once}`, `{user}` are each side's own."""

    name: str
    method: str
    path: str
    expect: int = 200  # the status both must answer
    body: Any = None
    query: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    remember: str | None = None  # the name to give the task this step creates
    compare_body: bool = True  # False for pages whose markup holds per-request values (HTML)
    signed_in: bool = True  # with the side's bearer token, when it has one


HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
SIDECAR = "/static/drf_spectacular_sidecar/swagger-ui-dist"
STEPS = [
    Step("API root", "GET", "/"),
    Step("schema (YAML)", "GET", "/api/schema"),
    Step("schema as JSON", "GET", "/api/schema", query={"format": "json"}),
    Step("Swagger UI", "GET", "/swagger", compare_body=False),
    Step("a Swagger UI script", "GET", f"{SIDECAR}/swagger-ui-bundle.js"),
    Step(
        "a Swagger UI image, gzip accepted", "GET", f"{SIDECAR}/favicon-32x32.png", headers={"Accept-Encoding": "gzip"}
    ),
    Step(
        "create",
        "POST",
        "/tasks",
        body={"user_id": "{user}", "title": "Ship it", "tags": ["a"]},
        remember="task",
        expect=201,
    ),
    Step(
        "create, with a slash",
        "POST",
        "/tasks/",
        body={"user_id": "{user}", "title": "Bin it"},
        remember="other",
        expect=201,
    ),
    Step(
        "create with an Idempotency-Key",
        "POST",
        "/tasks",
        body={"user_id": "{user}", "title": "Once"},
        headers={"Idempotency-Key": "{user}-once"},
        remember="once",
        expect=201,
    ),
    Step(
        "create, replayed",
        "POST",
        "/tasks",
        body={"user_id": "{user}", "title": "Once"},
        headers={"Idempotency-Key": "{user}-once"},
        expect=201,
    ),
    Step(
        "Idempotency-Key reused (422)",
        "POST",
        "/tasks",
        body={"user_id": "{user}", "title": "Twice"},
        headers={"Idempotency-Key": "{user}-once"},
        expect=422,
    ),
    Step("get", "GET", "/tasks/{task}"),
    Step("get, unchanged (304)", "GET", "/tasks/{task}", headers={"If-None-Match": '"1"'}, expect=304),
    Step("get, gzip accepted", "GET", "/tasks/{task}", headers={"Accept-Encoding": "gzip, deflate, br"}),
    Step("HEAD a task", "HEAD", "/tasks/{task}"),
    Step("list", "GET", "/tasks", query={"user_id": "{user}", "limit": "2"}),
    Step("list, bad cursor (400)", "GET", "/tasks", query={"user_id": "{user}", "cursor": "nope"}, expect=400),
    Step("patch", "PATCH", "/tasks/{task}", body={"title": "Shipped"}, headers={"If-Match": '"1"'}),
    Step(
        "patch, stale If-Match (412)",
        "PATCH",
        "/tasks/{task}",
        body={"title": "Late"},
        headers={"If-Match": '"1"'},
        expect=412,
    ),
    Step("start", "POST", "/tasks/{task}/start"),
    Step("complete", "POST", "/tasks/{task}/complete"),
    Step("complete again (409)", "POST", "/tasks/{task}/complete", expect=409),
    Step("reopen", "POST", "/tasks/{task}/reopen"),
    Step("cancel, with an Idempotency-Key", "POST", "/tasks/{task}/cancel", headers={"Idempotency-Key": "{user}-c"}),
    Step("cancel, replayed", "POST", "/tasks/{task}/cancel", headers={"Idempotency-Key": "{user}-c"}),
    Step("delete", "DELETE", "/tasks/{other}", expect=204),
    Step("trash", "GET", "/tasks/trash", query={"user_id": "{user}"}),
    Step("restore", "POST", "/tasks/{other}/restore"),
    Step("events", "GET", "/tasks/{task}/events"),
    Step(
        "register a webhook",
        "POST",
        "/webhooks",
        body={"user_id": "{user}", "url": "http://127.0.0.1:9/hook", "event_types": ["TaskCompleted"]},
        remember="hook",
        expect=201,
    ),
    Step("list webhooks", "GET", "/webhooks", query={"user_id": "{user}"}),
    Step("get a webhook", "GET", "/webhooks/{hook}"),
    Step("patch a webhook", "PATCH", "/webhooks/{hook}", body={"description": "Renamed"}),
    Step("ping a webhook", "POST", "/webhooks/{hook}/test", remember="ping", expect=202),
    Step("a webhook's deliveries", "GET", "/webhooks/{hook}/deliveries"),
    Step("redeliver", "POST", "/webhooks/{hook}/deliveries/{ping}/redeliver", expect=202),
    Step("rotate a webhook's secret", "POST", "/webhooks/{hook}/rotate-secret"),
    Step("delete a webhook", "DELETE", "/webhooks/{hook}", expect=204),
    Step(
        "save notification settings",
        "PUT",
        "/notifications/settings",
        query={"user_id": "{user}"},
        body={"email": "{user}@example.com", "reminder_window_minutes": 30},
    ),
    Step("read notification settings", "GET", "/notifications/settings", query={"user_id": "{user}"}),
    Step("a forged confirmation link (400)", "GET", "/notifications/confirm", query={"token": "forged"}, expect=400),
    Step("stats", "GET", "/tasks/stats", query={"user_id": "{user}"}),
    Step("invalid body (400)", "POST", "/tasks", body={"user_id": "{user}", "title": "", "status": "done"}, expect=400),
    Step("malformed JSON (400)", "POST", "/tasks", body='{"title": ', expect=400),
    Step(
        "body over the limit (413)",
        "POST",
        "/tasks",
        body="x" * (django_settings.MAX_REQUEST_BODY_BYTES + 1),
        expect=413,
    ),
    Step("unknown task (404)", "GET", "/tasks/task-00000000-0000-4000-8000-000000000000", expect=404),
    Step("unknown path (404)", "GET", "/nothing/here", expect=404),
    Step("wrong method (405)", "PUT", "/tasks/{task}", body={"title": "x"}, expect=405),
    Step("wrong method on the schema (405)", "POST", "/api/schema", expect=405),
    Step("not JSON (415)", "POST", "/tasks", body="title=x", headers={"Content-Type": "text/plain"}, expect=415),
    Step("OPTIONS the list", "OPTIONS", "/tasks"),
    Step("OPTIONS a task", "OPTIONS", "/tasks/{task}"),
    Step("HEAD the list", "HEAD", "/tasks", query={"user_id": "{user}"}),
    Step("HEAD an unknown path (404)", "HEAD", "/nothing/here", expect=404),
    Step("a request id is echoed", "GET", "/tasks/{task}", headers={"X-Request-ID": "parity-check-1"}),
    Step("browser: the list", "GET", "/tasks", query={"user_id": "{user}"}, headers=HTML, compare_body=False),
    Step("browser: a task", "GET", "/tasks/{task}", headers=HTML, compare_body=False),
    Step("browser: unknown path", "GET", "/nothing/here", headers=HTML, compare_body=False, expect=404),
    Step("browser: Swagger UI", "GET", "/swagger", headers={**HTML, "Accept-Encoding": "gzip"}, compare_body=False),
]
SIGNED_IN_STEPS = [
    Step("no token (401)", "GET", "/tasks", signed_in=False, expect=401),
    Step(
        "a token that is not one (401)",
        "GET",
        "/tasks",
        headers={"Authorization": "Bearer not-a-jwt"},
        signed_in=False,
        expect=401,
    ),
    Step("create, signed in", "POST", "/tasks", body={"title": "Mine"}, remember="task", expect=201),
    Step("get, signed in", "GET", "/tasks/{task}"),
    Step("list, signed in", "GET", "/tasks"),
    Step("another user's list (403)", "GET", "/tasks", query={"user_id": "someone-else"}, expect=403),
    Step("Swagger UI, without a token", "GET", "/swagger", signed_in=False, compare_body=False),
    Step("the last request the user's rate allows", "GET", "/tasks/{task}"),  # the fifth counted
    Step("over the user's rate (429)", "GET", "/tasks/{task}", expect=429),
]
USER_RATE = "5/day"  # a day's window: the count cannot restart between the steps, as a minute's could


def send_step(step: Step, side: Side) -> Answer:
    """`step` sent through `side`, with its values; the task a create step made is remembered."""
    body = (
        step.body if isinstance(step.body, str) or step.body is None else json.loads(side.filled(json.dumps(step.body)))
    )
    query = {name: side.filled(value) for name, value in (step.query or {}).items()} or None
    headers = {name: side.filled(value) for name, value in step.headers.items()}
    if side.token and step.signed_in:
        headers.setdefault("Authorization", f"Bearer {side.token}")
    answer = side.send(step.method, side.filled(step.path), body=body, query=query, headers=headers)
    if step.remember and answer.status in (201, 202):
        data = answer.json()["data"]
        side.tasks[step.remember] = data.get("delivery_id") or data.get("webhook_id") or data["task_id"]
    return answer


def differences(step: Step, answers: tuple[Answer, Answer], sides: tuple[Side, Side]) -> list[str]:
    """What differs between the local and the Lambda answer to `step`, apart from ALLOWED_DIFFERENCES,
    and what either gets wrong on its own (a status other than the step's, a Content-Length)."""
    local, remote = answers
    found = [f"status {local.status} locally, {remote.status} on Lambda"] if local.status != remote.status else []
    if local.status != step.expect:
        found.append(f"status {local.status} locally where the step expects {step.expect}: fix the step or the API")
    found += header_differences(answers, sides)
    for answer, side in zip(answers, sides, strict=True):
        found += content_length_problems(step, answer, side)
        if len(answer.headers.get("x-request-id", [])) != 1:
            found.append(f"X-Request-ID {answer.headers.get('x-request-id')} from {side.name}")
        if not all(value.isdigit() for value in answer.headers.get("retry-after", [])):
            found.append(f"Retry-After {answer.headers['retry-after']} from {side.name}: not whole seconds")
    if ("retry-after" in local.headers) != ("retry-after" in remote.headers):
        found.append("a Retry-After from one side only")
    if "X-Request-ID" in step.headers and local.headers.get("x-request-id") != remote.headers.get("x-request-id"):
        found.append("the X-Request-ID sent was not echoed by both")
    if step.method == "HEAD" and remote.body:
        found.append(f"a body of {len(remote.body)} bytes for HEAD on Lambda (runserver sends none)")
    bodies = [_body(answer, side) for answer, side in zip(answers, sides, strict=True)] if step.compare_body else []
    if bodies and bodies[0] != bodies[1]:
        at = next((n for n, pair in enumerate(zip(*bodies, strict=False)) if pair[0] != pair[1]), min(map(len, bodies)))
        start = max(at - 80, 0)
        found.append(f"body, from character {start}:\n    local  {bodies[0][start : at + 200]!r}")
        found.append(f"  lambda {bodies[1][start : at + 200]!r}")
    return found


def header_differences(answers: tuple[Answer, Answer], sides: tuple[Side, Side]) -> list[str]:
    """Every header but those ALLOWED_DIFFERENCES skips, compared after each side's values are normalized."""
    found = []
    for name in sorted(set(answers[0].headers) | set(answers[1].headers)):
        if name in ALLOWED_DIFFERENCES and name not in {"set-cookie", "allow"}:
            continue
        mine, theirs = (_header(name, answer, side) for answer, side in zip(answers, sides, strict=True))
        if mine != theirs:
            found.append(f"{name}: {mine} locally, {theirs} on Lambda")
    return found


def content_length_problems(step: Step, answer: Answer, side: Side) -> list[str]:
    """A Content-Length must be the body's length (RFC 9110 §8.6); for HEAD the GET's, so not checked."""
    lengths = answer.headers.get("content-length")
    if lengths is None or step.method == "HEAD" or lengths == [str(len(answer.body))]:
        return []
    return [f"{side.name}'s Content-Length {lengths} for a body of {len(answer.body)} bytes"]


def _header(name: str, answer: Answer, side: Side) -> list[str] | None:
    values = answer.headers.get(name)
    if values is None:
        return None
    if name == "set-cookie":
        return sorted(_cookie_shape(value) for value in values)
    if name == "allow":
        return sorted({method.strip() for value in values for method in value.split(",")})
    return [side.normalized(value) for value in values]


def _cookie_shape(value: str) -> str:
    """A Set-Cookie line without its value and expiry date (both new on every response)."""
    name, _, attributes = value.partition(";")
    kept = [part.strip() for part in attributes.split(";") if not part.strip().lower().startswith("expires=")]
    return "; ".join([name.partition("=")[0].strip(), *sorted(kept)])


def _media_type(answer: Answer) -> str:
    return answer.headers.get("content-type", [""])[0].partition(";")[0].strip()


def _body(answer: Answer, side: Side) -> str:
    text = answer.text()
    try:
        data = yaml.safe_load(text) if _media_type(answer) == YAML else json.loads(text)
    except ValueError:
        return side.normalized(text)
    if isinstance(data, dict) and isinstance(data.get("pagination"), dict) and data["pagination"]["next_cursor"]:
        data["pagination"]["next_cursor"] = "<cursor>"  # opaque, and made of this side's ids and clock
    if isinstance(data, dict) and "openapi" in data:
        data.pop("servers", None)  # the request's script prefix, by design (issue 11, item 2)
    return side.normalized(_SECONDS_LEFT.sub("Expected available in <n> seconds", json.dumps(data, sort_keys=True)))


def run(
    steps: list[Step], sides: tuple[Side, Side], before: dict[str, Callable[[], Any]] | None = None
) -> tuple[list[str], dict[str, tuple[Answer, Answer]]]:
    """Sends every step to both sides, local first (after `before[step.name]()`, if any).

    Returns a report of each step's differences ([] when none), and the answers by step name."""
    report, answered = [], {}
    for step in steps:
        (before or {}).get(step.name, lambda: None)()
        answers = answered[step.name] = (send_step(step, sides[0]), send_step(step, sides[1]))
        if found := differences(step, answers, sides):
            report.append(f"{step.name} ({step.method} {step.path}):\n  " + "\n  ".join(found))
    return report, answered


def sides(
    port: int, call: Invoke, *, users: tuple[str, str], tokens: tuple[str | None, str | None]
) -> tuple[Side, Side]:
    local = Side("local", f"http://127.0.0.1:{port}", "", local_sender(port), users[0], tokens[0])
    remote = Side(
        "lambda", f"https://{EXECUTE_API_HOST}/{STAGE}", f"/{STAGE}", lambda_sender(call), users[1], tokens[1]
    )
    return local, remote


def operations_sent(steps: list[Step]) -> set[tuple[str, str]]:
    """(method, path template) of each step, as the schema names them."""
    return {(step.method, _template(step.path)) for step in steps}


def _template(path: str) -> str:
    """A step's path as the schema names it: `{hook}` is a `{webhook_id}`, `{ping}` a `{delivery_id}`."""
    path = path.replace("{hook}", "{webhook_id}").replace("{ping}", "{delivery_id}")
    return _TASK_PLACEHOLDER.sub("{task_id}", path).rstrip("/") or "/"


def test_the_lambda_handler_answers_every_operation_as_runserver_does(
    start_runserver: Callable[..., int], invoke: Invoke, aws: Any
) -> None:
    both = sides(start_runserver(), invoke, users=("parity-local", "parity-lambda"), tokens=(None, None))
    report, answers = run(STEPS, both, before={"events": aws.process_events})  # the worker's part, for both sides
    assert not report, "The Lambda handler and runserver answer differently:\n" + "\n".join(report)

    schema = answers["schema as JSON"][0].json()
    documented = {(method.upper(), path) for path, item in schema["paths"].items() for method in item}
    documented = {(method, path) for method, path in documented if method in {"GET", "POST", "PATCH", "DELETE", "PUT"}}
    assert documented <= operations_sent(STEPS), f"operations never compared: {documented - operations_sent(STEPS)}"


def test_with_authentication_and_a_rate_limit_the_lambda_handler_answers_as_runserver_does(
    start_runserver: Callable[..., int], invoke: Invoke, issuer: TokenIssuer, settings: Any
) -> None:
    jwt = {"AUTH_MODE": "jwt", "JWT_ISSUER": ISSUER, "JWT_AUDIENCE": CLIENT_ID, "JWT_JWKS_URL": issuer.jwks_url}
    jwt["THROTTLE_USER_RATE"] = USER_RATE
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "user": USER_RATE}
    users = ("parity-local", "parity-lambda")
    both = sides(start_runserver(**jwt), invoke, users=users, tokens=(issuer.token(users[0]), issuer.token(users[1])))
    report, _ = run(SIGNED_IN_STEPS, both)
    assert not report, "The Lambda handler and runserver answer differently:\n" + "\n".join(report)
