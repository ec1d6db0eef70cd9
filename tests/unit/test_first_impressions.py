"""First impressions in the shell: `make run`'s banner opens on URLs that work and says how to
authenticate; counts agree with their nouns."""

from __future__ import annotations

import shlex
import sys
import threading
from pathlib import Path

import pytest

from config.environment import load_config
from ops.local.supervisor import LocalStackOptions, _banner
from ops.provisioning.resources import configured_resources
from tasks_app.management.base import counted

API, AWS = "http://127.0.0.1:8123", "http://127.0.0.1:4599"


def banner(state_dir: Path, checkout: Path) -> list[str]:
    options = LocalStackOptions(
        api_port=8123,
        aws_port=4599,
        state_dir=state_dir,
        autosave_seconds=30,
        reload=False,
        region="us-east-1",
        resources=configured_resources(),
        manage_py=checkout / "manage.py",
    )
    return _banner(API, AWS, options).splitlines()


def test_with_authentication_off_the_banner_opens_on_the_root_and_a_listing_that_works(settings, tmp_path):
    settings.AUTH_MODE = "none"
    lines = banner(tmp_path / ".local", tmp_path)
    first_url = lines[lines.index("Task API is running:") + 1].split()[1]
    assert first_url == f"{API}/"
    urls = [word for line in lines for word in line.split() if word.startswith(f"{API}/tasks")]
    assert urls[0] == f"{API}/tasks?user_id=alice"
    assert f"{API}/tasks" not in urls  # a bare listing is a 400 without a user_id


def test_with_authentication_on_the_banner_says_how_to_get_and_send_a_token(settings, tmp_path):
    settings.AUTH_MODE = "jwt"
    settings.JWT = load_config({"AUTH_MODE": "jwt"}).jwt  # development: the local key
    text = "\n".join(banner(tmp_path / ".local", tmp_path))
    assert "manage.py issue_token <user>" in text
    assert "Authorization: Bearer <token>" in text
    assert "LOCAL_STATE_DIR" not in text  # the default state: a plain shell finds the key


def test_with_its_own_state_directory_the_banners_token_command_names_it(settings, tmp_path):
    settings.AUTH_MODE = "jwt"
    settings.JWT = load_config({"AUTH_MODE": "jwt"}).jwt
    state = tmp_path / "my state"
    text = "\n".join(banner(state, tmp_path))
    assert f"LOCAL_STATE_DIR='{state}' " in text  # quoted for the shell: the key is there, not in .local
    assert f"{shlex.quote(sys.executable)} manage.py issue_token <user>" in text  # Python from outside the checkout


def test_the_banners_token_command_runs_the_checkouts_python_from_the_checkout(settings):
    settings.AUTH_MODE = "jwt"
    settings.JWT = load_config({"AUTH_MODE": "jwt"}).jwt
    checkout = Path(sys.executable).parents[2]  # as for .venv/bin/python in the checkout
    text = "\n".join(banner(checkout / ".local", checkout))
    assert f"  Token       {Path(sys.executable).relative_to(checkout)} manage.py issue_token <user>" in text


@pytest.mark.parametrize(
    ("count", "noun", "plural", "expected"),
    [
        (0, "event", None, "0 events"),
        (1, "event", None, "1 event"),
        (2, "dead letter", None, "2 dead letters"),
        (1, "entry", "entries", "1 entry"),
        (3, "entry", "entries", "3 entries"),
    ],
)
def test_counts_agree_with_their_nouns(count, noun, plural, expected):
    assert counted(count, noun, plural) == expected


class _NoChildExited:
    def exited(self) -> list[tuple[str, int]]:
        return []


def test_the_start_up_check_takes_a_rate_limited_answer_as_up() -> None:
    """With THROTTLE_IP_RATE=3/min the check used to retry its 429 five times a second, spending
    the very budget it waited on."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from ops.local.supervisor import READINESS_PATH, _wait_for_api

    asked: list[str] = []

    class Throttling(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(429)
            self.send_header("Retry-After", "60")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Throttling)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        _wait_for_api(url, _NoChildExited(), stopping=lambda: False, timeout=5)  # type: ignore[arg-type]
    finally:
        server.shutdown()
        server.server_close()
    assert asked == [READINESS_PATH]  # once; a path no rate limit counts (the root spent a token)
