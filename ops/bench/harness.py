"""What every benchmark needs: a fresh local AWS, Django pointed at it, resources provisioned."""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from ops.local.embedded_aws import EmbeddedAws


@contextmanager
def local_stack(table: str) -> Iterator[EmbeddedAws]:
    with EmbeddedAws() as aws:
        os.environ.update(
            {
                "ENVIRONMENT": "development",
                "AWS_ENDPOINT_URL": aws.url,
                "TABLE_NAME": table,
                "LOG_LEVEL": "WARNING",
                # Measured on their own (api_vs_pynamodb.rate_limit_cost): one client would hit them.
                "THROTTLE_USER_RATE": "off",
                "THROTTLE_IP_RATE": "off",
            }
        )
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django
        from django.core.management import call_command

        django.setup()
        call_command("provision", stdout=io.StringIO())
        yield aws


def call_wsgi(
    method: str, path: str, body: dict[str, Any] | None = None, headers: Mapping[str, str] | None = None
) -> tuple[dict[str, Any], Callable[[], None]]:
    """What a WSGI server does: the client has the whole response before the server closes it,
    which is when the request's events are relayed. Returns the body ({} for a 204) and that close."""
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
