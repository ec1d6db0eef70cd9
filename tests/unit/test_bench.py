"""The benchmark's own logic (`make bench`): how it builds events, splits an invocation's AWS
requests, summarises timings and holds them against issue 12's targets."""

from __future__ import annotations

import ipaddress
import json
import math
from collections.abc import Callable
from typing import Any

import pytest

from ops.bench import autosave, lambda_package
from ops.bench.api_vs_pynamodb import page_rounds_for
from ops.bench.capacity import Request, count_by_service, split_request_path
from ops.bench.lambda_api import client_address, rest_event
from ops.bench.own_time import Replay
from ops.bench.stack_probe import Created, event_lag, per_minute
from ops.bench.targets import Timing, Verdict, percentile, ratio, requests_verdict
from ops.rehearsal.package import ChildRun


def get_item(key: str) -> Request:
    return Request("dynamodb", "GetItem", {"TableName": "t", "Key": {"PK": {"S": key}, "SK": {"S": key}}})


def counter_hit(key: str) -> Request:
    return Request(
        "dynamodb",
        "UpdateItem",
        {
            "TableName": "t",
            "Key": {"PK": {"S": key}, "SK": {"S": "1700000000"}},
            "UpdateExpression": "ADD #0 :0",
            "ExpressionAttributeNames": {"#0": "Hits"},
        },
    )


def test_an_event_carries_the_query_apart_the_token_and_the_client_address() -> None:
    event = rest_event(
        "PATCH",
        "/tasks/t1",
        query={"status": "pending"},
        body={"title": "x"},
        headers={"If-Match": '"1"'},
        token="abc",
        source_ip="198.18.0.9",
    )
    assert event["path"] == "/tasks/t1"
    assert event["queryStringParameters"] == {"status": "pending"}
    assert event["multiValueQueryStringParameters"] == {"status": ["pending"]}
    assert event["headers"]["Authorization"] == "Bearer abc"
    assert event["multiValueHeaders"]["If-Match"] == ['"1"']
    assert event["requestContext"]["identity"]["sourceIp"] == "198.18.0.9"
    assert event["requestContext"]["path"] == "/staging/tasks/t1"
    assert json.loads(event["body"]) == {"title": "x"}


def test_an_event_without_a_body_or_token_sends_neither() -> None:
    event = rest_event("GET", "/tasks")
    assert event["body"] is None
    assert event["queryStringParameters"] is None
    assert "Authorization" not in event["headers"]
    assert "Content-Type" not in event["headers"]


def test_a_query_string_in_the_path_is_refused_as_api_gateway_never_sends_one() -> None:
    with pytest.raises(ValueError, match="query"):
        rest_event("GET", "/tasks?status=pending")


def test_client_addresses_are_distinct_valid_ipv4_addresses_in_the_benchmarking_range() -> None:
    addresses = [client_address(n) for n in range(2000)]
    assert len(set(addresses)) == 2000
    assert all(ipaddress.ip_address(address) in ipaddress.ip_network("198.18.0.0/15") for address in addresses)


def test_the_request_path_splits_into_the_operations_own_requests_and_the_rest() -> None:
    own = get_item("TASK#1")
    inside = [counter_hit("RATE#ip#198.18.0.1"), counter_hit("RATE#user#u"), get_item("TASK#2")]
    inside.append(Request("sns", "PublishBatch", {}))
    matched, rest = split_request_path(inside, [own])
    assert matched == [inside[2]]  # the same shape, another task: the operation's own
    assert rest == [inside[0], inside[1], inside[3]]
    assert count_by_service(rest) == {"UpdateItem": 2, "sns PublishBatch": 1}


def test_each_bare_request_matches_one_request_of_the_invocation_only() -> None:
    matched, rest = split_request_path([get_item("A"), get_item("B")], [get_item("C")])
    assert (len(matched), len(rest)) == (1, 1)


def test_a_request_of_another_shape_is_not_the_operations_own() -> None:
    consistent = Request("dynamodb", "GetItem", {**get_item("A").body, "ConsistentRead": True})
    matched, rest = split_request_path([get_item("A")], [consistent])
    assert (matched, rest) == ([], [get_item("A")])


@pytest.mark.parametrize(("rounds", "pages"), [(60, 12), (200, 40), (20, 10), (10, 10), (2, 2), (1, 1)])
def test_pages_get_a_fifth_of_the_rounds_at_least_ten_and_never_more_than_asked(rounds: int, pages: int) -> None:
    assert page_rounds_for(rounds) == pages


def test_autosave_sizes_are_read_from_a_comma_separated_list_or_default() -> None:
    assert autosave.sizes_from("500, 2000,") == (500, 2000)
    assert autosave.sizes_from(None) == autosave.sizes_from("") == autosave.SIZES
    with pytest.raises(ValueError, match="positive"):
        autosave.sizes_from("0")


def test_percentiles_are_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]
    assert percentile(values, 0.95) == 95.0
    assert percentile(values, 0.5) == 50.0
    assert percentile([7.0], 0.95) == 7.0
    assert Timing.of([1.0, 2.0, 3.0, 100.0]) == Timing(2.5, 100.0)
    with pytest.raises(ValueError, match="no values"):
        percentile([], 0.5)


def test_ratio_targets_hold_at_the_limit_and_miss_above_it() -> None:
    assert Verdict.at_most(ratio(13.0, 10.0), 1.3).met
    assert not Verdict.at_most(ratio(13.1, 10.0), 1.3).met
    assert str(Verdict.at_most(2.0, 1.0)) == "MISSED"
    assert ratio(1.0, 0.0) == math.inf


@pytest.mark.parametrize(
    ("own", "expected", "rest", "met"),
    [(1, 1, 0, True), (1, 1, 1, True), (1, 1, 2, False), (2, 2, 1, True), (1, 2, 0, False), (3, 2, 0, False)],
)
def test_the_request_budget_is_the_operations_own_plus_one(own: int, expected: int, rest: int, met: bool) -> None:
    assert requests_verdict(own, expected, rest, allowed_rest=1) is met


def message(task_id: str, event_type: str, stamped: str, sent_ms: int) -> dict[str, Any]:
    body = {"event_type": event_type, "aggregate_id": task_id, "timestamp": stamped}
    return {"Body": json.dumps(body), "Attributes": {"SentTimestamp": str(sent_ms)}}


def test_relay_lag_is_bounded_by_the_events_timestamp_and_the_response() -> None:
    stamped = 1_700_000_000.0  # 2023-11-14T22:13:20Z
    created = {"t1": Created("t1", responded=stamped + 0.050)}
    timed = event_lag(message("t1", "TaskCreated", "2023-11-14T22:13:20+00:00", 1_700_000_000_300), created)
    assert timed is not None
    task_id, lag = timed
    assert task_id == "t1"
    assert lag.from_event_ms == pytest.approx(300.0)
    assert lag.from_response_ms == pytest.approx(250.0)


def test_other_events_and_other_tasks_are_not_timed() -> None:
    created = {"t1": Created("t1", responded=0.0)}
    assert event_lag(message("t1", "TaskUpdated", "2023-11-14T22:13:20+00:00", 1), created) is None
    assert event_lag(message("t2", "TaskCreated", "2023-11-14T22:13:20+00:00", 1), created) is None


def test_idle_requests_are_scaled_to_a_minute() -> None:
    assert per_minute(80, 20.0) == 240.0


def child(init: float, first: float) -> ChildRun:
    steps = [{"result": {"statusCode": 200}, "seconds": first}, {"result": {"statusCode": 200}, "seconds": 0.01}]
    return ChildRun(init_seconds=init, steps=steps, log="")


def test_a_restored_instance_is_compared_with_a_bare_handler_restored_the_same_way() -> None:
    """Issue 12: dividing a restored first request (0.6 s) by the bare handler's whole cold start
    (1.0 s) read as 0.6x, met; against the bare handler restored (0.1 s) it is 6x, missed."""
    zappa, bare = [child(1.5, 0.3)], [child(0.9, 0.1)]
    restored, bare_restored = [child(3.0, 0.6)], [child(0.8, 0.1)]
    assert lambda_package._report(zappa, restored, bare, bare_restored, rounds=1) is False
    assert lambda_package._report(zappa, [child(3.0, 0.25)], bare, bare_restored, rounds=1) is True


def test_a_cold_start_over_twice_the_bare_handlers_misses() -> None:
    bare, restored = [child(0.9, 0.1)], [child(0.8, 0.1)]
    assert lambda_package._report([child(1.9, 0.1)], restored, bare, restored, rounds=1) is True
    assert lambda_package._report([child(2.0, 0.1)], restored, bare, restored, rounds=1) is False


def test_a_replay_keeps_the_first_answer_of_each_operation_and_returns_copies_of_it() -> None:
    replay = Replay()
    calls: list[str] = []

    def call(answer: dict[str, Any]) -> Callable[[], dict[str, Any]]:
        def through() -> dict[str, Any]:
            calls.append("through")
            return answer

        return through

    first = {"Item": {"PK": {"S": "TASK#1"}}}
    assert replay.answer("GetItem", call(first)) is first
    replay.answer("GetItem", call({"Item": {"PK": {"S": "TASK#2"}}}))
    replay.answer("UpdateItem", call({"Attributes": {}}))  # the rate counter's: never replayed
    replay.recording = False

    replayed = replay.answer("GetItem", call({}))
    replayed["Item"]["PK"]["S"] = "changed by the caller"

    assert replay.answer("GetItem", call({})) == first
    assert replay.answer("UpdateItem", call({"Attributes": {"Hits": 1}})) == {"Attributes": {"Hits": 1}}
    assert calls == ["through"] * 4  # two recorded GetItems, then the live UpdateItem twice
