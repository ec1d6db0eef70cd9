"""A cold start's first request imports only what it needs (issue 12): resolving a task path must
not import the notification endpoints' code; their own paths still resolve."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = textwrap.dedent(
    """
    import sys
    import django
    django.setup()
    from django.urls import resolve
    resolve("/tasks/task-1")
    resolve("/tasks/stats")
    print("notifications_app.api.views" in sys.modules, "notifications_app.api.email_views" in sys.modules)
    print(resolve("/webhooks").url_name, resolve("/notifications/settings/").url_name)
    print("notifications_app.api.views" in sys.modules)
    """
)


def test_a_task_path_leaves_the_notification_endpoints_unimported_until_their_paths_are_asked_for() -> None:
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings", "ENVIRONMENT": "development"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:3] == ["False False", "webhook-list notifications-settings", "True"]
