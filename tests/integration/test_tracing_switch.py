"""TRACING switches X-Ray for a whole process: off (the default), the SDK is never imported and
nothing is sent; on, each request's segment goes to the daemon over UDP. Each case is a fresh
process, since installing patches botocore for good."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from typing import Any

import pytest
from django.conf import settings

CHILD = """
import json, sys
import django
django.setup()
from django.test import Client
status = Client(SERVER_NAME="localhost").get("/nothing/here").status_code
print(json.dumps({"status": status, "sdk_imported": "aws_xray_sdk" in sys.modules}))
"""


def serve_one_request(**variables: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One request in a fresh process with the test run's environment plus `variables`, a UDP
    socket standing in for the daemon; returns what the process printed and the documents sent."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as daemon:
        daemon.bind(("127.0.0.1", 0))
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}",
            **variables,
        }
        child = subprocess.run(
            [sys.executable, "-c", CHILD], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120
        )
        assert child.returncode == 0, child.stderr
        daemon.setblocking(False)
        sent = []
        while True:
            try:
                datagram = daemon.recv(65536)
            except BlockingIOError:
                break
            header, _, document = datagram.decode().partition("\n")  # the daemon protocol: a header line, then JSON
            assert json.loads(header) == {"format": "json", "version": 1}
            sent.append(json.loads(document))
    return json.loads(child.stdout.strip().splitlines()[-1]), sent


@pytest.mark.parametrize("switch", [{}, {"TRACING": "off"}])
def test_off_the_sdk_is_never_imported_and_nothing_is_sent(switch):
    printed, sent = serve_one_request(**switch)
    assert printed == {"status": 404, "sdk_imported": False}
    assert sent == []


def test_on_each_request_is_sent_to_the_daemon():
    printed, sent = serve_one_request(TRACING="on")
    assert printed == {"status": 404, "sdk_imported": True}
    assert [(document["name"], document["http"]["response"]["status"]) for document in sent] == [("unmatched", 404)]
