"""The staging Lambda package: its size, and its cold start next to a bare boto3 handler's, like for like.

Every run is a fresh interpreter that sees only the unpacked zip (`ops.rehearsal.package`),
against the embedded local AWS, alternating the four kinds round by round:

- without SnapStart: the real handler, Django set up at import (INSTANTIATE_LAMBDA_HANDLER_ON_IMPORT:
  Lambda's init phase), then one GET /tasks/{id} API Gateway event with a bearer token; against a
  bare handler that imports boto3, makes a DynamoDB client at init, then the same GetItem. Timed
  from spawning the process to the first answer (init + first request), the interpreter's own
  start included on both sides.
- restored from SnapStart: the init above plus the before-snapshot hooks is what the snapshot
  holds; a restored instance pays the after-restore hooks and its first request. Against a bare
  handler restored the same way: boto3 imported at init, its client made after the restore (a
  snapshot's client would hold stale connections), then the GetItem. Timed from the restore (the
  first step) to the first answer, on both sides; Lambda's own restore is the same for both and
  cannot be measured here.

Targets (issue 12): without SnapStart at most `MAX_COLD_RATIO` x the bare handler's, restored at
most `MAX_RESTORED_RATIO` x the restored bare handler's (medians); the zip at most `MAX_ZIP_MIB`.
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from ops.bench.harness import BenchStack, call_wsgi
from ops.bench.targets import Verdict, ratio
from ops.local.user_pool import TokenIssuer
from ops.rehearsal.jwks import HttpsJwks
from ops.rehearsal.package import (
    BARE_BOTO3_INIT,
    ROOT,
    SNAPSTART_INIT,
    ChildRun,
    api_event,
    package_path,
    run_in_package,
    sizes,
    stage_settings,
    unpack,
)
from ops.rehearsal.smoke import package_env

STAGE = "staging"
USER = "bench-user"
MAX_ZIP_MIB = 30
MAX_COLD_RATIO = 2.0
MAX_RESTORED_RATIO = 3.0
MIB = 1024 * 1024
# What Lambda sets for an invocation X-Ray samples (active tracing).
SAMPLED_TRACE_HEADER = "Root=1-6750a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"

# A bare boto3 handler as SnapStart would restore it: boto3 imported at init (in the snapshot),
# the client made on the first invocation after the restore, as a handler must.
BARE_BOTO3_RESTORED_INIT = r"""
import os
import boto3
_client = []

def run(step):
    if not _client:
        _client.append(boto3.client("dynamodb"))
    key = {"PK": {"S": step["key"]}, "SK": {"S": step["key"]}}
    return _client[0].get_item(TableName=os.environ["TABLE_NAME"], Key=key, ConsistentRead=True).get("Item") is not None
"""


def run(stack: BenchStack, cold_starts: int = 5) -> bool:
    """Print the package's figures; True if the zip is small enough and both cold-start targets hold."""
    aws = stack.aws
    package = package_path(STAGE)
    if not package.exists():
        subprocess.run([shutil.which("make") or "make", "package", f"STAGE={STAGE}"], cwd=ROOT, check=True, timeout=900)
    zipped, unzipped = sizes(package)
    size_met = zipped <= MAX_ZIP_MIB * MIB
    print(f"\nLambda package ({package.relative_to(ROOT)}), stage {STAGE}\n")
    print(f"  zipped {zipped / MIB:.1f} MiB (target at most {MAX_ZIP_MIB} MiB: {'met' if size_met else 'MISSED'})")
    print(f"  unzipped {unzipped / MIB:.1f} MiB (Lambda allows 250 MB)")
    body, close = call_wsgi("POST", "/tasks", {"title": "cold start"}, headers=stack.bearer(USER))
    close()
    return _cold_starts(aws, package, str(body["data"]["task_id"]), cold_starts) and size_met


def _cold_starts(aws: Any, package: Path, task_id: str, rounds: int) -> bool:
    settings = stage_settings(STAGE)
    issuer = TokenIssuer()
    # Standing in for Lambda's X-Ray daemon: with the stage's TRACING=on the runs pay tracing's
    # whole cost, sending included, as a sampled invocation does (Lambda gives it the header below).
    xray_daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    xray_daemon.bind(("127.0.0.1", 0))
    with xray_daemon, tempfile.TemporaryDirectory(prefix="lambda-bench-") as scratch:
        jwks = HttpsJwks(issuer, Path(scratch))
        try:
            directory = unpack(package, Path(scratch) / "package")
            env = {
                **package_env(settings, aws, jwks),
                "TABLE_NAME": os.environ["TABLE_NAME"],
                "AWS_LAMBDA_FUNCTION_NAME": f"tasks-api-{STAGE}",  # Lambda sets it; SnapStart hooks need it
                "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{xray_daemon.getsockname()[1]}",
                "_X_AMZN_TRACE_ID": SAMPLED_TRACE_HEADER,
            }
            get = {
                "kind": "event",
                "event": api_event("GET", f"/tasks/{task_id}", stage=STAGE, token=issuer.token(USER)),
            }
            zappa: list[ChildRun] = []
            restored: list[ChildRun] = []
            bare: list[ChildRun] = []
            bare_restored: list[ChildRun] = []
            read = {"key": f"TASK#{task_id}"}
            for _ in range(rounds):  # alternating, so all four see the same machine load
                zappa.append(run_in_package(directory, env, [get, get]))
                bare.append(run_in_package(directory, env, [read, read], init=BARE_BOTO3_INIT))
                restored.append(run_in_package(directory, env, [get, get], init=SNAPSTART_INIT))
                bare_restored.append(run_in_package(directory, env, [read, read], init=BARE_BOTO3_RESTORED_INIT))
        finally:
            jwks.stop()
            issuer.stop()
        print(f"\n  X-Ray: {_datagrams(xray_daemon)} documents sent (TRACING={env.get('TRACING', 'off')})")
    return _report(zappa, restored, bare, bare_restored, rounds)


def _datagrams(daemon: socket.socket) -> int:
    """How many datagrams wait on the socket."""
    daemon.setblocking(False)
    count = 0
    while True:
        try:
            daemon.recv(65536)
        except BlockingIOError:
            return count
        count += 1


def _report(
    zappa: list[ChildRun], restored: list[ChildRun], bare: list[ChildRun], bare_restored: list[ChildRun], rounds: int
) -> bool:
    """Print the runs' medians and the two ratios; True if both targets hold."""
    statuses = {run.steps[0]["result"]["statusCode"] for run in (*zappa, *restored)}
    if statuses != {200} or not all(run.steps[0]["result"] for run in (*bare, *bare_restored)):
        raise RuntimeError(f"Cold-start runs did not read the task: Zappa statuses {statuses}")

    def median_ms(values: list[float]) -> float:
        return statistics.median(values) * 1000

    header = (
        f"{'fresh process, median of ' + str(rounds):<40} {'init ms':>8} {'1st request ms':>15} {'total ms':>9}"
        f" {'2nd request ms':>15} {'CPU ms':>7}"
    )
    print(f"\n  {header}\n  {'-' * len(header)}")
    rows = (
        ("Zappa handler, GET /tasks/{id}", zappa),
        ("bare boto3 handler, GetItem", bare),
        ("Zappa handler, restored from SnapStart", restored),
        ("bare boto3 handler, restored the same way", bare_restored),
    )
    for label, runs in rows:
        init = median_ms([run.init_seconds for run in runs])
        first = median_ms([float(run.steps[0]["seconds"]) for run in runs])
        total = median_ms([run.first_response_seconds for run in runs])
        second = median_ms([float(run.steps[1]["seconds"]) for run in runs])
        cpu = median_ms([run.first_response_cpu_seconds for run in runs])
        print(f"  {label:<40} {init:>8.0f} {first:>15.0f} {total:>9.0f} {second:>15.1f} {cpu:>7.0f}")
    cold = Verdict.at_most(
        ratio(
            median_ms([run.first_response_seconds for run in zappa]),
            median_ms([run.first_response_seconds for run in bare]),
        ),
        MAX_COLD_RATIO,
    )
    # A restored instance skips init: it pays the after-restore hooks and the first request, on both sides.
    warm_up = Verdict.at_most(
        ratio(
            median_ms([float(run.steps[0]["seconds"]) for run in restored]),
            median_ms([float(run.steps[0]["seconds"]) for run in bare_restored]),
        ),
        MAX_RESTORED_RATIO,
    )
    cpu_ratio = ratio(
        median_ms([run.first_response_cpu_seconds for run in zappa]),
        median_ms([run.first_response_cpu_seconds for run in bare]),
    )
    print(
        "\n  CPU ms: the process's CPU time from its start to the first answer, which the machine's load\n"
        f"  stretches less than the wall clock: without SnapStart {cpu_ratio:.2f}x the bare handler's (no target)."
    )
    print(
        f"\n  Without SnapStart, init + first request: {cold.measured:.2f}x the bare handler's (target at most "
        f"{MAX_COLD_RATIO}x: {cold})\n  Restored from SnapStart, after-restore hooks + first request: "
        f"{warm_up.measured:.2f}x the bare handler restored\n  the same way (target at most {MAX_RESTORED_RATIO}x: "
        f"{warm_up}). Lambda's own restore, the same for both, is not measured here. Restored rows: init\n"
        "  is what the snapshot holds (paid once per version), '1st request' what a restored instance pays."
    )
    return cold.met and warm_up.met
