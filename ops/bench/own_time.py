"""The app's own time on a request, apart from the local AWS: each operation's DynamoDB answers
recorded from one call and replayed, so both sides (the API through the Lambda handler, bare
PynamoDB) run only their own Python; then again with a pause in place of each replayed answer,
as long as a local AWS call, during which the process waits as it would for a real one.

Why (issue 12): the API/bare ratio moves with the local AWS's speed and the machine's load, the
own time much less, so it shows what a change to the app saved. And the pause alone about doubles
the time of the Python around it (the process sleeps, its CPU caches and the CPU itself go cold),
which is why a request's overhead in `api_vs_pynamodb` is about twice the replayed one: each
microsecond the app spends counts about twice where users feel it. A diagnostic: no target.

The rate counter's requests are not replayed (its takes stay real, and rare: leases).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from ops.bench.lambda_api import LambdaApi
from ops.bench.operations import USERS, Operation, user
from ops.bench.targets import Timing

OPERATIONS = ("create", "stats")  # the one-request operations, whose ratios sit nearest the target
WARMUP = 20
PAUSE_SECONDS = 0.003  # about one local AWS call on these machines
LIVE = frozenset({"UpdateItem"})  # the rate counter's takes: not replayed


@dataclass
class Replay:
    """Answers by operation name (`TransactWriteItems`...), recorded while `recording`, then
    returned (a copy each time, after `pause` seconds) to every call of that operation."""

    recording: bool = True
    pause: float = 0.0
    answers: dict[str, Any] = field(default_factory=dict)

    def answer(self, name: str, call: Callable[[], Any]) -> Any:
        """The replayed answer to `name`, or `call()`'s (kept when recording the first of its name)."""
        if not self.recording and name in self.answers:
            if self.pause:
                time.sleep(self.pause)
            return copy.deepcopy(self.answers[name])
        result = call()
        if self.recording and name not in LIVE:
            self.answers.setdefault(name, copy.deepcopy(result))
        return result


@contextmanager
def replaying() -> Iterator[Replay]:
    """Every botocore client's calls go through a `Replay` while the block runs."""
    from botocore.client import BaseClient

    replay = Replay()
    original = BaseClient.__dict__["_make_api_call"]  # private, and missing from botocore's stubs

    def make_api_call(client: BaseClient, name: str, params: dict[str, Any]) -> Any:
        return replay.answer(name, lambda: original(client, name, params))

    setattr(BaseClient, "_make_api_call", make_api_call)  # noqa: B010 - see above
    try:
        yield replay
    finally:
        setattr(BaseClient, "_make_api_call", original)  # noqa: B010


@dataclass(frozen=True)
class OwnTime:
    """p50 and p95 of each side (ms), replayed; the same with a pause per answer."""

    api: Timing
    bare: Timing
    paused_api: Timing
    paused_bare: Timing


def run(api: LambdaApi, operations: list[Operation], rounds: int) -> None:
    """Print each of `OPERATIONS`' own time, replayed and paused."""
    for number in range(USERS):  # each caller's lease of rate-limit tokens taken beforehand
        api.call("GET", "/tasks/stats", user=user(number))
    print(
        f"\nThe app's own time: each side's DynamoDB answers replayed from one recorded call (warm, {rounds} "
        f"rounds, ms),\nthen with a {PAUSE_SECONDS * 1000:.0f} ms pause in place of each answer, as a call "
        "would leave the process waiting\n"
    )
    header = (
        f"{'operation':<10} {'API p50':>8} {'bare p50':>8} {'own p50':>8}   "
        f"{'paused: API p50':>15} {'bare p50':>8} {'own p50':>8} {'own x':>6}"
    )
    print(header)
    print("-" * len(header))
    for operation in (operation for operation in operations if operation.name in OPERATIONS):
        own = measure(api, operation, rounds)
        replayed, paused = own.api.median - own.bare.median, own.paused_api.median - own.paused_bare.median
        print(
            f"{operation.name:<10} {own.api.median:>8.3f} {own.bare.median:>8.3f} {replayed:>8.3f}   "
            f"{own.paused_api.median:>15.3f} {own.paused_bare.median:>8.3f} {paused:>8.3f} "
            f"{paused / replayed if replayed > 0 else float('nan'):>6.1f}"
        )
    print(
        "\n'own': the API's time beyond bare PynamoDB's: Zappa's handler, Django, DRF, the rate limits, the\n"
        "metrics line. 'own x': the paused own time over the replayed one, how much longer the same Python\n"
        "takes once the process has waited (its caches gone cold), as it waits for every real AWS call."
    )


def measure(api: LambdaApi, operation: Operation, rounds: int) -> OwnTime:
    """One call of each side recorded, then `WARMUP` and `rounds` rounds alternating the sides,
    replayed, then as many with the pause."""
    with replaying() as replay:
        api.invoke(operation.event())
        operation.bare()
        replay.recording = False
        sides: dict[float, tuple[list[float], list[float]]] = {}
        for pause in (0.0, PAUSE_SECONDS):
            replay.pause = pause
            api_ms, bare_ms = sides.setdefault(pause, ([], []))
            for number in range(WARMUP + rounds):
                order: list[tuple[list[float], Callable[[], object]]] = [
                    (api_ms, partial(api.invoke, operation.event())),
                    (bare_ms, operation.bare),
                ]
                for times, call in order if number % 2 else reversed(order):
                    started = time.perf_counter()
                    call()
                    if number >= WARMUP:
                        times.append((time.perf_counter() - started) * 1000)
    (api_ms, bare_ms), (paused_api, paused_bare) = sides[0.0], sides[PAUSE_SECONDS]
    return OwnTime(Timing.of(api_ms), Timing.of(bare_ms), Timing.of(paused_api), Timing.of(paused_bare))
