"""The Lambda zip run as Lambda runs it: unpacked, in a fresh interpreter that sees nothing else.

`run_in_package` starts `python -I -S -B` in the unpacked directory: no site-packages, no
PYTHONPATH, no .pyc written (Lambda's /var/task is read-only), so every import comes from the
zip or the standard library. The child imports the function's handler (with
INSTANTIATE_LAMBDA_HANDLER_ON_IMPORT, which sets Django up: Lambda's init phase, what SnapStart
snapshots), then hands it the given events and writes the responses and timings to a file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import boto3

from ops.provisioning import zappa_stage

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_FILE = ROOT / "zappa_settings.json"
API_HOST = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
# What Lambda hands the function: its execution role's credentials (told apart in moto's recorder).
ROLE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "ASIAEXECUTIONROLE", "AWS_SECRET_ACCESS_KEY": "testing"}


def local_client(aws_url: str, service: str, region: str = "us-east-1") -> Any:
    """A boto3 client for the local AWS, with the fake credentials, whatever the caller's setup."""
    session = boto3.session.Session(
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=region,
    )
    return session.client(service, endpoint_url=aws_url)  # type: ignore[call-overload]


def package_path(stage: str) -> Path:
    """Where `make package STAGE=<stage>` writes the zip."""
    return ROOT / "dist" / f"tasks-api-{stage}.zip"


def stage_settings(stage: str, settings_file: Path = SETTINGS_FILE) -> dict[str, Any]:
    """The stage with its `extends` chain applied, as Zappa and `provision --stage` read it."""
    return zappa_stage.stage_settings(settings_file, stage)


def unpack(package: Path, into: Path) -> Path:
    with zipfile.ZipFile(package) as archive:
        archive.extractall(into)
    return into


def sizes(package: Path) -> tuple[int, int]:
    """(zipped, unzipped) bytes."""
    with zipfile.ZipFile(package) as archive:
        return package.stat().st_size, sum(info.file_size for info in archive.infolist())


def api_event(method: str, path: str, *, stage: str, token: str | None = None, body: Any = None) -> dict[str, Any]:
    """An API Gateway REST proxy event, as the `{proxy+}` route Zappa creates sends it (a query
    string in `path` goes where API Gateway puts it, in the query string parameters)."""
    path, _, query = path.partition("?")
    parameters = parse_qs(query) or None
    headers = {"Host": API_HOST, "X-Forwarded-Proto": "https", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if body is not None:
        headers["Content-Type"] = "application/json"
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": {name: values[-1] for name, values in parameters.items()} if parameters else None,
        "multiValueQueryStringParameters": parameters,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "stage": stage,
            "httpMethod": method,
            "path": f"/{stage}{path}",
            "identity": {"sourceIp": "203.0.113.7"},
            "requestId": "rehearsal",
        },
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


@dataclass(frozen=True)
class ChildRun:
    """One fresh process: seconds from spawning it to the end of init, and each step's result."""

    init_seconds: float
    steps: list[dict[str, Any]]
    log: str
    # CPU seconds the process used up to the end of init and of the first step (interpreter start
    # included): what the machine's load does not stretch, unlike the wall-clock figures.
    init_cpu_seconds: float = 0.0
    first_response_cpu_seconds: float = 0.0

    @property
    def first_response_seconds(self) -> float:
        return self.init_seconds + float(self.steps[0]["seconds"])


# Standard library only: it runs with nothing but the unpacked zip on sys.path.
_CHILD = r"""
import json, sys, time
started, out, steps = float(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
sys.path.insert(0, ".")  # Lambda puts /var/task, the unpacked zip, first
isolated = not any("site-packages" in p or "dist-packages" in p for p in sys.path)
{init}
init, init_cpu = time.time() - started, time.process_time()
results = []
for step in steps:
    t = time.perf_counter()
    result = run(step)
    results.append({"result": result, "seconds": time.perf_counter() - t, "cpu": time.process_time()})
json.dump({"init": init, "init_cpu": init_cpu, "isolated": isolated, "steps": results}, open(out, "w"))
"""

ZAPPA_INIT = r"""
# The function's Handler (zappa_settings.json's lambda_handler); with
# INSTANTIATE_LAMBDA_HANDLER_ON_IMPORT set, importing it sets Django up.
from config.lambda_handlers import serve_http as lambda_handler

def run(step):
    kind = step["kind"]
    if kind == "event":
        event = json.loads(json.dumps(step["event"]).replace("{task_id}", globals().get("task_id", "")))
        response = lambda_handler(event, None)
        if response.get("statusCode") == 201 and "task_id" in (data := json.loads(response["body"])["data"]):
            globals()["task_id"] = data["task_id"]  # a created task's, for the steps after
        return response
    if kind == "sqs":  # what Lambda's SQS poller would hand the function: the messages now queued
        import boto3
        sqs = boto3.client("sqs")
        messages = sqs.receive_message(QueueUrl=step["queue_url"], MaxNumberOfMessages=10, WaitTimeSeconds=1)
        records = [
            {"eventSource": "aws:sqs", "eventSourceARN": step["queue_arn"], "messageId": m["MessageId"],
             "receiptHandle": m["ReceiptHandle"], "body": m["Body"], "attributes": {}, "messageAttributes": {}}
            for m in messages.get("Messages", [])
        ]
        return {"records": len(records), "response": lambda_handler({"Records": records}, None)}
    if kind == "import":
        try:
            __import__(step["module"])
        except ImportError:
            return "absent"
        return "present"
    raise ValueError(kind)
"""

# As SnapStart runs it: the runtime's hook module, Django set up and the before-snapshot hooks
# run in init (what the snapshot holds); the after-restore hooks run first in the first step.
SNAPSTART_INIT = (
    r"""
import types
_hooks = {"before": [], "after": []}
_runtime = types.ModuleType("snapshot_restore_py")
_runtime.register_before_snapshot = _hooks["before"].append
_runtime.register_after_restore = _hooks["after"].append
sys.modules["snapshot_restore_py"] = _runtime
"""
    + ZAPPA_INIT
    + r"""
for _hook in _hooks["before"]:
    _hook()
_zappa_run, _restored = run, []

def run(step):
    if not _restored:
        for hook in _hooks["after"]:
            hook()
        _restored.append(True)
    return _zappa_run(step)
"""
)

BARE_BOTO3_INIT = r"""
import os
import boto3
dynamodb = boto3.client("dynamodb")  # at init, as a handler should

def run(step):
    key = {"PK": {"S": step["key"]}, "SK": {"S": step["key"]}}
    return dynamodb.get_item(TableName=os.environ["TABLE_NAME"], Key=key, ConsistentRead=True).get("Item") is not None
"""


def run_in_package(
    directory: Path,
    env: Mapping[str, str],
    steps: Sequence[dict[str, Any]],
    *,
    init: str = ZAPPA_INIT,
    timeout: float = 120,
) -> ChildRun:
    """Runs the steps in a fresh interpreter inside the unpacked package; raises if it fails."""
    with tempfile.TemporaryDirectory(prefix="lambda-child-") as scratch:
        out = Path(scratch) / "result.json"
        started = time.time()
        arguments = [str(started), str(out), json.dumps(list(steps))]
        process = subprocess.run(
            [sys.executable, "-I", "-S", "-B", "-c", _CHILD.replace("{init}", init), *arguments],
            cwd=directory,
            # LAMBDA_TASK_ROOT: Lambda sets it; the X-Ray SDK tells Lambda by it (tasks_app/tracing.py).
            env={"PATH": os.defpath, "LANG": "C.UTF-8", "LAMBDA_TASK_ROOT": str(directory), **env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        log = process.stdout + process.stderr
        if process.returncode != 0 or not out.exists():
            raise RuntimeError(f"The package's process failed (exit {process.returncode}):\n{log[-4000:]}")
        result = json.loads(out.read_text())
    if not result["isolated"]:
        raise RuntimeError("The package's process saw a site-packages directory: it must see only the zip.")
    steps_run = list(result["steps"])
    return ChildRun(
        init_seconds=float(result["init"]),
        steps=steps_run,
        log=log,
        init_cpu_seconds=float(result["init_cpu"]),
        first_response_cpu_seconds=float(steps_run[0]["cpu"]) if steps_run else 0.0,
    )
