"""What every in-process benchmark needs: a fresh local AWS, a local user pool, Django pointed at
both in the production configuration (bearer tokens, the shipped rate limits, DEBUG off),
resources provisioned."""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ops.bench.lambda_api import ALLOWED_HOSTS
from ops.local.embedded_aws import EmbeddedAws
from ops.local.stream_relay import StreamFollower
from ops.local.user_pool import CLIENT_ID, ISSUER, TokenIssuer


@dataclass
class BenchStack:
    """The local AWS and the user pool the API trusts; `token(user)` is a bearer token for `user`
    (one per user, reused: signing is the client's cost, not the API's)."""

    aws: EmbeddedAws
    issuer: TokenIssuer
    _tokens: dict[str, str] = field(default_factory=dict)

    def token(self, user: str) -> str:
        if user not in self._tokens:
            self._tokens[user] = self.issuer.token(user)
        return self._tokens[user]

    def bearer(self, user: str) -> dict[str, str]:
        """The Authorization header for `user`."""
        return {"Authorization": f"Bearer {self.token(user)}"}


@contextmanager
def local_stack(table: str) -> Iterator[BenchStack]:
    """Django set up against a fresh local AWS, with the table, topic and queues provisioned.

    The production configuration where it matters to speed: AUTH_MODE=jwt with this user pool's
    keys (fetched once, as a warm instance has them), the rate limits at `config.environment`'s
    defaults (THROTTLE_* unset), DEBUG off, LOG_LEVEL=INFO (the caller keeps the lines out of
    its tables: `ops.bench.__main__`). ENVIRONMENT stays development only because staging
    insists on https for the keys' URL and on a real secret key, which change nothing measured."""
    issuer = TokenIssuer()
    try:
        with EmbeddedAws() as aws:
            for name in ("THROTTLE_USER_RATE", "THROTTLE_IP_RATE", "DJANGO_DEBUG"):
                os.environ.pop(name, None)
            os.environ.update(
                {
                    "ENVIRONMENT": "development",
                    "AWS_ENDPOINT_URL": aws.url,
                    "TABLE_NAME": table,
                    "LOG_LEVEL": "INFO",  # as the stages ship it
                    "AUTH_MODE": "jwt",
                    "JWT_ISSUER": ISSUER,
                    "JWT_AUDIENCE": CLIENT_ID,
                    "JWT_JWKS_URL": issuer.jwks_url,
                    "ALLOWED_HOSTS": ALLOWED_HOSTS,
                }
            )
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
            import django
            from django.core.management import call_command

            django.setup()
            call_command("provision", stdout=io.StringIO())
            yield BenchStack(aws, issuer)
    finally:
        issuer.stop()


def call_wsgi(
    method: str, path: str, body: dict[str, Any] | None = None, headers: Mapping[str, str] | None = None
) -> tuple[dict[str, Any], Callable[[], None]]:
    """What a WSGI server does: the client has the whole response before the server closes it.
    Returns the body ({} for a 204) and that close. The request's events are relayed from the
    table's stream (`stream_follower`, `relay_as_lambda`), not by the request."""
    from config.wsgi import application

    raw = json.dumps(body).encode() if body is not None else b""
    route, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": route, "QUERY_STRING": query, "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000", "HTTP_HOST": "127.0.0.1", "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(raw), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
        "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(raw)),
    }  # fmt: skip
    environ.update({f"HTTP_{name.upper().replace('-', '_')}": value for name, value in (headers or {}).items()})
    status: list[str] = []
    result = application(environ, lambda s, headers, exc_info=None: status.append(s))  # type: ignore[arg-type]
    payload = b"".join(result)
    if not status[0].startswith("2"):
        result.close()
        raise RuntimeError(f"{method} {path}: {status[0]} {payload!r}")
    return (dict(json.loads(payload)) if payload else {}), result.close


def stream_follower() -> StreamFollower:
    """A reader of the table's stream (not yet started), standing in for Lambda's stream poller."""
    from django.conf import settings

    from tasks_app import bootstrap

    target = bootstrap.aws_target()
    return StreamFollower(target.client("dynamodb"), target.client("dynamodbstreams"), settings.TABLE_NAME)


def relay_as_lambda(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """`records` handed to the function's stream handler as Lambda's event source hands them
    (`config.lambda_handlers.relay_stream`); the sequence numbers it could not publish."""
    from config.lambda_handlers import relay_stream

    failures = relay_stream({"Records": list(records)}, None)["batchItemFailures"]
    return [str(failure["itemIdentifier"]) for failure in failures]
