"""An outage of DynamoDB is a 503 with `Retry-After` on every path, in time for API Gateway (SPEC §2).

Three real faults, through the real boto3 and PynamoDB clients: nothing listening (connection
refused), a server that answers with AWS's throttling and server errors, and the local AWS
stopped with SIGSTOP (connections accepted, no answer: read timeouts).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
from rest_framework.test import APIClient

from events_app import bootstrap as events_wiring
from tasks_app import bootstrap
from tasks_app.adapters.aws import API_GATEWAY_TIMEOUT_SECONDS, RETRY_BUDGET
from tasks_app.adapters.outages import RETRY_AFTER_THROTTLED, RETRY_AFTER_UNREACHABLE
from tests.conftest import AwsStack
from tests.dynamodb_proxy import ForwardingHandler

UNKNOWN = "task-00000000-0000-4000-8000-000000000000"

# Every operation that reaches the table, as (method, path, body).
OPERATIONS = [
    ("post", "/tasks", {"user_id": "alice", "title": "During an outage"}),
    ("get", "/tasks?user_id=alice", None),
    ("get", f"/tasks/{UNKNOWN}", None),
    ("patch", f"/tasks/{UNKNOWN}", {"title": "Renamed"}),
    ("delete", f"/tasks/{UNKNOWN}", None),
    ("post", f"/tasks/{UNKNOWN}/start", None),
    ("post", f"/tasks/{UNKNOWN}/complete", None),
    ("post", f"/tasks/{UNKNOWN}/cancel", None),
    ("post", f"/tasks/{UNKNOWN}/reopen", None),
    ("post", f"/tasks/{UNKNOWN}/restore", None),
    ("get", "/tasks/trash?user_id=alice", None),
    ("get", f"/tasks/{UNKNOWN}/events", None),
    ("get", "/tasks/stats?user_id=alice", None),
]


def send(method: str, path: str, body: Any, **headers: str) -> Any:
    client = APIClient()
    return getattr(client, method)(path, body, format="json", **headers) if body else getattr(client, method)(path)


def assert_unavailable(response: Any, retry_after: int) -> None:
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == str(retry_after)
    assert response.json()["success"] is False
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"


def aim_at(settings: Any, endpoint: str) -> None:
    """Point the API's clients at `endpoint` from the next request on."""
    settings.AWS_ENDPOINT_URL = endpoint
    bootstrap.reset()
    events_wiring.reset()


@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS])
def test_every_operation_answers_503_when_dynamodb_cannot_be_reached(
    aws: AwsStack, settings: Any, method: str, path: str, body: Any
) -> None:
    aim_at(settings, "http://127.0.0.1:9")  # the discard port: connections are refused

    response = send(method, path, body)

    assert_unavailable(response, RETRY_AFTER_UNREACHABLE)
    # Only a change may have been applied, and only then is retrying it with the same key advice.
    assert ("Idempotency-Key" in response.json()["error"]["message"]) == (method != "get")


def test_rate_limits_do_not_hide_an_outage(aws: AwsStack, settings: Any) -> None:
    settings.THROTTLE_RATES = {"user": "100/min", "ip": "100/min"}
    aim_at(settings, "http://127.0.0.1:9")

    started = time.monotonic()
    response = send("post", "/tasks", {"user_id": "alice", "title": "Counted"})

    assert_unavailable(response, RETRY_AFTER_UNREACHABLE)
    # One retry budget (the counter's), not one per counter and another for the write.
    assert time.monotonic() - started < RETRY_BUDGET.worst_case_seconds


STALL = "stall"  # a fault: hold the answer past the read timeout


class FaultyAws(ForwardingHandler):
    """A DynamoDB endpoint with faults: `server.fault` is (status, body) for every request, or a
    dict of them (or `STALL`) by operation, the other operations going on to the local AWS."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        operation = self.operation()
        fault = self.server.fault  # type: ignore[attr-defined]
        if isinstance(fault, dict):
            fault = fault.get(operation)
        if fault == STALL:
            time.sleep(RETRY_BUDGET.read_timeout + 0.5)
            return
        if fault is None:
            self.forward(body)
            return
        status, error = fault
        self.answer(status, json.dumps(error).encode(), {"x-amzn-RequestId": "fault-injected"})


@pytest.fixture
def faulty_aws(aws: AwsStack, settings: Any) -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FaultyAws)
    server.upstream = aws.server.url  # type: ignore[attr-defined]
    server.fault = {}  # type: ignore[attr-defined] # no fault yet: everything goes on to the local AWS
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    aim_at(settings, f"http://127.0.0.1:{server.server_address[1]}")
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def dynamodb_error(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message, **extra}


@pytest.mark.parametrize(
    ("fault", "retry_after"),
    [
        ((400, dynamodb_error("ProvisionedThroughputExceededException", "Rate exceeded")), RETRY_AFTER_THROTTLED),
        ((400, dynamodb_error("ThrottlingException", "Rate of requests exceeded")), RETRY_AFTER_THROTTLED),
        ((500, dynamodb_error("InternalServerError", "Internal server error")), RETRY_AFTER_UNREACHABLE),
        ((503, dynamodb_error("ServiceUnavailable", "Service unavailable")), RETRY_AFTER_UNREACHABLE),
    ],
    ids=["provisioned-throughput", "throttling", "internal-error", "service-unavailable"],
)
@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS[:3], ids=["create", "list", "get"])
def test_throttling_and_server_errors_answer_503(
    faulty_aws: ThreadingHTTPServer, fault: Any, retry_after: int, method: str, path: str, body: Any
) -> None:
    faulty_aws.fault = fault  # type: ignore[attr-defined]

    assert_unavailable(send(method, path, body), retry_after)


def test_a_transaction_cancelled_for_throttling_answers_503(faulty_aws: ThreadingHTTPServer) -> None:
    reasons = [{"Code": "ThrottlingError", "Message": "Throughput exceeds the current capacity"}, {"Code": "None"}]
    faulty_aws.fault = (  # type: ignore[attr-defined]
        400,
        dynamodb_error(
            "TransactionCanceledException",
            "Transaction cancelled, please refer cancellation reasons for specific reasons [ThrottlingError, None]",
            CancellationReasons=reasons,
        ),
    )

    assert_unavailable(send(*OPERATIONS[0]), RETRY_AFTER_THROTTLED)


def test_a_validation_error_from_dynamodb_stays_a_500(faulty_aws: ThreadingHTTPServer) -> None:
    """A request DynamoDB refuses as malformed is our bug, not an outage: retrying cannot help."""
    faulty_aws.fault = (400, dynamodb_error("ValidationException", "One or more parameter values were invalid"))  # type: ignore[attr-defined]

    response = send(*OPERATIONS[2])

    assert response.status_code == 500
    assert response.json()["error"]["code"] == "INTERNAL_ERROR"


def test_a_stalled_dynamodb_answers_503_in_time_and_the_retry_creates_one_task(aws: AwsStack, api: Any) -> None:
    """The issue's case: the local AWS paused while a client creates a task."""
    pid = aws.server.pid
    assert pid is not None
    title = f"Created through a stall {time.time_ns()}"
    headers = {"HTTP_IDEMPOTENCY_KEY": f"stall-{time.time_ns()}"}
    os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        response = send("post", "/tasks", {"user_id": "alice", "title": title}, **headers)
        elapsed = time.monotonic() - started
    finally:
        os.kill(pid, signal.SIGCONT)

    assert_unavailable(response, RETRY_AFTER_UNREACHABLE)
    assert RETRY_BUDGET.read_timeout <= elapsed <= RETRY_BUDGET.worst_case_seconds + 1
    assert elapsed < API_GATEWAY_TIMEOUT_SECONDS
    # The stalled attempts may have been applied once the local AWS resumed: the retry the
    # message asks for (same key) must still leave exactly one task.
    retried = send("post", "/tasks", {"user_id": "alice", "title": title}, **headers)
    assert retried.status_code == 201, retried.content
    listing = api.list(user_id="alice").json()
    assert [task["title"] for task in listing["data"]].count(title) == 1, listing


def test_a_stalled_rate_counter_answers_503_within_one_retry_budget(
    faulty_aws: ThreadingHTTPServer, settings: Any
) -> None:
    """A read timeout on the counter is an outage too, not a counter bug to let through: the
    request would spend a budget per counter and another on its write, past API Gateway's 29 s."""
    settings.THROTTLE_RATES = {"user": "100/min", "ip": "100/min"}
    faulty_aws.fault = {"UpdateItem": STALL}  # type: ignore[attr-defined]

    started = time.monotonic()
    response = send(*OPERATIONS[0])

    assert_unavailable(response, RETRY_AFTER_UNREACHABLE)
    assert time.monotonic() - started < RETRY_BUDGET.worst_case_seconds


@pytest.mark.parametrize(
    "fault",
    [STALL, (400, dynamodb_error("TransactionConflictException", "Transaction is ongoing for the item"))],
    ids=["stalled", "transaction-conflict"],
)
def test_recording_a_change_that_changed_nothing_answers_503_when_dynamodb_fails(
    faulty_aws: ThreadingHTTPServer, api: Any, fault: Any
) -> None:
    """A PATCH that changes nothing stores only its idempotency record (one PutItem)."""
    task = api.created()
    faulty_aws.fault = {"PutItem": fault}  # type: ignore[attr-defined]

    response = send("patch", f"/tasks/{task['task_id']}", {"title": task["title"]}, HTTP_IDEMPOTENCY_KEY="no-op")

    assert_unavailable(response, RETRY_AFTER_UNREACHABLE if fault == STALL else RETRY_AFTER_THROTTLED)


def test_a_rate_limit_answer_without_a_body_is_throttling(faulty_aws: ThreadingHTTPServer) -> None:
    faulty_aws.fault = (429, {})  # type: ignore[attr-defined]

    assert_unavailable(send(*OPERATIONS[2]), RETRY_AFTER_THROTTLED)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("get", f"/tasks/{UNKNOWN}", None), ("patch", f"/tasks/{UNKNOWN}", {"title": "Renamed"})],
    ids=["GET", "PATCH"],
)
@pytest.mark.parametrize("rates", [None, "100/min"], ids=["no rate limit", "counted beside the read"])
def test_an_outage_is_logged_once_as_a_warning_with_its_cause(
    aws: AwsStack, settings: Any, caplog: pytest.LogCaptureFixture, method: str, path: str, body: Any, rates: str | None
) -> None:
    # A 503 is the API working as designed: one line with the cause for the on-call engineer,
    # not an ERROR (which Django logs for every 5xx) that reads like a bug; and one, even when
    # the rate count beside the read met the outage too.
    settings.THROTTLE_RATES = {"user": rates, "ip": rates}
    aim_at(settings, "http://127.0.0.1:9")

    with caplog.at_level("INFO"):
        assert send(method, path, body).status_code == 503

    serious = [record for record in caplog.records if record.levelno >= 30]
    assert [record.getMessage()[:13] for record in serious] == ["Answered 503:"], [
        (record.name, record.getMessage()) for record in serious
    ]


def test_runservers_access_line_of_a_503_is_a_warning_not_an_error() -> None:
    # Django's WSGIRequestHandler logs every 5xx's access line at ERROR; the configured
    # `django.server` logger demotes a 503's (the outage is logged once, as a WARNING).
    server = logging.getLogger("django.server")
    outage = server.makeRecord("django.server", logging.ERROR, __file__, 0, '"GET / HTTP/1.1" 503 130', (), None)
    outage.status_code = 503
    bug = server.makeRecord("django.server", logging.ERROR, __file__, 0, '"GET / HTTP/1.1" 500 130', (), None)
    bug.status_code = 500

    assert server.filter(outage)
    assert server.filter(bug)
    assert (outage.levelname, bug.levelname) == ("WARNING", "ERROR")


def test_a_key_whose_first_request_is_still_being_written_answers_409_with_retry_after(
    faulty_aws: ThreadingHTTPServer,
) -> None:
    """Two requests with one Idempotency-Key at the same moment: DynamoDB cancels the second's
    transaction for a conflict on the key while the first's is still being committed, so no
    answer is stored to replay yet. The second is told to retry (and will get the first's answer),
    not given a 500."""
    reasons = [{"Code": "None"}, {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}]
    faulty_aws.fault = {  # type: ignore[attr-defined]
        "TransactWriteItems": (
            400,
            dynamodb_error(
                "TransactionCanceledException",
                "Transaction cancelled, please refer cancellation reasons for specific reasons "
                "[None, TransactionConflict]",
                CancellationReasons=reasons,
            ),
        )
    }

    response = send(*OPERATIONS[0], HTTP_IDEMPOTENCY_KEY="racing-key")

    assert response.status_code == 409, response.content
    assert response.json()["error"]["code"] == "INVALID_TRANSITION"
    assert "Idempotency-Key" in response.json()["error"]["message"]
    assert response["Retry-After"] == "1"
    faulty_aws.fault = {}  # type: ignore[attr-defined] # the first request's write is in
    assert send(*OPERATIONS[0], HTTP_IDEMPOTENCY_KEY="racing-key").status_code == 201
