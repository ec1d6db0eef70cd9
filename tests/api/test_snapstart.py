"""SnapStart hooks: the snapshot holds the loaded URLconf; a restored instance makes new clients."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from collections.abc import Callable
from typing import Any

import pytest

from config import snapstart
from events_app import bootstrap as events_wiring
from events_app.read_models import TaskEventItem
from tasks_app import bootstrap
from tasks_app.adapters.dynamodb.models import TaskItem
from tests.snapstart_script import SNAPSHOT_PRELUDE


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Callable[[], None]]]:
    """Lambda's `snapshot_restore_py`, as the python3.13 runtime provides it."""
    hooks: dict[str, list[Callable[[], None]]] = {"before_snapshot": [], "after_restore": []}
    module = types.ModuleType("snapshot_restore_py")
    module.register_before_snapshot = hooks["before_snapshot"].append  # type: ignore[attr-defined]
    module.register_after_restore = hooks["after_restore"].append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", module)
    return hooks


def test_without_the_runtime_nothing_is_registered() -> None:
    snapstart.install()  # no snapshot_restore_py outside Lambda: no error


def test_the_snapshot_is_taken_with_the_urlconf_loaded() -> None:
    """In a fresh process, as on Lambda: Django set up at import, the views not yet loaded."""
    script = (
        SNAPSHOT_PRELUDE
        + """
loaded_before = "tasks_app.api.views" in sys.modules
[hook() for hook in hooks]
print(loaded_before, "tasks_app.api.views" in sys.modules)
"""
    )
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=environment, check=True
    )
    assert result.stdout.split() == ["False", "True"], result.stderr


def test_a_restored_instance_connects_afresh(runtime: dict[str, list[Any]], api: Any) -> None:
    snapstart.install()
    [after_restore] = runtime["after_restore"]
    api.created()  # a request before the snapshot: every client and connection in use
    connection, sns = bootstrap.table_connection(), bootstrap.aws_target().client("sns")
    model_connection = TaskItem._get_connection()
    events_wiring.read_models().history("task-none")  # the read models' model classes connect too
    read_model_connection = TaskEventItem._get_connection()
    after_restore()
    assert bootstrap.table_connection() is not connection
    assert bootstrap.aws_target().client("sns") is not sns
    assert TaskItem._get_connection() is not model_connection
    assert TaskEventItem._get_connection() is not read_model_connection
    assert api.created()["status"] == "pending"  # and the restored instance still works


def test_a_request_does_no_database_housekeeping_as_there_is_no_database() -> None:
    """DATABASES is empty: Django's per-request `reset_queries` and `close_old_connections` would
    ask for the connections on every request for nothing (issue 12). In a fresh process, as a
    server or Lambda runs one (Django's test client connects them again around its requests)."""
    script = """
import django, io, sys
django.setup()
from django.core.handlers.wsgi import WSGIHandler
from django.db import connections
from wsgiref.util import setup_testing_defaults
asked = []
listing = connections.all
connections.all = lambda *args, **kwargs: asked.append(args) or listing(*args, **kwargs)
environ = {"PATH_INFO": "/", "HTTP_HOST": "localhost", "wsgi.input": io.BytesIO()}
setup_testing_defaults(environ)
statuses = []
response = WSGIHandler()(environ, lambda status, headers: statuses.append(status))
b"".join(response)
response.close()
print(statuses[0].split()[0], len(asked))
"""
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=environment, check=False
    )
    assert result.stdout.splitlines()[-1].split() == ["200", "0"], result.stderr[-2000:]  # after the metrics line
