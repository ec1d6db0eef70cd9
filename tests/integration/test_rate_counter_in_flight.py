"""What the rate counter's request overlaps on the wire: a read's, and a change's read; and its outages.

(A change spends a token its process leased ahead, `tasks_app.adapters.rate_leases`; one that
holds none takes tokens beside its read, and writes once the take is in.)

A proxy in front of the local AWS sees every DynamoDB request arrive, with the requests still
in flight at that moment. It can hold the first of two operations until the other arrives (or
`HOLD_SECONDS` pass), so that two requests sent side by side are seen side by side and two
sent one after the other are not; and it can answer the counter with a server error.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
from rest_framework.test import APIClient

from events_app import bootstrap as events_wiring
from ops.local.user_pool import TokenIssuer, bearer
from tasks_app import bootstrap
from tasks_app.adapters.aws import RETRY_BUDGET
from tasks_app.adapters.outages import RETRY_AFTER_UNREACHABLE
from tests.conftest import AwsStack
from tests.dynamodb_proxy import ForwardingHandler

HOLD_SECONDS = RETRY_BUDGET.read_timeout - 1  # under the client's read timeout: a hold is not a stall
COUNTER = "UpdateItem"  # the only UpdateItem of these requests is the rate counter's


class WatchingProxy(ThreadingHTTPServer):
    """Forwards DynamoDB requests to `upstream`, noting what was in flight as each arrived."""

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), _Forward)
        self.upstream = upstream
        self.fail_counter = False  # answer the counter with HTTP 500 (botocore retries, then gives up)
        self.late_counters = 0  # answer that many counter requests after the client's read timeout
        self.lost_counters = 0  # apply that many counter requests, and answer each with HTTP 500
        self.arrivals: list[tuple[str, frozenset[str]]] = []  # (operation, operations in flight then)
        self._in_flight: list[str] = []
        self._lock = threading.Lock()
        self._held: frozenset[str] = frozenset()
        self._meeting: threading.Barrier | None = None

    def hold(self, *operations: str) -> None:
        """Hold each of `operations` until all have arrived, once, for at most HOLD_SECONDS."""
        self._held = frozenset(operations)
        self._meeting = threading.Barrier(len(operations), timeout=HOLD_SECONDS)

    def arrive(self, operation: str) -> None:
        with self._lock:
            self.arrivals.append((operation, frozenset(self._in_flight)))
            self._in_flight.append(operation)
        if operation in self._held and self._meeting is not None:
            with contextlib.suppress(threading.BrokenBarrierError):  # the other was not sent meanwhile: go on
                self._meeting.wait()
            self._held = frozenset()

    def leave(self, operation: str) -> None:
        with self._lock:
            self._in_flight.remove(operation)

    def saw(self, operation: str) -> list[frozenset[str]]:
        """What was in flight each time `operation` arrived."""
        return [in_flight for arrived, in_flight in self.arrivals if arrived == operation]


class _Forward(ForwardingHandler):
    server: WatchingProxy

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        operation = self.operation()
        self.server.arrive(operation)
        try:
            if operation == COUNTER and self.server.fail_counter:
                error = {"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError", "message": "injected"}
                self.answer(500, json.dumps(error).encode(), {})
                return
            if operation == COUNTER and self.server.lost_counters > 0:
                self.server.lost_counters -= 1
                self.send_upstream(body)  # applied (or refused, a repeat), and the client never knows
                error = {"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError", "message": "injected"}
                self.answer(500, json.dumps(error).encode(), {})
                return
            late = operation == COUNTER and self.server.late_counters > 0
            if late:
                self.server.late_counters -= 1
            self.forward(body, answer_after=RETRY_BUDGET.read_timeout + 0.5 if late else 0)
        finally:
            self.server.leave(operation)


@pytest.fixture
def proxy(aws: AwsStack, issuer: TokenIssuer, settings: Any) -> Iterator[WatchingProxy]:
    """The API signed in as alice (with a task of hers), its DynamoDB requests through the proxy."""
    server = WatchingProxy(aws.server.url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.AWS_ENDPOINT_URL = f"http://127.0.0.1:{server.server_address[1]}"
    bootstrap.reset()
    events_wiring.reset()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def alice(issuer: TokenIssuer) -> dict[str, Any]:
    return bearer(issuer.token("alice"))


@pytest.fixture
def task_id(proxy: WatchingProxy, alice: dict[str, Any]) -> str:
    response = APIClient().post("/tasks", {"title": "Read me"}, format="json", **alice)
    assert response.status_code == 201, response.content
    proxy.arrivals.clear()
    return str(response.json()["data"]["task_id"])


def test_a_read_is_sent_while_its_count_is_in_flight(
    proxy: WatchingProxy, settings: Any, alice: dict[str, Any], task_id: str
) -> None:
    settings.THROTTLE_RATES = {"user": "600/min", "ip": "1200/min"}
    proxy.hold(COUNTER, "GetItem")

    response = APIClient().get(f"/tasks/{task_id}", **alice)

    assert response.status_code == 200, response.content
    [read], [count] = proxy.saw("GetItem"), proxy.saw(COUNTER)
    assert COUNTER in read or "GetItem" in count, proxy.arrivals


def complete(task_id: str, alice: dict[str, Any]) -> Any:
    return APIClient().post(f"/tasks/{task_id}/complete", **alice)


def retitle(task_id: str, alice: dict[str, Any], title: str = "Read me again") -> Any:
    return APIClient().patch(f"/tasks/{task_id}", {"title": title}, format="json", **alice)


CHANGES_THAT_READ_FIRST = [pytest.param(complete, id="action"), pytest.param(retitle, id="PATCH")]


@pytest.mark.parametrize("change", CHANGES_THAT_READ_FIRST)
def test_a_change_without_a_leased_token_reads_beside_its_take_and_writes_once_the_take_is_in(
    proxy: WatchingProxy, settings: Any, alice: dict[str, Any], task_id: str, change: Any, frozen_rate_window: float
) -> None:
    # The window frozen: a minute ending between the two changes would (rightly) make the second take.
    settings.THROTTLE_RATES = {"user": "600/min", "ip": "1200/min"}
    proxy.hold(COUNTER, "GetItem")  # sent side by side, they meet; one after the other, they do not

    first = change(task_id, alice)

    assert first.status_code == 200, first.content
    # The process held no token for alice: its take (10 tokens) and its read were in flight together.
    [read], [take] = proxy.saw("GetItem"), proxy.saw(COUNTER)
    assert COUNTER in read or "GetItem" in take, proxy.arrivals
    [write] = proxy.saw("TransactWriteItems")
    assert COUNTER not in write, proxy.arrivals  # the take had answered before the write left
    assert [operation for operation, _ in proxy.arrivals].index("TransactWriteItems") == 2
    proxy.arrivals.clear()

    second = retitle(task_id, alice, "Read me once more")

    assert second.status_code == 200, second.content
    assert [operation for operation, _ in proxy.arrivals] == ["GetItem", "TransactWriteItems"]  # a leased token


@pytest.mark.parametrize("change", CHANGES_THAT_READ_FIRST)
def test_a_change_over_the_limit_reads_but_never_writes(
    frozen_rate_window: float, proxy: WatchingProxy, settings: Any, alice: dict[str, Any], task_id: str, change: Any
) -> None:
    # The window frozen: the day's one must not turn into a new day's mid-test.
    settings.THROTTLE_RATES = {"user": "1/day", "ip": "1200/min"}
    assert APIClient().get(f"/tasks/{task_id}", **alice).status_code == 200  # spends the day's one
    bootstrap.reset()  # the change reaches another instance, which knows nothing yet
    proxy.arrivals.clear()

    response = change(task_id, alice)

    assert response.status_code == 429, response.content
    assert response.json()["error"]["code"] == "THROTTLED"
    assert 1 <= int(response["Retry-After"]) <= 86400
    assert sorted(operation for operation, _ in proxy.arrivals) == sorted([COUNTER, "GetItem"])  # a refused take
    proxy.arrivals.clear()
    assert APIClient().get(f"/tasks/{task_id}", **alice).status_code == 429  # still over
    assert proxy.arrivals == []  # this instance knows the window is full now: refused without a request
    settings.THROTTLE_RATES = {"user": "600/min", "ip": "1200/min"}
    task = APIClient().get(f"/tasks/{task_id}", **alice).json()["data"]
    assert (task["status"], task["title"], task["version"]) == ("pending", "Read me", 1)


def test_an_action_whose_take_meets_an_outage_answers_the_changes_503_and_never_writes(
    proxy: WatchingProxy, settings: Any, alice: dict[str, Any], task_id: str
) -> None:
    settings.THROTTLE_RATES = {"user": "600/min", "ip": "1200/min"}
    proxy.fail_counter = True

    response = complete(task_id, alice)

    assert response.status_code == 503, response.content
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert "Idempotency-Key" in response.json()["error"]["message"]  # a change's 503
    assert response["Retry-After"] == str(RETRY_AFTER_UNREACHABLE)
    assert "TransactWriteItems" not in {operation for operation, _ in proxy.arrivals}
    proxy.fail_counter = False
    assert APIClient().get(f"/tasks/{task_id}", **alice).json()["data"]["status"] == "pending"


def test_a_read_whose_counter_is_unreachable_answers_503(
    proxy: WatchingProxy, settings: Any, alice: dict[str, Any], task_id: str
) -> None:
    settings.THROTTLE_RATES = {"user": "600/min", "ip": "1200/min"}
    proxy.fail_counter = True

    response = APIClient().get(f"/tasks/{task_id}", **alice)

    assert response.status_code == 503, response.content
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert "Idempotency-Key" not in response.json()["error"]["message"]  # a read: nothing to retry safely
    assert response["Retry-After"] == str(RETRY_AFTER_UNREACHABLE)
    assert task_id not in response.content.decode()


def test_a_change_whose_counter_is_unreachable_answers_503_and_is_not_attempted(
    proxy: WatchingProxy, settings: Any, alice: dict[str, Any]
) -> None:
    settings.THROTTLE_RATES = {"user": "600/min", "ip": "1200/min"}
    proxy.fail_counter = True

    response = APIClient().post("/tasks", {"title": "Not now"}, format="json", **alice)

    assert response.status_code == 503, response.content
    assert response["Retry-After"] == str(RETRY_AFTER_UNREACHABLE)
    assert {operation for operation, _ in proxy.arrivals} == {COUNTER}


def test_leased_tokens_serve_through_a_failed_background_take_then_the_next_take_answers_503(
    proxy: WatchingProxy, settings: Any, alice: dict[str, Any], frozen_rate_window: float
) -> None:
    settings.THROTTLE_RATES = {"user": "600/min", "ip": "1200/min"}

    def create() -> int:
        return APIClient().post("/tasks", {"title": "t"}, format="json", **alice).status_code

    assert create() == 201  # takes 10
    proxy.fail_counter = True
    # 9 more on the lease; the one that leaves 1 starts a background take, which fails (logged).
    statuses = [create() for _ in range(9)]
    outage = APIClient().post("/tasks", {"title": "t"}, format="json", **alice)
    proxy.fail_counter = False

    assert statuses == [201] * 9
    assert outage.status_code == 503, outage.content  # no token: its take met the outage
    assert outage["Retry-After"] == str(RETRY_AFTER_UNREACHABLE)
    assert create() == 201  # the counter is back: a new take


def test_a_take_whose_answer_comes_after_the_read_timeout_is_counted_once(proxy: WatchingProxy) -> None:
    """botocore sends the UpdateItem again when its answer is late, though DynamoDB applied it:
    the count must grow by the take once, or its caller loses a lease of tokens."""
    counter = bootstrap.rate_counter()
    proxy.late_counters = 1

    first = counter.take("user#late", tokens=10, limit=40, window_seconds=3600, now=1_800_000_000)

    assert len(proxy.saw(COUNTER)) == 2  # sent, answered too late, sent again
    assert (first.granted, first.hits) == (10, 10)
    second = counter.take("user#late", tokens=10, limit=40, window_seconds=3600, now=1_800_000_000)
    assert (second.granted, second.hits) == (10, 20)


def test_a_take_applied_after_its_request_gave_up_is_granted_to_the_next_request_not_counted_again(
    proxy: WatchingProxy, settings: Any, alice: dict[str, Any], frozen_rate_window: float
) -> None:
    """A stalled or failing DynamoDB may apply a take whose request already answered 503: the
    tokens it counted must reach the caller's next requests, or a caller loses a lease of them
    at each such take (the whole minute's, after a long stall)."""
    settings.THROTTLE_RATES = {"user": "20/min", "ip": "1200/min"}
    proxy.lost_counters = RETRY_BUDGET.attempts  # every attempt of the first take: counted, never answered

    gave_up = APIClient().get("/tasks", **alice)

    assert gave_up.status_code == 503, gave_up.content
    assert len(proxy.saw(COUNTER)) == RETRY_BUDGET.attempts
    statuses = [APIClient().get("/tasks", **alice).status_code for _ in range(21)]
    assert statuses == [200] * 20 + [429]  # all of the minute's 20: none counted for nothing
