"""The staging Lambda package: its size, and its cold start next to a bare boto3 handler's.

Both run as Lambda would run them: a fresh interpreter that sees only the unpacked zip (see
tests/deploy/package.py), against the embedded local AWS. The Zappa side is the real handler
with Django set up at import (INSTANTIATE_LAMBDA_HANDLER_ON_IMPORT: Lambda's init phase, what
SnapStart snapshots), then one GET /tasks/{id} API Gateway event with a bearer token. The bare
side imports boto3, builds a DynamoDB client, then makes the same GetItem. Times run from
spawning the process, so they include the interpreter's own start.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from ops.bench.harness import call_wsgi
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
MAX_RATIO = 1.5
MIB = 1024 * 1024


def run(aws: Any, cold_starts: int = 5) -> bool:
    """Print the package's figures; True if the zip is small enough (the ratio is reported only)."""
    package = package_path(STAGE)
    if not package.exists():
        subprocess.run([shutil.which("make") or "make", "package", f"STAGE={STAGE}"], cwd=ROOT, check=True, timeout=900)
    zipped, unzipped = sizes(package)
    size_met = zipped <= MAX_ZIP_MIB * MIB
    print(f"\nLambda package ({package.relative_to(ROOT)}), stage {STAGE}\n")
    print(f"  zipped {zipped / MIB:.1f} MiB (target at most {MAX_ZIP_MIB} MiB: {'met' if size_met else 'MISSED'})")
    print(f"  unzipped {unzipped / MIB:.1f} MiB (Lambda allows 250 MB)")
    body, close = call_wsgi("POST", "/tasks", {"user_id": USER, "title": "cold start"})
    close()
    _cold_starts(aws, package, str(body["data"]["task_id"]), cold_starts)
    return size_met


def _cold_starts(aws: Any, package: Path, task_id: str, rounds: int) -> None:
    settings = stage_settings(STAGE)
    issuer = TokenIssuer()
    with tempfile.TemporaryDirectory(prefix="lambda-bench-") as scratch:
        jwks = HttpsJwks(issuer, Path(scratch))
        try:
            directory = unpack(package, Path(scratch) / "package")
            env = {
                **package_env(settings, aws, jwks),
                "TABLE_NAME": os.environ["TABLE_NAME"],
                "AWS_LAMBDA_FUNCTION_NAME": f"tasks-api-{STAGE}",  # Lambda sets it; SnapStart hooks need it
            }
            get = {
                "kind": "event",
                "event": api_event("GET", f"/tasks/{task_id}", stage=STAGE, token=issuer.token(USER)),
            }
            zappa: list[ChildRun] = []
            restored: list[ChildRun] = []
            bare: list[ChildRun] = []
            for _ in range(rounds):  # alternating, so all three see the same machine load
                zappa.append(run_in_package(directory, env, [get, get]))
                restored.append(run_in_package(directory, env, [get, get], init=SNAPSTART_INIT))
                read = {"key": f"TASK#{task_id}"}
                bare.append(run_in_package(directory, env, [read, read], init=BARE_BOTO3_INIT))
        finally:
            jwks.stop()
            issuer.stop()
    _report(zappa, restored, bare, rounds)


def _report(zappa: list[ChildRun], restored: list[ChildRun], bare: list[ChildRun], rounds: int) -> None:
    statuses = {run.steps[0]["result"]["statusCode"] for run in (*zappa, *restored)}
    if statuses != {200} or not all(run.steps[0]["result"] for run in bare):
        raise RuntimeError(f"Cold-start runs did not read the task: Zappa statuses {statuses}")

    def median_ms(values: list[float]) -> float:
        return statistics.median(values) * 1000

    header = (
        f"{'fresh process, median of ' + str(rounds):<40} {'init ms':>8} {'1st request ms':>15} {'total ms':>9}"
        f" {'2nd request ms':>15}"
    )
    print(f"\n  {header}\n  {'-' * len(header)}")
    rows = (
        ("Zappa handler, GET /tasks/{id}", zappa),
        ("  the same, restored from SnapStart", restored),
        ("bare boto3 handler, GetItem", bare),
    )
    for label, runs in rows:
        init = median_ms([run.init_seconds for run in runs])
        first = median_ms([float(run.steps[0]["seconds"]) for run in runs])
        total = median_ms([run.first_response_seconds for run in runs])
        second = median_ms([float(run.steps[1]["seconds"]) for run in runs])
        print(f"  {label:<40} {init:>8.0f} {first:>15.0f} {total:>9.0f} {second:>15.1f}")
    bare_total = median_ms([run.first_response_seconds for run in bare])
    without = median_ms([run.first_response_seconds for run in zappa]) / bare_total
    # A restored instance skips init: it pays the after-restore hooks and the first request.
    with_snapstart = median_ms([float(run.steps[0]["seconds"]) for run in restored]) / bare_total
    verdict = "met" if with_snapstart <= MAX_RATIO else "MISSED"
    print(
        f"\n  Cold start against the bare handler's: {without:.2f}x without SnapStart, {with_snapstart:.2f}x restored"
        f" from SnapStart\n  (target {MAX_RATIO}x: {verdict}; reported, not enforced). A restored instance skips"
        " init and pays the\n  after-restore hooks and its first request (new AWS clients, the token keys' fetch,"
        " the rate-limit\n  write), plus Lambda's own restore, which cannot be measured here."
    )
