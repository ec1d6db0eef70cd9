"""The API as Lambda runs it, in this process: API Gateway REST proxy events handed to the
function's handler (`config.lambda_handlers.serve_http`, around Zappa's `lambda_handler`), warm.

`rest_event` builds the event the `{proxy+}` route Zappa creates sends (API Gateway developer
guide, "Input format of a Lambda function for proxy integration"): the path without the stage,
the query in `queryStringParameters` and `multiValueQueryStringParameters`, the caller's address
in `requestContext.identity.sourceIp`. `LambdaApi` calls the handler with such events, each from
the next of `CLIENT_ADDRESSES` client addresses, with a bearer token for the user it is told, so
that the shipped rate limits (per user and per address) count every request as they would in
production without turning a benchmark's hundreds of requests a minute into 429s.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import sys
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STAGE = "staging"
API_HOST = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
ALLOWED_HOSTS = ".execute-api.us-east-1.amazonaws.com,127.0.0.1,localhost,testserver"
SETTINGS_FILE = Path(__file__).resolve().parents[2] / "zappa_settings.json"
ADDRESSES_PER_BLOCK = 250  # host numbers 1..250 in each /24 of the range used
# Callers' addresses, taken in turn: at 100 requests a second each sends 375 a minute, under the
# shipped 1200/min, and the rate counters stay few (moto's queries read the whole table).
CLIENT_ADDRESSES = 16


def client_address(number: int) -> str:
    """The `number`th client address (0-based): 198.18.0.1, 198.18.0.2, … (198.18.0.0/15, RFC 2544's
    benchmarking range), 250 per /24, wrapping after 250 x 250 x 2 addresses."""
    block, host = divmod(number, ADDRESSES_PER_BLOCK)
    return f"198.{18 + (block // ADDRESSES_PER_BLOCK) % 2}.{block % ADDRESSES_PER_BLOCK}.{host + 1}"


def rest_event(
    method: str,
    path: str,
    *,
    query: Mapping[str, str] | None = None,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
    token: str | None = None,
    source_ip: str = "198.18.0.1",
    stage: str = STAGE,
) -> dict[str, Any]:
    """An API Gateway REST proxy event for `method` `path` (no stage prefix, no query string:
    the query goes in `query`); `body` is sent as JSON unless it is already a string. Raises
    ValueError if `path` holds a query string."""
    if "?" in path:
        raise ValueError(f"{path!r}: give the query as `query`, as API Gateway hands it over")
    all_headers = {
        "Host": API_HOST,
        "Accept": "application/json",
        "X-Forwarded-For": f"{source_ip}, 130.176.0.1",  # the client, then CloudFront's edge
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Port": "443",
        **({"Authorization": f"Bearer {token}"} if token else {}),
        **({"Content-Type": "application/json"} if body is not None else {}),
        **(headers or {}),
    }
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "queryStringParameters": dict(query) if query else None,
        "multiValueQueryStringParameters": {name: [value] for name, value in query.items()} if query else None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": f"/{stage}{path}",
            "stage": stage,
            "identity": {"sourceIp": source_ip, "userAgent": "ops.bench"},
            "requestId": "bench",
        },
        "body": body if isinstance(body, str) or body is None else json.dumps(body),
        "isBase64Encoded": False,
    }


def response_body(response: Mapping[str, Any]) -> Any:
    """The JSON body of the handler's answer (None for an empty one, a 204's)."""
    raw = str(response.get("body") or "")
    text = base64.b64decode(raw).decode() if response.get("isBase64Encoded") else raw
    return json.loads(text) if text else None


@dataclass(frozen=True)
class Answer:
    """The status and JSON body of one invocation."""

    status: int
    body: Any


class LambdaApi:
    """Calls the function's handler in-process, as Lambda would; Django must be set up.

    `tokens` gives a bearer token for a user id (cached by the caller: signing one costs about a
    millisecond, which is the client's, not the API's). Each call comes from the next of
    `CLIENT_ADDRESSES` addresses."""

    def __init__(self, tokens: Callable[[str], str], stage: str = STAGE) -> None:
        self._tokens = tokens
        self._stage = stage
        self._calls = 0
        self._handler = install_handler(stage)

    def event(
        self,
        method: str,
        path: str,
        *,
        user: str,
        query: Mapping[str, str] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """The event `call` would send, from the next client address."""
        self._calls += 1
        return rest_event(
            method,
            path,
            query=query,
            body=body,
            headers=headers,
            token=self._tokens(user),
            source_ip=client_address(self._calls % CLIENT_ADDRESSES),
            stage=self._stage,
        )

    def invoke(self, event: dict[str, Any]) -> Answer:
        """Hands `event` to the handler; raises RuntimeError unless the answer is a 2xx."""
        response = self._handler(event, None)
        status = int(response["statusCode"])
        if not 200 <= status < 300:
            raise RuntimeError(f"{event['httpMethod']} {event['path']}: {status} {response.get('body')!r}")
        return Answer(status, response_body(response))

    def call(self, method: str, path: str, *, user: str, **request: Any) -> Answer:
        """`invoke(event(...))`."""
        return self.invoke(self.event(method, path, user=user, **request))


# What Zappa's `LambdaHandler` prints when it is made (`__new__`, once per instance): noise in a table.
INSTANCING_LINE = "Instancing.."


def install_handler(stage: str) -> Callable[[dict[str, Any], object], Any]:
    """The function's handler, as zappa_settings.json names it, with the `zappa_settings` module
    Zappa generates for `stage` in place, and Zappa's handler instance made (Django set up for
    it) without its `Instancing..` line. Returns the handler."""
    import importlib

    from zappa import handler
    from zappa.cli import ZappaCLI

    cli = ZappaCLI()
    cli.api_stage = stage
    cli.load_settings(str(SETTINGS_FILE))
    module = types.ModuleType("zappa_settings")
    exec(cli.get_zappa_settings_string(), module.__dict__)  # noqa: S102 - Zappa's own generated settings
    sys.modules["zappa_settings"] = module
    handler.LambdaHandler._LambdaHandler__instance = None  # a fresh instance reads the settings above
    _instantiate_quietly(handler.LambdaHandler)
    entry_module, _, name = str(cli.lambda_handler).rpartition(".")
    function: Callable[[dict[str, Any], object], Any] = getattr(importlib.import_module(entry_module), name)
    return function


def _instantiate_quietly(handler_class: Callable[[], object]) -> None:
    """Makes Zappa's handler instance now (the first event would), its `Instancing..` line kept out
    of the benchmark's output; anything else it prints is printed. Zappa is not patched: the app
    prints what Zappa prints, on Lambda too (one line per instance in the function's log)."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        handler_class()
    for line in printed.getvalue().splitlines():
        if line != INSTANCING_LINE:
            print(line)
