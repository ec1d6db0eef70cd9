"""Changes spend tokens leased from the shared rate counter (issue 12), on the local AWS.

Several `TokenLeases` stand for several processes (Lambda instances), each with its own lease of
the same caller's count; `now` is passed explicitly, so a window ends only when a test says so.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rest_framework.test import APIClient

from ops.local.user_pool import TokenIssuer, bearer
from tasks_app import bootstrap
from tasks_app.adapters.rate_leases import TokenLeases
from tasks_app.api.throttling import Charge, Verdict, spend
from tests.conftest import RATE_WINDOW_START, AwsStack

WINDOW_START = RATE_WINDOW_START
SHIPPED_RATES = {"user": "600/min", "ip": "1200/min"}


def hits(aws: AwsStack, key: str, window_start: float = WINDOW_START) -> int:
    """The shared counter's value for `key` in the window starting at `window_start` (0 if none)."""
    item = (
        aws.target.client("dynamodb")
        .get_item(
            TableName=aws.resources.table_name,
            Key={"PK": {"S": f"RATE#{key}"}, "SK": {"S": str(int(window_start))}},
            ConsistentRead=True,
        )
        .get("Item")
    )
    return int(item["Hits"]["N"]) if item else 0


def settled(aws: AwsStack, key: str, expected: int) -> int:
    """The counter once background takes have landed: `expected`, or what it is after 5 s."""
    deadline = time.monotonic() + 5
    while (value := hits(aws, key)) != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


def test_processes_hammering_one_user_get_exactly_the_limit(aws: AwsStack) -> None:
    """3 processes x 2 threads, each thread sending changes until refused: 20/min means 20."""
    charge = Charge("user#alice", requests=20, window_seconds=60)
    now = WINDOW_START + 15
    processes = [TokenLeases(bootstrap.rate_counter()) for _ in range(3)]

    def hammer(leases: TokenLeases) -> list[Verdict]:
        verdicts = [spend(charge, leases, now)]
        while verdicts[-1].allowed and len(verdicts) < 40:
            verdicts.append(spend(charge, leases, now))
        return verdicts

    with ThreadPoolExecutor(max_workers=6) as pool:
        runs = list(pool.map(hammer, [leases for leases in processes for _ in range(2)]))

    allowed = [verdict for run in runs for verdict in run if verdict.allowed]
    refused = [verdict for run in runs for verdict in run if not verdict.allowed]
    assert len(allowed) == 20, runs
    assert len(refused) == 6  # each thread's last: every process knows the window is full
    assert {verdict.retry_after for verdict in refused} == {45}  # the seconds left in the window
    assert hits(aws, charge.key) >= 20  # the count says full; the slots past 20 were granted to no one


def test_a_change_with_a_leased_token_makes_no_counter_request(
    aws: AwsStack, issuer: TokenIssuer, settings: Any, frozen_rate_window: float
) -> None:
    settings.THROTTLE_RATES = SHIPPED_RATES
    alice = bearer(issuer.token("alice"))
    client = APIClient()

    def create(n: int) -> Counter[str]:
        with aws.server.recording() as calls:
            response = client.post("/tasks", {"title": f"task {n}"}, format="json", **alice)
        assert response.status_code == 201, response.content
        return Counter(call.operation for call in calls if call.service == "dynamodb")

    assert create(1) == Counter({"UpdateItem": 1, "TransactWriteItems": 1})  # takes 10 of 600, spends one
    assert create(2) == Counter({"TransactWriteItems": 1})  # a token in hand: no counter request
    assert hits(aws, "user#alice") == 10


def test_the_lease_is_refilled_in_the_background_before_it_runs_out(
    aws: AwsStack, issuer: TokenIssuer, settings: Any, frozen_rate_window: float
) -> None:
    settings.THROTTLE_RATES = SHIPPED_RATES
    alice = bearer(issuer.token("alice"))
    client = APIClient()

    statuses = [client.post("/tasks", {"title": f"t{n}"}, format="json", **alice).status_code for n in range(20)]

    assert statuses == [201] * 20
    # One take of 10 by the first change; then, each time a change left 1 token, a take of 9
    # ran on the worker thread: 3 UpdateItems for 20 changes, and never more than 10 held.
    assert settled(aws, "user#alice", 28) == 28


def test_once_the_window_is_full_changes_are_refused_without_a_request(
    aws: AwsStack, issuer: TokenIssuer, settings: Any, frozen_rate_window: float
) -> None:
    settings.THROTTLE_RATES = {"user": "2/min", "ip": None}
    alice = bearer(issuer.token("alice"))
    client = APIClient()
    assert [client.post("/tasks", {"title": "t"}, format="json", **alice).status_code for _ in range(2)] == [201, 201]
    assert client.post("/tasks", {"title": "t"}, format="json", **alice).status_code == 429  # the take finds it full

    with aws.server.recording() as calls:
        refused = client.post("/tasks", {"title": "t"}, format="json", **alice)

    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "THROTTLED"
    assert refused["Retry-After"] == "45"  # the seconds left in the minute
    assert [call.operation for call in calls if call.service == "dynamodb"] == []


def test_a_lease_does_not_cross_into_the_next_window(aws: AwsStack) -> None:
    charge = Charge("user#alice", requests=40, window_seconds=60)
    leases = TokenLeases(bootstrap.rate_counter())
    assert spend(charge, leases, WINDOW_START + 59).allowed  # takes 10 (a quarter of 40), spends one
    assert hits(aws, charge.key) == 10

    next_minute = WINDOW_START + 60
    held = leases.spend(charge.key, limit=40, window_seconds=60, now=next_minute + 1, refill=lambda take: None)
    assert held is None  # the 9 left were the last minute's: dropped
    assert spend(charge, leases, next_minute + 1).allowed

    assert hits(aws, charge.key, next_minute) == 10  # taken anew, in the new minute's count
    assert hits(aws, charge.key) == 10  # the last minute's is what it was


def test_a_refusal_lasts_until_the_window_ends(aws: AwsStack) -> None:
    charge = Charge("user#alice", requests=2, window_seconds=60)
    leases = TokenLeases(bootstrap.rate_counter())
    late = WINDOW_START + 59

    assert [spend(charge, leases, late).allowed for _ in range(3)] == [True, True, False]
    assert spend(charge, leases, late) == Verdict(allowed=False, retry_after=1)
    # The take that reached the limit told the process the window is full: the refusals asked nothing.
    assert hits(aws, charge.key) == 2

    assert [spend(charge, leases, WINDOW_START + 61).allowed for _ in range(3)] == [True, True, False]


def test_the_first_requests_of_a_threaded_process_share_one_set_of_leases(aws: AwsStack) -> None:
    """A threaded server's first requests arrive together. Had each made its own leases, each
    would take tokens and drop them: a cold server served 4 requests of a limit of 40."""
    bootstrap.disconnect()  # a process that has made no client yet: its first wiring takes a while
    start = threading.Barrier(16)

    def first_request(_: int) -> int:
        start.wait()
        return id(bootstrap.rate_leases())

    with ThreadPoolExecutor(max_workers=16) as pool:
        made = set(pool.map(first_request, range(16)))

    assert len(made) == 1
